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
  const given = Buffer.from(input.signature);
  const signs = (resource: string): boolean => {
    const wanted = Buffer.from(createHmac('sha1', signer.secret).update(stringToSign(req, input.dateLine, resource), 'utf8').digest('base64'));
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  };
  if (!resourcesOf(req, ctx, s3Domain).some(signs)) {
    throw new S3Error('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  recordSigned(req, { caller: signer.caller, payload: { kind: 'unsigned' } });
  return signer.caller;
}

function stringToSign(req: IncomingMessage, dateLine: string, resource: string): string {
  const amz = Object.keys(req.headers)
    .filter((name) => name.startsWith('x-amz-'))
    .sort()
    .map((name) => {
      const value = req.headers[name];
      return `${name}:${(Array.isArray(value) ? value.join(',') : (value ?? '')).trim()}\n`;
    })
    .join('');
  return `${req.method ?? 'GET'}\n${headerValue(req, 'content-md5') ?? ''}\n${headerValue(req, 'content-type') ?? ''}\n${dateLine}\n${amz}${resource}`;
}

/**
 * The resource as the client may have signed it. Clients differ where S3 is lenient: a bucket's own resource with
 * or without its trailing slash (botocore signs `/bucket/`), a subresource without a value as sent (`uploads` or
 * `uploads=`).
 */
function resourcesOf(req: IncomingMessage, ctx: RequestContext, s3Domain: string | null): string[] {
  const host = req.headers.host;
  const bucket = s3Domain && host ? virtualHostBucket(host, s3Domain) : null;
  const path = `${bucket === null ? '' : `/${bucket}`}${ctx.rawPath}`;
  const paths = /^\/[^/]+\/?$/.test(path) ? [path, path.endsWith('/') ? path.slice(0, -1) : `${path}/`] : [path];
  const asSent = subresourcesOf(req.url ?? '', false);
  const collapsed = subresourcesOf(req.url ?? '', true);
  return paths.flatMap((p) => (collapsed === asSent ? [p + asSent] : [p + asSent, p + collapsed]));
}

/** `?name[=value]&…` of the signed subresources in the raw query, sorted by name, values decoded; `collapse`: `name=` as `name`. */
function subresourcesOf(url: string, collapse: boolean): string {
  const mark = url.indexOf('?');
  if (mark < 0) return '';
  const signed = url
    .slice(mark + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const value = eq < 0 ? null : decoded(part.slice(eq + 1));
      return { name: decoded(eq < 0 ? part : part.slice(0, eq)), value: collapse && value === '' ? null : value };
    })
    .filter(({ name }) => SUBRESOURCES.has(name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, value }) => (value === null ? name : `${name}=${value}`));
  return signed.length > 0 ? `?${signed.join('&')}` : '';
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
