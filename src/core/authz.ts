/**
 * Who may do what, in one place. Project roles decide what a user does in the project (create and list buckets,
 * account metadata); bucket roles (Storage Admin / Editor / Viewer) decide what they do in one bucket, defaulting
 * from the project role unless the bucket assigns another (or none). Public read-only buckets and their IP allow
 * lists let anonymous callers read objects.
 */
import { BlockList, isIP } from 'node:net';
import type { Role } from './constraints.ts';
import { fail, isOnggiError } from './errors.ts';
import { ACCOUNT_ACCESS_LEVELS, type AccountAccessLevel, type AccountGrant, type BucketRole, type BucketRow, type Grant, type Grantee, type GrantPermission, type PolicyStatement } from './model.ts';
import type { Caller, SignedScope } from './types.ts';

/**
 * What a request does, named after S3's API (and so after its bucket policies' actions), with Onggi's own few
 * beside them. Every route of every front end requires one or more of these (see each front end's action table).
 */
export const ACCOUNT_ACTIONS = ['ListBuckets', 'PutAccountMetadata', 'CreateBucket'] as const;
export const BUCKET_READ_ACTIONS = [
  'HeadBucket',
  'ListObjects',
  'ListObjectVersions',
  'ListMultipartUploads',
  'ListMultipartUploadParts',
  'GetBucketConfig',
  'GetBucketLocation',
  'GetBucketVersioning',
  'GetBucketCORS',
  'GetLifecycleConfiguration',
  'GetEncryptionConfiguration',
  'GetBucketLogging',
  'GetBucketAcl',
  'GetBucketPolicy',
  'GetBucketPolicyStatus',
  'GetObject',
  'GetObjectVersion',
  'GetObjectAttributes',
  'GetObjectAcl',
  'GetObjectTagging',
  'GetObjectRetention',
  'GetObjectLegalHold',
  'GetBucketObjectLockConfiguration',
  'GetBucketTagging',
] as const;
export const BUCKET_WRITE_ACTIONS = [
  'PutObject',
  'DeleteObject',
  'DeleteObjectVersion',
  'AbortMultipartUpload',
  'PutBucketMetadata',
  'PutObjectTagging',
  'DeleteObjectTagging',
  // Retention can only be lengthened without the bypass below, so an editor may set it (as a default does anyway).
  'PutObjectRetention',
] as const;
/**
 * Object Lock's overrides: turning a legal hold off and bypassing governance retention weaken a lock, so only a
 * bucket's Storage Admin (S3: whoever IAM grants them) holds them, and a policy's Allow may name them; no ACL
 * grant gives them (S3's FULL_CONTROL does not either).
 */
export const LOCK_OVERRIDE_ACTIONS = ['PutObjectLegalHold', 'BypassGovernanceRetention'] as const;
/** The settings S3 has an action of its own for (the bucket's other settings take PutBucketConfig). */
export const CONFIG_PUT_ACTIONS = ['PutBucketConfig', 'PutBucketVersioning', 'PutBucketCORS', 'PutLifecycleConfiguration', 'PutEncryptionConfiguration', 'PutBucketLogging'] as const;
export const BUCKET_ADMIN_ACTIONS = [
  ...CONFIG_PUT_ACTIONS,
  'PutBucketAcl',
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutBucketRoles',
  'PutObjectAcl',
  'DeleteBucket',
  'PutBucketObjectLockConfiguration',
  'PutBucketTagging',
  ...LOCK_OVERRIDE_ACTIONS,
] as const;
export const USER_ACTIONS = ['ListOwnProjects', 'ListAccessKeys', 'CreateAccessKey', 'DeleteAccessKey'] as const;

export type AccountAction = (typeof ACCOUNT_ACTIONS)[number];
export type BucketAction = (typeof BUCKET_READ_ACTIONS)[number] | (typeof BUCKET_WRITE_ACTIONS)[number] | (typeof BUCKET_ADMIN_ACTIONS)[number];
export type UserAction = (typeof USER_ACTIONS)[number];
export type Action = AccountAction | BucketAction | UserAction;

