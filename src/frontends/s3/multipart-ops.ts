/** Multipart uploads on core.uploads: Create, UploadPart(Copy), Complete (ETag checks, conditional), Abort, ListParts, ListMultipartUploads. */
import type { UploadRef } from '../../core/uploads.ts';
import type { Metadata } from '../../core/types.ts';
import { isOnggiError } from '../../core/errors.ts';
import { headerValue } from '../../http/context.ts';
import { checkWriteAcl } from './acl-ops.ts';
import { readSmallBody, requestBody } from './body.ts';
import { S3Error } from './errors.ts';
import { ownerOf, sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { encoderOf } from './listing-ops.ts';
import { etagOf, expectedMd5, readConditions, writeAttributes } from './object-headers.ts';
import { sourceRef, writeConditions, writeResultHeaders } from './object-ops.ts';
import { checksumElements, checksummedCopy, completionHeaders, listedChecksums, uploadChecksumElements, uploadChecksumHeaders, uploadChecksumIn, uploadChecksumOf, withUploadChecksum } from './multipart-checksums.ts';
import { versionSettingsOf } from './version-settings.ts';
import { addEncryptionHeaders, customerKeyOf, managedEncryptionOf } from './sse-headers.ts';
import type { UploadRow } from '../../core/model.ts';
import type { CustomerKey } from '../../core/customer-keys.ts';
import { buildXml, isoTime, parseXml, type XmlNode } from './xml.ts';

const MAX_PARTS_LISTED = 1000;

function uploadRef(x: Exchange, bucket: string, key: string): UploadRef {
  const uploadId = x.ctx.query.get('uploadId');
  if (!uploadId) throw new S3Error('InvalidArgument', 400, 'This operation needs an uploadId');
  const customerKey = customerKeyOf(x);
  return { account: x.account, bucket, key, uploadId, ...(customerKey ? { customerKey } : {}) };
}

/** The encryption headers of an upload's responses (CreateMultipartUpload, UploadPart, UploadPartCopy). */
function uploadEncryptionHeaders(upload: UploadRow, ref: { customerKey?: CustomerKey | undefined }): Record<string, string | number> {
  const headers: Record<string, string | number> = {};
  if (upload.encrypted) addEncryptionHeaders(headers, upload.customer === undefined ? 'managed' : 'customer', ref.customerKey);
  return headers;
}

function partNumberOf(x: Exchange): number {
  const text = x.ctx.query.get('partNumber') ?? '';
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 10_000) throw new S3Error('InvalidArgument', 400, 'Part number must be an integer between 1 and 10000, inclusive');
  return Number(text);
}

