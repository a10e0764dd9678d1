/** Bucket operations: ListBuckets, Create/Head/Delete, location, versioning (ACLs: acl-ops.ts). */
import { LISTING_LIMIT } from '../../core/constraints.ts';
import type { Bucket } from '../../core/types.ts';
import { isOnggiError } from '../../core/errors.ts';
import { creationAcl } from './acl-ops.ts';
import { readSmallBody } from './body.ts';
import { headerValue } from '../../http/context.ts';
import { S3Error } from './errors.ts';
import { ownerOf, sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { buildXml, isoTime, parseXml } from './xml.ts';

export async function listBuckets(x: Exchange): Promise<void> {
  if (x.caller.kind === 'anonymous') throw new S3Error('AccessDenied', 403, 'Access Denied');
  const buckets: Bucket[] = [];
  let marker = '';
  for (;;) {
    const entries = await x.ctx.core.buckets.list(x.caller, x.account, { prefix: '', delimiter: '', marker, endMarker: '', limit: LISTING_LIMIT, reverse: false });
    for (const entry of entries) if (entry.kind === 'item') buckets.push(entry.item);
    const last = entries.at(-1);
    if (entries.length < LISTING_LIMIT || last?.kind !== 'item') break;
    marker = last.item.name;
  }
  sendXml(
    x.res,
    200,
    buildXml('ListAllMyBucketsResult', {
      Owner: ownerOf(x.account),
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoTime(b.createdAt), BucketRegion: x.ctx.region })) },
    }),
  );
}

export async function createBucket(name: string, x: Exchange): Promise<void> {
  const body = await readSmallBody(x.req, 64 * 1024);
  if (body.length > 0) {
    // A LocationConstraint naming another region than this server's is accepted: Onggi has one region, any name.
    parseXml(body);
  }
  const access = await creationAcl(x);
  try {
    await x.ctx.core.buckets.create(x.caller, x.account, { name, access, ...(objectLockAsked(x) ? { objectLock: true } : {}) });
  } catch (err) {
    // S3 tells the owner apart: creating your own bucket again is BucketAlreadyOwnedByYou.
    if (isOnggiError(err) && err.code === 'BucketAlreadyExists' && (await ownsBucket(x, name))) {
      throw new S3Error('BucketAlreadyOwnedByYou', 409, 'Your previous request to create the named bucket succeeded and you already own it.');
    }
    throw err;
  }
  sendEmpty(x.res, 200, { Location: `/${name}` });
}

/** `x-amz-bucket-object-lock-enabled: true`: the bucket is made with Object Lock (and so versioning) on. */
function objectLockAsked(x: Exchange): boolean {
  return headerValue(x.req, 'x-amz-bucket-object-lock-enabled')?.trim().toLowerCase() === 'true';
}

async function ownsBucket(x: Exchange, name: string): Promise<boolean> {
  try {
    await x.ctx.core.buckets.get(x.caller, x.account, name);
    return true;
  } catch {
    return false;
  }
}

export async function headBucket(name: string, x: Exchange): Promise<void> {
  await x.ctx.core.buckets.get(x.caller, x.account, name);
  sendEmpty(x.res, 200, { 'x-amz-bucket-region': x.ctx.region });
}

export async function deleteBucket(name: string, x: Exchange): Promise<void> {
  await x.ctx.core.buckets.delete(x.caller, x.account, name);
  sendEmpty(x.res, 204);
}

export async function getBucketLocation(name: string, x: Exchange): Promise<void> {
  await x.ctx.core.buckets.get(x.caller, x.account, name, 'GetBucketLocation');
  sendXml(x.res, 200, buildXml('LocationConstraint', { '#text': x.ctx.region }));
}

export async function getBucketVersioning(name: string, x: Exchange): Promise<void> {
  const bucket = await x.ctx.core.buckets.get(x.caller, x.account, name, 'GetBucketVersioning');
  const status = bucket.versioning === 'enabled' ? 'Enabled' : bucket.versioning === 'suspended' ? 'Suspended' : undefined;
  sendXml(x.res, 200, buildXml('VersioningConfiguration', status ? { Status: status } : {}));
}

export async function putBucketVersioning(name: string, x: Exchange): Promise<void> {
  const parsed = parseXml(await readSmallBody(x.req, 64 * 1024));
  const config = parsed.VersioningConfiguration as Record<string, unknown> | undefined;
  const status = config?.Status;
  if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('MalformedXML', 400, 'The versioning Status must be Enabled or Suspended');
  if (config?.MfaDelete === 'Enabled') throw new S3Error('NotImplemented', 501, 'MFA delete is not supported');
  await x.ctx.core.buckets.setVersioning(x.caller, x.account, name, status === 'Enabled' ? 'enabled' : 'suspended');
  sendEmpty(x.res, 200);
}