/** What an action is done to: a project (account), a bucket or something in it, or a user's own credentials. */
export type Resource<B extends BucketRow = BucketRow> =
  | { kind: 'account'; account: string }
  | { kind: 'bucket'; account: string; bucket: B | null; key?: string | undefined; versionId?: string | undefined }
  | { kind: 'user'; userId: string };

/** Facts of the request beyond who sent it, which rules may look at. */
export interface AccessContext {
  ip: string;
  referrer?: string | undefined;
  /** Whether the request came over TLS (to this server, or to a trusted proxy that says so); unknown: not. */
  secure?: boolean | undefined;
}

/** Project roles, for what is done in the project rather than in one bucket. */
const ACCOUNT_ALLOWED: Record<AccountAction, readonly Role[]> = {
  ListBuckets: ['admin', 'member', 'reader'],
  PutAccountMetadata: ['admin'],
  CreateBucket: ['admin', 'member'],
};

/** Bucket roles: a viewer reads metadata and objects, an editor writes objects, an admin changes settings and roles. */
const BUCKET_ALLOWED: Record<BucketRole, ReadonlySet<BucketAction>> = {
  'Storage Viewer': new Set(BUCKET_READ_ACTIONS),
  'Storage Editor': new Set([...BUCKET_READ_ACTIONS, ...BUCKET_WRITE_ACTIONS]),
  'Storage Admin': new Set([...BUCKET_READ_ACTIONS, ...BUCKET_WRITE_ACTIONS, ...BUCKET_ADMIN_ACTIONS]),
};

/** Privileged reads (ACLs, policies): an account's owners and admins only, as Swift shows its ACL headers to them only. */
const PRIVILEGED_READS: ReadonlySet<BucketAction> = new Set(['GetBucketAcl', 'GetObjectAcl', 'GetBucketPolicy']);

/**
 * What an account grant (Swift's account ACL) lets a caller of another project do in the account: read-only lists
 * containers and reads everything but privileged settings; read-write also creates, changes and deletes containers
 * and objects, but not the account nor ACLs; admin does what the account's own admins do.
 */
const ACCOUNT_GRANT_ALLOWED: Record<AccountAccessLevel, readonly AccountAction[]> = {
  'read-only': ['ListBuckets'],
  'read-write': ['ListBuckets', 'CreateBucket'],
  admin: ['ListBuckets', 'CreateBucket', 'PutAccountMetadata'],
};
const ACCOUNT_GRANT_BUCKET_ALLOWED: Record<AccountAccessLevel, ReadonlySet<BucketAction>> = {
  'read-only': new Set(BUCKET_READ_ACTIONS.filter((action) => !PRIVILEGED_READS.has(action))),
  'read-write': new Set([...BUCKET_READ_ACTIONS.filter((action) => !PRIVILEGED_READS.has(action)), ...BUCKET_WRITE_ACTIONS, ...CONFIG_PUT_ACTIONS, 'DeleteBucket']),
  admin: BUCKET_ALLOWED['Storage Admin'],
};

/** The bucket role a project role gives by default (KakaoCloud's mapping). */
export const DEFAULT_BUCKET_ROLE: Readonly<Record<Role, BucketRole>> = {
  admin: 'Storage Admin',
  member: 'Storage Editor',
  reader: 'Storage Viewer',
};

/** What a grant (a container ACL entry, an S3 ACL grant) allows its grantee. */
const GRANTED: Record<GrantPermission, ReadonlySet<BucketAction>> = {
  'read-objects': new Set(['GetObject', 'GetObjectVersion', 'GetObjectAttributes']),
  list: new Set(['HeadBucket', 'ListObjects', 'ListObjectVersions', 'ListMultipartUploads']),
  'write-objects': new Set(['PutObject', 'DeleteObject', 'DeleteObjectVersion', 'AbortMultipartUpload', 'ListMultipartUploadParts']),
  'read-acl': new Set(['GetBucketAcl', 'GetObjectAcl']),
  'write-acl': new Set(['PutBucketAcl', 'PutObjectAcl']),
  'full-control': new Set([...BUCKET_READ_ACTIONS, ...BUCKET_WRITE_ACTIONS, ...BUCKET_ADMIN_ACTIONS].filter((action) => !isLockOverride(action))),
};

