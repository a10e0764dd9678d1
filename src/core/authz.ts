/**
 * Who may do what, in one place. Project roles decide what a user does in the project (create and list buckets,
 * account metadata); bucket roles (Storage Admin / Editor / Viewer) decide what they do in one bucket, defaulting
 * from the project role unless the bucket assigns another (or none). Public read-only buckets and their IP allow
 * lists let anonymous callers read objects.
 */
import { BlockList, isIP } from 'node:net';
import type { Role } from './constraints.ts';
import { fail } from './errors.ts';
import type { BucketRole, BucketRow } from './model.ts';
import type { Caller } from './types.ts';

export type Action =
  | 'account:read'
  | 'account:write'
  | 'bucket:create'
  | 'bucket:read'
  | 'bucket:write'
  | 'bucket:set-acl'
  | 'bucket:delete'
  | 'bucket:set-roles'
  | 'bucket:configure'
  | 'object:read'
  | 'object:write';

type AccountAction = Extract<Action, `account:${string}` | 'bucket:create'>;
export type BucketAction = Exclude<Action, AccountAction>;

/** Project roles, for what is done in the project rather than in one bucket. */
const ACCOUNT_ALLOWED: Record<AccountAction, readonly Role[]> = {
  'account:read': ['admin', 'member', 'reader'],
  'account:write': ['admin'],
  'bucket:create': ['admin', 'member'],
};

/** Bucket roles: a viewer reads metadata and objects, an editor writes objects, an admin changes settings and roles. */
const BUCKET_ALLOWED: Record<BucketAction, readonly BucketRole[]> = {
  'bucket:read': ['Storage Admin', 'Storage Editor', 'Storage Viewer'],
  'object:read': ['Storage Admin', 'Storage Editor', 'Storage Viewer'],
  'object:write': ['Storage Admin', 'Storage Editor'],
  'bucket:write': ['Storage Admin', 'Storage Editor'],
  'bucket:set-acl': ['Storage Admin'],
  'bucket:set-roles': ['Storage Admin'],
  'bucket:configure': ['Storage Admin'],
  'bucket:delete': ['Storage Admin'],
};

/** The bucket role a project role gives by default (KakaoCloud's mapping). */
export const DEFAULT_BUCKET_ROLE: Readonly<Record<Role, BucketRole>> = {
  admin: 'Storage Admin',
  member: 'Storage Editor',
  reader: 'Storage Viewer',
};

/** The user's role on the bucket: the one the bucket assigns them (null: none), else their project role's default. */
export function bucketRoleOf(bucket: BucketRow, userId: string, projectRole: Role): BucketRole | null {
  const assigned = bucket.roles?.[userId];
  return assigned === undefined ? DEFAULT_BUCKET_ROLE[projectRole] : assigned;
}

/** Account-level check: the caller must hold a role in `account` allowing `action`. */
export function authorizeAccount(caller: Caller, action: AccountAction, account: string): asserts caller is Extract<Caller, { kind: 'user' }> {
  if (caller.kind === 'anonymous') fail('Unauthenticated', 'Authentication required');
  if (caller.projectId !== account || !ACCOUNT_ALLOWED[action].includes(caller.role)) denyIn(action, account);
}

/** The same words whether or not the bucket exists, so another project learns nothing from a refusal. */
function denyIn(action: Action, account: string): never {
  fail('AccessDenied', `Not allowed to ${action} in ${account}`);
}

/**
 * Bucket-level check. Anonymous callers learn nothing but 401, whether or not the bucket exists;
 * only an object read in a public bucket gets through (or 403 from an address its allow list excludes).
 */
export function authorizeBucket<B extends BucketRow>(caller: Caller, action: BucketAction, account: string, bucket: B | null): B {
  if (caller.kind === 'anonymous') {
    if (action === 'object:read' && bucket?.projectId === account && bucket.publicRead) {
      // A public bucket is public anyway; saying that this address may not read it reveals nothing more.
      if (!ipAllowed(bucket.publicReadAllowIps, caller.ip)) fail('AccessDenied', 'Your address may not read this bucket');
      return bucket;
    }
    fail('Unauthenticated', 'Authentication required');
  }
  if (caller.projectId !== account) denyIn(action, account);
  if (bucket?.projectId !== account) fail('NoSuchBucket', 'The specified bucket does not exist');
  const role = bucketRoleOf(bucket, caller.userId, caller.role);
  if (role === null || !BUCKET_ALLOWED[action].includes(role)) {
    fail('AccessDenied', `Your role on bucket ${bucket.name} (${role ?? 'none'}) does not allow ${action}`);
  }
  return bucket;
}

/** Whether the caller's role on the bucket allows `action`, without throwing (what a listing may show them). */
export function allows(caller: Caller, action: BucketAction, bucket: BucketRow): boolean {
  if (caller.kind !== 'user' || caller.projectId !== bucket.projectId) return false;
  const role = bucketRoleOf(bucket, caller.userId, caller.role);
  return role !== null && BUCKET_ALLOWED[action].includes(role);
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
