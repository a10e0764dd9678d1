/** GetObjectAttributes (`?attributes`): what `x-amz-object-attributes` asks for of a version, from its record. */
import { headerValue } from '../../http/context.ts';
import { S3Error } from './errors.ts';
import { sendXml, type Exchange } from './exchange.ts';
import { lastModifiedHeader } from './object-headers.ts';
import { refOf } from './object-ops.ts';
import { buildXml, type XmlNode } from './xml.ts';

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
type Attribute = (typeof ATTRIBUTES)[number];
const CHECKSUM_PREFIX = 'x-amz-checksum-';
/** The element of each stored checksum (`x-amz-checksum-crc32c` → `ChecksumCRC32C`). */
const CHECKSUM_ELEMENTS: Readonly<Record<string, string>> = { crc32: 'ChecksumCRC32', crc32c: 'ChecksumCRC32C', crc64nvme: 'ChecksumCRC64NVME', sha1: 'ChecksumSHA1', sha256: 'ChecksumSHA256' };

export async function getObjectAttributes(bucket: string, key: string, x: Exchange): Promise<void> {
  const wanted = attributesAsked(headerValue(x.req, 'x-amz-object-attributes'));
  const record = await x.ctx.core.objects.head(x.caller, refOf(x, bucket, key), {});
  const content: XmlNode = {};
  if (wanted.has('ETag')) content.ETag = record.etag;
  if (wanted.has('Checksum')) {
    const checksum: XmlNode = {};
    for (const name in record.headers) {
      const element = name.startsWith(CHECKSUM_PREFIX) ? CHECKSUM_ELEMENTS[name.slice(CHECKSUM_PREFIX.length)] : undefined;
      if (element) checksum[element] = record.headers[name];
    }
    if (Object.keys(checksum).length > 0) content.Checksum = { ...checksum, ChecksumType: 'FULL_OBJECT' };
  }
  // A multipart object's ETag ends in its part count; the parts themselves are not kept once it is complete.
  const parts = /-(\d+)$/.exec(record.etag)?.[1];
  if (wanted.has('ObjectParts') && parts !== undefined) content.ObjectParts = { PartsCount: Number(parts) };
  if (wanted.has('StorageClass')) content.StorageClass = 'STANDARD';
  if (wanted.has('ObjectSize')) content.ObjectSize = record.size;
  const headers: Record<string, string> = { 'Last-Modified': lastModifiedHeader(record) };
  if (record.versionId !== 'null') headers['x-amz-version-id'] = record.versionId;
  sendXml(x.res, 200, buildXml('GetObjectAttributesResponse', content), headers);
}

function attributesAsked(header: string | undefined): Set<Attribute> {
  const names = (header ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new S3Error('InvalidArgument', 400, 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty', { ArgumentName: 'x-amz-object-attributes' });
  for (const name of names) {
    if (!(ATTRIBUTES as readonly string[]).includes(name)) throw new S3Error('InvalidArgument', 400, `Invalid attribute name specified: ${name}`, { ArgumentName: 'x-amz-object-attributes' });
  }
  return new Set(names as Attribute[]);
}