function isLockOverride(action: BucketAction): boolean {
  return (LOCK_OVERRIDE_ACTIONS as readonly string[]).includes(action);
}

/** The user's role on the bucket: the one the bucket assigns them (null: none), else their project role's default. */
export function bucketRoleOf(bucket: BucketRow, userId: string, projectRole: Role): BucketRole | null {
  const assigned = bucket.roles?.[userId];
  return assigned === undefined ? DEFAULT_BUCKET_ROLE[projectRole] : assigned;
}

/**
 * The one authorization call every protocol makes, through core. Returns the bucket of a bucket resource once
 * the caller may act on it; throws `Unauthenticated` (anonymous callers, who learn nothing of whether the bucket
 * exists), `AccessDenied` or `NoSuchBucket` otherwise. Rules, in order: a bucket policy's explicit Deny; the
 * project role (account actions) or bucket role (bucket actions) of a caller of the bucket's project; the public
 * flag with its address allow list; grants; a policy's Allow.
 */
export function authorize(caller: Caller, action: AccountAction, resource: Extract<Resource, { kind: 'account' }>, context?: AccessContext): void;
export function authorize<B extends BucketRow>(caller: Caller, action: BucketAction, resource: Extract<Resource<B>, { kind: 'bucket' }>, context?: AccessContext): B;
export function authorize(caller: Caller, action: UserAction, resource: Extract<Resource, { kind: 'user' }>, context?: AccessContext): void;
export function authorize(caller: Caller, action: Action, resource: Resource, context: AccessContext = contextOf(caller)): BucketRow | undefined {
  switch (resource.kind) {
    case 'account':
      authorizeInAccount(caller, action as AccountAction, resource.account);
      return undefined;
    case 'user':
      authorizeForUser(caller, action as UserAction, resource.userId);
      return undefined;
    case 'bucket':
      return authorizeInBucket(caller, action as BucketAction, resource.account, resource.bucket, resource.key ?? null, context);
  }
}

/** The request facts a caller carries (its address), for rules that look at them. */
export function contextOf(caller: Caller): AccessContext {
  return caller.context ?? { ip: caller.kind === 'anonymous' ? caller.ip : '' };
}

/** Account-level check: the caller must hold a role in `account` allowing `action`. */
export function authorizeAccount(caller: Caller, action: AccountAction, account: string): asserts caller is Extract<Caller, { kind: 'user' }> {
  authorizeInAccount(caller, action, account);
}

/** Bucket-level check (see `authorize`). */
export function authorizeBucket<B extends BucketRow>(caller: Caller, action: BucketAction, account: string, bucket: B | null, key?: string): B {
  return authorizeInBucket(caller, action, account, bucket, key ?? null, contextOf(caller));
}

function authorizeInAccount(caller: Caller, action: AccountAction, account: string): asserts caller is Extract<Caller, { kind: 'user' }> {
  if (caller.kind === 'anonymous') fail('Unauthenticated', 'Authentication required');
  if (caller.projectId === account ? ACCOUNT_ALLOWED[action].includes(caller.role) : accountGrantAllows(caller, account, action)) return;
  denyIn(action, account);
}

function accountGrantAllows(caller: Extract<Caller, { kind: 'user' }>, account: string, action: AccountAction): boolean {
  const level = caller.accountAccess?.[account];
  return level !== undefined && ACCOUNT_GRANT_ALLOWED[level].includes(action);
}

