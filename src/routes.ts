/**
 * The one dispatch table: which front end serves a request, by its Host and path. It lives here, where the
 * server is put together, so that src/http/ knows no front end. Every first path segment the table serves is a
 * name no bucket may take (`ROUTE_NAMES` in the constraints module), so S3's path-style addressing, the fallback
 * for every other path, never shadows a route and no route shadows a bucket.
 */
import type { IncomingMessage } from 'node:http';
import { ROUTE_NAMES } from './core/constraints.ts';
import { bucketExtFrontEnd } from './frontends/bucket-ext/handler.ts';
import { createConsoleFrontEnd, defaultConsoleDir, rootFrontEnd } from './frontends/console/handler.ts';
import { iamFrontEnd } from './frontends/iam/handler.ts';
import { swiftAuthV1 } from './frontends/swift/auth.ts';
import { crossDomainPolicy } from './frontends/swift/crossdomain.ts';
import { swiftFrontEnd } from './frontends/swift/handler.ts';
import { swiftInfo } from './frontends/swift/info.ts';
import { OPENSTACK_REQUEST_IDS, type FrontEnd, type Routed, type Router } from './http/context.ts';
import { opsEndpointFor } from './http/ops.ts';

/** S3 clients look for the request id in these. */
export const S3_REQUEST_IDS: readonly string[] = ['x-amz-request-id', 'x-amz-id-2'];

export interface RouterOptions {
  consoleDir?: string | null | undefined;
  /** Virtual-host-style S3 answers on `<bucket>.<s3Domain>` (ONGGI_S3_DOMAIN); null: path-style only. */
  s3Domain?: string | null | undefined;
  /** The S3 front end; absent: paths outside the table (and virtual hosts) are not found. */
  s3?: FrontEnd | undefined;
}

interface PathRoute {
  name: string;
  /** `exact`: the segment alone; `tree`: it and everything under it; `children`: only what is under it. */
  match: 'exact' | 'tree' | 'children';
  target: () => Routed;
}

export function createRouter(options: RouterOptions = {}): Router {
  const consoleSite = createConsoleFrontEnd(options.consoleDir ?? defaultConsoleDir());
  const openstack = (name: string, frontEnd: FrontEnd): (() => Routed) => {
    const routed: Routed = { kind: 'frontEnd', name, frontEnd, requestIdHeaders: OPENSTACK_REQUEST_IDS };
    return () => routed;
  };
  const ops = (name: 'healthz' | 'readyz' | 'metrics'): (() => Routed) => {
    const endpoint = opsEndpointFor(`/${name}`);
    if (!endpoint) throw new Error(`no operations endpoint /${name}`);
    const routed: Routed = { kind: 'ops', name, endpoint };
    return () => routed;
  };
  const table: readonly PathRoute[] = [
    { name: 'identity', match: 'tree', target: openstack('identity', iamFrontEnd) },
    { name: 'v1_ext', match: 'tree', target: openstack('v1_ext', bucketExtFrontEnd) },
    // `/v1` alone goes to Swift too, which answers it 412 Bad URL, as Swift's proxy does.
    { name: 'v1', match: 'tree', target: openstack('v1', swiftFrontEnd) },
    { name: 'info', match: 'exact', target: openstack('info', swiftInfo) },
    { name: 'auth', match: 'tree', target: openstack('auth', swiftAuthV1) },
    { name: 'crossdomain.xml', match: 'exact', target: openstack('crossdomain', crossDomainPolicy) },
    { name: 'console', match: 'tree', target: openstack('console', consoleSite) },
    { name: 'healthz', match: 'exact', target: ops('healthz') },
    { name: 'readyz', match: 'exact', target: ops('readyz') },
    { name: 'metrics', match: 'exact', target: ops('metrics') },
  ];
  checkReserved(table);
  const bySegment = new Map(table.map((route) => [route.name, route]));
  const root: Routed = { kind: 'frontEnd', name: 'root', frontEnd: rootFrontEnd, requestIdHeaders: OPENSTACK_REQUEST_IDS };
  const { s3 } = options;
  const s3Path: Routed | null = s3 ? { kind: 'frontEnd', name: 's3-path', frontEnd: s3, requestIdHeaders: S3_REQUEST_IDS } : null;
  const s3VirtualHost: Routed | null = s3 ? { kind: 'frontEnd', name: 's3-virtual-host', frontEnd: s3, requestIdHeaders: S3_REQUEST_IDS } : null;
  const hostSuffix = options.s3Domain ? `.${options.s3Domain.toLowerCase()}` : null;

  return (host, rawPath, req) => {
    if (hostSuffix && s3VirtualHost && host !== undefined && isVirtualHost(host, hostSuffix)) return s3VirtualHost;
    // `/` is the root page, or S3's ListBuckets for a request signed for S3.
    if (rawPath === '/') return s3Path && req && carriesS3Credentials(req) ? s3Path : root;
    const end = rawPath.indexOf('/', 1);
    const segment = end < 0 ? rawPath.slice(1) : rawPath.slice(1, end);
    const route = bySegment.get(segment);
    if (route && matches(route.match, end < 0)) return route.target();
    // A reserved name never falls through to S3: `/info/x`, `/metrics/x` are nobody's.
    if (route) return null;
    return s3Path;
  };
}

/** Whether a request is signed for S3 (SigV4 or SigV2, in the Authorization header or in the query). */
export function carriesS3Credentials(req: IncomingMessage): boolean {
  const authorization = req.headers.authorization;
  if (authorization !== undefined && (authorization.startsWith('AWS4-HMAC-SHA256') || authorization.startsWith('AWS '))) return true;
  const url = req.url ?? '';
  return url.includes('X-Amz-Algorithm=') || url.includes('AWSAccessKeyId=');
}

/** The bucket named by a virtual-host-style Host (`<bucket>.<domain>[:port]`), or null. */
export function virtualHostBucket(host: string, s3Domain: string): string | null {
  const name = hostName(host);
  const suffix = `.${s3Domain.toLowerCase()}`;
  return name.length > suffix.length && name.endsWith(suffix) ? name.slice(0, -suffix.length) : null;
}

function isVirtualHost(host: string, suffix: string): boolean {
  const name = hostName(host);
  return name.length > suffix.length && name.endsWith(suffix);
}

/** The Host header without its port, lower-cased (an IPv6 literal keeps its brackets). */
function hostName(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.lastIndexOf(':');
  return colon < 0 ? lower : lower.slice(0, colon);
}

function matches(match: PathRoute['match'], segmentOnly: boolean): boolean {
  if (match === 'tree') return true;
  return match === 'exact' ? segmentOnly : !segmentOnly;
}

function checkReserved(table: readonly PathRoute[]): void {
  for (const route of table) {
    if (!ROUTE_NAMES.includes(route.name)) throw new Error(`route /${route.name} is not a reserved bucket name (ROUTE_NAMES)`);
  }
}
