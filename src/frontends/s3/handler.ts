/** The S3 front end: route (parse), authenticate (SigV4), resolve the bucket's project, then handle; errors as S3's XML. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asOnggiError } from '../../core/errors.ts';
import type { Caller } from '../../core/types.ts';
import { anonymousAuthenticator, authenticate, accessOf, type Authenticator, type FrontEnd, type RequestContext } from '../../http/context.ts';
import { noteStorageRefusal } from '../../http/storage-refusal.ts';
import { virtualHostBucket } from '../../routes.ts';
import { logBucketAccess } from '../../http/bucket-access-log.ts';
import { lastModifiedHeader } from '../../http/http-date.ts';
import { concernsCors } from '../../http/cors.ts';
import { applyS3Cors } from './cors.ts';
import { dispatch } from './dispatch.ts';
import { fromCore, S3Error, sendS3Error } from './errors.ts';
import { addressOf, routeS3, type S3Route } from './router.ts';
import { sigV2Authenticator } from './sigv2.ts';
import { sigV4Authenticator } from './sigv4.ts';

/** SigV4 (header or presigned query), SigV2 (header or query), else anonymous. */
export function s3Authenticators(s3Domain: string | null): readonly Authenticator[] {
  return [sigV4Authenticator, sigV2Authenticator(s3Domain), anonymousAuthenticator];
}

/** The operation's name in the access log and metrics, told apart from Swift's operations of the same name. */
const opNames = new Map<string, string>();

function opName(op: S3Route['op']): string {
  let name = opNames.get(op);
  if (name === undefined) {
    name = `S3.${op}`;
    opNames.set(op, name);
  }
  return name;
}

export function createS3FrontEnd(s3Domain: string | null = null): FrontEnd {
  const chain = s3Authenticators(s3Domain);
  return async (req, res, ctx) => {
    const host = req.headers.host;
    const virtualBucket = s3Domain && host ? virtualHostBucket(host, s3Domain) : null;
    const address = addressOf(ctx.rawPath, virtualBucket);
    const route: S3Route = address ? routeS3(req.method ?? 'GET', address.bucket, address.rawKey, ctx.query, req.headers) : { op: 'InvalidURI' };
    ctx.op = opName(route.op);
    if (address?.bucket && concernsCors(req) && (await applyS3Cors(req, res, ctx, address.bucket))) return;
    let foreign = false;
    try {
      refuseUnroutable(route);
      ctx.checkStorage(accessOf(req.method));
      const caller = (await authenticate(chain, req, ctx)) ?? anonymous(ctx);
      const resolved = 'bucket' in route ? accountOf(ctx, caller, route) : caller.kind === 'user' ? caller.projectId : '';
      // Answered from the cache most of the time: no turn of the event loop then.
      const account = typeof resolved === 'string' ? resolved : await resolved;
      ctx.account = account;
      if ('bucket' in route && ctx.core.accessLog.logs(account, route.bucket)) logBucketAccess(req, res, ctx, { account, bucket: route.bucket, key: 'key' in route ? route.key : null }, accessLogOperation(req.method, route));
      foreign = caller.kind === 'user' && account !== caller.projectId;
      await dispatch(route, { req, res, ctx, caller, account });
    } catch (caught) {
      fail(caught, req, res, ctx, route, foreign);
    }
  };
}

/** S3's server access log names operations `REST.<method>.<what>`. */
function accessLogOperation(method: string | undefined, route: S3Route): string {
  return `REST.${method ?? 'GET'}.${'key' in route ? 'OBJECT' : 'BUCKET'}`;
}

function refuseUnroutable(route: S3Route): void {
  if (route.op === 'NotImplemented') throw new S3Error('NotImplemented', 501, `A header or query you provided implies functionality that is not implemented: ${route.what}`);
  if (route.op === 'MethodNotAllowed') throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
  if (route.op === 'InvalidURI') throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
}

/**
 * The project of the addressed bucket: server-wide names resolve to their owner's project (a name nobody holds, to
 * the caller's own); per-project names are in the signer's project.
 */
function accountOf(ctx: RequestContext, caller: Caller, route: Extract<S3Route, { bucket: string }>): string | Promise<string> {
  const own = caller.kind === 'user' ? caller.projectId : '';
  if (route.op === 'CreateBucket' || !ctx.core.buckets.naming.serverWideNames) return own;
  const owner = ctx.core.buckets.ownerOf(route.bucket);
  return owner instanceof Promise ? owner.then((found) => found ?? own) : (owner ?? own);
}

function anonymous(ctx: RequestContext): Caller {
  return { kind: 'anonymous', ip: ctx.clientIp, context: { ip: ctx.clientIp, secure: ctx.overTls() } };
}

function fail(caught: unknown, req: IncomingMessage, res: ServerResponse, ctx: RequestContext, route: S3Route, foreign: boolean): void {
  const core = caught instanceof S3Error ? null : asOnggiError(caught);
  if (!(caught instanceof S3Error) && !core) throw caught;
  if (core) noteStorageRefusal(ctx, core);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  let err = core ? fromCore(core) : (caught as S3Error);
  // Another project's bucket answers as a missing one would: a refusal must not tell that it exists.
  if (foreign && core?.code === 'AccessDenied' && core.detail.bucketVisible !== true) err = new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist');
  const headers: Record<string, string | number> = {};
  if (core?.code === 'NotModified') {
    headers.ETag = `"${core.detail.record.etag}"`;
    headers['Last-Modified'] = lastModifiedHeader(core.detail.record);
  }
  if (core?.code === 'InvalidRange') headers['Content-Range'] = `bytes */${String(core.detail.size)}`;
  if ((core?.code === 'NoSuchKey' || core?.code === 'MethodNotAllowed') && core.detail.deleteMarker) {
    headers['x-amz-delete-marker'] = 'true';
    if (core.detail.versionId) headers['x-amz-version-id'] = core.detail.versionId;
  }
  // A body that will not be read is drained, so the connection stays usable (small ones) or is closed.
  if (!req.complete) req.resume();
  sendS3Error(res, err, resourceOf(route, ctx), headers);
}

function resourceOf(route: S3Route, ctx: RequestContext): string {
  if ('key' in route) return `/${route.bucket}/${route.key}`;
  if ('bucket' in route) return `/${route.bucket}`;
  return ctx.rawPath;
}
