/** /v1_ext/bucket: KakaoCloud's bucket management JSON API. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { permissionsFor, type BucketPermission } from '../../core/buckets.ts';
import { BUCKET_LIST_LIMIT } from '../../core/constraints.ts';
import { asOnggiError, isOnggiError } from '../../core/errors.ts';
import { JSON_API_STATUS } from '../../http/error-status.ts';
import type { CorsRule } from '../../core/cors.ts';

import type { EmptyingProgress } from '../../core/emptying.ts';
import type { LifecycleRule } from '../../core/lifecycle.ts';
import { BUCKET_ROLES, RETENTION_MODES, type DefaultRetention, type ObjectLockConfiguration } from '../../core/model.ts';
import type { Bucket, Caller } from '../../core/types.ts';
import { logBucketAccess } from '../../http/bucket-access-log.ts';
import { noteStorageRefusal } from '../../http/storage-refusal.ts';
import { BodyTooLargeError, InvalidJsonError, isJsonContentType, readJson } from '../../http/body.ts';
import { accessOf, callerOf, type RequestContext } from '../../http/context.ts';
import { sendJson } from '../../http/respond.ts';
import { signTempLink, tempLinkSchema } from './temp-link.ts';

export type BucketExtRoute =
  | { op: 'CreateBucket'; pathName: string | null }
  | { op: 'ListBuckets' }
  | { op: 'GetBucket'; name: string }
  | { op: 'UpdateBucketAcl'; name: string }
  | { op: 'DeleteBucket'; name: string }
  | { op: 'ListPermissions'; name: string }
  | { op: 'PutPermission'; name: string }
  | { op: 'DeletePermission'; name: string; userId: string }
  | { op: 'GetCors'; name: string }
  | { op: 'PutCors'; name: string }
  | { op: 'DeleteCors'; name: string }
  | { op: 'GetLogging'; name: string }
  | { op: 'PutLogging'; name: string }
  | { op: 'DeleteLogging'; name: string }
  | { op: 'StartEmptying'; name: string }
  | { op: 'GetEmptying'; name: string }
  | { op: 'GetLifecycle'; name: string }
  | { op: 'PutLifecycle'; name: string }
  | { op: 'DeleteLifecycle'; name: string }
  | { op: 'SignTempUrl'; name: string }
  | { op: 'GetObjectLock'; name: string }
  | { op: 'PutObjectLock'; name: string }
  | { op: 'NotFound' }
  | { op: 'MethodNotAllowed' };

export function routeBucketExt(method: string, rawPath: string): BucketExtRoute {
  const match = /^\/v1_ext\/bucket(?:\/([^/]+)(?:\/([a-z_]+)(?:\/([^/]+))?)?)?\/?$/.exec(rawPath);
  if (!match) return { op: 'NotFound' };
  const [, encoded, resource, item] = match;
  if (encoded === undefined) {
    if (method === 'PUT') return { op: 'CreateBucket', pathName: null };
    if (method === 'GET' || method === 'HEAD') return { op: 'ListBuckets' };
    return { op: 'MethodNotAllowed' };
  }
  const name = safeDecode(encoded);
  if (name === null) return { op: 'NotFound' };
  if (resource !== undefined) return routeSubresource(method, name, resource, item === undefined ? undefined : safeDecode(item));
  switch (method) {
    case 'GET':
    case 'HEAD':
      return { op: 'GetBucket', name };
    case 'POST':
      return { op: 'UpdateBucketAcl', name };
    case 'DELETE':
      return { op: 'DeleteBucket', name };
    case 'PUT':
      return { op: 'CreateBucket', pathName: name };
    default:
      return { op: 'MethodNotAllowed' };
  }
}

/** A bucket's settings below /v1_ext/bucket/{name}/. */
function routeSubresource(method: string, name: string, resource: string, item: string | null | undefined): BucketExtRoute {
  if (item === null) return { op: 'NotFound' };
  if (resource === 'permissions') {
    if (item !== undefined) return method === 'DELETE' ? { op: 'DeletePermission', name, userId: item } : { op: 'MethodNotAllowed' };
    if (method === 'GET' || method === 'HEAD') return { op: 'ListPermissions', name };
    return method === 'PUT' || method === 'POST' ? { op: 'PutPermission', name } : { op: 'MethodNotAllowed' };
  }
  if (resource === 'cors' && item === undefined) {
    const ops = { GET: 'GetCors', HEAD: 'GetCors', PUT: 'PutCors', DELETE: 'DeleteCors' } as const;
    const op = ops[method as keyof typeof ops];
    return op ? { op, name } : { op: 'MethodNotAllowed' };
  }
  if (resource === 'logging' && item === undefined) {
    const ops = { GET: 'GetLogging', HEAD: 'GetLogging', PUT: 'PutLogging', DELETE: 'DeleteLogging' } as const;
    const op = ops[method as keyof typeof ops];
    return op ? { op, name } : { op: 'MethodNotAllowed' };
  }
  if (resource === 'empty' && item === undefined) {
    if (method === 'POST') return { op: 'StartEmptying', name };
    return method === 'GET' || method === 'HEAD' ? { op: 'GetEmptying', name } : { op: 'MethodNotAllowed' };
  }
  if (resource === 'lifecycle' && item === undefined) {
    const ops = { GET: 'GetLifecycle', HEAD: 'GetLifecycle', PUT: 'PutLifecycle', DELETE: 'DeleteLifecycle' } as const;
    const op = ops[method as keyof typeof ops];
    return op ? { op, name } : { op: 'MethodNotAllowed' };
  }
  if (resource === 'object_lock' && item === undefined) {
    // No DELETE: Object Lock, once enabled, stays (S3 has no way to turn it off either).
    const ops = { GET: 'GetObjectLock', HEAD: 'GetObjectLock', PUT: 'PutObjectLock' } as const;
    const op = ops[method as keyof typeof ops];
    return op ? { op, name } : { op: 'MethodNotAllowed' };
  }
  if (resource === 'temp_url' && item === undefined) return method === 'POST' ? { op: 'SignTempUrl', name } : { op: 'MethodNotAllowed' };
  return { op: 'NotFound' };
}

