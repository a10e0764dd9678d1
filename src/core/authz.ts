/** Who may do what: project roles, public read-only buckets and their IP allow lists. */
import { BlockList, isIP } from 'node:net';
import type { Role } from './constraints.ts';
import { fail } from './errors.ts';
import type { BucketRow } from './model.ts';
import type { Caller } from './types.ts';

export type Action =
  | 'account:read'
  | 'account:write'
  | 'bucket:create'
  | 'bucket:read'
  | 'bucket:write'
  | 'bucket:set-acl'
  | 'bucket:delete'
  | 'object:read'
  | 'object:write';

const ALLOWED: Record<Action, readonly Role[]> = {
  'account:read': ['admin', 'member', 'reader'],
  'account:write': ['admin'],
  'bucket:create': ['admin', 'member'],
  'bucket:read': ['admin', 'member', 'reader'],
  'bucket:write': ['admin', 'member'],
  'bucket:set-acl': ['admin'],
  'bucket:delete': ['admin'],
  'object:read': ['admin', 'member', 'reader'],
  'object:write': ['admin', 'member'],
};

/** Account-level check: the caller must hold a role in `account` allowing `action`. */
export function authorizeAccount(caller: Caller, action: Action, account: string): asserts caller is Extract<Caller, { kind: 'user' }> {
  if (caller.kind === 'anonymous') fail('Unauthenticated', 'Authentication required');
  if (caller.projectId !== account || !ALLOWED[action].includes(caller.role)) {
    fail('AccessDenied', `Not allowed to ${action} in ${account}`);
  }
}

/**
 * Bucket-level check. Anonymous callers learn nothing but 401, whether or not the bucket exists;
 * only an object read in a public bucket gets through (or 403 from an address its allow list excludes).
 */
export function authorizeBucket<B extends BucketRow>(caller: Caller, action: Action, account: string, bucket: B | null): B {
  if (caller.kind === 'anonymous') {
    if (action === 'object:read' && bucket?.projectId === account && bucket.publicRead) {
      // A public bucket is public anyway; saying that this address may not read it reveals nothing more.
      if (!ipAllowed(bucket.publicReadAllowIps, caller.ip)) fail('AccessDenied', 'Your address may not read this bucket');
      return bucket;
    }
    fail('Unauthenticated', 'Authentication required');
  }
  authorizeAccount(caller, action, account);
  if (bucket?.projectId !== account) fail('NoSuchBucket', 'The specified bucket does not exist');
  return bucket;
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
