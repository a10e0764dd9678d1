/**
 * Swift's temp URLs: `?temp_url_sig=…&temp_url_expires=…` signs one method on one object (or, with
 * `temp_url_prefix`, on every object under a prefix) with a key kept in the account's or the container's metadata
 * (`X-Account-Meta-Temp-URL-Key`, `-Key-2`; `X-Container-Meta-Temp-URL-Key`, `-Key-2`). The signature is an HMAC
 * (sha1, sha256, sha512; hex, or `<digest>:<base64>`) of `[ip=<range>\n]<method>\n<expires>\n<path>`. A valid one
 * makes the request's caller an anonymous one scoped to that object (or prefix) and method (see `SignedScope`);
 * anything else about it is answered 401 `Temp URL invalid`, as Swift answers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { addressMatcher, authorize, checkAllowList, type BucketAction } from '../../core/authz.ts';
import { isOnggiError } from '../../core/errors.ts';
import type { Caller, Metadata } from '../../core/types.ts';
import { headerValue, type Authenticator, type RequestContext } from '../../http/context.ts';
import { httpDate } from '../../http/http-date.ts';
import { registerInfo } from './info.ts';
import { splitPath } from './router.ts';

export const SIGNING_KEY_NAMES = ['temp-url-key', 'temp-url-key-2'] as const;
export const SIGNATURE_DIGESTS = ['sha1', 'sha256', 'sha512'] as const;
type Digest = (typeof SIGNATURE_DIGESTS)[number];

/** What each method a temp URL may sign lets its bearer do. */
const METHOD_ACTIONS: Readonly<Record<string, readonly BucketAction[]>> = {
  GET: ['GetObject'],
  HEAD: ['GetObject'],
  PUT: ['PutObject'],
  POST: ['PutObject'],
  DELETE: ['DeleteObject'],
};
/** Headers a signed write may not carry: they would point the new object at bytes the URL does not give. */
const DISALLOWED_HEADERS = ['x-object-manifest', 'x-symlink-target'];
const HEX_DIGESTS: Readonly<Record<number, Digest>> = { 40: 'sha1', 64: 'sha256', 128: 'sha512' };
const ISO_EXPIRES = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

registerInfo('tempurl', () => ({
  methods: Object.keys(METHOD_ACTIONS),
  incoming_remove_headers: ['x-timestamp', 'x-open-expired'],
  incoming_allow_headers: [],
  outgoing_remove_headers: ['x-object-meta-*'],
  outgoing_allow_headers: ['x-object-meta-public-*'],
  allowed_digests: [...SIGNATURE_DIGESTS],
}));

/** What a temp URL asks of the response (Content-Disposition, Expires). */
interface TempUrlGrant {
  expires: number;
  filename: string | null;
  inline: boolean;
  object: string;
}

const grants = new WeakMap<Caller, TempUrlGrant>();

/** The first link of Swift's chain: undefined (no temp URL), null (an invalid one) or the scoped caller. */
export const tempUrlAuthenticator: Authenticator = (req, ctx) => {
  const { query } = ctx;
  if (!query.has('temp_url_sig') && !query.has('temp_url_expires')) return undefined;
  return tempUrlCaller(req, ctx);
};

/** Whether the request is a temp URL's (its refusals are Swift's `Temp URL invalid`). */
export function isTempUrlRequest(ctx: RequestContext): boolean {
  return ctx.query.has('temp_url_sig') || ctx.query.has('temp_url_expires');
}

