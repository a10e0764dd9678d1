/** The small XML documents of S3's configuration subresources (tagging, Object Lock, lifecycle, CORS, …), read and checked. */
import { createHash } from 'node:crypto';
import { headerValue } from '../../http/context.ts';
import { readSmallBody } from './body.ts';
import { CHECKSUM_ALGORITHMS, checksumHeader } from './checksums.ts';
import { S3Error } from './errors.ts';
import type { Exchange } from './exchange.ts';
import { parseXml } from './xml.ts';

const CONFIG_LIMIT = 64 * 1024;

/**
 * Reads and parses the request's XML document. A flexible checksum is verified as the body is read (body.ts),
 * Content-MD5 here. With `digestRequired` (operations S3 once required Content-MD5 for), a body with neither is
 * refused, as S3 does.
 */
export async function readConfigBody(x: Exchange, options: { digestRequired?: boolean; limit?: number } = {}): Promise<Record<string, unknown>> {
  return parseXml(await readConfigBytes(x, options));
}

/** The request's configuration document as bytes, its Content-MD5 or flexible checksum verified (see readConfigBody). */
export async function readConfigBytes(x: Exchange, options: { digestRequired?: boolean; limit?: number } = {}): Promise<Buffer> {
  const md5 = headerValue(x.req, 'content-md5');
  if (options.digestRequired && md5 === undefined && !hasFlexibleChecksum(x)) {
    throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
  }
  const body = await readSmallBody(x.req, options.limit ?? CONFIG_LIMIT);
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5.trim()) {
    throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
  }
  if (body.length === 0) throw new S3Error('MissingRequestBodyError', 400, 'Request Body is empty');
  return body;
}

function hasFlexibleChecksum(x: Exchange): boolean {
  return headerValue(x.req, 'x-amz-trailer') !== undefined || CHECKSUM_ALGORITHMS.some((a) => x.req.headers[checksumHeader(a)] !== undefined);
}
