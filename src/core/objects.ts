/**
 * Objects: put/get/head/update/delete/copy and listings, with conditional, range, expiry, encryption and
 * versioning rules. Bodies come in through object-intake.ts and go out through object-bodies.ts; what a write or
 * delete does to a key's versions is versions.ts's.
 */
import { guessContentType } from './content-types.ts';
import { newTimeOrderedId } from '../lib/ids.ts';
import type { BlobStore } from '../store/blob/index.ts';
import { BlobMissingError } from '../store/blob/index.ts';
import { Conflict, Contention, type AttachedRow, type GroupedRange, type MetadataStore, type Row, type ScanRange, type Tx } from '../store/meta/index.ts';
import type { Buckets } from './buckets.ts';
import type { BucketAt } from './lifecycle.ts';
import { LargeObjects, type Indirection } from './large-objects.ts';
import { systemClock, type Clock } from './clock.ts';
import { authorizeBucket, type BucketAction } from './authz.ts';
import { checkObjectKey, checkTags, checkUserMetadata, MAX_FILE_SIZE, MAX_OBJECT_TAGS, type Tag } from './constraints.ts';
import { checkReadConditions, resolveRanges, type ByteRange, type ReadConditions } from './conditions.ts';
import { fail, isOnggiError } from './errors.ts';
import { listEntries, type ListEntry, type ListOptions } from './listing.ts';
import { BodyReader, type Body, type Located } from './object-bodies.ts';
import { damagedError, ReadVerifier, subjectOf } from './integrity.ts';
import { BodyOffload } from './body-offload.ts';
import { referencesOf, uploadReference, type BodyIntake, type BodySource } from './object-intake.ts';
import { ALL, expiryKey, expiryUpTo, isLive, TABLES, type BucketRow, type PurgeCursor, type SegmentRow, type VersionData, type VersionRow } from './model.ts';
import { authorizeLockSettings, checkLockSettings, checkRemovable, governanceBypass, isLocked, withNewLock, type LockSettings } from './object-lock.ts';
import type { Cipher } from './cipher.ts';
import { checkCustomerKey, customerCheckOf, type CustomerKey, type CustomerSeal } from './customer-keys.ts';
import type { Bucket, Caller, Metadata, ObjectRecord } from './types.ts';
import { listVersions, type VersionListing, type VersionListOptions } from './version-listing.ts';
import { checkWriteConditions, type WriteConditions } from './write-conditions.ts';

export type { WriteConditions } from './write-conditions.ts';
import {
  checkVersionId,
  deleteMarker,
  install,
  keyOfNoncurrent,
  locateVersion,
  readVersion,
  reference,
  release,
  expireCurrentVersion,
  removeCurrent,
  removeVersion,
  rewriteVersion,
  toRecord,
  versionIdOf,
  versionsPrefix,
  type ChainChange,
} from './versions.ts';

export { writeBody, type Body } from './object-bodies.ts';

export interface ObjectRef {
  account: string;
  bucket: string;
  key: string;
  /** A version by the id protocols show (`null` for the null version); absent: the current one. */
  versionId?: string | undefined;
  /**
   * S3's SSE-C key given with the request: required to read an object written under one (and must be its key),
   * refused for any other; a write stores its bytes under it (customer-keys.ts).
   */
  customerKey?: CustomerKey | undefined;
}

export interface WriteAttributes {
  contentType?: string | undefined;
  meta: Metadata;
  headers: Metadata;
  deleteAt: number | null;
}

/** What S3 lets a write give its new version beside its bytes and metadata: tags, Object Lock settings. */
export interface VersionSettings {
  /** The version's tags (S3's x-amz-tagging); checked against S3's rules. */
  tags?: Tag[] | undefined;
  /** Retention and legal hold (S3's x-amz-object-lock-*); absent: the bucket's default retention, if any. */
  lock?: LockSettings | undefined;
}

export interface PutObjectInput extends ObjectRef, WriteAttributes, VersionSettings {
  body: BodySource;
  /** The declared length, or null for a chunked upload. */
  contentLength: number | null;
  expectedMd5?: string | undefined;
  ifNoneMatchAny?: boolean | undefined;
  /** S3's conditional write: only over a live object of this ETag (a list, or `*`). */
  ifMatch?: string | undefined;
  /** At most this many bytes, as a quota leaves room for (more: EntityTooLarge with `quota`, nothing stored). */
  quotaRoom?: number | undefined;
  /** Managed encryption even where the bucket's default is off (S3's `x-amz-server-side-encryption: AES256`). */
  encrypt?: boolean | undefined;
}



export interface ReadResult {
  record: ObjectRecord;
  /** Null: the whole object. */
  ranges: ByteRange[] | null;
  /** One body per range (or one for the whole object): bytes at hand for inline objects, else an opened stream. */
  bodies: Body[];
}

export interface CopyOptions {
  freshMetadata: boolean;
  /** Whether the target has room for the copy's bytes (quotas): throws if not; may give the room left. */
  room?: ((target: BucketRow, size: number) => Promise<number | undefined> | undefined) | undefined;
  /** Tags for the copy (S3's REPLACE tagging directive); absent: the source's. */
  tags?: Tag[] | undefined;
  /** The copy's Object Lock settings; a source's lock is never copied. */
  lock?: LockSettings | undefined;
  contentType?: string | undefined;
  meta: Metadata;
  headers: Metadata;
  deleteAt: number | null;
  /** A Range header: the copy is those bytes of the source (Swift's COPY and X-Copy-From honour it); one range only. */
  range?: string | undefined;
  /** The copy gets managed encryption even where the target bucket's default is off. */
  encrypt?: boolean | undefined;
}

