/** ACL operations (Get/PutBucketAcl, Get/PutObjectAcl) and the ACLs a bucket creation or an object write carries. */
import type { GrantChange } from '../../core/buckets.ts';
import type { ObjectRef } from '../../core/objects.ts';
import { aclFromHeaders, aclFromPolicy, aclXml, grantChangeOf, hasAclHeaders, sameAcl, type RequestedAcl } from './acl.ts';
import { readSmallBody } from './body.ts';
import { S3Error } from './errors.ts';
import { sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { parseXml } from './xml.ts';

const ACL_BODY_LIMIT = 64 * 1024;

function objectRef(x: Exchange, bucket: string, key: string): ObjectRef {
  const versionId = x.ctx.query.get('versionId');
  return { account: x.account, bucket, key, ...(versionId === null ? {} : { versionId }) };
}

/** The grant change a CreateBucket's ACL headers ask for (none for no header, or for one that grants nothing beyond the owner). */
export async function creationAcl(x: Exchange): Promise<GrantChange[]> {
  const acl = aclFromHeaders(x.req);
  if (acl === null) return [];
  const change = await grantChangeOf(acl, x.account, x.ctx.core.directory);
  // `private` at creation changes nothing, and a creator without PutBucketAcl may still ask for it.
  return change.grants.length > 0 || change.publicRead === true ? [change] : [];
}

/** The ACL a PutBucketAcl / PutObjectAcl asks for, in its headers or in its body (not both). */
async function requestedChange(x: Exchange): Promise<GrantChange> {
  const fromHeaders = aclFromHeaders(x.req);
  const body = await readSmallBody(x.req, ACL_BODY_LIMIT);
  if (fromHeaders !== null && body.length > 0) throw new S3Error('UnexpectedContent', 400, 'This request does not support content: give the ACL in headers or in the body, not both');
  const acl = fromHeaders ?? (body.length > 0 ? aclFromPolicy(parseXml(body)) : null);
  if (acl === null) throw new S3Error('MissingSecurityHeader', 400, 'Your request was missing a required header: x-amz-acl, x-amz-grant-*, or an AccessControlPolicy body');
  return grantChangeOf(acl, x.account, x.ctx.core.directory);
}

export async function getBucketAcl(name: string, x: Exchange): Promise<void> {
  const bucket = await x.ctx.core.buckets.get(x.caller, x.account, name, 'GetBucketAcl');
  sendXml(x.res, 200, aclXml(x.account, bucket));
}

export async function putBucketAcl(name: string, x: Exchange): Promise<void> {
  const change = await requestedChange(x);
  await x.ctx.core.buckets.setAccessControl(x.caller, x.account, name, { publicRead: change.publicRead, access: [change] });
  sendEmpty(x.res, 200);
}

// The object must exist; its ACL is not its bytes, so an SSE-C object's ACL needs no key (as on S3).
export async function getObjectAcl(bucket: string, key: string, x: Exchange): Promise<void> {
  await x.ctx.core.objects.versionFor(x.caller, objectRef(x, bucket, key), 'GetObjectAcl');
  const current = await x.ctx.core.buckets.forObjects(x.caller, x.account, bucket, 'GetObjectAcl', key);
  sendXml(x.res, 200, aclXml(x.account, current));
}

/** Objects have no ACL of their own here: an object ACL is accepted when it is the bucket's, refused otherwise. */
export async function putObjectAcl(bucket: string, key: string, x: Exchange): Promise<void> {
  await x.ctx.core.objects.versionFor(x.caller, objectRef(x, bucket, key), 'PutObjectAcl');
  const change = await requestedChange(x);
  await requireBucketAcl(x, bucket, change, 'PutObjectAcl', key);
  sendEmpty(x.res, 200);
}

/** PutObject, CopyObject and CreateMultipartUpload with an ACL: accepted only when it is the bucket's own. */
export async function checkWriteAcl(x: Exchange, bucket: string): Promise<void> {
  if (!hasAclHeaders(x.req)) return;
  const acl = aclFromHeaders(x.req);
  if (acl !== null) await checkObjectAcl(x, bucket, acl);
}

/** An object write's ACL (a header's, a POST form's `acl` field): accepted only when it is the bucket's own. */
export async function checkObjectAcl(x: Exchange, bucket: string, acl: RequestedAcl): Promise<void> {
  await requireBucketAcl(x, bucket, await grantChangeOf(acl, x.account, x.ctx.core.directory), 'PutObject');
}

async function requireBucketAcl(x: Exchange, bucket: string, change: GrantChange, action: 'PutObject' | 'PutObjectAcl', key?: string): Promise<void> {
  const current = await x.ctx.core.buckets.forObjects(x.caller, x.account, bucket, action, key);
  if (!sameAcl(current, change)) {
    throw new S3Error('NotImplemented', 501, "Objects share their bucket's ACL on this server, and this ACL differs from the bucket's: change the bucket's ACL instead, or give the object the bucket's ACL");
  }
}