export async function createMultipartUpload(bucket: string, key: string, x: Exchange): Promise<void> {
  await checkWriteAcl(x, bucket);
  const checksum = uploadChecksumOf(x.req);
  const attributes = writeAttributes(x.req);
  const customerKey = customerKeyOf(x);
  const encrypt = managedEncryptionOf(x.req, customerKey);
  const ref = { account: x.account, bucket, key, customerKey };
  const upload = await x.ctx.core.uploads.create(x.caller, ref, { ...attributes, encrypt, headers: withUploadChecksum(attributes.headers, checksum), ...versionSettingsOf(x.req) });
  sendXml(x.res, 200, buildXml('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: upload.id }), { ...uploadChecksumHeaders(checksum), ...uploadEncryptionHeaders(upload, ref) });
}

export async function uploadPart(bucket: string, key: string, x: Exchange): Promise<void> {
  const ref = uploadRef(x, bucket, key);
  const partNumber = partNumberOf(x);
  const checksums: Metadata = {};
  const body = requestBody(x.req, checksums);
  const { etag, upload } = await x.ctx.core.uploads.uploadPart(x.caller, ref, partNumber, { body: body.source, contentLength: body.contentLength, expectedMd5: expectedMd5(x.req), checksums });
  sendEmpty(x.res, 200, { ETag: `"${etag}"`, ...checksums, ...uploadEncryptionHeaders(upload, ref) });
}

export async function uploadPartCopy(bucket: string, key: string, x: Exchange): Promise<void> {
  const ref = uploadRef(x, bucket, key);
  const partNumber = partNumberOf(x);
  const from = await sourceRef(x);
  const range = headerValue(x.req, 'x-amz-copy-source-range');
  if (range !== undefined && !/^bytes=\d+-\d+$/.test(range.trim())) throw new S3Error('InvalidArgument', 400, 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy');
  const source = await x.ctx.core.objects.get(x.caller, from, readConditions(x.req, 'x-amz-copy-source-'), range).catch((err: unknown) => {
    if (isOnggiError(err) && err.code === 'NotModified') throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
    throw err;
  });
  if (range !== undefined && source.ranges === null) throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable');
  const [opened] = source.bodies;
  if (!opened) throw new S3Error('NoSuchKey', 404, 'The specified key does not exist.');
  const length = source.ranges?.[0] ? source.ranges[0].end - source.ranges[0].start + 1 : source.record.size;
  try {
    // An upload that keeps checksums gets the copied part's too, computed as it passes.
    const { upload } = await x.ctx.core.uploads.listParts(x.caller, ref, { partNumberMarker: 0, limit: 0 });
    const checksums: Metadata = {};
    const body = checksummedCopy(Buffer.isBuffer(opened) ? [opened] : opened, uploadChecksumIn(upload.headers), checksums);
    const { etag, upload: target } = await x.ctx.core.uploads.uploadPart(x.caller, ref, partNumber, { body, contentLength: length, checksums });
    const headers: Record<string, string | number> = source.record.versionId === 'null' ? {} : { 'x-amz-copy-source-version-id': source.record.versionId };
    Object.assign(headers, uploadEncryptionHeaders(target, ref));
    sendXml(x.res, 200, buildXml('CopyPartResult', { LastModified: isoTime(Date.now()), ETag: `"${etag}"`, ...checksumElements(checksums) }), headers);
  } finally {
    if (!Buffer.isBuffer(opened)) opened.destroy();
  }
}

export async function completeMultipartUpload(bucket: string, key: string, x: Exchange): Promise<void> {
  const ref = uploadRef(x, bucket, key);
  const parsed = parseXml(await readSmallBody(x.req, 4 * 1024 * 1024, false));
  const root = parsed.CompleteMultipartUpload as { Part?: Array<Record<string, unknown>> } | undefined;
  const listed = new Map<number, Metadata>();
  const parts = (root?.Part ?? []).map((part) => {
    const number = Number(part.PartNumber);
    if (!Number.isInteger(number) || typeof part.ETag !== 'string') throw new S3Error('MalformedXML', 400, 'Each Part needs a PartNumber and an ETag');
    listed.set(number, listedChecksums(part));
    return { partNumber: number, etag: etagOf(part.ETag) };
  });
  if (parts.length === 0) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');
  const record = await x.ctx.core.uploads.complete(x.caller, ref, parts, writeConditions(x), completionHeaders(x.req, listed));
  const location = `${x.ctx.publicUrl}/${encodeURIComponent(bucket)}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
  const headers = writeResultHeaders(record, ref.customerKey);
  delete headers.ETag;
  const type = record.headers['x-amz-checksum-type'];
  const result: XmlNode = { Location: location, Bucket: bucket, Key: key, ETag: `"${record.etag}"`, ...checksumElements(record.headers), ...(type ? { ChecksumType: type } : {}) };
  sendXml(x.res, 200, buildXml('CompleteMultipartUploadResult', result), headers);
}

export async function abortMultipartUpload(bucket: string, key: string, x: Exchange): Promise<void> {
  await x.ctx.core.uploads.abort(x.caller, uploadRef(x, bucket, key));
  sendEmpty(x.res, 204);
}

export async function listParts(bucket: string, key: string, x: Exchange): Promise<void> {
  const ref = uploadRef(x, bucket, key);
  const q = x.ctx.query;
  const marker = Number(q.get('part-number-marker') ?? '0');
  const maxParts = Math.min(Number(q.get('max-parts') ?? MAX_PARTS_LISTED), MAX_PARTS_LISTED);
  if (!Number.isInteger(marker) || marker < 0 || !Number.isInteger(maxParts) || maxParts < 0) throw new S3Error('InvalidArgument', 400, 'part-number-marker and max-parts must be integers');
  const { upload, parts, truncated } = await x.ctx.core.uploads.listParts(x.caller, ref, { partNumberMarker: marker, limit: maxParts });
  const last = parts.at(-1);
  sendXml(
    x.res,
    200,
    buildXml('ListPartsResult', {
      Bucket: bucket,
      Key: key,
      UploadId: ref.uploadId,
      Initiator: { ID: upload.initiator, DisplayName: upload.initiator },
      Owner: ownerOf(x.account),
      StorageClass: 'STANDARD',
      ...uploadChecksumElements(upload.headers),
      PartNumberMarker: marker,
      ...(last ? { NextPartNumberMarker: last.partNumber } : {}),
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: parts.map((p) => ({ PartNumber: p.partNumber, LastModified: isoTime(p.lastModified), ETag: `"${p.etag}"`, Size: p.size, ...checksumElements(p.checksums) })),
    }),
  );
}

export async function listMultipartUploads(bucket: string, x: Exchange): Promise<void> {
  const q = x.ctx.query;
  const encode = encoderOf(q.get('encoding-type'));
  const maxUploads = Math.min(Number(q.get('max-uploads') ?? MAX_PARTS_LISTED), MAX_PARTS_LISTED);
  if (!Number.isInteger(maxUploads) || maxUploads < 0) throw new S3Error('InvalidArgument', 400, 'max-uploads must be an integer');
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = q.get('upload-id-marker') ?? '';
  const { entries, truncated } = await x.ctx.core.uploads.listUploads(x.caller, x.account, bucket, { prefix, delimiter, keyMarker, uploadIdMarker, limit: maxUploads });
  const uploads: XmlNode[] = [];
  const prefixes: XmlNode[] = [];
  let nextKey = '';
  let nextUpload = '';
  for (const entry of entries) {
    if (entry.kind === 'prefix') {
      prefixes.push({ Prefix: encode(entry.prefix) });
      nextKey = entry.prefix;
      nextUpload = '';
      continue;
    }
    const u = entry.item;
    uploads.push({ Key: encode(u.key), UploadId: u.id, Initiator: { ID: u.initiator, DisplayName: u.initiator }, Owner: ownerOf(x.account), StorageClass: 'STANDARD', Initiated: isoTime(u.initiatedAt) });
    nextKey = u.key;
    nextUpload = u.id;
  }
  const body: XmlNode = { Bucket: bucket, KeyMarker: encode(keyMarker), UploadIdMarker: uploadIdMarker, Prefix: encode(prefix) };
  if (delimiter) body.Delimiter = encode(delimiter);
  if (truncated) {
    body.NextKeyMarker = encode(nextKey);
    body.NextUploadIdMarker = nextUpload;
  }
  if (q.get('encoding-type') === 'url') body.EncodingType = 'url';
  body.MaxUploads = maxUploads;
  body.IsTruncated = truncated;
  body.Upload = uploads;
  body.CommonPrefixes = prefixes;
  sendXml(x.res, 200, buildXml('ListMultipartUploadsResult', body));
}
