/**
 * S3's ACLs on the grants `authorize()` evaluates, the same ones Swift's container ACLs set, so each protocol shows
 * what the other set. How S3's grants map onto them:
 *   grantee   AllUsers → anyone; AuthenticatedUsers → any signed-in caller (Swift's `*:*`);
 *             CanonicalUser ID `<project id>` → that project (Swift's `<project>:*`), `<project id>:<user id>` → that
 *             user in that project, `*:<user id>` → that user in any project (Swift's entries, as S3 ids).
 *             The bucket's own project is its owner: its access is its members' roles, so grants naming it are the
 *             owner's grant and change nothing (a grant to it could otherwise lift a reader to FULL_CONTROL).
 *   READ      → read and list objects (Swift's read ACL); to AllUsers: the public flag (`/v1_ext`'s `public`,
 *             Swift's `.r:*`) with listings (`.rlistings`). WRITE → write objects (Swift's write ACL);
 *             READ_ACP, WRITE_ACP, FULL_CONTROL → read-acl, write-acl, full-control.
 * Objects share their bucket's ACL (core keeps no ACL per object): an object ACL equal to the bucket's is accepted,
 * another refused. What has no place in the model is refused, never dropped: e-mail grantees, the LogDelivery
 * group, unknown ids.
 */
import type { IncomingMessage } from 'node:http';
import type { GrantChange } from '../../core/buckets.ts';
import type { Directory } from '../../core/directory.ts';
import type { BucketRow, Grant, Grantee, GrantPermission } from '../../core/model.ts';
import { headerValue } from '../../http/context.ts';
import { S3Error } from './errors.ts';
import { ownerOf } from './exchange.ts';
import { buildXml, type XmlNode } from './xml.ts';

const GROUPS = 'http://acs.amazonaws.com/groups/';
const ALL_USERS = `${GROUPS}global/AllUsers`;
const AUTHENTICATED_USERS = `${GROUPS}global/AuthenticatedUsers`;
const LOG_DELIVERY = `${GROUPS}s3/LogDelivery`;
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

export const S3_PERMISSIONS = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'] as const;
export type S3Permission = (typeof S3_PERMISSIONS)[number];

/** Every grant permission an S3 ACL replaces: setting one replaces the whole ACL, as S3 does. */
const ALL_GRANT_PERMISSIONS: readonly GrantPermission[] = ['read-objects', 'list', 'write-objects', 'read-acl', 'write-acl', 'full-control'];

type S3Grantee = { group: 'AllUsers' | 'AuthenticatedUsers' } | { id: string };

interface S3Grant {
  grantee: S3Grantee;
  permission: S3Permission;
}

/** An ACL a request asks for, before its ids are checked: S3 grants (the owner's own included or not). */
export type RequestedAcl = S3Grant[];

const GRANT_HEADERS: ReadonlyArray<readonly [string, S3Permission]> = [
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

/** Whether the request carries an ACL in its headers (a canned ACL or `x-amz-grant-*`). */
export function hasAclHeaders(req: IncomingMessage): boolean {
  const { headers } = req;
  return (
    headers['x-amz-acl'] !== undefined ||
    headers['x-amz-grant-read'] !== undefined ||
    headers['x-amz-grant-write'] !== undefined ||
    headers['x-amz-grant-read-acp'] !== undefined ||
    headers['x-amz-grant-write-acp'] !== undefined ||
    headers['x-amz-grant-full-control'] !== undefined
  );
}

/** The ACL the request's headers ask for (null: none). A canned ACL and grant headers together are refused, as S3 does. */
export function aclFromHeaders(req: IncomingMessage): RequestedAcl | null {
  const canned = headerValue(req, 'x-amz-acl');
  const granted: S3Grant[] = [];
  let anyGrantHeader = false;
  for (const [name, permission] of GRANT_HEADERS) {
    const value = headerValue(req, name);
    if (value === undefined) continue;
    anyGrantHeader = true;
    for (const grantee of granteesOfHeader(value)) granted.push({ grantee, permission });
  }
  if (canned !== undefined && anyGrantHeader) throw new S3Error('InvalidRequest', 400, 'Specifying both Canned ACLs and Header Grants is not allowed');
  if (canned !== undefined) return cannedAcl(canned.trim());
  return anyGrantHeader ? granted : null;
}

/** A canned ACL's grants, the owner's FULL_CONTROL left implicit. */
export function cannedAcl(canned: string): RequestedAcl {
  const all = (permission: S3Permission): S3Grant => ({ grantee: { group: 'AllUsers' }, permission });
  switch (canned) {
    // The object's owner is the bucket's owner here, so the bucket-owner ones are the owner's FULL_CONTROL alone.
    case 'private':
    case 'bucket-owner-read':
    case 'bucket-owner-full-control':
      return [];
    case 'public-read':
      return [all('READ')];
    case 'public-read-write':
      return [all('READ'), all('WRITE')];
    case 'authenticated-read':
      return [{ grantee: { group: 'AuthenticatedUsers' }, permission: 'READ' }];
    case 'log-delivery-write':
      throw new S3Error('InvalidArgument', 400, 'The LogDelivery group is not supported: this server delivers no access logs into buckets', { ArgumentName: 'x-amz-acl', ArgumentValue: canned });
    case 'aws-exec-read':
      throw new S3Error('InvalidArgument', 400, 'aws-exec-read grants to an AWS service that has no place here', { ArgumentName: 'x-amz-acl', ArgumentValue: canned });
  }
  throw new S3Error('InvalidArgument', 400, `Unknown canned ACL: ${canned}`, { ArgumentName: 'x-amz-acl', ArgumentValue: canned });
}

/** `id="…", uri="…"` of an `x-amz-grant-*` header. */
function granteesOfHeader(value: string): S3Grantee[] {
  const grantees: S3Grantee[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = /^([A-Za-z]+)\s*=\s*"?([^"]*)"?$/.exec(entry);
    if (!match) throw new S3Error('InvalidArgument', 400, `Invalid grant: ${entry}`);
    const [, type = '', id = ''] = match;
    grantees.push(granteeOf(type.toLowerCase(), id.trim()));
  }
  return grantees;
}