async function tempUrlCaller(req: IncomingMessage, ctx: RequestContext): Promise<Caller | null> {
  const { query } = ctx;
  const method = req.method ?? 'GET';
  const expires = expiresOf(query.get('temp_url_expires'));
  const signature = signatureOf(query.get('temp_url_sig'));
  const parts = splitPath(ctx.rawPath);
  if (expires === null || !signature || !parts?.container || !parts.object || !METHOD_ACTIONS[method]) return null;
  const { account, container, object } = parts;
  const ipRange = query.get('temp_url_ip_range');
  if (ipRange !== null && !inRange(ipRange, ctx.clientIp)) return null;
  const prefix = query.get('temp_url_prefix');
  if (prefix !== null && !object.startsWith(prefix)) return null;
  const keys = await signingKeysOf(ctx, account, container);
  if (keys.length === 0) return null;
  const path = prefix === null ? `/v1/${account}/${container}/${object}` : `prefix:/v1/${account}/${container}/${prefix}`;
  // A HEAD may use a URL signed for any method that shows the object's headers.
  const methods = method === 'HEAD' ? ['HEAD', 'GET', 'POST', 'PUT'] : [method];
  const valid = methods.some((m) => keys.some((key) => signatureMatches(signature, hmacOf(signature.digest, key, m, expires, path, ipRange))));
  if (!valid) return null;
  if (method !== 'GET' && method !== 'HEAD') {
    const disallowed = DISALLOWED_HEADERS.find((name) => headerValue(req, name) !== undefined);
    if (disallowed) throw new TempUrlHeaderRefused(disallowed);
  }
  const caller: Caller = {
    kind: 'anonymous',
    ip: ctx.clientIp,
    context: { ip: ctx.clientIp, referrer: headerValue(req, 'referer'), secure: ctx.overTls() },
    scope: { account, bucket: container, target: prefix === null ? { key: object } : { prefix }, actions: METHOD_ACTIONS[method] ?? [] },
  };
  grants.set(caller, { expires, filename: query.get('filename'), inline: query.has('inline'), object });
  return caller;
}

/** A signed write carrying a header that a temp URL may not (Swift's 400). */
export class TempUrlHeaderRefused extends Error {
  constructor(readonly header: string) {
    super(`The header '${header.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('-')}' is not allowed in this tempurl`);
  }
}

/** Unix seconds, or ISO 8601 `YYYY-MM-DDTHH:MM:SSZ`; null when malformed or already past. */
function expiresOf(value: string | null): number | null {
  if (value === null) return null;
  let seconds: number;
  if (/^[+-]?\d+$/.test(value.trim())) {
    seconds = Number(value.trim());
  } else {
    const iso = ISO_EXPIRES.exec(value);
    if (!iso) return null;
    const [, y, mo, d, h, mi, s] = iso.map(Number) as [number, number, number, number, number, number, number];
    seconds = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
    if (new Date(seconds * 1000).getUTCDate() !== d) return null;
  }
  return seconds * 1000 < Date.now() ? null : seconds;
}

export interface Signature {
  digest: Digest;
  bytes: Buffer;
}

export function signatureOf(value: string | null): Signature | null {
  if (!value) return null;
  const colon = value.indexOf(':');
  if (colon < 0) {
    const digest = HEX_DIGESTS[value.length];
    return digest && /^[0-9a-fA-F]+$/.test(value) ? { digest, bytes: Buffer.from(value, 'hex') } : null;
  }
  const digest = value.slice(0, colon) as Digest;
  if (!SIGNATURE_DIGESTS.includes(digest)) return null;
  let b64 = value.slice(colon + 1);
  if (/[-_]/.test(b64) && !/[+/]/.test(b64)) b64 = b64.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  return { digest, bytes: Buffer.from(b64, 'base64') };
}

/**
 * The query of a temp URL for `method` on one object, as `swift tempurl` makes it (HMAC sha256 in hex); the path
 * signed is the decoded one the request will name.
 */
export function tempUrlQuery(key: string, method: string, expires: number, object: { account: string; container: string; key: string }): string {
  const path = `/v1/${object.account}/${object.container}/${object.key}`;
  const signature = hmacOf('sha256', key, method, expires, path, null).toString('hex');
  return new URLSearchParams({ temp_url_sig: signature, temp_url_expires: String(expires) }).toString();
}

