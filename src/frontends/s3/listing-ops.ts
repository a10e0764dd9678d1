/** ListObjects (v1 and v2) and ListObjectVersions: prefix, delimiter, markers, continuation tokens, `encoding-type=url`. */
import type { ListEntry } from '../../core/listing.ts';
import type { ObjectRecord } from '../../core/types.ts';
import { S3Error } from './errors.ts';
import { ownerOf, sendXml, type Exchange } from './exchange.ts';
import { uriEncode } from './sigv4.ts';
import { buildXml, isoTime, type XmlNode } from './xml.ts';

const MAX_KEYS = 1000;

export async function listObjects(bucket: string, x: Exchange, version: 1 | 2): Promise<void> {
  const q = x.ctx.query;
  const maxKeys = maxKeysOf(q.get('max-keys'));
  const encode = encoderOf(q.get('encoding-type'));
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after') ?? '';
  const marker = version === 1 ? (q.get('marker') ?? '') : token !== null ? decodeToken(token) : startAfter;
  const { entries } = await x.ctx.core.objects.list(x.caller, x.account, bucket, { prefix, delimiter, marker, endMarker: '', limit: maxKeys + 1, reverse: false });
  const page = entries.slice(0, maxKeys);
  const truncated = entries.length > maxKeys;
  const last = page.at(-1);
  const next = truncated && last ? nameOf(last) : null;
  const withOwner = version === 1 || q.get('fetch-owner') === 'true';
  const contents = page.filter((e): e is Extract<ListEntry<ObjectRecord>, { kind: 'item' }> => e.kind === 'item').map((e) => objectEntry(e.item, encode, withOwner ? x.account : null));
  const prefixes = page.filter((e): e is Extract<ListEntry<ObjectRecord>, { kind: 'prefix' }> => e.kind === 'prefix').map((e) => ({ Prefix: encode(e.prefix) }));
  const common: XmlNode = { Name: bucket, Prefix: encode(prefix) };
  const body: XmlNode =
    version === 1
      ? { ...common, Marker: encode(marker), ...(next !== null && delimiter ? { NextMarker: encode(next) } : {}), MaxKeys: maxKeys }
      : {
          ...common,
          ...(token !== null ? { ContinuationToken: token } : {}),
          ...(next !== null ? { NextContinuationToken: Buffer.from(next, 'utf8').toString('base64url') } : {}),
          ...(startAfter ? { StartAfter: encode(startAfter) } : {}),
          KeyCount: page.length,
          MaxKeys: maxKeys,
        };
  if (delimiter) body.Delimiter = encode(delimiter);
  if (q.get('encoding-type') === 'url') body.EncodingType = 'url';
  body.IsTruncated = truncated;
  body.Contents = contents;
  body.CommonPrefixes = prefixes;
  sendXml(x.res, 200, buildXml('ListBucketResult', body));
}

export async function listObjectVersions(bucket: string, x: Exchange): Promise<void> {
  const q = x.ctx.query;
  const maxKeys = maxKeysOf(q.get('max-keys'));
  const encode = encoderOf(q.get('encoding-type'));
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const versionIdMarker = q.get('version-id-marker') ?? '';
  if (versionIdMarker && !keyMarker) throw new S3Error('InvalidArgument', 400, 'A version-id marker cannot be specified without a key marker.');
  const { listing } = await x.ctx.core.objects.listVersions(x.caller, x.account, bucket, { prefix, delimiter, keyMarker, versionIdMarker, limit: maxKeys });
  const versions: XmlNode[] = [];
  const markers: XmlNode[] = [];
  const prefixes: XmlNode[] = [];
  for (const entry of listing.entries) {
    if (entry.kind === 'prefix') {
      prefixes.push({ Prefix: encode(entry.prefix) });
      continue;
    }
    const { item } = entry;
    const common = { Key: encode(entry.key), VersionId: item.versionId, IsLatest: entry.isLatest, LastModified: isoTime(item.lastModified) };
    if (item.deleteMarker) markers.push({ ...common, Owner: ownerOf(x.account) });
    else versions.push({ ...common, ETag: `"${item.etag}"`, Size: item.size, StorageClass: 'STANDARD', Owner: ownerOf(x.account) });
  }
  const body: XmlNode = { Name: bucket, Prefix: encode(prefix), KeyMarker: encode(keyMarker), VersionIdMarker: versionIdMarker, MaxKeys: maxKeys };
  if (delimiter) body.Delimiter = encode(delimiter);
  if (q.get('encoding-type') === 'url') body.EncodingType = 'url';
  body.IsTruncated = listing.truncated;
  if (listing.nextKeyMarker !== null) body.NextKeyMarker = encode(listing.nextKeyMarker);
  if (listing.nextVersionIdMarker !== null) body.NextVersionIdMarker = listing.nextVersionIdMarker;
  body.Version = versions;
  body.DeleteMarker = markers;
  body.CommonPrefixes = prefixes;
  sendXml(x.res, 200, buildXml('ListVersionsResult', body));
}

function objectEntry(record: ObjectRecord, encode: (text: string) => string, owner: string | null): XmlNode {
  return {
    Key: encode(record.key),
    LastModified: isoTime(record.lastModified),
    ETag: `"${record.etag}"`,
    Size: record.size,
    ...(owner === null ? {} : { Owner: ownerOf(owner) }),
    StorageClass: 'STANDARD',
  };
}

function nameOf(entry: ListEntry<ObjectRecord>): string {
  return entry.kind === 'item' ? entry.item.key : entry.prefix;
}

export function maxKeysOf(text: string | null): number {
  if (text === null) return MAX_KEYS;
  if (!/^\d+$/.test(text)) throw new S3Error('InvalidArgument', 400, 'Provided max-keys not an integer or within integer range');
  return Math.min(Number(text), MAX_KEYS);
}

export function encoderOf(encodingType: string | null): (text: string) => string {
  if (encodingType === null) return (text) => text;
  if (encodingType !== 'url') throw new S3Error('InvalidArgument', 400, 'Invalid Encoding Method specified in Request');
  return (text) => uriEncode(text).replace(/%2F/g, '/');
}

function decodeToken(token: string): string {
  const marker = Buffer.from(token, 'base64url').toString('utf8');
  if (Buffer.from(marker, 'utf8').toString('base64url') !== token) throw new S3Error('InvalidArgument', 400, 'The continuation token provided is incorrect');
  return marker;
}