export interface DeleteOptions {
  /**
   * Swift's rule: deleting a key without a live object is a 404, and nothing is written. Without it (S3's), a
   * versioned bucket gets its delete marker anyway and an unversioned one answers as if it deleted something.
   */
  requireLive?: boolean;
  /** S3's x-amz-bypass-governance-retention: removing a version under governance retention, if the caller may. */
  bypassGovernance?: boolean;
}

/** What a delete did: the version it removed or hid, and the delete marker it added, if any. */
export interface DeleteResult {
  /** The version removed (or, for a delete without a version id in a versioned bucket, hidden); null: none. */
  removed: ObjectRecord | null;
  /** The delete marker made current, or the delete marker removed by its version id. */
  deleteMarker: boolean;
  /** The version id of the marker made, or of the version removed by id. */
  versionId: string | null;
}

const OPEN_RETRIES = 3;
const NO_SUCH_KEY = 'The specified object does not exist';
const NO_SUCH_VERSION = 'The specified version does not exist';

export class Objects {
  private readonly reader: BodyReader;
  /** Static and dynamic large objects, symbolic links. */
  readonly large: LargeObjects;
  /** Checks whole reads against their MD5 (with a hashing thread of its own for large ones, apart from writes'). */
  readonly verifier = new ReadVerifier(new BodyOffload());

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly buckets: Buckets,
    private readonly cipher: Cipher,
    private readonly intake: BodyIntake,
    /** Called after a commit queued blobs for removal. */
    private readonly onBlobsReleased: () => void = () => undefined,
    private readonly clock: Clock = systemClock,
  ) {
    this.reader = new BodyReader(store, blobs, cipher, this.verifier);
    this.large = new LargeObjects(store, this);
  }

  /**
   * Writes a version made elsewhere in core (a manifest, a link), with the rows `prepare` adds in the same
   * transaction; authorized as a PUT of the key.
   */
  async writeVersion(caller: Caller, ref: ObjectRef, version: VersionRow, prepare: (tx: Tx) => Promise<void>): Promise<ObjectRecord> {
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'PutObject', ref.key);
    checkObjectKey(ref.key, this.buckets.naming);
    checkUserMetadata(version.meta);
    const written = await this.publish(bucket, ref.key, version, { inline: null, freshBlobs: true, prepare });
    return toRecord(bucket.name, ref.key, written);
  }

  async put(caller: Caller, input: PutObjectInput): Promise<ObjectRecord> {
    const bucket = await this.buckets.forObjects(caller, input.account, input.bucket, 'PutObject', input.key);
    if (input.tags || input.lock) this.checkVersionSettings(caller, bucket, input.key, input);
    return this.putInto(bucket, input);
  }

  /** A write's tags and lock settings: S3's rules, and the extra permissions they need. */
  private checkVersionSettings(caller: Caller, bucket: BucketRow, key: string, settings: VersionSettings): void {
    if (settings.tags) {
      checkTags(settings.tags, MAX_OBJECT_TAGS);
      authorizeBucket(caller, 'PutObjectTagging', bucket.projectId, bucket, key);
    }
    if (settings.lock) {
      checkLockSettings(settings.lock, this.clock.now());
      authorizeLockSettings(caller, bucket, settings.lock, key);
    }
  }

  /** Writes into a bucket the caller was authorized for, or that the server itself writes (access logs). */
  async putInto(bucket: BucketRow, input: PutObjectInput): Promise<ObjectRecord> {
    checkObjectKey(input.key, this.buckets.naming);
    checkUserMetadata(input.meta);
    if (input.contentLength !== null && input.contentLength > MAX_FILE_SIZE) fail('EntityTooLarge', 'Your request is too large.');
    const { quotaRoom } = input;
    const overQuota = quotaRoom !== undefined && quotaRoom < MAX_FILE_SIZE;
    if (overQuota && input.contentLength !== null && input.contentLength > quotaRoom) fail('EntityTooLarge', 'Upload exceeds quota.', { quota: true });
    const conditional = input.ifNoneMatchAny === true || input.ifMatch !== undefined;
    const conditions: WriteConditions | undefined = conditional ? { ifNoneMatchAny: input.ifNoneMatchAny, ifMatch: input.ifMatch } : undefined;
    // Checked before the body is read (a refused write reads nothing), and again when it commits.
    if (conditions) await checkWriteConditions(this.store, bucket.id, input.key, conditions, this.clock.now());

    const { customerKey } = input;
    const encrypt: boolean | CustomerSeal = customerKey ? { key: customerKey, check: customerKey.newCheck() } : bucket.encryption !== null || input.encrypt === true;
    const body = await this.intake.receive(input.body, input.contentLength, encrypt, overQuota ? { maxSize: quotaRoom, overQuota } : undefined);
    try {
      if (input.expectedMd5 !== undefined && input.expectedMd5.toLowerCase() !== body.etag) {
        fail('BadDigest', 'The ETag you sent does not match the MD5 of the data received');
      }
      const now = this.clock.now();
      const version: VersionRow = {
        id: '',
        state: 'complete',
        createdAt: now,
        lastModified: now,
        size: body.size,
        etag: customerKey ? customerKey.etagOf(body.etag) : body.etag,
        contentType: input.contentType ?? guessContentType(input.key),
        meta: input.meta,
        headers: input.headers,
        deleteAt: input.deleteAt,
        data: body.data,
        ...(input.tags?.length ? { tags: input.tags } : {}),
      };
      const written = await this.publish(bucket, input.key, version, { inline: body.inline, freshBlobs: true, ...(conditions ? { conditions } : {}), lock: input.lock });
      return toRecord(bucket.name, input.key, written);
    } catch (err) {
      // Only when the commit certainly did not happen; otherwise the orphan sweep decides.
      if (isDefiniteFailure(err)) this.intake.removeUncommitted(body.data);
      throw err;
    }
  }

  /**
   * Makes `version` the key's current version in one transaction, against the bucket the caller was authorized
   * for (its versioning state as it is at commit): the new version's blobs gain a reference (fresh ones start at
   * one), what it replaces is kept or let go of as versions.ts says. Returns the version as written (its id).
   */
  private async publish(
    bucket: BucketRow,
    key: string,
    version: VersionRow,
    options: { inline: Buffer | null; freshBlobs: boolean; conditions?: WriteConditions; sharedFrom?: Located; prepare?: (tx: Tx) => Promise<void>; lock?: LockSettings | undefined },
  ): Promise<VersionRow> {
    const { written, released } = await this.store.transact(async (tx) => {
      const current = await this.buckets.requireBucket(tx, bucket);
      await options.prepare?.(tx);
      const inline = options.sharedFrom ? await this.sharedBytes(tx, options.sharedFrom) : options.inline;
      if (options.conditions) await checkWriteConditions(tx, current.id, key, options.conditions, this.clock.now());
      // Each attempt of the transaction starts from the version as given: `install` names it as the bucket says.
      let row: VersionRow = { ...version, id: newTimeOrderedId() };
      if (current.objectLock || options.lock) row = withNewLock(current, row, options.lock, version.createdAt);
      if (!options.prepare) for (const ref of referencesOf(row.data)) await reference(tx, ref, options.freshBlobs);
      const change = await install(tx, current, key, row, inline, this.clock.now());
      return { written: row, released: change.released };
    });
    if (released > 0) this.onBlobsReleased();
    return written;
  }

  /**
   * For a copy that shares its source's bytes: the source must still be the version read (else the copy would
   * point at bytes on their way out); small versions' bytes are copied, blobs gain a reference in `publish`.
   */
  private async sharedBytes(tx: Tx, source: Located): Promise<Buffer | null> {
    const { kind } = source.version.data;
    const current = await readVersion(tx, source.bucket.id, source.key, versionIdOf(source.version));
    if (current?.value.id !== source.version.id) fail('NoSuchKey', NO_SUCH_KEY);
    if (kind === 'attached') return current.attachment ?? fail('NoSuchKey', NO_SUCH_KEY);
    if (kind !== 'inline') return null;
    return (await tx.get(TABLES.inlineData, source.bucket.id, source.version.id))?.value ?? fail('NoSuchKey', NO_SUCH_KEY);
  }

  /**
   * The object's record; a large object's or a link's as it reads (its segments' total, its target's). With
   * `raw`, the manifest or link itself. `indirection`: how deep in manifests and links this read already is.
   */
  async head(caller: Caller, ref: ObjectRef, conditions: ReadConditions, indirection: Indirection = DIRECT, raw = false): Promise<ObjectRecord> {
    const located = await this.readable(caller, ref);
    if (!raw && isIndirect(located.version)) return this.large.head(caller, located, conditions, indirection);
    const record = toRecord(located.bucket.name, ref.key, located.version);
    checkReadConditions(record, conditions);
    return record;
  }

  /**
   * Opens the object's bytes before returning, so a concurrent overwrite cannot pull them away mid-response; a
   * large object's or a link's are its segments' or target's, read as the caller (see large-objects.ts).
   */
  async get(caller: Caller, ref: ObjectRef, conditions: ReadConditions, rangeHeader: string | undefined, indirection: Indirection = DIRECT): Promise<ReadResult> {
    for (let attempt = 1; ; attempt++) {
      const located = await this.readable(caller, ref, true);
      if (located.version.damaged) throw damagedError();
      if (isIndirect(located.version)) return this.large.get(caller, located, conditions, rangeHeader, indirection);
      const record = toRecord(located.bucket.name, ref.key, located.version);
      checkReadConditions(record, conditions);
      const ranges = resolveRanges(rangeHeader, record.size, record.etag);
      try {
        const bodies = await this.reader.openRanges(located, ranges ?? [{ start: 0, end: record.size - 1 }]);
        return { record, ranges, bodies };
      } catch (err) {
        // Overwritten between reading the version and opening its bytes: read the key again.
        if (!(err instanceof BlobMissingError)) throw err;
        if (attempt >= OPEN_RETRIES) throw this.verifier.missing(subjectOf(located));
      }
    }
  }

  /**
   * S3's read of part `partNumber`: the bytes of that part of a multipart object (null: it has fewer) and how many
   * parts it has; any other object is one part. The caller reads those bytes with the record's ETag as If-Match.
   */
  async part(caller: Caller, ref: ObjectRef, conditions: ReadConditions, partNumber: number): Promise<{ record: ObjectRecord; range: ByteRange | null; partsCount: number | null }> {
    const located = await this.readable(caller, ref);
    if (isIndirect(located.version)) {
      const record = await this.large.head(caller, located, conditions, DIRECT);
      return { record, range: partNumber === 1 && record.size > 0 ? { start: 0, end: record.size - 1 } : null, partsCount: null };
    }
    const record = toRecord(located.bucket.name, ref.key, located.version);
    checkReadConditions(record, conditions);
    const { data } = located.version;
    if (data.kind !== 'multipart') return { record, range: partNumber === 1 && record.size > 0 ? { start: 0, end: record.size - 1 } : null, partsCount: null };
    const range = partNumber <= data.parts ? await this.reader.partRange(data.uploadId, partNumber) : null;
    return { record, range, partsCount: data.parts };
  }

  /** A static manifest's record and segment list as written (not read through); null when `ref` is not one. */
  async staticManifest(caller: Caller, ref: ObjectRef): Promise<{ record: ObjectRecord; segments: SegmentRow[] } | null> {
    const located = await this.readable(caller, ref);
    if (located.version.data.kind !== 'static-manifest') return null;
    return { record: toRecord(located.bucket.name, ref.key, located.version), segments: await this.large.segmentsOf(located) };
  }

  /** Swift's POST: changes the current version's metadata in place (no new version). */
  async update(caller: Caller, ref: ObjectRef, attributes: Partial<WriteAttributes>): Promise<ObjectRecord> {
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'PutObject', ref.key);
    if (attributes.meta) checkUserMetadata(attributes.meta);
    const version = await this.store.transact(async (tx) => {
      await this.buckets.requireBucket(tx, bucket);
      const row = await tx.getAttached(TABLES.objects, bucket.id, ref.key);
      const current = row?.value;
      if (!row || !current || !isLive(current, this.clock.now())) fail('NoSuchKey', NO_SUCH_KEY);
      // A locked version is not changed in place (S3 has no in-place change at all): its metadata stays as locked.
      checkRemovable(current, this.clock.now());
      // As Swift's POST: the change is the version's last modification (its Last-Modified and its listing entry).
      const next: VersionRow = { ...current, ...definedOnly(attributes), lastModified: this.clock.now() };
      if (row.attachment) tx.putAttached(TABLES.objects, bucket.id, ref.key, next, row.attachment);
      else tx.put(TABLES.objects, bucket.id, ref.key, next);
      if (current.deleteAt !== next.deleteAt) {
        if (current.deleteAt !== null) tx.delete(TABLES.expiry, ALL, expiryKey(current.deleteAt, bucket.id, ref.key));
        if (next.deleteAt !== null) tx.put(TABLES.expiry, ALL, expiryKey(next.deleteAt, bucket.id, ref.key), { bucketId: bucket.id, key: ref.key, versionId: next.id });
      }
      return next;
    });
    return toRecord(bucket.name, ref.key, version);
  }

  /**
   * Deletes the key — in a versioned bucket, by making a delete marker its current version — or, with a version
   * id, that one version for good (the version under it becomes current when it was the current one).
   */
  async delete(caller: Caller, ref: ObjectRef, options: DeleteOptions = { requireLive: true }): Promise<DeleteResult> {
    if (ref.versionId !== undefined) return this.deleteVersion(caller, ref, ref.versionId, options.bypassGovernance);
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'DeleteObject', ref.key);
    return this.deleteFrom(bucket, ref.key, options);
  }

  /** `delete` of the current version, in a bucket the caller was authorized for (DeleteObject). */
  async deleteFrom(bucket: BucketRow, key: string, options: DeleteOptions = { requireLive: true }): Promise<DeleteResult> {
    const now = this.clock.now();
    const { removed, marker, released } = await this.store.transact(async (tx) => {
      const current = await this.buckets.requireBucket(tx, bucket);
      const row = (await tx.get(TABLES.objects, current.id, key))?.value ?? null;
      const live = row !== null && isLive(row, now);
      if (options.requireLive && !live) fail('NoSuchKey', NO_SUCH_KEY);
      if (!current.versioning) {
        if (row) checkRemovable(row, now);
        return { removed: live ? row : null, marker: null, released: row ? await removeCurrent(tx, current.id, key, row) : 0 };
      }
      const made = deleteMarker(now);
      const change = await install(tx, current, key, made, null, now);
      return { removed: live ? change.previous : null, marker: made, released: change.released };
    });
    if (released > 0) this.onBlobsReleased();
    return {
      removed: removed && toRecord(bucket.name, key, removed),
      deleteMarker: marker !== null,
      versionId: marker && versionIdOf(marker),
    };
  }

  private async deleteVersion(caller: Caller, ref: ObjectRef, versionId: string, bypassGovernance: boolean | undefined): Promise<DeleteResult> {
    checkVersionId(versionId);
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'DeleteObjectVersion', ref.key);
    const change = await this.store.transact(async (tx) => {
      const current = await this.buckets.requireBucket(tx, bucket);
      return removeVersion(tx, current.id, ref.key, versionId, { now: this.clock.now(), bypass: governanceBypass(caller, current, bypassGovernance, ref.key) });
    });
    if (change && change.released > 0) this.onBlobsReleased();
    const removed = change?.previous ?? null;
    return { removed: removed && toRecord(bucket.name, ref.key, removed), deleteMarker: removed?.state === 'delete-marker', versionId: removed && versionIdOf(removed) };
  }

  /**
   * Server-side copy (of the current version, or of one by its id). When the bytes can stay as they are (the
   * source is encrypted, or the destination bucket is not), the new version shares the source's blobs: no bytes
   * move. Otherwise the bytes are streamed over.
   */
  async copy(caller: Caller, from: ObjectRef, to: ObjectRef, options: CopyOptions): Promise<{ source: ObjectRecord; record: ObjectRecord }> {
    const target = await this.buckets.forObjects(caller, to.account, to.bucket, 'PutObject', to.key);
    checkObjectKey(to.key, this.buckets.naming);
    if (options.tags || options.lock) this.checkVersionSettings(caller, target, to.key, options);
    // An SSE-C source copied whole, as it is (no key for the copy, no encryption asked), needs no key: the copy
    // shares its blobs and stays under the customer's key (Swift's COPY, the console's move, Swift's versioning).
    const asStored = to.customerKey === undefined && options.encrypt !== true && options.range === undefined;
    const located = await this.readable(caller, from, false, asStored);
    if (located.version.damaged) throw damagedError();
    const source = toRecord(located.bucket.name, from.key, located.version);
    const ranges = resolveRanges(options.range, source.size, source.etag);
    if (ranges && ranges.length > 1) fail('InvalidRange', 'A copy takes a single range', { size: source.size, etag: source.etag });
    const range = ranges?.[0];
    const size = range ? range.end - range.start + 1 : source.size;
    const room = options.room?.(target, size);
    if (room) await room;
    const keepSource = !options.freshMetadata;
    const attributes = {
      contentType: options.contentType ?? (keepSource ? source.contentType : undefined),
      meta: keepSource ? { ...source.meta, ...options.meta } : options.meta,
      headers: keepSource ? { ...source.headers, ...options.headers } : options.headers,
      deleteAt: options.deleteAt,
    };
    checkUserMetadata(attributes.meta);
    // A large object or a link is copied as the bytes it reads as (Swift's COPY), not as a manifest; bytes under a
    // customer's key, or to go under one, are sealed anew (their data keys are wrapped under that key).
    const customer = located.customer !== undefined || to.customerKey !== undefined;
    const sharable = !isIndirect(located.version) && !customer && (isEncrypted(located.version.data) || (target.encryption === null && options.encrypt !== true));
    const tags = options.tags ?? located.version.tags;
    if (sharable && !range) {
      const record = await this.copySharing(located, target, to.key, { ...attributes, tags }, options.lock);
      return { source, record };
    }
    const { bodies } = await this.get(caller, from, {}, range && `bytes=${String(range.start)}-${String(range.end)}`);
    const [opened] = bodies;
    if (!opened) fail('NoSuchKey', NO_SUCH_KEY);
    const body = Buffer.isBuffer(opened) ? [opened] : opened;
    // Into the bucket authorized above, with the tags and lock settings checked there (a source's tags need no more).
    const record = await this.putInto(target, { ...to, ...attributes, tags, lock: options.lock, encrypt: options.encrypt, body, contentLength: size }).finally(() => {
      if (!Buffer.isBuffer(opened)) opened.destroy();
    });
    return { source, record };
  }

  private async copySharing(source: Located, target: BucketRow, key: string, attributes: WriteAttributes & { tags?: Tag[] | undefined }, lock: LockSettings | undefined): Promise<ObjectRecord> {
    const now = this.clock.now();
    const { data } = source.version;
    const version: VersionRow = {
      ...source.version,
      // A small version's bytes are copied into the new row (see sharedBytes), whichever way the source kept them.
      data: data.kind === 'inline' ? { kind: 'attached', encryption: data.encryption } : data,
      id: '',
      createdAt: now,
      lastModified: now,
      contentType: attributes.contentType ?? guessContentType(key),
      meta: attributes.meta,
      headers: attributes.headers,
      deleteAt: attributes.deleteAt,
    };
    delete version.noncurrentSince;
    delete version.tags;
    if (attributes.tags?.length) version.tags = attributes.tags;
    const written = await this.publish(target, key, version, { inline: null, freshBlobs: false, sharedFrom: source, lock });
    return toRecord(target.name, key, written);
  }

  async list(caller: Caller, account: string, bucketName: string, options: ListOptions): Promise<{ bucket: Bucket; entries: ListEntry<ObjectRecord>[] }> {
    const bucket = await this.buckets.get(caller, account, bucketName, 'ListObjects');
    const liveAt = this.clock.now();
    const scanGrouped = this.store.scanGrouped?.bind(this.store);
    const source = {
      scan: (range: ScanRange) => this.store.scan(TABLES.objects, bucket.id, { ...range, liveAt }),
      grouped: scanGrouped && ((range: GroupedRange) => scanGrouped(TABLES.objects, bucket.id, { ...range, liveAt })),
    };
    const entries = await listEntries(source, (entry) => entry.sk, options);
    return {
      bucket,
      entries: entries.map((entry) => (entry.kind === 'prefix' ? entry : { kind: 'item', item: toRecord(bucket.name, entry.item.sk, entry.item.value) })),
    };
  }

  /** Every version and delete marker of the bucket's keys, in S3's order: by key, then newest first. */
  async listVersions(caller: Caller, account: string, bucketName: string, options: VersionListOptions): Promise<{ bucket: Bucket; listing: VersionListing<ObjectRecord> }> {
    const bucket = await this.buckets.get(caller, account, bucketName, 'ListObjectVersions');
    const listing = await listVersions(this.store, bucket.id, options, this.clock.now());
    return { bucket, listing: { ...listing, entries: listing.entries.map((entry) => (entry.kind === 'prefix' ? entry : { ...entry, item: toRecord(bucket.name, entry.key, entry.item) })) } };
  }

  /** Deletes objects whose X-Delete-At has passed; returns how many went. */
  async reapExpired(batch = 100): Promise<number> {
    const now = this.clock.now();
    const due = await this.store.scan(TABLES.expiry, ALL, { prefix: '', upper: { key: expiryUpTo(now), inclusive: false }, limit: batch, reverse: false });
    let reaped = 0;
    let released = 0;
    for (const entry of due) {
      const { bucketId, key, versionId } = entry.value;
      const freed = await this.store.transact(async (tx) => {
        tx.delete(TABLES.expiry, ALL, entry.sk);
        const current = (await tx.get(TABLES.objects, bucketId, key))?.value;
        if (current?.id !== versionId || isLive(current, now)) return null;
        if (isLocked(current, now)) {
          // Expired, so hidden, but kept: looked at again when its retention ends (a hold, a day from now).
          tx.put(TABLES.expiry, ALL, expiryKey(lockEnd(current, now), bucketId, key), entry.value);
          return null;
        }
        return expireCurrentVersion(tx, bucketId, key, current, now);
      });
      if (freed !== null) reaped++;
      released += freed ?? 0;
    }
    if (released > 0) this.onBlobsReleased();
    return reaped;
  }

  /** Removes blobs nothing references any more (the durable queue); returns how many went. */
  async collectBlobs(batch = 100): Promise<number> {
    // Blob ids sort before the references of whole uploads, which Uploads.collect takes.
    const queued = await this.store.scan(TABLES.blobGc, ALL, { prefix: '', upper: { key: uploadReference(''), inclusive: false }, limit: batch, reverse: false });
    for (const entry of queued) await this.blobs.delete(entry.sk);
    if (queued.length > 0) {
      await this.store.transact(async (tx) => {
        for (const entry of queued) tx.delete(TABLES.blobGc, ALL, entry.sk);
      });
    }
    return queued.length;
  }

  /** True when a version points at the blob, or it waits in the removal queue (the collector has it). */
  async isBlobReferenced(blobId: string): Promise<boolean> {
    return (await this.store.get(TABLES.blobRefs, ALL, blobId)) !== null;
  }

  /**
   * Lifecycle's expiration: the key's current version `versionId` (the row's own id) expires if it still is the
   * current one — in a versioned bucket it is hidden under a delete marker, as on S3. A bucket known by its id
   * only (a rule stored before versioning existed, in a bucket never versioned since) loses it for good.
   */
  async expireCurrent(bucket: BucketAt, key: string, versionId: string): Promise<boolean> {
    const now = this.clock.now();
    const change = await this.store.transact(async (tx): Promise<ChainChange | null> => {
      const row = bucket.projectId !== undefined && bucket.name !== undefined ? (await tx.get(TABLES.buckets, bucket.projectId, bucket.name))?.value : undefined;
      const current = (await tx.get(TABLES.objects, bucket.id, key))?.value;
      if (row?.id !== undefined && row.id !== bucket.id) return null;
      if (current?.id !== versionId || current.state !== 'complete') return null;
      if (!row?.versioning) {
        if (isLocked(current, now)) return null;
        return { previous: current, released: await removeCurrent(tx, bucket.id, key, current) };
      }
      return install(tx, row, key, deleteMarker(now), null, now);
    });
    if (change && change.released > 0) this.onBlobsReleased();
    return change !== null;
  }

  /**
   * Lifecycle's clean-up of an expired delete marker: the key's current version `versionId`, a delete marker with no
   * version under it, goes for good (the key then has no version at all). False when that is no longer so.
   */
  async removeExpiredDeleteMarker(bucketId: string, key: string, versionId: string): Promise<boolean> {
    const now = this.clock.now();
    const change = await this.store.transact(async (tx): Promise<ChainChange | null> => {
      const current = (await tx.get(TABLES.objects, bucketId, key))?.value;
      if (current?.state !== 'delete-marker' || current.id !== versionId) return null;
      const [under] = await tx.scan(TABLES.versions, bucketId, { prefix: versionsPrefix(key), limit: 1, reverse: false });
      if (under) return null;
      return removeVersion(tx, bucketId, key, versionIdOf(current), { now });
    });
    return change !== null;
  }

  /**
   * Emptying: removes up to `batch` versions of the bucket for good, non-current ones first, from `cursor` on;
   * versions Object Lock keeps are left and counted. `next`: where to go on from (null: the pass is done).
   */
  async purge(bucketId: string, batch: number, cursor: PurgeCursor | null = null): Promise<PurgeResult> {
    const table = cursor?.table ?? 'versions';
    const rows = await this.store.scan(TABLES[table], bucketId, { prefix: '', lower: cursor ? { key: cursor.after, inclusive: false } : undefined, limit: batch, reverse: false });
    const now = this.clock.now();
    let released = 0;
    let removed = 0;
    let locked = 0;
    for (const entry of rows) {
      if (isLocked(entry.value, now)) {
        locked++;
        continue;
      }
      const freed = await this.store.transact((tx) => (table === 'versions' ? this.purgeNoncurrent(tx, bucketId, entry.sk, now) : this.purgeCurrent(tx, bucketId, entry.sk, now)));
      if (freed === null) locked++;
      else [removed, released] = [removed + 1, released + freed];
    }
    if (released > 0) this.onBlobsReleased();
    const last = rows[rows.length - 1];
    // A full page may have more after it; a short one ends the table, and the current versions come next.
    let next: PurgeCursor | null = null;
    if (last && rows.length === batch) next = { table, after: last.sk };
    else if (table === 'versions') next = { table: 'objects', after: '' };
    return { removed, locked, next };
  }

  /** A non-current version gone for good; null: Object Lock keeps it (checked again inside the transaction). */
  private async purgeNoncurrent(tx: Tx, bucketId: string, sk: string, now: number): Promise<number | null> {
    const row = (await tx.get(TABLES.versions, bucketId, sk))?.value;
    if (!row) return 0;
    if (isLocked(row, now)) return null;
    const key = keyOfNoncurrent(sk);
    tx.delete(TABLES.versions, bucketId, sk);
    if (!row.named) tx.delete(TABLES.nullVersions, bucketId, key);
    return release(tx, bucketId, key, row);
  }

  /** A current version gone for good; the newest version Object Lock kept under it becomes current. */
  private async purgeCurrent(tx: Tx, bucketId: string, key: string, now: number): Promise<number | null> {
    const row = (await tx.get(TABLES.objects, bucketId, key))?.value;
    if (!row) return 0;
    if (isLocked(row, now)) return null;
    const change = await removeVersion(tx, bucketId, key, versionIdOf(row), { now });
    return change?.released ?? 0;
  }

  /**
   * Lifecycle's noncurrent-version expiration: removes the bucket's non-current versions under `prefix` that
   * stopped being current before `noncurrentBefore`, keeping the `keepNewer` newest of each key; returns how many.
   */
  async expireNoncurrent(bucketId: string, prefix: string, noncurrentBefore: (version: VersionRow) => boolean, keepNewer: number): Promise<number> {
    let removed = 0;
    let after: string | undefined;
    let key: string | null = null;
    let newerOfKey = 0;
    for (;;) {
      const rows = await this.store.scan(TABLES.versions, bucketId, { prefix, lower: after === undefined ? undefined : { key: after, inclusive: false }, limit: 1000, reverse: false });
      for (const entry of rows) {
        const rowKey = keyOfNoncurrent(entry.sk);
        if (rowKey !== key) [key, newerOfKey] = [rowKey, 0];
        newerOfKey++;
        if (newerOfKey <= keepNewer || !noncurrentBefore(entry.value)) continue;
        if (isLocked(entry.value, this.clock.now())) continue;
        const change = await this.store.transact((tx) => removeVersion(tx, bucketId, rowKey, versionIdOf(entry.value), { now: this.clock.now() })).catch(lockedAsNull);
        if (change) removed++;
        if (change && change.released > 0) this.onBlobsReleased();
      }
      if (rows.length < 1000) return removed;
      after = rows[rows.length - 1]?.sk;
    }
  }

  /**
   * The version `ref` names (the current one without an id) and its bucket, for `action` on it (reading its tags,
   * its lock): a delete marker is MethodNotAllowed, a missing version NoSuchKey / NoSuchVersion.
   */
  async versionFor(caller: Caller, ref: ObjectRef, action: BucketAction): Promise<{ bucket: BucketRow; version: VersionRow }> {
    if (ref.versionId !== undefined) checkVersionId(ref.versionId);
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, action, ref.key);
    return this.store.transact(async (tx) => {
      const current = await this.buckets.requireBucket(tx, bucket);
      const stored = await locateVersion(tx, current.id, ref.key, ref.versionId);
      return { bucket: current, version: this.usable(stored?.row.value, ref) };
    });
  }

  /**
   * Changes the version `ref` names in place (its tags, its lock: what S3 changes without a new version), in one
   * transaction with the bucket as it is at commit; `amend` may refuse by throwing. Returns the version as written.
   */
  async amendVersion(caller: Caller, ref: ObjectRef, action: BucketAction, amend: (version: VersionRow, bucket: BucketRow, now: number) => VersionRow): Promise<{ bucket: BucketRow; version: VersionRow }> {
    if (ref.versionId !== undefined) checkVersionId(ref.versionId);
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, action, ref.key);
    return this.store.transact(async (tx) => {
      const current = await this.buckets.requireBucket(tx, bucket);
      const stored = await locateVersion(tx, current.id, ref.key, ref.versionId);
      const version = this.usable(stored?.row.value, ref);
      const next = amend(version, current, this.clock.now());
      if (stored) rewriteVersion(tx, current.id, stored, next);
      return { bucket: current, version: next };
    });
  }

  private usable(version: VersionRow | undefined, ref: ObjectRef): VersionRow {
    const { versionId } = ref;
    if (versionId === undefined && (!version || !isLive(version, this.clock.now()))) {
      fail('NoSuchKey', NO_SUCH_KEY, version?.state === 'delete-marker' ? { deleteMarker: true, versionId: versionIdOf(version) } : {});
    }
    if (!version) fail('NoSuchVersion', NO_SUCH_VERSION, { versionId: versionId ?? '' });
    if (version.state === 'delete-marker') fail('MethodNotAllowed', 'The specified method is not allowed against this resource.', { deleteMarker: true, versionId: versionIdOf(version) });
    return version;
  }

  /**
   * A version of `ref` the caller may read, with the request's SSE-C key if it needs one (checked before anything
   * of the version is answered; `keyless`: none needed, its bytes will not be opened); with `withBytes`, a small
   * version's bytes too, read with it in one go.
   */
  private async readable(caller: Caller, ref: ObjectRef, withBytes = false, keyless = false): Promise<Located> {
    if (ref.versionId !== undefined) {
      const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'GetObjectVersion', ref.key);
      const row = await this.versionRow(bucket, ref.key, ref.versionId);
      return this.keyed({ bucket, key: ref.key, version: row.value, attachment: row.attachment }, ref, keyless);
    }
    // The hot path of every GET and HEAD: one bucket lookup (cached) and one row.
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'GetObject', ref.key);
    const row: AttachedRow<VersionRow> | null = withBytes
      ? await this.store.getAttached(TABLES.objects, bucket.id, ref.key)
      : asUnattached(await this.store.get(TABLES.objects, bucket.id, ref.key));
    if (!row || !isLive(row.value, this.clock.now())) {
      const marker = row?.value.state === 'delete-marker' ? { deleteMarker: true, versionId: versionIdOf(row.value) } : {};
      fail('NoSuchKey', NO_SUCH_KEY, marker);
    }
    return this.keyed({ bucket, key: ref.key, version: row.value, attachment: row.attachment }, ref, keyless);
  }

  /** The version located, with what opens it under the request's SSE-C key when it was written under one (see readable). */
  private keyed(located: Located, ref: ObjectRef, keyless: boolean): Located {
    const given = ref.customerKey;
    if (given === undefined && (keyless || customerCheckOf(located.version.data) === null)) return located;
    checkCustomerKey(customerCheckOf(located.version.data), given);
    return { ...located, customer: this.cipher.forCustomer(given as CustomerKey) };
  }

  private async versionRow(bucket: BucketRow, key: string, versionId: string): Promise<AttachedRow<VersionRow>> {
    checkVersionId(versionId);
    const row = await this.store.transact((tx) => readVersion(tx, bucket.id, key, versionId));
    if (!row) fail('NoSuchVersion', NO_SUCH_VERSION, { versionId });
    if (row.value.state === 'delete-marker') fail('MethodNotAllowed', 'The specified method is not allowed against this resource.', { deleteMarker: true, versionId });
    return row;
  }

  private async liveVersion(bucket: BucketRow, key: string): Promise<VersionRow | null> {
    const row = await this.store.get(TABLES.objects, bucket.id, key);
    return row && isLive(row.value, this.clock.now()) ? row.value : null;
  }

}