function granteeOf(type: string, value: string): S3Grantee {
  switch (type) {
    case 'id':
      if (value === '') throw new S3Error('InvalidArgument', 400, 'Invalid id');
      return { id: value };
    case 'uri':
      return groupOf(value);
    case 'emailaddress':
      throw new S3Error('UnresolvableGrantByEmailAddress', 400, 'The e-mail address you provided does not match any account on record: grant to a canonical id (a project id, or <project id>:<user id>) instead');
    default:
      throw new S3Error('InvalidArgument', 400, `Invalid grantee type: ${type}`);
  }
}

function groupOf(uri: string): S3Grantee {
  if (uri === ALL_USERS) return { group: 'AllUsers' };
  if (uri === AUTHENTICATED_USERS) return { group: 'AuthenticatedUsers' };
  if (uri === LOG_DELIVERY) throw new S3Error('InvalidArgument', 400, 'The LogDelivery group is not supported: this server delivers no access logs into buckets');
  throw new S3Error('InvalidArgument', 400, `Invalid group uri: ${uri}`);
}

/** The ACL an AccessControlPolicy body asks for. */
export function aclFromPolicy(parsed: Record<string, unknown>): RequestedAcl {
  const policy = parsed.AccessControlPolicy as { AccessControlList?: { Grant?: unknown[] } | string } | undefined;
  if (!policy || typeof policy !== 'object') throw malformedAcl();
  const list = policy.AccessControlList;
  const grants = typeof list === 'object' ? (list.Grant ?? []) : [];
  return grants.map((raw) => {
    const grant = raw as { Grantee?: Record<string, unknown>; Permission?: unknown };
    const permission = grant.Permission;
    if (typeof permission !== 'string' || !(S3_PERMISSIONS as readonly string[]).includes(permission) || !grant.Grantee) throw malformedAcl();
    const { ID, URI, EmailAddress } = grant.Grantee;
    if (typeof ID === 'string') return { grantee: granteeOf('id', ID), permission: permission as S3Permission };
    if (typeof URI === 'string') return { grantee: groupOf(URI), permission: permission as S3Permission };
    if (typeof EmailAddress === 'string') granteeOf('emailaddress', EmailAddress);
    throw malformedAcl();
  });
}