/** 1,000 rules with long ids and prefixes fit (S3's XML limit is the same order). */
const LIFECYCLE_BODY_LIMIT = 2 * 1024 * 1024;

const loggingSchema = z.object({ target_bucket: z.string().min(1), target_prefix: z.string().max(256).optional() });

const emptySchema = z.object({ delete_bucket: z.boolean().optional() });

function emptyingJson(progress: EmptyingProgress): unknown {
  return {
    status: progress.state,
    removed: progress.removed,
    remaining: progress.remaining,
    delete_bucket: progress.deleteBucket,
    started_at: isoSeconds(progress.startedAt),
    finished_at: progress.finishedAt === null ? null : isoSeconds(progress.finishedAt),
    // Why a run asked to delete the bucket left it: versions Object Lock keeps (retention or legal hold).
    ...(progress.locked ? { locked_versions: progress.locked } : {}),
  };
}

/** S3's lifecycle configuration in JSON (snake_case names); see the README. What the values may be is core's to check. */
const lifecycleSchema = z.object({
  rules: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['Enabled', 'Disabled']),
      filter: z
        .object({
          prefix: z.string().optional(),
          tags: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
          object_size_greater_than: z.number().optional(),
          object_size_less_than: z.number().optional(),
        })
        .optional(),
      expiration: z.object({ days: z.number().optional(), date: z.string().optional(), expired_object_delete_marker: z.boolean().optional() }).optional(),
      noncurrent_version_expiration: z.object({ noncurrent_days: z.number(), newer_noncurrent_versions: z.number().optional() }).optional(),
      abort_incomplete_multipart_upload: z.object({ days_after_initiation: z.number() }).optional(),
    }),
  ),
});