/** The strongest level the account's grants give the caller (undefined: none names them). */
export function accountLevelOf(grants: readonly AccountGrant[], caller: Caller): AccountAccessLevel | undefined {
  let best = -1;
  for (const grant of grants) {
    if (granteeMatches(grant.grantee, caller, contextOf(caller), false)) best = Math.max(best, ACCOUNT_ACCESS_LEVELS.indexOf(grant.level));
  }
  return ACCOUNT_ACCESS_LEVELS[best];
}

/** Keystone's owner rule: a user sees and manages only their own projects and keys; a restricted key makes and deletes none. */
function authorizeForUser(caller: Caller, action: UserAction, userId: string): void {
  if (caller.kind === 'anonymous') fail('Unauthenticated', 'Authentication required');
  if (caller.userId !== userId) fail('AccessDenied', 'You are not authorized to perform the requested action on another user.');
  if ((action === 'CreateAccessKey' || action === 'DeleteAccessKey') && caller.unrestrictedKey !== true) {
    fail('AccessDenied', 'This token comes from a restricted access key, which cannot create or delete access keys; use an unrestricted key or onggi admin');
  }
}

/** The same words whether or not the bucket exists, so another project learns nothing from a refusal. */
function denyIn(action: Action, account: string): never {
  fail('AccessDenied', `Not allowed to ${action} in ${account}`);
}

function authorizeInBucket<B extends BucketRow>(caller: Caller, action: BucketAction, account: string, given: B | null, key: string | null, context: AccessContext): B {
  const bucket = given?.projectId === account ? given : null;
  if (bucket?.policy && !mayAlwaysManagePolicy(caller, action, bucket) && policyDecision(bucket.policy, caller, action, key, context) === 'deny') {
    if (caller.kind === 'anonymous') fail('Unauthenticated', 'Authentication required');
    fail('AccessDenied', `A policy of bucket ${bucket.name} denies ${action}`, knownTo(bucket, caller, context) ? { bucketVisible: true } : {});
  }
  if (bucket && caller.kind === 'anonymous' && caller.scope && inScope(caller.scope, action, account, bucket.name, key)) return bucket;
  if (caller.kind === 'user' && caller.projectId === account) {
    if (!bucket) fail('NoSuchBucket', 'The specified bucket does not exist');
    const role = bucketRoleOf(bucket, caller.userId, caller.role);
    if ((role !== null && BUCKET_ALLOWED[role].has(action)) || allowedBeyondRoles(bucket, caller, action, key, context)) return bucket;
    fail('AccessDenied', `Your role on bucket ${bucket.name} (${role ?? 'none'}) does not allow ${action}`);
  }
  const level = caller.kind === 'user' ? caller.accountAccess?.[account] : undefined;
  if (level !== undefined) {
    if (!bucket) fail('NoSuchBucket', 'The specified bucket does not exist');
    if (ACCOUNT_GRANT_BUCKET_ALLOWED[level].has(action)) return bucket;
  }
  if (bucket && allowedBeyondRoles(bucket, caller, action, key, context)) return bucket;
  if (bucket && caller.kind === 'anonymous' && action === 'GetObject' && bucket.publicRead && !ipAllowed(bucket.publicReadAllowIps, context.ip)) {
    // A public bucket is public anyway; saying that this address may not read it reveals nothing more.
    fail('AccessDenied', 'Your address may not read this bucket');
  }
  if (caller.kind === 'anonymous') fail('Unauthenticated', 'Authentication required');
  if (bucket && knownTo(bucket, caller, context)) fail('AccessDenied', `Not allowed to ${action} in ${account}`, { bucketVisible: true });
  denyIn(action, account);
}

/** Whether a caller of another project is let into the bucket for anything: then it knows the bucket exists. */
function knownTo(bucket: BucketRow, caller: Caller, context: AccessContext): boolean {
  if (bucket.publicRead || (bucket.grants?.some((g) => g.grantee.kind !== 'referrer' && granteeMatches(g.grantee, caller, context, false)) ?? false)) return true;
  // A policy that allows the caller something (under whatever condition) has told them the bucket exists.
  return bucket.policy?.some((s) => s.effect === 'Allow' && principalMatches(s.principal, caller) !== (s.except?.principal === true)) ?? false;
}

