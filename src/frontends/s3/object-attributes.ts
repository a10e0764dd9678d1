/**
 * GetObjectAttributes: the attributes named in `x-amz-object-attributes` without the body. A multipart object's
 * parts are counted; S3 lists them only when they carry checksums of their own, which parts here do not keep yet.
 */
import { headerValue } from '../../http/context.ts';
import type { ObjectRecord } from '../../core/types.ts';
import { S3Error } from './errors.ts';
import { sendXml, type Exchange } from './exchange.ts';
import { lastModifiedHeader } from '../../http/http-date.ts';
import { readRefOf } from './object-ops.ts';
import { buildXml, type XmlNode } from './xml.ts';

const ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']);
/** The stored checksum headers and their element names. */
const CHECKSUMS: ReadonlyArray<readonly [string, string]> = [
  ['x-amz-checksum-crc32', 'ChecksumCRC32'],
  ['x-amz-checksum-crc32c', 'ChecksumCRC32C'],
  ['x-amz-checksum-crc64nvme', 'ChecksumCRC64NVME'],
  ['x-amz-checksum-sha1', 'ChecksumSHA1'],
  ['x-amz-checksum-sha256', 'ChecksumSHA256'],
];

export async function getObjectAttributes(bucket: string, key: string, x: Exchange): Promise<void> {
  const wanted = attributesOf(headerValue(x.req, 'x-amz-object-attributes'));
  // Part 1 is read for its count: one row of the part index.
  // S3 asks for s3:GetObjectAttributes beside the read itself.
  await x.ctx.core.buckets.forObjects(x.caller, x.account, bucket, 'GetObjectAttributes', key);
  const { record, partsCount } = await x.ctx.core.objects.part(x.caller, readRefOf(x, bucket, key), {}, 1);
  const body: XmlNode = {};
  if (wanted.has('ETag')) body.ETag = record.etag;
  const checksum = checksumOf(record);
  if (wanted.has('Checksum') && checksum) body.Checksum = checksum;
  if (wanted.has('ObjectParts') && partsCount !== null) body.ObjectParts = { PartsCount: partsCount };
  if (wanted.has('StorageClass')) body.StorageClass = 'STANDARD';
  if (wanted.has('ObjectSize')) body.ObjectSize = record.size;
  const headers: Record<string, string> = { 'Last-Modified': lastModifiedHeader(record) };
  if (record.versionId !== 'null') headers['x-amz-version-id'] = record.versionId;
  sendXml(x.res, 200, buildXml('GetObjectAttributesResponse', body), headers);
}

function attributesOf(header: string | undefined): Set<string> {
  const names = (header ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new S3Error('InvalidArgument', 400, 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty');
  const unknown = names.find((name) => !ATTRIBUTES.has(name));
  if (unknown !== undefined) throw new S3Error('InvalidArgument', 400, 'Invalid attribute name specified.', { ArgumentName: 'x-amz-object-attributes', ArgumentValue: unknown });
  return new Set(names);
}

function checksumOf(record: ObjectRecord): XmlNode | null {
  const checksum: XmlNode = {};
  for (const [header, element] of CHECKSUMS) {
    const value = record.headers[header];
    if (value !== undefined) checksum[element] = value;
  }
  if (Object.keys(checksum).length === 0) return null;
  checksum.ChecksumType = record.headers['x-amz-checksum-type'] ?? 'FULL_OBJECT';
  return checksum;
}