function lifecycleRules(body: z.infer<typeof lifecycleSchema>): LifecycleRule[] {
  return body.rules.map((given, i) => {
    const rule: LifecycleRule = { id: given.id, enabled: given.status === 'Enabled', prefix: given.filter?.prefix ?? '' };
    if (given.filter?.tags) rule.tags = given.filter.tags;
    if (given.filter?.object_size_greater_than !== undefined) rule.objectSizeGreaterThan = given.filter.object_size_greater_than;
    if (given.filter?.object_size_less_than !== undefined) rule.objectSizeLessThan = given.filter.object_size_less_than;
    if (given.expiration) {
      const { days, date, expired_object_delete_marker: markers } = given.expiration;
      if (markers !== undefined && (days !== undefined || date !== undefined)) {
        throw new ApiError(400, 'InvalidArgument', `rules[${i}].expiration: expired_object_delete_marker cannot be given with days or a date`);
      }
      if (markers === undefined && (days === undefined) === (date === undefined)) throw new ApiError(400, 'InvalidArgument', `rules[${i}].expiration: give exactly one of days, date or expired_object_delete_marker`);
      if (markers) rule.expiredObjectDeleteMarker = true;
      else if (markers === undefined) rule.expiration = days === undefined ? { date: Date.parse(date ?? '') } : { days };
    }
    const noncurrent = given.noncurrent_version_expiration;
    if (noncurrent) {
      rule.noncurrentVersionExpiration = { noncurrentDays: noncurrent.noncurrent_days };
      if (noncurrent.newer_noncurrent_versions !== undefined) rule.noncurrentVersionExpiration.newerNoncurrentVersions = noncurrent.newer_noncurrent_versions;
    }
    const abort = given.abort_incomplete_multipart_upload;
    if (abort) rule.abortIncompleteMultipartUpload = { daysAfterInitiation: abort.days_after_initiation };
    return rule;
  });
}

function lifecycleJson(rules: readonly LifecycleRule[]): unknown {
  return { rules: rules.map(lifecycleRuleJson) };
}

function lifecycleRuleJson(rule: LifecycleRule): Record<string, unknown> {
  const filter: Record<string, unknown> = { prefix: rule.prefix };
  if (rule.tags?.length) filter.tags = rule.tags;
  if (rule.objectSizeGreaterThan !== undefined) filter.object_size_greater_than = rule.objectSizeGreaterThan;
  if (rule.objectSizeLessThan !== undefined) filter.object_size_less_than = rule.objectSizeLessThan;
  const json: Record<string, unknown> = { id: rule.id, status: rule.enabled ? 'Enabled' : 'Disabled', filter };
  const { expiration, noncurrentVersionExpiration: noncurrent, abortIncompleteMultipartUpload: abort } = rule;
  if (expiration) json.expiration = 'days' in expiration ? { days: expiration.days } : { date: new Date(expiration.date).toISOString().replace('.000Z', 'Z') };
  if (rule.expiredObjectDeleteMarker) json.expiration = { expired_object_delete_marker: true };
  if (noncurrent) {
    const { noncurrentDays, newerNoncurrentVersions: newer } = noncurrent;
    json.noncurrent_version_expiration = newer === undefined ? { noncurrent_days: noncurrentDays } : { noncurrent_days: noncurrentDays, newer_noncurrent_versions: newer };
  }
  if (abort) json.abort_incomplete_multipart_upload = { days_after_initiation: abort.daysAfterInitiation };
  return json;
}

/**
 * Object Lock in JSON (Onggi's: KakaoCloud names none): `enabled` (only true may be sent: it cannot be turned off)
 * and the default retention, `null` for none. How long it may be is core's to check.
 */
const objectLockSchema = z.object({
  enabled: z.boolean(),
  default_retention: z
    .object({ mode: z.enum(RETENTION_MODES), days: z.number().optional(), years: z.number().optional() })
    .nullable()
    .optional(),
});

function defaultRetentionOf(body: z.infer<typeof objectLockSchema>): DefaultRetention | null {
  if (!body.enabled) throw new ApiError(400, 'InvalidArgument', 'Object Lock cannot be turned off: send enabled: true');
  const given = body.default_retention;
  if (!given) return null;
  if ((given.days === undefined) === (given.years === undefined)) throw new ApiError(400, 'InvalidArgument', 'default_retention: give exactly one of days or years');
  return given.days === undefined ? { mode: given.mode, years: given.years ?? 0 } : { mode: given.mode, days: given.days };
}

function objectLockJson(config: ObjectLockConfiguration | null): unknown {
  const rule = config?.defaultRetention;
  return {
    enabled: config !== null,
    default_retention: rule ? { mode: rule.mode, ...('days' in rule ? { days: rule.days } : { years: rule.years }) } : null,
  };
}

/** The bucket's lock, or null for a bucket without one (core's NoSuchConfiguration: here a plain `enabled: false`). */
async function objectLockOf(ctx: RequestContext, caller: Caller, account: string, name: string): Promise<ObjectLockConfiguration | null> {
  try {
    return await ctx.core.objectLock.getConfiguration(caller, account, name);
  } catch (err) {
    if (isOnggiError(err) && err.code === 'NoSuchConfiguration') return null;
    throw err;
  }
}