/** What a purge round did (see Objects.purge). */
export interface PurgeResult {
  removed: number;
  /** Versions left because Object Lock keeps them. */
  locked: number;
  next: PurgeCursor | null;
}

/** When a locked version's lock is next worth looking at: its retention's end, or a day on for a legal hold. */
function lockEnd(version: VersionRow, now: number): number {
  const until = version.retention?.retainUntil ?? 0;
  return version.legalHold || until <= now ? now + 24 * 3600 * 1000 : until;
}

/** A background job's removal that Object Lock refused (the lock came after the job looked): nothing happened. */
function lockedAsNull(err: unknown): null {
  if (isOnggiError(err) && err.code === 'ObjectLocked') return null;
  throw err;
}

function asUnattached<V>(row: Row<V> | null): AttachedRow<V> | null {
  return row && { ...row, attachment: null };
}

function isEncrypted(data: VersionData): boolean {
  switch (data.kind) {
    case 'parts':
      return (data.parts[0]?.encryption ?? null) !== null;
    case 'multipart':
      return data.encrypted;
    case 'static-manifest':
    case 'dynamic-manifest':
    case 'symlink':
      return false;
    default:
      return data.encryption !== null;
  }
}

/** Read through other objects: a static or dynamic manifest, a symbolic link. */
function isIndirect(version: VersionRow): boolean {
  const { kind } = version.data;
  return kind === 'static-manifest' || kind === 'dynamic-manifest' || kind === 'symlink';
}

const DIRECT: Indirection = { depth: 0, hops: 0 };

/** An error after which the transaction certainly did not commit. */
function isDefiniteFailure(err: unknown): boolean {
  return isOnggiError(err) || err instanceof Conflict || err instanceof Contention;
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  const entries: [string, unknown][] = Object.entries(patch);
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as Partial<T>;
}

