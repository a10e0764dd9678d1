/** /v1_ext/bucket: KakaoCloud's bucket management JSON API. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { BUCKET_LIST_LIMIT } from '../../core/constraints.ts';
import { asOnggiError, type ErrorCode } from '../../core/errors.ts';
import type { Bucket, Caller } from '../../core/types.ts';
import { BodyTooLargeError, InvalidJsonError, isJsonContentType, readJson } from '../../http/body.ts';
import { accessOf, callerOf, type RequestContext } from '../../http/context.ts';
import { sendJson } from '../../http/respond.ts';

export type BucketExtRoute =
  | { op: 'CreateBucket'; pathName: string | null }
  | { op: 'ListBuckets' }
  | { op: 'GetBucket'; name: string }
  | { op: 'UpdateBucketAcl'; name: string }
  | { op: 'DeleteBucket'; name: string }
  | { op: 'NotFound' }
  | { op: 'MethodNotAllowed' };

export function routeBucketExt(method: string, rawPath: string): BucketExtRoute {
  const match = /^\/v1_ext\/bucket(?:\/([^/]+))?\/?$/.exec(rawPath);
  if (!match) return { op: 'NotFound' };
  const encoded = match[1];
  if (encoded === undefined) {
    if (method === 'PUT') return { op: 'CreateBucket', pathName: null };
    if (method === 'GET' || method === 'HEAD') return { op: 'ListBuckets' };
    return { op: 'MethodNotAllowed' };
  }
  const name = safeDecode(encoded);
  if (name === null) return { op: 'NotFound' };
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

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  Busy: 503,
  Unauthenticated: 401,
  InvalidCredentials: 401,
  AccessDenied: 403,
  NoSuchBucket: 404,
  BucketAlreadyExists: 409,
  BucketNotEmpty: 409,
  InvalidBucketName: 400,
  InvalidArgument: 400,
  MetadataTooLarge: 400,
  InsufficientStorage: 507,
  StorageUnavailable: 503,
};

export async function bucketExtFrontEnd(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  const route = routeBucketExt(req.method ?? 'GET', ctx.rawPath);
  ctx.op = route.op;
  try {
    await handle(route, req, res, ctx);
  } catch (err) {
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
      sendJson(res, 201, bucketJson(bucket));
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
      const items = entries.flatMap((entry) => (entry.kind === 'item' ? [bucketJson(entry.item)] : []));
      const truncated = items.length > limit;
      const page = items.slice(0, limit);
      sendJson(res, 200, truncated ? { items: page, next_marker: page[page.length - 1]?.name } : { items: page });
      return;
    }
    case 'GetBucket':
      sendJson(res, 200, bucketJson(await buckets.get(caller, account, route.name)));
      return;
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
      sendJson(res, 200, bucketJson(bucket));
      return;
    }
    case 'DeleteBucket':
      await buckets.delete(caller, account, route.name);
      res.writeHead(204).end();
      return;
  }
}

export function bucketJson(bucket: Bucket): Record<string, unknown> & { name: string } {
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
      permissions: null,
      public: bucket.publicRead ? 'read-only' : 'none',
      public_read_allow_ip_list: bucket.publicReadAllowIps,
    },
    use_encryption: bucket.encryption !== null,
    encryption_configuration: bucket.encryption ? { type: bucket.encryption } : null,
  };
}

async function authenticated(req: IncomingMessage, ctx: RequestContext): Promise<Extract<Caller, { kind: 'user' }>> {
  const caller = await callerOf(req, ctx);
  if (caller?.kind !== 'user') throw new ApiError(401, 'Unauthorized', 'A valid X-Auth-Token is required');
  return caller;
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  if (!isJsonContentType(req)) throw new ApiError(400, 'InvalidArgument', 'Content-Type must be application/json');
  return readJson(req);
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
  const status = known ? STATUS_OF[known.code] : undefined;
  if (known && status !== undefined) return new ApiError(status, known.code, known.message);
  throw err;
}
