/**
 * S3's canned ACLs on a bucket: `private` and `public-read` are the bucket's public flag, the same one the bucket
 * API (`/v1_ext`) sets, so each protocol sees what the other set. Grants beyond them are not built yet.
 */
import type { Bucket } from '../../core/types.ts';
import { S3Error } from './errors.ts';
import { ownerOf } from './exchange.ts';
import { buildXml, type XmlNode } from './xml.ts';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

/** The public flag a canned ACL means (null: no ACL header given). */
export function publicFlagOf(canned: string | undefined): boolean | null {
  if (canned === undefined) return null;
  switch (canned) {
    case 'private':
    case 'bucket-owner-full-control':
    case 'bucket-owner-read':
      return false;
    case 'public-read':
      return true;
    default:
      throw new S3Error('NotImplemented', 501, `The canned ACL ${canned} is not supported; use private or public-read`);
  }
}

export function aclXml(account: string, publicRead: boolean): string {
  const owner = ownerOf(account);
  const grants: XmlNode[] = [grant({ '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@_xsi:type': 'CanonicalUser', ...owner }, 'FULL_CONTROL')];
  if (publicRead) grants.push(grant({ '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', '@_xsi:type': 'Group', URI: ALL_USERS }, 'READ'));
  return buildXml('AccessControlPolicy', { Owner: owner, AccessControlList: { Grant: grants } });
}

function grant(grantee: XmlNode, permission: string): XmlNode {
  return { Grantee: grantee, Permission: permission };
}

/** The public flag an AccessControlPolicy body means: READ for AllUsers, or not. */
export function publicFlagOfPolicy(policy: Record<string, unknown>): boolean {
  const text = JSON.stringify(policy);
  return text.includes(ALL_USERS) && /"Permission":"(READ|FULL_CONTROL)"/.test(text);
}

export function bucketPublic(bucket: Bucket): boolean {
  return bucket.publicRead;
}