/** KakaoCloud's CORS rule fields; what the values may be is core's to check (cors.ts). */
const corsSchema = z.object({
  rules: z.array(
    z.object({
      allowed_origins: z.array(z.string()),
      allowed_methods: z.array(z.string()),
      allowed_headers: z.array(z.string()).optional(),
      expose_headers: z.array(z.string()).optional(),
      max_age_seconds: z.number().int().nonnegative().nullable().optional(),
    }),
  ),
});

function corsJson(rules: readonly CorsRule[]): unknown {
  return {
    rules: rules.map((rule) => ({
      allowed_origins: rule.allowedOrigins,
      allowed_methods: rule.allowedMethods,
      allowed_headers: rule.allowedHeaders,
      expose_headers: rule.exposeHeaders,
      max_age_seconds: rule.maxAgeSeconds,
    })),
  };
}

const permissionSchema = z.object({
  user_id: z.string().min(1),
  role: z.enum(BUCKET_ROLES),
});

const createSchema = z.object({
  name: z.string().optional(),
  type: z.string().optional(),
  use_encryption: z.boolean().optional(),
  encryption_configuration: z.object({ type: z.literal('managed') }).nullable().optional(),
});

const PUBLIC_VALUES = ['read-only', 'none', 'private', ''] as const;

const aclSchema = z.object({
  name: z.string().optional(),
  acl: z.object({
    public: z.union([z.enum(PUBLIC_VALUES), z.boolean(), z.null()]).optional(),
    // null clears the list, like [] (clients serialising "no list" as None/null).
    public_read_allow_ip_list: z.array(z.string()).max(100).nullable().optional(),
  }),
});

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_OF = JSON_API_STATUS;

export async function bucketExtFrontEnd(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  const route = routeBucketExt(req.method ?? 'GET', ctx.rawPath);
  ctx.op = route.op;
  if ('name' in route) {
    const resource = /^\/v1_ext\/bucket\/[^/]+\/([a-z_]+)/.exec(ctx.rawPath)?.[1] ?? 'bucket';
    logBucketAccess(req, res, ctx, { account: null, bucket: route.name, key: null }, `EXT.${req.method ?? 'GET'}.${resource.toUpperCase()}`);
  }
  try {
    await handle(route, req, res, ctx);
  } catch (err) {
    noteStorageRefusal(ctx, err);
    const failure = toApiError(err);
    sendJson(res, failure.status, { code: failure.code, message: failure.message });
  }
}

