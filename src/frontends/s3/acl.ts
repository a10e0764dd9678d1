/**
 * S3's canned ACLs on a bucket: `private` and `public-read` are the bucket's public flag, the same one the bucket
 * API (`/v1_ext`) sets, so each protocol sees what the other set. Grants beyond them are not built yet.
 */
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

/**
 * The public flag an AccessControlPolicy body means: whether it grants AllUsers READ. Grants this server cannot
 * keep (other grantees beyond the owner, other permissions for AllUsers) are refused rather than dropped.
 */
export function publicFlagOfPolicy(parsed: Record<string, unknown>): boolean {
  const policy = parsed.AccessControlPolicy as { AccessControlList?: { Grant?: Array<{ Grantee?: Record<string, unknown>; Permission?: unknown }> } } | undefined;
  if (!policy) throw new S3Error('MalformedACLError', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
  let publicRead = false;
  for (const grant of policy.AccessControlList?.Grant ?? []) {
    const uri = grant.Grantee?.URI;
    if (uri === undefined) continue;
    if (uri !== ALL_USERS || grant.Permission !== 'READ') throw new S3Error('NotImplemented', 501, 'Only the owner and a READ grant to AllUsers are supported in ACLs');
    publicRead = true;
  }
  return publicRead;
}
