/**
 * Swift's object versioning onto core's versions (core/versions.ts): the new mode (`X-Versions-Enabled`,
 * `?versions` listings, `?version-id=` reads and deletes) is the bucket's versioning state; the legacy modes
 * (`X-Versions-Location`: stack, `X-History-Location`: history) copy the current version into an archive container
 * before it changes (`Objects.copy`, which shares the blobs), and in stack mode a DELETE brings the newest copy back.
 */
import { checkListingLimit, LISTING_LIMIT } from '../../core/constraints.ts';
import { fail, isOnggiError } from '../../core/errors.ts';
import type { ArchiveSetting, BucketRow } from '../../core/model.ts';
import type { DeleteResult, ObjectRef } from '../../core/objects.ts';
import type { VersionEntry } from '../../core/version-listing.ts';
import type { Bucket, ObjectRecord } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import { encodeInTurns } from '../../lib/turns.ts';
import { noContent, sendBody, sendEmpty, type Exchange } from './exchange.ts';
import { listingTime, swiftTimestamp } from './headers.ts';
import { registerInfo } from './info.ts';
import { CONTENT_TYPES, escapeXml, listingFormat } from './listing-format.ts';
import { decode } from './router.ts';

/** The content type Swift gives a delete marker, in `?versions` listings and in a history container. */
export const DELETE_MARKER_TYPE = 'application/x-deleted;swift_versions_deleted=1';
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const TRUE_VALUES = /^(true|1|yes|on|t|y)$/i;
const NO_SUCH_KEY = 'The specified object does not exist';

registerInfo('versioned_writes', () => ({ allowed_flags: ['x-versions-location', 'x-history-location'] }));
registerInfo('object_versioning', () => ({}));

// --- containers -------------------------------------------------------------------------------

interface VersioningRequest {
  enabled?: boolean;
  /** A legacy archive to set, or null to remove it; absent: unchanged. */
  archive?: ArchiveSetting | null;
}

/** What a container PUT or POST asks of versioning, checked before anything changes. */
export function versioningRequest(x: Exchange): VersioningRequest {
  const asked: VersioningRequest = {};
  const enabled = headerValue(x.req, 'x-versions-enabled');
  if (enabled !== undefined) asked.enabled = TRUE_VALUES.test(enabled.trim());
  const stack = legacyHeader(x, 'versions');
  const history = legacyHeader(x, 'history');
  if (stack && history) fail('InvalidArgument', 'Only one of X-Versions-Location or X-History-Location may be specified');
  if (stack || history) {
    if (asked.enabled) fail('InvalidArgument', 'Cannot enable object versioning on a container that is already using the legacy versioned writes feature.');
    asked.archive = stack ? { mode: 'stack', container: stack } : { mode: 'history', container: history ?? '' };
  } else if (stack === '' || history === '') {
    asked.archive = null;
  }
  return asked;
}

/** Applies a container PUT's or POST's versioning headers, once the container exists. */
export async function configureVersioning(x: Exchange, account: string, container: string, asked: VersioningRequest): Promise<void> {
  if (asked.enabled === undefined && asked.archive === undefined) return;
  const { buckets } = x.ctx.core;
  const bucket = await buckets.get(x.caller, account, container);
  if (asked.enabled !== undefined) {
    if (bucket.archive && asked.archive !== null) {
      fail('InvalidArgument', 'Cannot enable object versioning on a container that is already using the legacy versioned writes feature.');
    }
    await buckets.setVersioning(x.caller, account, container, asked.enabled ? 'enabled' : 'suspended');
  }
  if (asked.archive !== undefined) {
    if (asked.archive && bucket.versioning === 'enabled') fail('InvalidArgument', 'Cannot use legacy versioned writes on a container with object versioning enabled');
    if (asked.archive?.container === container) fail('InvalidArgument', 'Cannot set a container as its own versions container');
    await buckets.setArchive(x.caller, account, container, asked.archive);
  }
}

/** A container's versioning, as its HEAD and GET show it. */
export function versioningHeaders(bucket: Bucket): Record<string, string> {
  const headers: Record<string, string> = {};
  if (bucket.versioning) headers['X-Versions-Enabled'] = bucket.versioning === 'enabled' ? 'True' : 'False';
  if (bucket.archive) headers[bucket.archive.mode === 'stack' ? 'X-Versions-Location' : 'X-History-Location'] = encodeURIComponent(bucket.archive.container);
  return headers;
}