async function handle(route: BucketExtRoute, req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  if (route.op === 'NotFound') throw new ApiError(404, 'NotFound', 'The resource could not be found.');
  if (route.op === 'MethodNotAllowed') throw new ApiError(405, 'MethodNotAllowed', 'The method is not allowed for this resource.');
  ctx.checkStorage(accessOf(req.method));
  const caller = await authenticated(req, ctx);
  const account = caller.projectId;
  ctx.account = account;
  const { buckets } = ctx.core;
  switch (route.op) {
    case 'CreateBucket': {
      const body = createSchema.parse(await jsonBody(req));
      const name = body.name ?? route.pathName;
      if (!name) throw new ApiError(400, 'InvalidArgument', 'The bucket name is required');
      if (route.pathName !== null && body.name !== undefined && body.name !== route.pathName) {
        throw new ApiError(400, 'InvalidArgument', 'The bucket name in the path and the body differ');
      }
      // use_encryption is ignored when an encryption_configuration is given; a null one counts as not given.
      const encrypted = body.encryption_configuration != null || body.use_encryption === true;
      const bucket = await buckets.create(caller, account, { name, type: bucketType(body.type), encryption: encrypted ? 'managed' : null });
      sendJson(res, 201, bucketJson(bucket, permissionsFor(caller, bucket, await buckets.members(account))));
      return;
    }
    case 'ListBuckets': {
      const limit = parseLimit(ctx.query.get('limit'));
      const entries = await buckets.list(caller, account, {
        prefix: ctx.query.get('prefix') ?? '',
        delimiter: '',
        marker: ctx.query.get('marker') ?? '',
        endMarker: '',
        limit: limit + 1,
        reverse: false,
      });
      const members = await buckets.members(account);
      const items = entries.flatMap((entry) => (entry.kind === 'item' ? [bucketJson(entry.item, permissionsFor(caller, entry.item, members))] : []));
      const truncated = items.length > limit;
      const page = items.slice(0, limit);
      sendJson(res, 200, truncated ? { items: page, next_marker: page[page.length - 1]?.name } : { items: page });
      return;
    }
    case 'GetBucket': {
      const bucket = await buckets.get(caller, account, route.name);
      sendJson(res, 200, bucketJson(bucket, permissionsFor(caller, bucket, await buckets.members(account))));
      return;
    }
    case 'UpdateBucketAcl': {
      const body = aclSchema.parse(await jsonBody(req));
      if (body.name !== undefined && body.name !== route.name) {
        throw new ApiError(400, 'InvalidArgument', 'The bucket name in the path and the body differ');
      }
      const publicValue = body.acl.public;
      const bucket = await buckets.setAccessControl(caller, account, route.name, {
        publicRead: publicValue === undefined ? undefined : publicValue === 'read-only' || publicValue === true,
        publicReadAllowIps: body.acl.public_read_allow_ip_list === null ? [] : body.acl.public_read_allow_ip_list,
      });
      sendJson(res, 200, bucketJson(bucket, permissionsFor(caller, bucket, await buckets.members(account))));
      return;
    }
    case 'ListPermissions':
      sendJson(res, 200, { permissions: (await buckets.permissions(caller, account, route.name)).map(permissionJson) });
      return;
    case 'PutPermission': {
      const body = permissionSchema.parse(await jsonBody(req));
      const permissions = await buckets.assignRole(caller, account, route.name, body.user_id, body.role);
      sendJson(res, 200, { permissions: permissions.map(permissionJson) });
      return;
    }
    case 'GetCors':
      sendJson(res, 200, corsJson(await buckets.getCors(caller, account, route.name)));
      return;
    case 'PutCors': {
      const body = corsSchema.parse(await jsonBody(req));
      const rules = body.rules.map((rule) => ({
        allowedOrigins: rule.allowed_origins,
        allowedMethods: rule.allowed_methods,
        allowedHeaders: rule.allowed_headers ?? [],
        exposeHeaders: rule.expose_headers ?? [],
        maxAgeSeconds: rule.max_age_seconds ?? null,
      }));
      sendJson(res, 200, corsJson(await buckets.setCors(caller, account, route.name, rules)));
      return;
    }
    case 'DeleteCors':
      await buckets.setCors(caller, account, route.name, []);
      res.writeHead(204).end();
      return;
    case 'GetLogging': {
      const config = await ctx.core.accessLog.getConfig(caller, account, route.name);
      sendJson(res, 200, { target_bucket: config.targetBucket, target_prefix: config.targetPrefix });
      return;
    }
    case 'PutLogging': {
      const body = loggingSchema.parse(await jsonBody(req));
      const config = { targetBucket: body.target_bucket, targetPrefix: body.target_prefix ?? '' };
      await ctx.core.accessLog.setConfig(caller, account, route.name, config);
      sendJson(res, 200, { target_bucket: config.targetBucket, target_prefix: config.targetPrefix });
      return;
    }
    case 'DeleteLogging':
      await ctx.core.accessLog.setConfig(caller, account, route.name, null);
      res.writeHead(204).end();
      return;
    case 'StartEmptying': {
      const body = emptySchema.parse(req.headers['content-length'] === '0' || req.headers['content-length'] === undefined ? {} : await jsonBody(req));
      sendJson(res, 202, emptyingJson(await ctx.core.emptying.start(caller, account, route.name, body.delete_bucket === true)));
      return;
    }
    case 'GetEmptying':
      sendJson(res, 200, emptyingJson(await ctx.core.emptying.progress(caller, account, route.name)));
      return;
    case 'GetLifecycle':
      sendJson(res, 200, lifecycleJson(await ctx.core.lifecycle.get(caller, account, route.name)));
      return;
    case 'PutLifecycle': {
      const rules = lifecycleRules(lifecycleSchema.parse(await jsonBody(req, LIFECYCLE_BODY_LIMIT)));
      sendJson(res, 200, lifecycleJson(await ctx.core.lifecycle.put(caller, account, route.name, rules)));
      return;
    }
    case 'DeleteLifecycle':
      await ctx.core.lifecycle.delete(caller, account, route.name);
      res.writeHead(204).end();
      return;
    case 'GetObjectLock':
      sendJson(res, 200, objectLockJson(await objectLockOf(ctx, caller, account, route.name)));
      return;
    case 'PutObjectLock': {
      const rule = defaultRetentionOf(objectLockSchema.parse(await jsonBody(req)));
      sendJson(res, 200, objectLockJson(await ctx.core.objectLock.putConfiguration(caller, account, route.name, rule)));
      return;
    }
    case 'SignTempUrl': {
      const signed = await signTempLink(ctx, caller, account, route.name, tempLinkSchema.parse(await jsonBody(req)));
      if (signed.kind === 'no-key') {
        sendJson(res, 409, { code: 'NoTempUrlKey', message: 'The bucket has no temp URL key to sign with', may_create: signed.mayCreate });
        return;
      }
      sendJson(res, 200, { path: signed.path, query: signed.query, expires_at: isoSeconds(signed.expiresAt) });
      return;
    }
    case 'DeletePermission':
      await buckets.assignRole(caller, account, route.name, route.userId, null);
      res.writeHead(204).end();
      return;
    case 'DeleteBucket':
      await buckets.delete(caller, account, route.name);
      res.writeHead(204).end();
      return;
  }
}

