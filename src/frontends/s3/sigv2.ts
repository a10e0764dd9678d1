/**
 * AWS Signature Version 2, for older clients: `Authorization: AWS <access>:<signature>` and the query form
 * (`AWSAccessKeyId`, `Expires`, `Signature`). HMAC-SHA1 over the method, Content-MD5, Content-Type, the date, the
 * `x-amz-*` headers and the resource with its subresources. The payload is not signed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { S3Signer } from '../../core/s3-credentials.ts';
import type { Caller } from '../../core/types.ts';
import { headerValue, type Authenticator, type RequestContext } from '../../http/context.ts';
import { virtualHostBucket } from '../../routes.ts';
import { S3Error } from './errors.ts';
import { amzDateOf, checkSkew, recordSigned } from './sigv4.ts';

/** The query parameters that are part of the signed resource. */
const SUBRESOURCES = new Set([
  'acl', 'cors', 'delete', 'lifecycle', 'location', 'logging', 'notification', 'partNumber', 'policy', 'requestPayment', 'tagging',
  'torrent', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website', 'response-cache-control', 'response-content-disposition',
  'response-content-encoding', 'response-content-language', 'response-content-type', 'response-expires',
]);

interface V2Input {
  access: string;
  signature: string;
  /** The Date header's value (or the query's Expires), as signed. */
  dateLine: string;
}

/** The SigV2 authenticator for `s3Domain` (virtual hosts sign their bucket into the resource). */
export function sigV2Authenticator(s3Domain: string | null): Authenticator {
  return (req, ctx) => {
    const authorization = headerValue(req, 'authorization');
    const input = authorization?.startsWith('AWS ') ? fromHeader(req, authorization) : ctx.query.has('AWSAccessKeyId') ? fromQuery(ctx) : undefined;
    if (!input) return undefined;
    const signer = ctx.core.s3Credentials.signer(input.access);
    const check = (found: S3Signer | null): Caller => verify(req, ctx, input, found, s3Domain);
    return signer instanceof Promise ? signer.then(check) : check(signer);
  };
}

function fromHeader(req: IncomingMessage, authorization: string): V2Input {
  const credential = authorization.slice(4).trim();
  const colon = credential.lastIndexOf(':');
  if (colon <= 0) throw new S3Error('InvalidArgument', 400, 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature');
  const date = headerValue(req, 'x-amz-date') ?? headerValue(req, 'date');
  const amzDate = amzDateOf(date);
  if (!amzDate) throw new S3Error('AccessDenied', 403, 'AWS authentication requires a valid Date or x-amz-date header');
  checkSkew(amzDate);
  // With x-amz-date, the Date line is empty and the date is signed among the x-amz-* headers.
  return { access: credential.slice(0, colon), signature: credential.slice(colon + 1), dateLine: headerValue(req, 'x-amz-date') === undefined ? (date ?? '') : '' };
}

function fromQuery(ctx: RequestContext): V2Input {
  const q = ctx.query;
  const expires = q.get('Expires') ?? '';
  const signature = q.get('Signature');
  if (!signature || !/^\d+$/.test(expires)) throw new S3Error('AccessDenied', 403, 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
  if (Number(expires) * 1000 < Date.now()) throw new S3Error('AccessDenied', 403, 'Request has expired');
  // A '+' of the base64 signature sent unescaped reads as a space.
  return { access: q.get('AWSAccessKeyId') ?? '', signature: signature.replace(/ /g, '+'), dateLine: expires };
}

function verify(req: IncomingMessage, ctx: RequestContext, input: V2Input, signer: S3Signer | null, s3Domain: string | null): Caller {
  if (!signer) throw new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
  const expected = createHmac('sha1', signer.secret).update(stringToSign(req, ctx, input.dateLine, s3Domain), 'utf8').digest('base64');
  const given = Buffer.from(input.signature);
  const wanted = Buffer.from(expected);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new S3Error('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  recordSigned(req, { caller: signer.caller, payload: { kind: 'unsigned' } });
  return signer.caller;
}

function stringToSign(req: IncomingMessage, ctx: RequestContext, dateLine: string, s3Domain: string | null): string {
  const amz = Object.keys(req.headers)
    .filter((name) => name.startsWith('x-amz-'))
    .sort()
    .map((name) => {
      const value = req.headers[name];
      return `${name}:${(Array.isArray(value) ? value.join(',') : (value ?? '')).trim()}\n`;
    })
    .join('');
  return `${req.method ?? 'GET'}\n${headerValue(req, 'content-md5') ?? ''}\n${headerValue(req, 'content-type') ?? ''}\n${dateLine}\n${amz}${resourceOf(req, ctx, s3Domain)}`;
}

function resourceOf(req: IncomingMessage, ctx: RequestContext, s3Domain: string | null): string {
  const host = req.headers.host;
  const bucket = s3Domain && host ? virtualHostBucket(host, s3Domain) : null;
  const subresources = [...ctx.query.entries()]
    .filter(([name]) => SUBRESOURCES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`));
  return `${bucket === null ? '' : `/${bucket}`}${ctx.rawPath}${subresources.length > 0 ? `?${subresources.join('&')}` : ''}`;
}
