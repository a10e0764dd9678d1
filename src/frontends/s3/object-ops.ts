/** Object operations: Put (conditional, checksummed), Get/Head (ranges, conditionals, overrides), Delete, Copy, ACLs. */
import type { ServerResponse } from 'node:http';
import { writeBody, type Body, type ObjectRef } from '../../core/objects.ts';
import type { ObjectRecord } from '../../core/types.ts';
import { isOnggiError } from '../../core/errors.ts';
import { headerValue } from '../../http/context.ts';
import { checkWriteAcl } from './acl-ops.ts';
import { hasAclHeaders } from './acl.ts';
import { requestBody } from './body.ts';
import { S3Error } from './errors.ts';
import { sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { lastModifiedHeader } from '../../http/http-date.ts';
import { etagOf, expectedMd5, objectHeaders, readConditions, refuseAnonymousOverrides, writeAttributes } from './object-headers.ts';
import { bypassGovernanceOf, copyVersionSettingsOf, versionSettingsOf } from './version-settings.ts';
import { addEncryptionHeaders, customerKeyOf, managedEncryptionOf } from './sse-headers.ts';
import type { CustomerKey } from '../../core/customer-keys.ts';
import { buildXml, isoTime } from './xml.ts';

export function refOf(x: Exchange, bucket: string, key: string): ObjectRef {
  const versionId = x.ctx.query.get('versionId');
  return { account: x.account, bucket, key, ...(versionId === null ? {} : { versionId }) };
}

/** The ref of a read of the object's bytes or attributes: with the SSE-C key the request gives, if any. */
export function readRefOf(x: Exchange, bucket: string, key: string): ObjectRef {
  const ref = refOf(x, bucket, key);
  const customerKey = customerKeyOf(x);
  if (customerKey) ref.customerKey = customerKey;
  return ref;
}

export async function putObject(bucket: string, key: string, x: Exchange): Promise<void> {
  const { req } = x;
  // Most writes carry no ACL: no turn of the event loop for them.
  if (hasAclHeaders(req)) await checkWriteAcl(x, bucket);
  const attributes = writeAttributes(req);
  const customerKey = customerKeyOf(x);
  const encrypt = managedEncryptionOf(req, customerKey);
  const body = requestBody(req, attributes.headers);
  const record = await x.ctx.core.objects.put(x.caller, {
    account: x.account,
    bucket,
    key,
    customerKey,
    encrypt,
    ...attributes,
    ...versionSettingsOf(req),
    body: body.source,
    contentLength: body.contentLength,
    expectedMd5: expectedMd5(req),
    ...writeConditions(x),
  });
  sendEmpty(x.res, 200, writeResultHeaders(record, customerKey));
}

/** `If-None-Match: *` and `If-Match` of a PutObject or CompleteMultipartUpload. */
export function writeConditions(x: Exchange): { ifNoneMatchAny?: boolean; ifMatch?: string } {
  const ifNoneMatch = headerValue(x.req, 'if-none-match');
  // AWS documents only `*` here and answers any other value (an ETag) with 501 NotImplemented, so this does too.
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') throw new S3Error('NotImplemented', 501, 'A header you provided implies functionality that is not implemented: If-None-Match on a write takes only *', { Header: 'If-None-Match' });
  const ifMatch = headerValue(x.req, 'if-match');
  return { ...(ifNoneMatch === undefined ? {} : { ifNoneMatchAny: true }), ...(ifMatch === undefined ? {} : { ifMatch }) };
}

export function writeResultHeaders(record: ObjectRecord, customerKey?: CustomerKey): Record<string, string | number> {
  const headers: Record<string, string | number> = { ETag: `"${record.etag}"` };
  if (record.versionId !== 'null') headers['x-amz-version-id'] = record.versionId;
  if (record.encryption !== undefined) addEncryptionHeaders(headers, record.encryption, customerKey);
  for (const name in record.headers) if (name.startsWith('x-amz-checksum-')) headers[name] = record.headers[name] ?? '';
  return headers;
}

export async function getObject(bucket: string, key: string, x: Exchange): Promise<void> {
  const { core, query } = x.ctx;
  const anonymous = x.caller.kind === 'anonymous';
  refuseAnonymousOverrides(query, anonymous);
  const ref = readRefOf(x, bucket, key);
  const conditions = readConditions(x.req);
  const withChecksums = headerValue(x.req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED';
  if (x.req.method === 'HEAD') {
    const record = await core.objects.head(x.caller, ref, conditions);
    const headers = objectHeaders(record, query, withChecksums, anonymous, ref.customerKey);
    headers['Content-Length'] = record.size;
    x.res.writeHead(200, headers).end();
    return;
  }
  const range = headerValue(x.req, 'range');
  // S3 serves one range; a request for several gets the whole object.
  const { record, ranges, bodies } = await core.objects.get(x.caller, ref, conditions, range?.includes(',') ? undefined : range);
  const headers = objectHeaders(record, query, withChecksums && ranges === null, anonymous, ref.customerKey);
  const [only] = ranges ?? [];
  if (only) {
    headers['Content-Length'] = only.end - only.start + 1;
    headers['Content-Range'] = `bytes ${only.start}-${only.end}/${record.size}`;
    x.res.writeHead(206, headers);
  } else {
    headers['Content-Length'] = record.size;
    x.res.writeHead(200, headers);
  }
  await streamBodies(x.res, bodies.slice(0, 1));
}

/** Writes the bodies and ends the response; whatever happens, every body is closed with it. */
export async function streamBodies(res: ServerResponse, bodies: Body[]): Promise<void> {
  const [only] = bodies;
  if (bodies.length === 1 && Buffer.isBuffer(only)) {
    res.end(only);
    return;
  }
  const close = (): void => {
    for (const body of bodies) if (!Buffer.isBuffer(body)) body.destroy();
  };
  if (res.destroyed) {
    close();
    return;
  }
  res.once('close', close);
  try {
    for (const body of bodies) await writeBody(body, res);
    res.end();
  } catch {
    close();
    res.destroy();
  }
}

export async function deleteObject(bucket: string, key: string, x: Exchange): Promise<void> {
  const result = await x.ctx.core.objects.delete(x.caller, refOf(x, bucket, key), { requireLive: false, bypassGovernance: bypassGovernanceOf(x.req) });
  const headers: Record<string, string> = {};
  if (result.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  if (result.versionId !== null && result.versionId !== 'null') headers['x-amz-version-id'] = result.versionId;
  else if (result.versionId === 'null' && x.ctx.query.get('versionId') === 'null') headers['x-amz-version-id'] = 'null';
  sendEmpty(x.res, 204, headers);
}

/** `x-amz-copy-source: /bucket/key[?versionId=…]` (the leading slash optional, the key URL-encoded). */
export function copySourceOf(x: Exchange): { bucket: string; key: string; versionId?: string } {
  const raw = headerValue(x.req, 'x-amz-copy-source') ?? '';
  const [pathPart = '', queryPart] = raw.split('?', 2);
  let path: string;
  try {
    path = decodeURIComponent(pathPart.startsWith('/') ? pathPart.slice(1) : pathPart);
  } catch {
    throw new S3Error('InvalidArgument', 400, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  }
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new S3Error('InvalidArgument', 400, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  const versionId = queryPart ? new URLSearchParams(queryPart).get('versionId') : null;
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1), ...(versionId ? { versionId } : {}) };
}

/** The source's project: the caller's own, or the name's owner where names are server-wide. */
export async function sourceRef(x: Exchange): Promise<ObjectRef> {
  const source = copySourceOf(x);
  const own = x.caller.kind === 'user' ? x.caller.projectId : '';
  const owner = x.ctx.core.buckets.naming.serverWideNames ? await x.ctx.core.buckets.ownerOf(source.bucket) : null;
  const customerKey = customerKeyOf(x, 'source');
  return { account: owner ?? own, ...source, ...(customerKey ? { customerKey } : {}) };
}

export async function copyObject(bucket: string, key: string, x: Exchange): Promise<void> {
  const { req } = x;
  const from = await sourceRef(x);
  const directive = (headerValue(req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 400, 'Unknown metadata directive.');
  const sameObject = from.account === x.account && from.bucket === bucket && from.key === key && from.versionId === undefined;
  const customerKey = customerKeyOf(x);
  const encrypt = managedEncryptionOf(req, customerKey);
  // A storage class, encryption or redirect given is a change S3 accepts (rclone's settier; a new SSE-C key).
  const changes = customerKey !== undefined || ['x-amz-storage-class', 'x-amz-server-side-encryption', 'x-amz-website-redirect-location'].some((name) => headerValue(req, name) !== undefined);
  if (sameObject && directive === 'COPY' && !changes) {
    throw new S3Error('InvalidRequest', 400, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
  }
  // The copy-source conditionals, checked against the source as it is read.
  await x.ctx.core.objects.head(x.caller, from, readConditions(req, 'x-amz-copy-source-')).catch((err: unknown) => {
    if (isOnggiError(err) && err.code === 'NotModified') throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
    throw err;
  });
  await checkWriteAcl(x, bucket);
  const attributes = writeAttributes(req);
  const replace = directive === 'REPLACE';
  const { record, source } = await x.ctx.core.objects.copy(x.caller, from, { account: x.account, bucket, key, customerKey }, {
    freshMetadata: replace,
    encrypt,
    contentType: replace ? attributes.contentType : undefined,
    meta: replace ? attributes.meta : {},
    headers: replace ? attributes.headers : {},
    deleteAt: null,
    ...copyVersionSettingsOf(req),
  });
  const headers: Record<string, string | number> = {};
  if (record.versionId !== 'null') headers['x-amz-version-id'] = record.versionId;
  if (source.versionId !== 'null') headers['x-amz-copy-source-version-id'] = source.versionId;
  if (record.encryption !== undefined) addEncryptionHeaders(headers, record.encryption, customerKey);
  sendXml(x.res, 200, buildXml('CopyObjectResult', { LastModified: isoTime(record.lastModified), ETag: `"${record.etag}"` }), headers);
}

export { etagOf, lastModifiedHeader };