function permissionJson(permission: BucketPermission): Record<string, string> {
  return { user_id: permission.userId, user_name: permission.userName, role: permission.role, from: permission.from };
}

export function bucketJson(bucket: Bucket, permissions: readonly BucketPermission[]): Record<string, unknown> & { name: string } {
  return {
    account: bucket.projectId,
    project: bucket.projectId,
    name: bucket.name,
    type: bucket.type,
    bytes: bucket.bytes,
    objectCount: bucket.objectCount,
    createdAt: isoSeconds(bucket.createdAt),
    lastModified: isoSeconds(bucket.updatedAt),
    acl: {
      permissions: permissions.map(permissionJson),
      public: bucket.publicRead ? 'read-only' : 'none',
      public_read_allow_ip_list: bucket.publicReadAllowIps,
      // Onggi's addition, only where there are any: who else may do what (Swift's container ACLs), for the
      // console to show the effective access. Without grants the model is KakaoCloud's exactly.
      ...(bucket.grants?.length ? { grants: bucket.grants } : {}),
    },
    lifecycle_status: bucket.lifecycle === true ? 'applied' : 'not-applied',
    use_encryption: bucket.encryption !== null,
    encryption_configuration: bucket.encryption ? { type: bucket.encryption } : null,
  };
}

async function authenticated(req: IncomingMessage, ctx: RequestContext): Promise<Extract<Caller, { kind: 'user' }>> {
  const caller = await callerOf(req, ctx);
  if (caller?.kind !== 'user') throw new ApiError(401, 'Unauthorized', 'A valid X-Auth-Token is required');
  return caller;
}

async function jsonBody(req: IncomingMessage, limit?: number): Promise<unknown> {
  if (!isJsonContentType(req)) throw new ApiError(400, 'InvalidArgument', 'Content-Type must be application/json');
  return readJson(req, limit);
}

/** Kakao i Cloud's legacy default type `hot` is today's STANDARD; anything else goes to the core's check. */
function bucketType(type: string | undefined): string | undefined {
  return type?.toLowerCase() === 'hot' ? 'STANDARD' : type;
}

function parseLimit(value: string | null): number {
  if (value === null || value === '') return BUCKET_LIST_LIMIT;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1) throw new ApiError(400, 'InvalidArgument', 'limit must be a positive integer');
  return Math.min(limit, BUCKET_LIST_LIMIT);
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof z.ZodError) return new ApiError(400, 'InvalidArgument', `Invalid request body: ${err.issues[0]?.path.join('.') ?? ''} ${err.issues[0]?.message ?? ''}`.trim());
  if (err instanceof InvalidJsonError) return new ApiError(400, 'InvalidArgument', err.message);
  if (err instanceof BodyTooLargeError) return new ApiError(413, 'EntityTooLarge', err.message);
  const known = asOnggiError(err);
  if (known) return new ApiError(STATUS_OF[known.code], known.code, known.message);
  throw err;
}