function hmacOf(digest: Digest, key: string, method: string, expires: number, path: string, ipRange: string | null): Buffer {
  const body = `${ipRange === null ? '' : `ip=${ipRange}\n`}${method}\n${String(expires)}\n${path}`;
  return createHmac(digest, key).update(body).digest();
}

function signatureMatches(signature: Signature, expected: Buffer): boolean {
  return signature.bytes.length === expected.length && timingSafeEqual(signature.bytes, expected);
}

function inRange(range: string, ip: string): boolean {
  try {
    checkAllowList([range]);
  } catch (err) {
    if (isOnggiError(err)) return false;
    throw err;
  }
  return addressMatcher([range])(ip);
}

/** The account's keys and the container's (a container's sign only for that container, which the path names). */
export async function signingKeysOf(ctx: RequestContext, account: string, container: string): Promise<string[]> {
  const [project, bucket] = await Promise.all([ctx.core.directory.getProject(account), ctx.core.buckets.row(account, container)]);
  const keys: string[] = [];
  for (const meta of [project?.meta, bucket?.meta]) {
    for (const name of SIGNING_KEY_NAMES) {
      const key = meta?.[name];
      if (key) keys.push(key);
    }
  }
  return keys;
}

/** Whether the caller may set the account's metadata (and so see its signing keys). */
export function mayChangeAccount(caller: Caller, account: string): boolean {
  try {
    authorize(caller, 'PutAccountMetadata', { kind: 'account', account });
    return true;
  } catch (err) {
    if (isOnggiError(err)) return false;
    throw err;
  }
}

/** Metadata without the signing keys, for those who may not set them (Swift hides them from everyone else). */
export function withoutSigningKeys(meta: Metadata): Metadata {
  if (!SIGNING_KEY_NAMES.some((name) => name in meta)) return meta;
  const shown = { ...meta };
  for (const name of SIGNING_KEY_NAMES) Reflect.deleteProperty(shown, name);
  return shown;
}

/**
 * A temp URL's GET or HEAD answer as Swift gives it: private metadata left out (`X-Object-Meta-Public-*` kept),
 * a Content-Disposition (`inline`, the `filename` asked for, the object's own, or an attachment named after the
 * object) and an Expires of the URL's expiry.
 */
export function tempUrlHeaders(caller: Caller, headers: Record<string, string | number>): void {
  const grant = grants.get(caller);
  if (!grant) return;
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower.startsWith('x-object-meta-') && !lower.startsWith('x-object-meta-public-')) Reflect.deleteProperty(headers, name);
  }
  const existing = headers['Content-Disposition'];
  let disposition: string;
  if (grant.inline) disposition = grant.filename ? dispositionOf('inline', grant.filename) : 'inline';
  else if (grant.filename) disposition = dispositionOf('attachment', grant.filename);
  else if (existing !== undefined && existing !== 'attachment') disposition = String(existing);
  else disposition = dispositionOf('attachment', grant.object.replace(/\/+$/, '').split('/').pop() ?? '');
  headers['Content-Disposition'] = disposition.replace(/\n/g, '%0A');
  headers.Expires = httpDate(grant.expires);
}

function dispositionOf(type: string, filename: string): string {
  return `${type}; filename="${pythonQuote(filename, ' /')}"; filename*=UTF-8''${pythonQuote(filename, '/')}`;
}

/** Python's `urllib.parse.quote` (what Swift's headers use): letters, digits, `_.-~` and `safe` stay as they are. */
function pythonQuote(value: string, safe: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~]/.test(char) || safe.includes(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Swift's answer to an invalid or expired temp URL. */
export function sendTempUrlInvalid(res: ServerResponse, isHead: boolean, account: string): void {
  const body = isHead ? '' : '401 Unauthorized: Temp URL invalid\n';
  const realm = encodeURIComponent(account || 'unknown');
  res.writeHead(401, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': Buffer.byteLength(body), 'Www-Authenticate': `Swift realm="${realm}"` });
  res.end(isHead ? undefined : body);
}