function malformedAcl(): S3Error {
  return new S3Error('MalformedACLError', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
}

/**
 * The grant change that sets `acl` on a bucket of `account`: it replaces every grant and the public flag. Ids are
 * checked against the directory (an unknown one is S3's `InvalidArgument: Invalid id`).
 */
export async function grantChangeOf(acl: RequestedAcl, account: string, directory: Directory): Promise<GrantChange> {
  const grants: Grant[] = [];
  let publicRead = false;
  for (const { grantee, permission } of acl) {
    if ('group' in grantee && grantee.group === 'AllUsers' && permission === 'READ') {
      publicRead = true;
      grants.push({ grantee: { kind: 'referrer', host: '*' }, permission: 'list' });
      continue;
    }
    const core = 'group' in grantee ? groupGrantee(grantee.group) : await idGrantee(grantee.id, account, directory);
    if (core === null) continue;
    for (const corePermission of corePermissionsOf(permission)) grants.push({ grantee: core, permission: corePermission });
  }
  return { permissions: ALL_GRANT_PERMISSIONS, grants: dedupe(grants), publicRead };
}

function groupGrantee(group: 'AllUsers' | 'AuthenticatedUsers'): Grantee {
  return group === 'AllUsers' ? { kind: 'anyone' } : { kind: 'authenticated' };
}

/** The grantee a canonical id names (null: the bucket's own project, whose access is its roles). */
async function idGrantee(id: string, account: string, directory: Directory): Promise<Grantee | null> {
  const colon = id.indexOf(':');
  const project = colon < 0 ? id : id.slice(0, colon);
  const user = colon < 0 ? null : id.slice(colon + 1);
  if (project === '' || user === '') throw invalidId(id);
  if (project !== '*' && (await directory.getProject(project)) === null) throw invalidId(id);
  if (user === null) return project === account ? null : { kind: 'project', projectId: project };
  if ((await directory.getUser(user)) === null) throw invalidId(id);
  return project === '*' ? { kind: 'user', userId: user } : { kind: 'user', userId: user, projectId: project };
}

function invalidId(id: string): S3Error {
  return new S3Error('InvalidArgument', 400, 'Invalid id', { ArgumentName: 'CanonicalUser/ID', ArgumentValue: id });
}

function corePermissionsOf(permission: S3Permission): GrantPermission[] {
  switch (permission) {
    case 'READ':
      return ['read-objects', 'list'];
    case 'WRITE':
      return ['write-objects'];
    case 'READ_ACP':
      return ['read-acl'];
    case 'WRITE_ACP':
      return ['write-acl'];
    case 'FULL_CONTROL':
      return ['full-control'];
  }
}

function dedupe(grants: Grant[]): Grant[] {
  const seen = new Map<string, Grant>();
  for (const grant of grants) seen.set(`${granteeKey(grant.grantee)} ${grant.permission}`, grant);
  return [...seen.values()];
}

function granteeKey(grantee: Grantee): string {
  switch (grantee.kind) {
    case 'anyone':
    case 'authenticated':
      return grantee.kind;
    case 'project':
      return `project ${grantee.projectId}`;
    case 'user':
      return `user ${grantee.projectId ?? '*'}:${grantee.userId}`;
    case 'referrer':
      return `referrer ${grantee.deny === true ? '-' : ''}${grantee.host}`;
  }
}

/**
 * The bucket's ACL as S3 shows it: the owner's FULL_CONTROL, AllUsers READ for the public flag, and the grants
 * that S3 can name. Swift's referrer entries (`.r:<host>`, `.r:-<host>`) have no S3 grantee and are not shown.
 */
export function s3GrantsOf(bucket: Pick<BucketRow, 'publicRead' | 'grants'>): Map<string, { grantee: XmlNode; permission: S3Permission }> {
  const shown = new Map<string, { grantee: XmlNode; permission: S3Permission }>();
  const add = (key: string, grantee: XmlNode, permission: S3Permission): void => {
    shown.set(`${key} ${permission}`, { grantee, permission });
  };
  if (bucket.publicRead) add('AllUsers', groupXml(ALL_USERS), 'READ');
  for (const { grantee, permission } of bucket.grants ?? []) {
    const shownAs = granteeXml(grantee);
    if (shownAs) add(shownAs.key, shownAs.xml, s3PermissionOf(permission));
  }
  return shown;
}

function s3PermissionOf(permission: GrantPermission): S3Permission {
  switch (permission) {
    case 'read-objects':
    case 'list':
      return 'READ';
    case 'write-objects':
      return 'WRITE';
    case 'read-acl':
      return 'READ_ACP';
    case 'write-acl':
      return 'WRITE_ACP';
    case 'full-control':
      return 'FULL_CONTROL';
  }
}

function granteeXml(grantee: Grantee): { key: string; xml: XmlNode } | null {
  switch (grantee.kind) {
    case 'anyone':
      return { key: 'AllUsers', xml: groupXml(ALL_USERS) };
    case 'authenticated':
      return { key: 'AuthenticatedUsers', xml: groupXml(AUTHENTICATED_USERS) };
    case 'project':
      return { key: grantee.projectId, xml: canonicalXml(grantee.projectId) };
    case 'user': {
      const id = `${grantee.projectId ?? '*'}:${grantee.userId}`;
      return { key: id, xml: canonicalXml(id) };
    }
    case 'referrer':
      return null;
  }
}

function groupXml(uri: string): XmlNode {
  return { '@_xmlns:xsi': XSI, '@_xsi:type': 'Group', URI: uri };
}

function canonicalXml(id: string): XmlNode {
  return { '@_xmlns:xsi': XSI, '@_xsi:type': 'CanonicalUser', ID: id, DisplayName: id };
}

/** GetBucketAcl's / GetObjectAcl's body. */
export function aclXml(account: string, bucket: Pick<BucketRow, 'publicRead' | 'grants'>): string {
  const owner = ownerOf(account);
  const grants: XmlNode[] = [{ Grantee: canonicalXml(account), Permission: 'FULL_CONTROL' }];
  for (const { grantee, permission } of s3GrantsOf(bucket).values()) grants.push({ Grantee: grantee, Permission: permission });
  return buildXml('AccessControlPolicy', { Owner: owner, AccessControlList: { Grant: grants } });
}

/** Whether setting `change` would leave the bucket's ACL as S3 shows it unchanged (what an object ACL may ask for). */
export function sameAcl(bucket: Pick<BucketRow, 'publicRead' | 'grants'>, change: GrantChange): boolean {
  const current = [...s3GrantsOf(bucket).keys()].sort();
  const wanted = [...s3GrantsOf({ publicRead: change.publicRead ?? false, grants: [...change.grants] }).keys()].sort();
  return current.length === wanted.length && current.every((key, i) => key === wanted[i]);
}
