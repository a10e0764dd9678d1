/** /identity/v3: Keystone-style tokens from application credentials (KakaoCloud IAM access keys). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { authorize, type UserAction } from '../../core/authz.ts';
import { callerOfHolder, type CredentialRef, type IssuedToken } from '../../core/identity.ts';
import type { S3Credential } from '../../core/s3-credentials.ts';
import type { AccessKey } from '../../core/types.ts';
import { asOnggiError } from '../../core/errors.ts';
import { JSON_API_STATUS } from '../../http/error-status.ts';
import { noteStorageRefusal } from '../../http/storage-refusal.ts';
import { trustBody } from '../../http/body-deadline.ts';
import { BodyTooLargeError, InvalidJsonError, isJsonContentType, readJson } from '../../http/body.ts';
import { headerValue, type RequestContext } from '../../http/context.ts';
import { sendJson } from '../../http/respond.ts';

type Route =
  | { op: 'IssueToken' }
  | { op: 'ValidateToken'; head: boolean }
  | { op: 'RevokeToken' }
  | { op: 'AuthProjects' }
  | { op: 'UserProjects'; userId: string }
  | { op: 'ListKeys'; userId: string }
  | { op: 'CreateKey'; userId: string }
  | { op: 'GetKey'; userId: string; keyId: string }
  | { op: 'DeleteKey'; userId: string; keyId: string }
  | { op: 'ListS3Credentials'; userId: string }
  | { op: 'CreateS3Credential'; userId: string }
  | { op: 'GetS3Credential'; userId: string; access: string }
  | { op: 'DeleteS3Credential'; userId: string; access: string }
  | { op: 'Versions'; head: boolean }
  | { op: 'Version'; head: boolean }
  | { op: 'NotFound' }
  | { op: 'MethodNotAllowed' };

export function routeIam(method: string, path: string): Route {
  const trimmed = path.replace(/\/+$/, '');
  // Keystone answers HEAD wherever it answers GET; discovery clients probe with either.
  const read = method === 'GET' || method === 'HEAD';
  if (trimmed === '/identity') return read ? { op: 'Versions', head: method === 'HEAD' } : { op: 'MethodNotAllowed' };
  if (trimmed === '/identity/v3') return read ? { op: 'Version', head: method === 'HEAD' } : { op: 'MethodNotAllowed' };
  if (trimmed === '/identity/v3/auth/projects') return read ? { op: 'AuthProjects' } : { op: 'MethodNotAllowed' };
  const ec2Path = /^\/identity\/v3\/users\/([^/]+)\/credentials\/OS-EC2(?:\/([^/]+))?$/.exec(trimmed);
  if (ec2Path) return routeEc2Path(method, decodeSegment(ec2Path[1] ?? ''), ec2Path[2]);
  const userPath = /^\/identity\/v3\/users\/([^/]+)\/(projects|application_credentials)(?:\/([^/]+))?$/.exec(trimmed);
  if (userPath) return routeUserPath(method, decodeSegment(userPath[1] ?? ''), userPath[2] ?? '', userPath[3]);
  if (trimmed !== '/identity/v3/auth/tokens') return { op: 'NotFound' };
  switch (method) {
    case 'POST':
      return { op: 'IssueToken' };
    case 'GET':
      return { op: 'ValidateToken', head: false };
    case 'HEAD':
      return { op: 'ValidateToken', head: true };
    case 'DELETE':
      return { op: 'RevokeToken' };
    default:
      return { op: 'MethodNotAllowed' };
  }
}

function routeUserPath(method: string, userId: string, collection: string, item: string | undefined): Route {
  const read = method === 'GET' || method === 'HEAD';
  if (collection === 'projects') {
    if (item !== undefined) return { op: 'NotFound' };
    return read ? { op: 'UserProjects', userId } : { op: 'MethodNotAllowed' };
  }
  if (item === undefined) {
    if (read) return { op: 'ListKeys', userId };
    return method === 'POST' ? { op: 'CreateKey', userId } : { op: 'MethodNotAllowed' };
  }
  const keyId = decodeSegment(item);
  if (read) return { op: 'GetKey', userId, keyId };
  return method === 'DELETE' ? { op: 'DeleteKey', userId, keyId } : { op: 'MethodNotAllowed' };
}

/** Keystone's EC2-style credentials, which S3 clients sign with. */
function routeEc2Path(method: string, userId: string, item: string | undefined): Route {
  const read = method === 'GET' || method === 'HEAD';
  if (item === undefined) {
    if (read) return { op: 'ListS3Credentials', userId };
    return method === 'POST' ? { op: 'CreateS3Credential', userId } : { op: 'MethodNotAllowed' };
  }
  const access = decodeSegment(item);
  if (read) return { op: 'GetS3Credential', userId, access };
  return method === 'DELETE' ? { op: 'DeleteS3Credential', userId, access } : { op: 'MethodNotAllowed' };
}