/**
 * As S3 lets an account's root do: a Storage Admin of the bucket can always replace or delete its policy (and read
 * it, to see what to change), so no policy locks them out.
 */
function mayAlwaysManagePolicy(caller: Caller, action: BucketAction, bucket: BucketRow): boolean {
  return POLICY_ACTIONS.has(action) && caller.kind === 'user' && caller.projectId === bucket.projectId && bucketRoleOf(bucket, caller.userId, caller.role) === 'Storage Admin';
}

const POLICY_ACTIONS: ReadonlySet<BucketAction> = new Set(['PutBucketPolicy', 'DeleteBucketPolicy', 'GetBucketPolicy']);

/** Whether a signed request's scope covers `action` on this object (or on one under its prefix). */
function inScope(scope: SignedScope, action: BucketAction, account: string, bucket: string, key: string | null): boolean {
  if (scope.account !== account || scope.bucket !== bucket || key === null || !scope.actions.includes(action)) return false;
  return 'key' in scope.target ? scope.target.key === key : key.startsWith(scope.target.prefix);
}

/**
 * What lets a caller in beside its roles: the public flag, a grant, a policy's Allow. A caller of another
 * project is let in by the public flag as an anonymous one would be. A referrer refused by a `.r:-host` grant is
 * refused what the public flag and the grants to everyone give; grants naming the caller still apply.
 */
function allowedBeyondRoles(bucket: BucketRow, caller: Caller, action: BucketAction, key: string | null, context: AccessContext): boolean {
  const refusedReferrer = bucket.grants !== undefined && referrerRefused(bucket.grants, context);
  if (action === 'GetObject' && bucket.publicRead && !refusedReferrer && ipAllowed(bucket.publicReadAllowIps, context.ip)) return true;
  if (bucket.grants && granted(bucket.grants, caller, action, context, refusedReferrer)) return true;
  return bucket.policy !== undefined && policyDecision(bucket.policy, caller, action, key, context) === 'allow';
}

/** Swift's `.r:-host`: the request's referrer is one a grant refuses. */
function referrerRefused(grants: readonly Grant[], context: AccessContext): boolean {
  return grants.some((g) => g.grantee.kind === 'referrer' && g.grantee.deny === true && referrerMatches(g.grantee.host, context.referrer));
}

function granted(grants: readonly Grant[], caller: Caller, action: BucketAction, context: AccessContext, refusedReferrer: boolean): boolean {
  return grants.some((grant) => GRANTED[grant.permission].has(action) && granteeMatches(grant.grantee, caller, context, refusedReferrer));
}

function granteeMatches(grantee: Grantee, caller: Caller, context: AccessContext, refusedReferrer: boolean): boolean {
  switch (grantee.kind) {
    case 'anyone':
      return !refusedReferrer;
    case 'authenticated':
      return caller.kind === 'user';
    case 'project':
      return caller.kind === 'user' && caller.projectId === grantee.projectId;
    case 'user':
      return caller.kind === 'user' && caller.userId === grantee.userId && (grantee.projectId === undefined || grantee.projectId === caller.projectId);
    case 'referrer':
      return !refusedReferrer && !grantee.deny && referrerMatches(grantee.host, context.referrer);
  }
}

/** Swift's referrer rule: `*` any, `.example.com` the domain and its subdomains, else the host itself. */
function referrerMatches(host: string, referrer: string | undefined): boolean {
  if (host === '*') return true;
  if (!referrer) return false;
  let referrerHost: string;
  try {
    referrerHost = new URL(referrer).hostname.toLowerCase();
  } catch {
    return false;
  }
  const wanted = host.toLowerCase();
  return wanted.startsWith('.') ? referrerHost.endsWith(wanted) || referrerHost === wanted.slice(1) : referrerHost === wanted;
}

