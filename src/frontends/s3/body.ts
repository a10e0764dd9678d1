/**
 * A request body as the S3 front end hands it to core: aws-chunked decoded, its SHA-256 (when signed whole) and
 * flexible checksum (in a header or a trailer) verified as it streams. A mismatch fails the read at its end, so
 * core's intake drops what it wrote and nothing is stored. A body with nothing to check goes to core as it is.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BodySource } from '../../core/object-intake.ts';
import type { Metadata } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import { checksumHeader, checksummer, CHECKSUM_ALGORITHMS, isChecksumAlgorithm, type ChecksumAlgorithm } from './checksums.ts';
import { decodeAwsChunked } from './chunked.ts';
import { S3Error } from './errors.ts';
import { signedRequestOf, type PayloadMode } from './sigv4.ts';

export interface IncomingBody {
  source: BodySource;
  /** The length of the object's bytes (aws-chunked: the decoded length), or null when not declared. */
  contentLength: number | null;
  /** The flexible checksum the client asked for, if any. */
  checksum: ChecksumAlgorithm | null;
}

const UNSIGNED: PayloadMode = { kind: 'unsigned' };

/**
 * The body of `req`. With `stored`, the verified checksum is added to it (as `x-amz-checksum-<algorithm>`) when
 * the body has been read: core builds the version's row after the body is in, from that same object.
 */
export function requestBody(req: IncomingMessage, stored: Metadata | null = null, bodyChecksum = true): IncomingBody {
  const payload = signedRequestOf(req)?.payload ?? UNSIGNED;
  const streaming = payload.kind === 'streaming' || /\baws-chunked\b/i.test(headerValue(req, 'content-encoding') ?? '');
  const checksum = bodyChecksum ? checksumOf(req) : null;
  const contentLength = streaming ? decodedLength(req) : declaredLength(req);
  if (!streaming && payload.kind === 'unsigned' && checksum === null) return { source: req, contentLength, checksum };
  const trailers = new Map<string, string>();
  const decoded: BodySource = streaming ? decodeAwsChunked(req, payload.kind === 'streaming' ? payload.chunkSigning : null, trailers) : req;
  return { source: verified(decoded, payload.kind === 'sha256' ? payload.hex : null, checksum, req, trailers, stored), contentLength, checksum };
}

/**
 * Reads a small request body whole (an XML document), through the same checks; past `limit` bytes it is refused.
 * `bodyChecksum` false: the request's `x-amz-checksum-*` headers are about something else (CompleteMultipartUpload's
 * name the object), not this body.
 */
export async function readSmallBody(req: IncomingMessage, limit = 1024 * 1024, bodyChecksum = true): Promise<Buffer> {
  const { source } = requestBody(req, null, bodyChecksum);
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of source) {
    size += piece.length;
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded', 400, 'Your request was too big.');
    pieces.push(Buffer.from(piece));
  }
  return Buffer.concat(pieces);
}

async function* verified(
  source: BodySource,
  sha256Hex: string | null,
  checksum: ChecksumAlgorithm | null,
  req: IncomingMessage,
  trailers: Map<string, string>,
  stored: Metadata | null,
): AsyncGenerator<Uint8Array> {
  const sha256 = sha256Hex === null ? null : createHash('sha256');
  const summer = checksum === null ? null : checksummer(checksum);
  for await (const chunk of source) {
    sha256?.update(chunk);
    summer?.update(chunk);
    yield chunk;
  }
  if (sha256 && sha256.digest('hex') !== sha256Hex) {
    throw new S3Error('XAmzContentSHA256Mismatch', 400, "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  if (!summer || checksum === null) return;
  const name = checksumHeader(checksum);
  const expected = headerValue(req, name) ?? trailers.get(name);
  if (expected === undefined) throw new S3Error('InvalidRequest', 400, `The ${name} trailer was declared but not sent`);
  const actual = await summer.digest();
  if (actual !== expected) throw new S3Error('BadDigest', 400, `The ${checksum.toUpperCase()} you specified did not match the calculated checksum.`);
  if (stored) stored[name] = actual;
}

/** The flexible checksum named by a header (`x-amz-checksum-crc32: …`) or announced as a trailer (`x-amz-trailer`). */
function checksumOf(req: IncomingMessage): ChecksumAlgorithm | null {
  const trailer = headerValue(req, 'x-amz-trailer')?.trim().toLowerCase();
  if (trailer !== undefined && trailer !== '') {
    const algorithm = trailer.replace(/^x-amz-checksum-/, '');
    if (!trailer.startsWith('x-amz-checksum-') || !isChecksumAlgorithm(algorithm)) throw new S3Error('InvalidRequest', 400, `Unsupported trailer ${trailer}`);
    return algorithm;
  }
  let found: ChecksumAlgorithm | null = null;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    if (req.headers[checksumHeader(algorithm)] === undefined) continue;
    if (found) throw new S3Error('InvalidRequest', 400, 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
    found = algorithm;
  }
  return found;
}

function decodedLength(req: IncomingMessage): number | null {
  const text = headerValue(req, 'x-amz-decoded-content-length');
  if (text === undefined) return null;
  if (!/^\d+$/.test(text)) throw new S3Error('InvalidArgument', 400, 'x-amz-decoded-content-length must be a number');
  return Number(text);
}

export function declaredLength(req: IncomingMessage): number | null {
  const length = headerValue(req, 'content-length');
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw new S3Error('InvalidArgument', 400, 'Invalid Content-Length');
    return Number(length);
  }
  if (/\bchunked\b/i.test(headerValue(req, 'transfer-encoding') ?? '')) return null;
  throw new S3Error('MissingContentLength', 411, 'You must provide the Content-Length HTTP header.');
}