function decodeSegment(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Keystone's application credential create body (KakaoCloud's IAM access key). */
const createKeySchema = z.object({
  application_credential: z.object({
    name: z.string().min(1).max(255),
    secret: z.string().min(16).max(255).optional(),
    description: z.string().max(255).nullable().optional(),
    expires_at: z.string().nullable().optional(),
    unrestricted: z.boolean().optional(),
  }),
});

/** Keystone's EC2 credential create body: the project (`tenant_id`) defaults to the token's. */
const createEc2Schema = z.looseObject({ tenant_id: z.string().min(1).optional() });

const credentialSchema = z.union([
  z.object({ id: z.string().min(1), secret: z.string().min(1) }),
  z.object({ name: z.string().min(1), secret: z.string().min(1), user: z.object({ id: z.string().min(1) }) }),
]);

/**
 * Keystone's `password` method, for tools that know no other (Cyberduck, older scripts): a member's user (id or
 * name) and, as the password, the secret of one of their access keys, in the project of the scope (id or name;
 * without one, the key's own project), as Swift's auth v1 takes them. Domains are accepted and not looked at.
 */
const namedSchema = z.looseObject({ id: z.string().min(1).optional(), name: z.string().min(1).optional() }).refine((named) => named.id !== undefined || named.name !== undefined, 'an id or a name is required');
const passwordSchema = z.object({ user: z.intersection(namedSchema, z.looseObject({ password: z.string().min(1) })) });
const scopeSchema = z.looseObject({ project: namedSchema.optional() }).optional();

const authSchema = z.object({
  auth: z.object({
    identity: z.union([
      z.object({
        methods: z.array(z.string()).refine((m) => m.includes('application_credential'), 'methods must include application_credential or password'),
        application_credential: credentialSchema,
      }),
      z.object({
        methods: z.array(z.string()).refine((m) => m.includes('password'), 'methods must include application_credential or password'),
        password: passwordSchema,
      }),
    ]),
    scope: scopeSchema,
  }),
});

/** The largest token request body read (Keystone's application credential request is a few hundred bytes). */
const TOKEN_REQUEST_MAX_BYTES = 8 * 1024;

class KeystoneError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

const STATUS_OF = JSON_API_STATUS;

export async function iamFrontEnd(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  const route = routeIam(req.method ?? 'GET', ctx.rawPath);
  ctx.op = route.op;
  try {
    // Issuing and checking tokens only reads.
    ctx.checkStorage('read');
    await handle(route, req, res, ctx);
  } catch (err) {
    noteStorageRefusal(ctx, err);
    const failure = toKeystoneError(err);
    sendJson(res, failure.status, { error: { code: failure.status, message: failure.message, title: TITLES[failure.status] ?? 'Error' } });
  }
}

