import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Core } from '../core/index.ts';
import type { Caller } from '../core/types.ts';
import type { RequestNotes } from './access-log.ts';
import type { OpsEndpoint } from './ops.ts';
import { trustBody } from './body-deadline.ts';

/** `op` and `account` (from RequestNotes) are set by the front end, for the access log and the metrics. */
export interface RequestContext extends RequestNotes {
  readonly txId: string;
  readonly log: Logger;
  readonly clientIp: string;
  /** The path exactly as sent, still percent-encoded; front ends decode the parts they own. */
  readonly rawPath: string;
  readonly query: URLSearchParams;
  readonly core: Core;
  /** Base URL clients reach this server at (config, or derived from the request's Host). */
  readonly publicUrl: string;
  readonly region: string;
  /** Who the request was authenticated as, once callerOf has run (the bucket access log's requester). */
  caller?: Caller | null;
  /** Throws StorageUnavailable while the data directory cannot serve this kind of request (see DataDirHealth). */
  checkStorage(access: 'read' | 'write'): void;
  /**
   * Whether secrets may travel in this request (S3's SSE-C keys): it came over TLS (to this server, or to a
   * trusted proxy that says so in X-Forwarded-Proto), from a loopback address, or the operator allows plain HTTP
   * (ONGGI_SSE_C_OVER_HTTP).
   */
  secureTransport(): boolean;
  /** Whether the request came over TLS, to this server or to a trusted proxy that says so (S3's aws:SecureTransport). */
  overTls(): boolean;
}

export function accessOf(method: string | undefined): 'read' | 'write' {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

export type FrontEnd = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => Promise<void>;

/** The headers carrying a response's request id for OpenStack's clients (Swift's X-Trans-Id, OpenStack's request id). */
export const OPENSTACK_REQUEST_IDS: readonly string[] = ['X-Trans-Id', 'X-Openstack-Request-Id'];

/**
 * Where a request goes (see src/routes.ts): an operations endpoint, served while the data directory still
 * opens, or a front end, with the headers its protocol's clients read the request id from.
 */
export type Routed =
  | { kind: 'ops'; name: string; endpoint: OpsEndpoint }
  | { kind: 'frontEnd'; name: string; frontEnd: FrontEnd; requestIdHeaders: readonly string[] };

/**
 * The dispatch table: a request's Host header and raw path → where it goes (null: nowhere, 404). The request
 * itself is there for what its path alone does not say (S3's ListBuckets shares `/` with the root page).
 */
export type Router = (host: string | undefined, rawPath: string, req?: IncomingMessage) => Routed | null;

/**
 * One link of a front end's chain of authenticators: the request's caller, null when the request carries this
 * kind of credential but it is not valid, or undefined when it carries none of this kind (the next link decides).
 */
export type Authenticator = (req: IncomingMessage, ctx: RequestContext) => Promise<Caller | null | undefined> | Caller | null | undefined;

/** An OpenStack token (X-Auth-Token / X-Storage-Token). */
export const tokenAuthenticator: Authenticator = (req, ctx) => {
  const token = headerValue(req, 'x-auth-token') ?? headerValue(req, 'x-storage-token');
  return token === undefined ? undefined : ctx.core.identity.callerFromToken(token);
};

/** Whoever sent nothing the links before understood. */
export const anonymousAuthenticator: Authenticator = (req, ctx) => ({
  kind: 'anonymous',
  ip: ctx.clientIp,
  context: { ip: ctx.clientIp, referrer: headerValue(req, 'referer'), secure: ctx.overTls() },
});

/** The chain of the OpenStack front ends (the bucket API; Swift puts its temp URLs before it: SWIFT_AUTHENTICATORS). */
export const OPENSTACK_AUTHENTICATORS: readonly Authenticator[] = [tokenAuthenticator, anonymousAuthenticator];

/**
 * The caller behind a request, by the first link of `chain` that recognises its credentials (null: they are not
 * valid), with the request's own facts (address, referrer) for the rules of `authorize` that look at them. (Links
 * answer at once where they can: each await is a turn of the event loop on the hot path.)
 */
export async function authenticate(chain: readonly Authenticator[], req: IncomingMessage, ctx: RequestContext): Promise<Caller | null> {
  let caller: Caller | null | undefined;
  for (const link of chain) {
    const answer = link(req, ctx);
    caller = answer instanceof Promise ? await answer : answer;
    if (caller !== undefined) break;
  }
  const found = caller?.kind === 'user' ? inContext(caller, ctx.clientIp, headerValue(req, 'referer'), ctx.overTls()) : (caller ?? null);
  ctx.caller = found;
  if (found?.kind === 'user') trustBody(req);
  return found;
}

/**
 * A user's caller with the request's facts. Callers are kept per access key (identity.ts), and a client sends its
 * requests from one address: the last one made for a caller is used again while its facts are the same.
 */
const lastInContext = new WeakMap<Caller, Caller>();

function inContext(caller: Extract<Caller, { kind: 'user' }>, ip: string, referrer: string | undefined, secure: boolean): Caller {
  const last = lastInContext.get(caller);
  if (last?.context?.ip === ip && last.context.referrer === referrer && last.context.secure === secure) return last;
  const made: Caller = { ...caller, context: { ip, referrer, secure } };
  lastInContext.set(caller, made);
  return made;
}

/** The caller behind a request to an OpenStack front end (see `authenticate`). */
export async function callerOf(req: IncomingMessage, ctx: RequestContext): Promise<Caller | null> {
  return authenticate(OPENSTACK_AUTHENTICATORS, req, ctx);
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
