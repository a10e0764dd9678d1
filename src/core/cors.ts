/**
 * A bucket's CORS rules (KakaoCloud's model, S3's semantics): which origins may call the object API from a
 * browser, with which methods and headers. The one evaluation every front end (Swift, S3, public URLs) uses.
 */
import { fail } from './errors.ts';

export interface CorsRule {
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds: number | null;
}

export const MAX_CORS_RULES = 10;
export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Throws InvalidArgument naming the rule and field at fault. */
export function checkCorsRules(rules: readonly CorsRule[]): void {
  if (rules.length > MAX_CORS_RULES) fail('InvalidArgument', `rules: at most ${MAX_CORS_RULES} CORS rules per bucket`);
  rules.forEach((rule, i) => {
    const at = (field: string): string => `rules[${i}].${field}`;
    if (rule.allowedOrigins.length === 0) fail('InvalidArgument', `${at('allowed_origins')}: at least one origin is required`);
    for (const origin of rule.allowedOrigins) {
      if (origin === '' || countStars(origin) > 1) fail('InvalidArgument', `${at('allowed_origins')}: "${origin}" may hold one "*" wildcard at most`);
    }
    if (rule.allowedMethods.length === 0) fail('InvalidArgument', `${at('allowed_methods')}: at least one method is required`);
    for (const method of rule.allowedMethods) {
      if (!(CORS_METHODS as readonly string[]).includes(method)) fail('InvalidArgument', `${at('allowed_methods')}: "${method}" is not one of ${CORS_METHODS.join(', ')}`);
    }
    for (const header of rule.allowedHeaders) {
      if (countStars(header) > 1 || !TOKEN.test(header)) fail('InvalidArgument', `${at('allowed_headers')}: "${header}" is not a header name (one "*" wildcard at most)`);
    }
    for (const header of rule.exposeHeaders) {
      if (!TOKEN.test(header) || header.includes('*')) fail('InvalidArgument', `${at('expose_headers')}: "${header}" is not a header name`);
    }
    if (rule.maxAgeSeconds !== null && (!Number.isInteger(rule.maxAgeSeconds) || rule.maxAgeSeconds < 0)) {
      fail('InvalidArgument', `${at('max_age_seconds')}: must be a non-negative integer`);
    }
  });
}

export interface CorsRequest {
  origin: string;
  method: string;
  /** Access-Control-Request-Headers of a preflight (lower-case names); none for an actual request. */
  headers: readonly string[];
}

/** The response headers that allow `request`, or null when the bucket's rules refuse it. */
export function evaluateCors(rules: readonly CorsRule[], request: CorsRequest, preflight: boolean): Record<string, string> | null {
  // KakaoCloud: the first rule whose origin matches is the one used; its methods and headers then decide.
  const rule = rules.find((r) => r.allowedOrigins.some((pattern) => wildcardMatch(pattern, request.origin, true)));
  if (!rule?.allowedMethods.includes(request.method)) return null;
  if (!request.headers.every((h) => rule.allowedHeaders.some((pattern) => wildcardMatch(pattern.toLowerCase(), h, false)))) return null;
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': rule.allowedOrigins.includes('*') ? '*' : request.origin,
    Vary: 'Origin',
  };
  if (rule.exposeHeaders.length > 0) headers['Access-Control-Expose-Headers'] = rule.exposeHeaders.join(', ');
  if (preflight) {
    headers['Access-Control-Allow-Methods'] = rule.allowedMethods.join(', ');
    if (request.headers.length > 0) headers['Access-Control-Allow-Headers'] = request.headers.join(', ');
    if (rule.maxAgeSeconds !== null) headers['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  }
  return headers;
}

/** The container metadata (Swift's, without its `X-Container-Meta-` prefix) that sets a container's CORS. */
export const SWIFT_CORS_META = { allowOrigin: 'access-control-allow-origin', maxAge: 'access-control-max-age', exposeHeaders: 'access-control-expose-headers' } as const;

/** The response headers Swift always exposes to a page of an allowed origin. */
const SWIFT_EXPOSED = ['cache-control', 'content-language', 'content-type', 'expires', 'last-modified', 'pragma', 'etag', 'x-timestamp', 'x-trans-id', 'x-openstack-request-id'];

/**
 * The rules a bucket's CORS is evaluated with: its own rules (`/v1_ext` and S3's), then the rule its Swift
 * metadata makes (`X-Container-Meta-Access-Control-Allow-Origin`: origins separated by spaces, or `*`; `-Max-Age`;
 * `-Expose-Headers`, separated by spaces), which lets those origins use every Swift method with any request
 * header, as Swift does. The first rule whose origin matches decides, so a request is allowed by either setting.
 */
export function effectiveCorsRules(rules: readonly CorsRule[] | undefined, meta: Readonly<Record<string, string>>): readonly CorsRule[] {
  const swift = swiftMetadataRule(meta);
  if (!swift) return rules ?? [];
  return rules ? [...rules, swift] : [swift];
}

function swiftMetadataRule(meta: Readonly<Record<string, string>>): CorsRule | null {
  const origins = (meta[SWIFT_CORS_META.allowOrigin] ?? '').split(' ').filter((origin) => origin !== '');
  if (origins.length === 0) return null;
  const maxAge = (meta[SWIFT_CORS_META.maxAge] ?? '').trim();
  const exposed = (meta[SWIFT_CORS_META.exposeHeaders] ?? '').split(' ').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  return {
    allowedOrigins: origins,
    allowedMethods: [...CORS_METHODS, 'COPY'],
    allowedHeaders: ['*'],
    exposeHeaders: [...new Set([...SWIFT_EXPOSED, ...exposed])],
    maxAgeSeconds: /^\d+$/.test(maxAge) ? Number(maxAge) : null,
  };
}

/** A pattern with at most one `*`, matched whole; origins are case-sensitive, header names are not. */
function wildcardMatch(pattern: string, value: string, caseSensitive: boolean): boolean {
  const p = caseSensitive ? pattern : pattern.toLowerCase();
  const v = caseSensitive ? value : value.toLowerCase();
  const star = p.indexOf('*');
  if (star < 0) return p === v;
  const head = p.slice(0, star);
  const tail = p.slice(star + 1);
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail);
}

function countStars(value: string): number {
  return value.split('*').length - 1;
}

/** Access-Control-Request-Headers as a list of lower-case names. */
export function parseRequestHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}