/** A bucket policy's verdict: an explicit Deny beats any Allow; no statement that applies says nothing. */
function policyDecision(policy: readonly PolicyStatement[], caller: Caller, action: BucketAction, key: string | null, context: AccessContext): 'allow' | 'deny' | 'none' {
  let verdict: 'allow' | 'none' = 'none';
  for (const statement of policy) {
    if (!statementApplies(statement, caller, action, key, context)) continue;
    if (statement.effect === 'Deny') return 'deny';
    verdict = 'allow';
  }
  return verdict;
}

function statementApplies(statement: PolicyStatement, caller: Caller, action: BucketAction, key: string | null, context: AccessContext): boolean {
  const except = statement.except ?? {};
  if (statement.actions.some((pattern) => wildcardMatches(pattern, `s3:${action}`)) === (except.actions === true)) return false;
  if (principalMatches(statement.principal, caller) === (except.principal === true)) return false;
  if (resourceMatches(statement, key) === (except.resources === true)) return false;
  return conditionsHold(statement.conditions, context);
}

/** The bucket itself (key null) or one of its keys. */
function resourceMatches(statement: PolicyStatement, key: string | null): boolean {
  if (!statement.keys) return true;
  return key === null ? statement.bucket === true : statement.keys.some((pattern) => wildcardMatches(pattern, key));
}

function conditionsHold(conditions: PolicyStatement['conditions'], context: AccessContext): boolean {
  if (!conditions) return true;
  if (conditions.sourceIp && !addressMatcher(conditions.sourceIp)(context.ip)) return false;
  if (conditions.notSourceIp && addressMatcher(conditions.notSourceIp)(context.ip)) return false;
  const { referrer } = context;
  if (conditions.referer && !conditions.referer.some((pattern) => referrer !== undefined && wildcardMatches(pattern, referrer))) return false;
  if (conditions.refererEquals && (referrer === undefined || !conditions.refererEquals.includes(referrer))) return false;
  if (conditions.secureTransport !== undefined && conditions.secureTransport !== (context.secure === true)) return false;
  return true;
}

function principalMatches(principal: PolicyStatement['principal'], caller: Caller): boolean {
  if (principal === '*') return true;
  if (caller.kind === 'anonymous') return false;
  return (principal.projects ?? []).includes(caller.projectId) || (principal.users ?? []).includes(caller.userId);
}

/** S3's policy wildcards: `*` any run of characters, `?` one; case-sensitive. */
function wildcardMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  let regex = wildcards.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
    // Policies are evaluated on every request to their bucket: each pattern is compiled once (a bounded cache).
    if (wildcards.size >= 10_000) wildcards.clear();
    wildcards.set(pattern, regex);
  }
  return regex.test(value);
}

const wildcards = new Map<string, RegExp>();

/** Whether `authorize` would let the caller do `action` on the bucket, without throwing (what a listing may show them). */
export function allows(caller: Caller, action: BucketAction, bucket: BucketRow): boolean {
  try {
    authorizeInBucket(caller, action, bucket.projectId, bucket, null, contextOf(caller));
    return true;
  } catch (err) {
    if (isOnggiError(err)) return false;
    throw err;
  }
}

export function ipAllowed(allowList: readonly string[], ip: string): boolean {
  return allowList.length === 0 || addressMatcher(allowList)(ip);
}

/** A test of whether an address lies in any of `entries` (addresses or CIDR blocks); false for non-addresses. */
export function addressMatcher(entries: readonly string[]): (ip: string) => boolean {
  const list = toBlockList(entries);
  return (ip) => {
    const address = normalizeIp(ip);
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 6 ? 'ipv6' : 'ipv4');
  };
}

/** Throws InvalidArgument unless every entry is an IP address or a CIDR block. */
export function checkAllowList(entries: readonly string[]): void {
  for (const entry of entries) {
    if (!parseCidr(entry)) fail('InvalidArgument', `Not an IP address or CIDR block: ${entry}`);
  }
}

function toBlockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}

function parseCidr(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, extra] = entry.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