/** `X-Versions-Location` / `X-History-Location`: the container named, '' to remove (also `X-Remove-…`), undefined: not given. */
function legacyHeader(x: Exchange, kind: 'versions' | 'history'): string | undefined {
  if (headerValue(x.req, `x-remove-${kind}-location`) !== undefined) return '';
  const value = headerValue(x.req, `x-${kind}-location`);
  if (value === undefined) return undefined;
  const name = decode(value.trim());
  if (name === undefined || name.includes('/')) fail('PreconditionFailed', `X-${kind === 'versions' ? 'Versions' : 'History'}-Location header must be a container name`);
  return name;
}

/** GET `?versions`: every version and delete marker, newest first per name, with `version_id` and `is_latest`. */
export async function listObjectVersions(x: Exchange, account: string, container: string, headersOf: (bucket: Bucket) => Record<string, string | number>): Promise<void> {
  const { query } = x.ctx;
  const limitText = query.get('limit');
  const limit = limitText !== null && /^\d+$/.test(limitText) ? Number(limitText) : LISTING_LIMIT;
  checkListingLimit(limit);
  const { bucket, listing } = await x.ctx.core.objects.listVersions(x.caller, account, container, {
    prefix: query.get('prefix') ?? '',
    delimiter: query.get('delimiter') ?? '',
    keyMarker: query.get('marker') ?? '',
    versionIdMarker: query.get('version_marker') ?? '',
    limit,
  });
  const format = listingFormat(x.req, query);
  const headers = headersOf(bucket);
  if (listing.entries.length === 0 && format === 'plain') {
    sendEmpty(x.res, 204, headers);
    return;
  }
  const body = await encodeInTurns(versionPieces(format, bucket.name, listing.entries));
  sendBody(x.res, 200, { ...headers, 'Content-Type': CONTENT_TYPES[format] }, body);
}

function* versionPieces(format: 'plain' | 'json' | 'xml', container: string, entries: VersionEntry<ObjectRecord>[]): Generator<string> {
  if (format === 'xml') yield `<?xml version="1.0" encoding="UTF-8"?>\n<container name="${escapeXml(container)}">`;
  if (format === 'json') yield '[';
  for (const [i, entry] of entries.entries()) {
    const name = entry.kind === 'prefix' ? entry.prefix : entry.key;
    if (format === 'plain') yield `${name}\n`;
    else if (format === 'json') yield (i > 0 ? ',' : '') + JSON.stringify(entry.kind === 'prefix' ? { subdir: entry.prefix } : versionFields(entry.item, entry.isLatest));
    else if (entry.kind === 'prefix') yield `<subdir name="${escapeXml(name)}"><name>${escapeXml(name)}</name></subdir>`;
    else {
      const fields = Object.entries(versionFields(entry.item, entry.isLatest)).map(([key, value]) => `<${key}>${escapeXml(String(value))}</${key}>`);
      yield `<object>${fields.join('')}</object>`;
    }
  }
  if (format === 'json') yield ']';
  if (format === 'xml') yield '</container>';
}

function versionFields(record: ObjectRecord, isLatest: boolean): Record<string, string | number | boolean> {
  const marker = record.deleteMarker === true;
  return {
    name: record.key,
    hash: marker ? EMPTY_MD5 : record.etag,
    bytes: marker ? 0 : record.size,
    content_type: marker ? DELETE_MARKER_TYPE : record.contentType,
    last_modified: listingTime(record.lastModified),
    version_id: record.versionId,
    is_latest: isLatest,
  };
}

// --- objects ----------------------------------------------------------------------------------

/**
 * Before a write of `ref`: in a container with a legacy archive, its current version is copied there. Returns the
 * container as authorized for the write, for the write itself (one lookup for both).
 */
export async function archiveBeforeWrite(x: Exchange, ref: ObjectRef): Promise<BucketRow> {
  const bucket = await x.ctx.core.buckets.forObjects(x.caller, ref.account, ref.bucket, 'PutObject', ref.key);
  if (bucket.archive) await archiveCurrent(x, ref, bucket.archive.container);
  return bucket;
}

/**
 * DELETE of an object: by version id, that version; in a versioned container, a delete marker; with a legacy
 * archive, as its mode says (stack: the newest archived copy comes back; history: a copy and a marker are kept).
 */
export async function deleteObject(x: Exchange, ref: ObjectRef): Promise<void> {
  const { objects, buckets } = x.ctx.core;
  let result: DeleteResult;
  if (ref.versionId === undefined) {
    // One lookup for the archive setting and the delete itself.
    const bucket = await buckets.forObjects(x.caller, ref.account, ref.bucket, 'DeleteObject', ref.key);
    if (bucket.archive?.mode === 'stack') return deleteRestoring(x, ref, bucket.archive.container);
    if (bucket.archive?.mode === 'history') await archiveDeletion(x, ref, bucket.archive.container);
    result = await objects.deleteFrom(bucket, ref.key);
  } else {
    result = await objects.delete(x.caller, ref);
  }
  if (ref.versionId !== undefined && !result.removed) fail('NoSuchKey', NO_SUCH_KEY);
  noContent(x.res, result.versionId === null ? {} : { 'X-Object-Version-Id': result.versionId });
}

