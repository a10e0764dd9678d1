/**
 * AWS Signature Version 4, as S3 checks it: in the Authorization header or in the query (presigned URLs), for any
 * region, with the payload unsigned, signed whole (`x-amz-content-sha256`, checked as the body streams) or signed
 * chunk by chunk (aws-chunked; see chunked.ts). A link of the S3 front end's chain of authenticators.
 */
import { createHash, createHmac, hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { S3Signer } from '../../core/s3-credentials.ts';
import type { Caller } from '../../core/types.ts';
import { headerValue, type Authenticator, type RequestContext } from '../../http/context.ts';
import { S3Error } from './errors.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = createHash('sha256').digest('hex');
/** How far a request's time may be from the server's (S3's 15 minutes). */
const MAX_SKEW_MS = 15 * 60 * 1000;
/** A presigned URL lives at most a week. */
const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;

/** How the request's body is covered by its signature. */
export type PayloadMode =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; hex: string }
  | { kind: 'streaming'; signed: boolean; trailer: boolean; chunkSigning: ChunkSigning | null };

/** What a signed aws-chunked body needs to check each chunk's signature against the one before it. */
export interface ChunkSigning {
  key: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export interface SignedRequest {
  payload: PayloadMode;
  caller: Extract<Caller, { kind: 'user' }>;
}

/** The signature facts of each authenticated request, for the body's checks (see body.ts). */
const signedRequests = new WeakMap<IncomingMessage, SignedRequest>();

export function signedRequestOf(req: IncomingMessage): SignedRequest | undefined {
  return signedRequests.get(req);
}

/** Records what another signature version (SigV2) found, for the body's checks. */
export function recordSigned(req: IncomingMessage, signed: SignedRequest): void {
  signedRequests.set(req, signed);
}

export interface Credential {
  access: string;
  date: string;
  region: string;
  service: string;
  /** `date/region/service/aws4_request`, as the string to sign names it. */
  scope: string;
}

interface SignatureInput {
  credential: Credential;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  presigned: boolean;
}

/** Whether the request carries SigV4 credentials (header or query), without checking them. */
export function carriesSigV4(authorization: string | undefined, query: string): boolean {
  return authorization?.startsWith(ALGORITHM) === true || query.includes('X-Amz-Algorithm=');
}

/** The authenticator: undefined when the request carries no SigV4 credentials; throws S3's errors when they do not check out. */
export const sigV4Authenticator: Authenticator = (req, ctx) => {
  const authorization = headerValue(req, 'authorization');
  const input = authorization?.startsWith(ALGORITHM) ? fromHeader(req, authorization) : ctx.query.has('X-Amz-Algorithm') ? fromQuery(req, ctx) : undefined;
  if (!input) return undefined;
  const signer = ctx.core.s3Credentials.signer(input.credential.access);
  return signer instanceof Promise ? signer.then((found) => verify(req, ctx, input, found)) : verify(req, ctx, input, signer);
};

function verify(req: IncomingMessage, ctx: RequestContext, input: SignatureInput, signer: S3Signer | null): Caller {
  if (!signer) throw new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
  const key = signingKey(signer.secret, input.credential);
  const canonicalUri = normalizedUri(ctx.rawPath);
  let ok = signatureMatches(key, input, canonicalRequest(req, ctx, canonicalUri, input));
  // A client that sent its path unescaped differently from the canonical form signs what it sent.
  if (!ok && canonicalUri !== ctx.rawPath) ok = signatureMatches(key, input, canonicalRequest(req, ctx, ctx.rawPath, input));
  if (!ok) throw new S3Error('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  const payload = payloadMode(input, key);
  // Only a body's checks read this (body.ts), and an unsigned one is what they assume without it.
  if (payload.kind !== 'unsigned' && req.method !== 'GET' && req.method !== 'HEAD') signedRequests.set(req, { caller: signer.caller, payload });
  return signer.caller;
}

function signatureMatches(key: Buffer, input: SignatureInput, canonical: string): boolean {
  const expected = hmac(key, `${ALGORITHM}\n${input.amzDate}\n${input.credential.scope}\n${sha256Hex(canonical)}`);
  // A hex signature of the right length; one with other characters decodes shorter and fails the length check.
  if (input.signature.length !== expected.length * 2) return false;
  const given = Buffer.from(input.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(expected, given);
}

function payloadMode(input: SignatureInput, key: Buffer): PayloadMode {
  const hash = input.payloadHash;
  if (hash === UNSIGNED_PAYLOAD) return { kind: 'unsigned' };
  if (/^[0-9a-f]{64}$/.test(hash)) return { kind: 'sha256', hex: hash };
  const chunkSigning = { key, amzDate: input.amzDate, scope: input.credential.scope, seedSignature: input.signature };
  switch (hash) {
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'streaming', signed: true, trailer: false, chunkSigning };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming', signed: true, trailer: true, chunkSigning };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming', signed: false, trailer: true, chunkSigning: null };
    default:
      throw new S3Error('InvalidArgument', 400, `x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a SHA-256 hex digest, not ${hash}`);
  }
}

function fromHeader(req: IncomingMessage, authorization: string): SignatureInput {
  const fields = authorizationFields(authorization);
  if (!fields) throw malformed('The authorization header is malformed; it must name Credential, SignedHeaders and Signature.');
  const amzDate = headerValue(req, 'x-amz-date') ?? amzDateOf(headerValue(req, 'date'));
  if (!amzDate) throw new S3Error('AccessDenied', 403, 'AWS authentication requires a valid Date or x-amz-date header');
  checkSkew(amzDate);
  const payloadHash = headerValue(req, 'x-amz-content-sha256');
  if (!payloadHash) throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256');
  return { credential: fields.credential, signedHeaders: fields.signedHeaders, signature: fields.signature, amzDate, payloadHash, presigned: false };
}

interface AuthorizationScope {
  credential: Credential;
  signedHeaders: string[];
}

/**
 * Credential, SignedHeaders and Signature. Clients put the signature last and send the same text before it with
 * every request of a day, so that part is parsed once; fields in another order are parsed every time.
 */
function authorizationFields(authorization: string): (AuthorizationScope & { signature: string }) | undefined {
  const at = authorization.lastIndexOf('Signature=');
  const signature = at < 0 ? '' : authorization.slice(at + 'Signature='.length).trim();
  const scope = signature && !signature.includes(',') ? scopeBefore(authorization.slice(0, at)) : undefined;
  if (scope) return { credential: scope.credential, signedHeaders: scope.signedHeaders, signature };
  const fields = fieldsOf(authorization);
  const anyOrder = scopeOf(fields);
  const anySignature = fields.get('Signature');
  return anyOrder && anySignature ? { ...anyOrder, signature: anySignature } : undefined;
}

const scopesByText = new Map<string, AuthorizationScope>();

function scopeBefore(unsigned: string): AuthorizationScope | undefined {
  let scope = scopesByText.get(unsigned);
  if (scope) return scope;
  scope = scopeOf(fieldsOf(unsigned));
  if (!scope) return undefined;
  if (scopesByText.size >= 1000) scopesByText.clear();
  scopesByText.set(unsigned, scope);
  return scope;
}

function fieldsOf(authorization: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of authorization.slice(ALGORITHM.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return fields;
}

function scopeOf(fields: Map<string, string>): AuthorizationScope | undefined {
  const credentialText = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  if (!credentialText || !signedHeaders) return undefined;
  return { credential: parseCredential(credentialText, malformed), signedHeaders: signedHeaders.split(';') };
}

function fromQuery(req: IncomingMessage, ctx: RequestContext): SignatureInput {
  const q = ctx.query;
  const queryError = (message: string): S3Error => new S3Error('AuthorizationQueryParametersError', 400, message);
  if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const credentialText = q.get('X-Amz-Credential');
  const amzDate = q.get('X-Amz-Date');
  const expires = q.get('X-Amz-Expires');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const signature = q.get('X-Amz-Signature');
  if (!credentialText || !amzDate || !expires || !signedHeaders || !signature) {
    throw queryError('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  if (!/^\d+$/.test(expires) || Number(expires) > MAX_EXPIRES_SECONDS) throw queryError('X-Amz-Expires must be a number of seconds no greater than 604800 (seven days)');
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === null) throw queryError('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
  const now = Date.now();
  if (signedAt - now > MAX_SKEW_MS) throw skewed(amzDate);
  if (now > signedAt + Number(expires) * 1000) throw new S3Error('AccessDenied', 403, 'Request has expired', { Expires: new Date(signedAt + Number(expires) * 1000).toISOString(), ServerTime: new Date(now).toISOString() });
  const payloadHash = q.get('X-Amz-Content-Sha256') ?? headerValue(req, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
  return { credential: parseCredential(credentialText, queryError), signedHeaders: signedHeaders.split(';'), signature, amzDate, payloadHash, presigned: true };
}

export function parseCredential(text: string, error: (message: string) => S3Error): Credential {
  const parts = text.split('/');
  // The access key id itself holds no slash; the scope's four parts follow it.
  const [access, date, region, service, terminator] = parts;
  if (parts.length !== 5 || !access || !date || region === undefined || !service || terminator !== 'aws4_request' || !/^\d{8}$/.test(date)) {
    throw error(`Credential must be <access key>/<yyyyMMdd>/<region>/s3/aws4_request, not ${text}`);
  }
  return { access, date, region, service, scope: `${date}/${region}/${service}/aws4_request` };
}

function canonicalRequest(req: IncomingMessage, ctx: RequestContext, uri: string, input: SignatureInput): string {
  let headers = '';
  for (const name of input.signedHeaders) headers += `${name}:${canonicalHeaderValue(req, name)}\n`;
  return `${req.method ?? 'GET'}\n${uri}\n${canonicalQuery(req.url ?? '', input.presigned)}\n${headers}\n${input.signedHeaders.join(';')}\n${input.payloadHash}`;
}

function canonicalHeaderValue(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value.map((v) => v.trim()).join(',') : (value ?? '');
  return text.trim().replace(/\s+/g, ' ');
}

/**
 * Canonical queries by the query as sent: a presigned URL is fetched again and again as it is, and its query's
 * decoding and escaping is most of what checking its signature costs.
 */
const canonicalQueries = new Map<string, string>();

function canonicalQuery(url: string, presigned: boolean): string {
  const at = url.indexOf('?');
  if (at < 0) return '';
  const raw = url.slice(at + 1);
  if (raw.length > 2048) return canonicalQueryOf(raw, presigned);
  const id = presigned ? `p${raw}` : `h${raw}`;
  let canonical = canonicalQueries.get(id);
  if (canonical === undefined) {
    canonical = canonicalQueryOf(raw, presigned);
    if (canonicalQueries.size >= 1000) canonicalQueries.clear();
    canonicalQueries.set(id, canonical);
  }
  return canonical;
}

/** The query's parameters, each name and value escaped as SigV4 says and sorted; a presigned URL's signature left out. */
function canonicalQueryOf(raw: string, presigned: boolean): string {
  const pairs: Array<[string, string]> = [];
  for (const piece of raw.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = uriEncode(decodeLoose(eq < 0 ? piece : piece.slice(0, eq)));
    if (presigned && name === 'X-Amz-Signature') continue;
    pairs.push([name, uriEncode(decodeLoose(eq < 0 ? '' : piece.slice(eq + 1)))]);
  }
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** The path with each segment escaped once, as SigV4's canonical URI for S3 (no normalization of `.` or `//`). */
function normalizedUri(rawPath: string): string {
  if (!rawPath.includes('%') && /^[A-Za-z0-9\-._~/]*$/.test(rawPath)) return rawPath;
  return rawPath.split('/').map((segment) => uriEncode(decodeLoose(segment))).join('/');
}

function decodeLoose(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** RFC 3986 escaping: everything but unreserved characters. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Signing keys by secret and scope: the four HMACs are done once a day per credential and region. */
const signingKeys = new Map<string, { secret: string; key: Buffer }>();
/** The same, by the credential parsed once for an Authorization header's text (see scopeBefore). */
const signingKeysOf = new WeakMap<Credential, { secret: string; key: Buffer }>();

export function signingKey(secret: string, credential: Credential): Buffer {
  const known = signingKeysOf.get(credential);
  if (known?.secret === secret) return known.key;
  const id = `${credential.access}/${credential.scope}`;
  let entry = signingKeys.get(id);
  if (entry?.secret !== secret) {
    const dateKey = hmac(Buffer.from(`AWS4${secret}`, 'utf8'), credential.date);
    entry = { secret, key: hmac(hmac(hmac(dateKey, credential.region), credential.service), 'aws4_request') };
    if (signingKeys.size > 10_000) signingKeys.clear();
    signingKeys.set(id, entry);
  }
  signingKeysOf.set(credential, entry);
  return entry.key;
}

export function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export function sha256Hex(data: string | Buffer): string {
  return hash('sha256', data);
}

export function safeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b.toLowerCase());
  return left.length === right.length && timingSafeEqual(left, right);
}

export function checkSkew(amzDate: string): void {
  const at = parseAmzDate(amzDate);
  if (at === null) throw new S3Error('AccessDenied', 403, 'AWS authentication requires a valid Date or x-amz-date header');
  if (Math.abs(Date.now() - at) > MAX_SKEW_MS) throw skewed(amzDate);
}

function skewed(amzDate: string): S3Error {
  return new S3Error('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.', {
    RequestTime: amzDate,
    ServerTime: new Date().toISOString(),
    MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
  });
}

/** The last x-amz-date read: requests of one second share it. */
let lastAmzDate = { text: '', at: 0 };

function parseAmzDate(text: string): number | null {
  if (text === lastAmzDate.text) return lastAmzDate.at;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  lastAmzDate = { text, at };
  return at;
}

/** A Date header (RFC 1123) in x-amz-date's form, for clients that sign Date instead. */
export function amzDateOf(date: string | undefined): string | undefined {
  if (date === undefined) return undefined;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function malformed(message: string): S3Error {
  return new S3Error('AuthorizationHeaderMalformed', 400, message);
}