async function handle(route: Route, req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  switch (route.op) {
    case 'IssueToken': {
      if (!isJsonContentType(req)) throw new KeystoneError(400, 'Content-Type must be application/json');
      // Read before any credential is checked: small (a token request is a few hundred bytes), and on a deadline.
      const parsed = authSchema.safeParse(await readJson(req, TOKEN_REQUEST_MAX_BYTES));
      if (!parsed.success) throw new KeystoneError(400, `Invalid authentication request: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
      const { identity, scope } = parsed.data.auth;
      let issued: IssuedToken;
      if ('password' in identity) {
        const { user } = identity.password;
        const project = scope?.project?.id ?? scope?.project?.name;
        issued = await ctx.core.identity.issueTokenForMember(project, user.id ?? user.name ?? '', user.password);
      } else {
        const given = identity.application_credential;
        const credential: CredentialRef = 'id' in given ? given : { name: given.name, userId: given.user.id, secret: given.secret };
        issued = await ctx.core.identity.issueToken(credential);
      }
      ctx.account = issued.project.id;
      res.setHeader('X-Subject-Token', issued.token);
      sendJson(res, 201, tokenBody(issued, ctx, 'password' in identity ? 'password' : 'application_credential'));
      return;
    }
    case 'ValidateToken': {
      const subject = await validateSubject(req, ctx);
      ctx.account = subject.project.id;
      res.setHeader('X-Subject-Token', subject.token);
      if (route.head) {
        res.writeHead(200).end();
        return;
      }
      sendJson(res, 200, tokenBody(subject, ctx));
      return;
    }
    case 'RevokeToken':
      await validateSubject(req, ctx);
      throw new KeystoneError(403, 'Tokens expire on their own; revoke the access key to end them early.');
    case 'AuthProjects':
      sendJson(res, 200, await projectsBody(await holderOf(req, ctx), ctx, `${ctx.publicUrl}/identity/v3/auth/projects`));
      return;
    case 'UserProjects': {
      const holder = await selfHolder(req, ctx, route.userId, 'ListOwnProjects');
      sendJson(res, 200, await projectsBody(holder, ctx, `${ctx.publicUrl}/identity/v3/users/${holder.user.id}/projects`));
      return;
    }
    case 'ListKeys': {
      const holder = await selfHolder(req, ctx, route.userId, 'ListAccessKeys');
      const keys = await ctx.core.identity.ownKeys(holder);
      sendJson(res, 200, {
        application_credentials: keys.map((key) => keyJson(key, holder, ctx)),
        links: { self: `${ctx.publicUrl}/identity/v3/users/${holder.user.id}/application_credentials`, previous: null, next: null },
      });
      return;
    }
    case 'GetKey': {
      const holder = await selfHolder(req, ctx, route.userId, 'ListAccessKeys');
      sendJson(res, 200, { application_credential: keyJson(await ctx.core.identity.ownKey(holder, route.keyId), holder, ctx) });
      return;
    }
    case 'CreateKey': {
      const holder = await selfHolder(req, ctx, route.userId, 'CreateAccessKey');
      if (!isJsonContentType(req)) throw new KeystoneError(400, 'Content-Type must be application/json');
      const parsed = createKeySchema.safeParse(await readJson(req));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new KeystoneError(400, `Invalid application credential: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'malformed'}`);
      }
      const given = parsed.data.application_credential;
      const expiresAt = parseExpiry(given.expires_at);
      const { key, secret } = await ctx.core.identity.createOwnKey(holder, { name: given.name, secret: given.secret, expiresAt, unrestricted: given.unrestricted === true });
      sendJson(res, 201, { application_credential: { ...keyJson(key, holder, ctx), secret } });
      return;
    }
    case 'DeleteKey': {
      const holder = await selfHolder(req, ctx, route.userId, 'DeleteAccessKey');
      await ctx.core.identity.deleteOwnKey(holder, route.keyId);
      res.writeHead(204).end();
      return;
    }
    case 'ListS3Credentials': {
      const holder = await holderOf(req, ctx);
      const credentials = await ctx.core.s3Credentials.listOwn(holder, route.userId);
      sendJson(res, 200, { credentials: credentials.map((c) => ec2Json(c, ctx)), links: { self: `${ctx.publicUrl}/identity/v3/users/${route.userId}/credentials/OS-EC2`, previous: null, next: null } });
      return;
    }
    case 'GetS3Credential': {
      const holder = await holderOf(req, ctx);
      sendJson(res, 200, { credential: ec2Json(await ctx.core.s3Credentials.getOwn(holder, route.userId, route.access), ctx) });
      return;
    }
    case 'CreateS3Credential': {
      const holder = await holderOf(req, ctx);
      const body = isJsonContentType(req) ? await readJson(req) : {};
      const parsed = createEc2Schema.safeParse(body ?? {});
      if (!parsed.success) throw new KeystoneError(400, 'Invalid EC2 credential request: tenant_id must be a string');
      const { credential, secret } = await ctx.core.s3Credentials.createOwn(holder, route.userId, parsed.data.tenant_id);
      sendJson(res, 201, { credential: { ...ec2Json(credential, ctx), secret } });
      return;
    }
    case 'DeleteS3Credential': {
      const holder = await holderOf(req, ctx);
      await ctx.core.s3Credentials.deleteOwn(holder, route.userId, route.access);
      res.writeHead(204).end();
      return;
    }
    case 'Versions':
      sendJson(res, 300, { versions: { values: [versionEntry(ctx)] } }, route.head);
      return;
    case 'Version':
      sendJson(res, 200, { version: versionEntry(ctx) }, route.head);
      return;
    case 'NotFound':
      throw new KeystoneError(404, 'The resource could not be found.');
    case 'MethodNotAllowed':
      throw new KeystoneError(405, 'The method is not allowed for the requested URL.');
  }
}

async function holderOf(req: IncomingMessage, ctx: RequestContext): Promise<IssuedToken> {
  const authToken = headerValue(req, 'x-auth-token');
  const holder = authToken ? await ctx.core.identity.verifyToken(authToken) : null;
  if (!holder) throw new KeystoneError(401, 'The request you have made requires authentication.');
  trustBody(req);
  return holder;
}

/** The token holder, once `authorize` let them do `action` on the user's own things (Keystone's owner policy). */
async function selfHolder(req: IncomingMessage, ctx: RequestContext, userId: string, action: UserAction): Promise<IssuedToken> {
  const holder = await holderOf(req, ctx);
  authorize(callerOfHolder(holder), action, { kind: 'user', userId });
  return holder;
}

function parseExpiry(value: string | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new KeystoneError(400, 'Invalid application credential: expires_at: not an ISO 8601 date');
  return at;
}

async function projectsBody(holder: IssuedToken, ctx: RequestContext, self: string): Promise<unknown> {
  const projects = await ctx.core.identity.projectsOf(holder.user.id);
  return {
    projects: projects.map((project) => ({
      id: project.id,
      name: project.name,
      domain_id: 'default',
      description: '',
      enabled: true,
      is_domain: false,
      parent_id: 'default',
      tags: [],
      links: { self: `${ctx.publicUrl}/identity/v3/projects/${project.id}` },
    })),
    links: { self, previous: null, next: null },
  };
}

function keyJson(key: AccessKey, holder: IssuedToken, ctx: RequestContext): Record<string, unknown> {
  return {
    id: key.id,
    name: key.name,
    description: null,
    project_id: key.projectId,
    user_id: key.userId,
    expires_at: key.expiresAt === null ? null : keystoneTime(key.expiresAt),
    roles: [{ id: holder.role, name: holder.role }],
    unrestricted: key.unrestricted === true,
    access_rules: [],
    links: { self: `${ctx.publicUrl}/identity/v3/users/${key.userId}/application_credentials/${key.id}` },
  };
}

/** Keystone's EC2 credential, without its secret (shown once, when made). */
function ec2Json(credential: S3Credential, ctx: RequestContext): Record<string, unknown> {
  return {
    user_id: credential.userId,
    tenant_id: credential.projectId,
    access: credential.access,
    trust_id: null,
    links: { self: `${ctx.publicUrl}/identity/v3/users/${credential.userId}/credentials/OS-EC2/${credential.access}` },
  };
}

async function validateSubject(req: IncomingMessage, ctx: RequestContext): Promise<IssuedToken> {
  const authToken = headerValue(req, 'x-auth-token');
  if (!authToken || !(await ctx.core.identity.verifyToken(authToken))) {
    throw new KeystoneError(401, 'The request you have made requires authentication.');
  }
  const subjectToken = headerValue(req, 'x-subject-token');
  const subject = subjectToken ? await ctx.core.identity.verifyToken(subjectToken) : null;
  if (!subject) throw new KeystoneError(404, `Could not find token: ${subjectToken ?? ''}`);
  return subject;
}

function tokenBody(issued: IssuedToken, ctx: RequestContext, method = 'application_credential'): unknown {
  const { claims, user, project, role, accessKey } = issued;
  const domain = { id: 'default', name: 'Default' };
  const objectStoreUrl = `${ctx.publicUrl}/v1/${project.id}`;
  const identityUrl = `${ctx.publicUrl}/identity/v3`;
  return {
    token: {
      methods: [method],
      user: { id: user.id, name: user.name, domain, password_expires_at: null },
      audit_ids: [claims.auditId],
      expires_at: keystoneTime(claims.expiresAt),
      issued_at: keystoneTime(claims.issuedAt),
      project: { id: project.id, name: project.name, domain },
      is_domain: false,
      roles: [{ id: role, name: role }],
      catalog: [
        catalogEntry('object-store', 'swift', objectStoreUrl, ctx.region),
        catalogEntry('identity', 'keystone', identityUrl, ctx.region),
      ],
      application_credential: { id: accessKey.id, name: accessKey.name, restricted: true },
    },
  };
}

function catalogEntry(type: string, name: string, url: string, region: string): unknown {
  return {
    id: `${name}-${type}`,
    name,
    type,
    endpoints: ['public', 'internal', 'admin'].map((iface) => ({ id: `${name}-${iface}`, interface: iface, region, region_id: region, url })),
  };
}

function versionEntry(ctx: RequestContext): unknown {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${ctx.publicUrl}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

/** Keystone's timestamp form: microseconds and a Z. */
function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function toKeystoneError(err: unknown): KeystoneError {
  if (err instanceof KeystoneError) return err;
  if (err instanceof InvalidJsonError) return new KeystoneError(400, err.message);
  if (err instanceof BodyTooLargeError) return new KeystoneError(413, err.message);
  const known = asOnggiError(err);
  if (known) return new KeystoneError(STATUS_OF[known.code], known.message);
  throw err;
}

/** With `headOnly`, the same status and headers (Content-Length included) and no body, as HEAD wants. */