/** Stack mode: the newest archived copy replaces the object and leaves the archive; with none, a plain delete. */
async function deleteRestoring(x: Exchange, ref: ObjectRef, container: string): Promise<void> {
  const { objects } = x.ctx.core;
  const { entries } = await inArchive(() =>
    objects.list(x.caller, ref.account, container, { prefix: archivePrefix(ref.key), delimiter: '', marker: '', endMarker: '', limit: 1, reverse: true }),
  );
  const newest = entries[0]?.kind === 'item' ? entries[0].item : undefined;
  if (!newest || newest.contentType === DELETE_MARKER_TYPE) {
    await objects.delete(x.caller, ref);
  } else {
    const archived = { account: ref.account, bucket: container, key: newest.key };
    await copyAsStored(x, archived, ref);
    await objects.delete(x.caller, archived);
  }
  noContent(x.res);
}

/** History mode: the current version and then a delete marker go into the archive (nothing there: 404). */
async function archiveDeletion(x: Exchange, ref: ObjectRef, container: string): Promise<void> {
  if (!(await archiveCurrent(x, ref, container))) fail('NoSuchKey', NO_SUCH_KEY);
  await x.ctx.core.objects.put(x.caller, {
    account: ref.account,
    bucket: container,
    key: archivePrefix(ref.key) + archiveTimestamp(Date.now()),
    body: [],
    contentLength: 0,
    contentType: DELETE_MARKER_TYPE,
    meta: {},
    headers: {},
    deleteAt: null,
  });
}

/** Copies the current version of `ref` into the archive, under Swift's name for it; false: there is none. */
async function archiveCurrent(x: Exchange, ref: ObjectRef, container: string): Promise<boolean> {
  const { objects } = x.ctx.core;
  let current: ObjectRecord;
  try {
    current = await objects.head(x.caller, ref, {}, undefined, true);
  } catch (err) {
    if (isOnggiError(err) && err.code === 'NoSuchKey') return false;
    throw err;
  }
  const archived = { account: ref.account, bucket: container, key: archivePrefix(ref.key) + archiveTimestamp(current.lastModified) };
  await inArchive(() => copyAsStored(x, ref, archived, current));
  return true;
}

/**
 * Copies a version as it is stored, as Swift's versioned writes do (they read with `multipart-manifest=get` and
 * `symlink=get`): a manifest or link is copied as one (a static manifest's segments are checked again), other
 * objects share their bytes (`Objects.copy`).
 */
async function copyAsStored(x: Exchange, from: ObjectRef, to: ObjectRef, known?: ObjectRecord): Promise<void> {
  const { objects } = x.ctx.core;
  const record = known ?? (await objects.head(x.caller, from, {}, undefined, true));
  const attributes = { contentType: record.contentType, meta: record.meta, headers: record.headers, deleteAt: null };
  const { indirect } = record;
  if (indirect?.kind === 'dynamic-manifest') {
    await objects.large.putDynamic(x.caller, to, { bucket: indirect.bucket, prefix: indirect.prefix }, attributes);
  } else if (indirect?.kind === 'symlink') {
    await objects.large.putSymlink(x.caller, to, { account: indirect.account, bucket: indirect.bucket, key: indirect.key }, indirect.etag, attributes);
  } else if (indirect?.kind === 'static-manifest') {
    const manifest = await objects.staticManifest(x.caller, from);
    if (!manifest) fail('NoSuchKey', NO_SUCH_KEY);
    const segments = manifest.segments.map((segment) => ({
      bucket: segment.bucket,
      key: segment.key,
      etag: segment.etag,
      size: segment.objectSize,
      range: segment.range && `${segment.range[0]}-${segment.range[1]}`,
    }));
    await objects.large.putStatic(x.caller, to, segments, attributes);
  } else {
    await objects.copy(x.caller, from, to, { freshMetadata: false, meta: {}, headers: {}, deleteAt: null });
  }
}

/** Swift's archive names: the name's UTF-8 length in three hex digits, the name, `/`, then the version's time. */
export function archivePrefix(key: string): string {
  return `${Buffer.byteLength(key).toString(16).padStart(3, '0')}${key}/`;
}

function archiveTimestamp(ms: number): string {
  return swiftTimestamp(ms).padStart(16, '0');
}

/** An archive container that is not there fails the write with 412, as Swift's versioned writes do. */
async function inArchive<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isOnggiError(err) && err.code === 'NoSuchBucket') fail('PreconditionFailed', 'The versions container does not exist');
    throw err;
  }
}
