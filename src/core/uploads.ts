/**
 * Multipart uploads, S3's model (Swift's multipart verbs share it): begin, upload parts (a part number uploaded
 * again replaces the part), list parts and uploads, abort, complete with a part list. A completed object keeps
 * its parts in batches of the part index, not in its version row, and versions sharing it hold one reference
 * to the whole upload: completing and deleting cost statements per batch of parts, not per part.
 */
import { createHash } from 'node:crypto';
import { newTimeOrderedId } from '../lib/ids.ts';
import { prefixUpperBound } from '../lib/key-order.ts';
import type { Bound, MetadataStore, Tx } from '../store/meta/index.ts';
import type { BlobStore } from '../store/blob/index.ts';
import type { Buckets } from './buckets.ts';
import type { Clock } from './clock.ts';
import { checkObjectKey, checkTags, checkUserMetadata, MAX_OBJECT_TAGS, MAX_MULTIPART_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from './constraints.ts';
import { unquote } from './conditions.ts';
import { fail } from './errors.ts';
import { uploadOfReference, uploadReference, type BodyIntake, type BodySource } from './object-intake.ts';
import type { ObjectRef, VersionSettings, WriteAttributes } from './objects.ts';
import { authorizeLockSettings, checkLockAllowed, checkLockSettings, withNewLock } from './object-lock.ts';
import { authorizeBucket } from './authz.ts';
import { checkCustomerKey, type CustomerSeal } from './customer-keys.ts';
import { checkWriteConditions, type WriteConditions } from './write-conditions.ts';
import { ALL, partNumberKey, partOffsetKey, TABLES, type PartBatchRow, type PartRow, type UploadRow, type VersionRow } from './model.ts';
import { install, reference, toRecord, versionsPrefix } from './versions.ts';
import type { Caller, Metadata, ObjectRecord } from './types.ts';

export interface UploadRef extends ObjectRef {
  uploadId: string;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  etag: string;
  lastModified: number;
  checksums?: Metadata | undefined;
}

/** A part chosen for the completed object, as a front end's `versionHeaders` sees it. */
export interface ChosenPart {
  partNumber: number;
  size: number;
  checksums?: Metadata | undefined;
}

/**
 * The completed version's headers, from the upload's and the chosen parts (S3's multipart checksums); it runs in
 * the completing transaction and may throw to refuse the completion.
 */
export type VersionHeaders = (uploadHeaders: Metadata, parts: readonly ChosenPart[]) => Metadata;

export interface UploadListOptions {
  prefix: string;
  delimiter: string;
  keyMarker: string;
  uploadIdMarker: string;
  limit: number;
}

export type UploadEntry = { kind: 'item'; item: UploadRow } | { kind: 'prefix'; prefix: string };

/**
 * The minimum part size: S3's 5 MiB, unless ONGGI_TEST_MIN_PART_SIZE (bytes) says less, for tests that upload
 * thousands of parts.
 */
export function minPartSizeFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const given = Number(env.ONGGI_TEST_MIN_PART_SIZE);
  return Number.isInteger(given) && given >= 0 ? Math.min(given, MIN_PART_SIZE) : MIN_PART_SIZE;
}

/** Parts per row of the part index of a completed upload. */
export const PART_BATCH = 1000;
const NO_SUCH_UPLOAD = 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.';

export class Uploads {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly buckets: Buckets,
    private readonly intake: BodyIntake,
    private readonly clock: Clock,
    private readonly onBlobsReleased: () => void,
    /** S3's 5 MiB; smaller in tests that upload thousands of parts. */
    private readonly minPartSize = MIN_PART_SIZE,
  ) {}

  /** Begins an upload; its tags and lock settings (S3's headers of CreateMultipartUpload) go to the completed version. */
  async create(caller: Caller, ref: ObjectRef, attributes: WriteAttributes & VersionSettings & { encrypt?: boolean | undefined }): Promise<UploadRow> {
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'PutObject', ref.key);
    checkObjectKey(ref.key, this.buckets.naming);
    checkUserMetadata(attributes.meta);
    const { tags, lock } = attributes;
    if (tags) {
      checkTags(tags, MAX_OBJECT_TAGS);
      authorizeBucket(caller, 'PutObjectTagging', bucket.projectId, bucket, ref.key);
    }
    if (lock) {
      checkLockSettings(lock, this.clock.now());
      authorizeLockSettings(caller, bucket, lock, ref.key);
    }
    const upload: UploadRow = {
      id: newTimeOrderedId(),
      key: ref.key,
      initiatedAt: this.clock.now(),
      initiator: caller.kind === 'user' ? caller.userId : 'anonymous',
      contentType: attributes.contentType ?? null,
      meta: attributes.meta,
      headers: attributes.headers,
      deleteAt: attributes.deleteAt,
      encrypted: bucket.encryption !== null || attributes.encrypt === true || ref.customerKey !== undefined,
      ...(ref.customerKey ? { customer: ref.customerKey.newCheck() } : {}),
      ...(tags?.length ? { tags } : {}),
      ...(lock?.retention ? { retention: lock.retention } : {}),
      ...(lock?.legalHold === undefined ? {} : { legalHold: lock.legalHold }),
    };
    await this.store.transact(async (tx) => {
      const current = await this.buckets.requireBucket(tx, bucket);
      // A lock asked for in a bucket without Object Lock is refused now, not at completion.
      checkLockAllowed(current, lock);
      tx.put(TABLES.uploads, bucket.id, uploadKey(ref.key, upload.id), upload);
    });
    return upload;
  }

  /** Stores one part; the same number uploaded again replaces it. Returns its ETag (MD5) and size. */
  async uploadPart(
    caller: Caller,
    ref: UploadRef,
    partNumber: number,
    /** `checksums`: filled by the time the body has been read (the front end verifies them as it streams); kept with the part. */
    input: { body: BodySource; contentLength: number | null; expectedMd5?: string | undefined; checksums?: Metadata | undefined },
  ): Promise<{ etag: string; size: number; upload: UploadRow }> {
    checkPartNumber(partNumber);
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'PutObject', ref.key);
    const upload = (await this.store.get(TABLES.uploads, bucket.id, uploadKey(ref.key, ref.uploadId)))?.value;
    if (!upload) fail('NoSuchUpload', NO_SUCH_UPLOAD);
    // An SSE-C upload's parts all come with its key (and nothing else's may).
    const customer = customerSealOf(upload, ref);
    if (input.contentLength !== null && input.contentLength > MAX_PART_SIZE) fail('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
    const body = await this.intake.receive(input.body, input.contentLength, customer ?? upload.encrypted, { maxSize: MAX_PART_SIZE, asBlob: true });
    const etag = customer ? customer.key.etagOf(body.etag) : body.etag;
    if (body.data.kind !== 'blob') throw new Error('a part is always a blob');
    const { blobId, encryption, crc32 } = body.data;
    try {
      if (input.expectedMd5 !== undefined && input.expectedMd5.toLowerCase() !== body.etag) fail('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      const released = await this.store.transact(async (tx) => {
        await this.buckets.requireBucket(tx, bucket);
        if (!(await tx.get(TABLES.uploads, bucket.id, uploadKey(ref.key, ref.uploadId)))) fail('NoSuchUpload', NO_SUCH_UPLOAD);
        const replaced = await tx.get(TABLES.parts, ref.uploadId, partNumberKey(partNumber));
        const part: PartRow = { blobId, size: body.size, etag, encryption, uploadedAt: this.clock.now() };
        if (crc32 !== undefined) part.crc32 = crc32;
        if (input.checksums && Object.keys(input.checksums).length > 0) part.checksums = { ...input.checksums };
        tx.put(TABLES.parts, ref.uploadId, partNumberKey(partNumber), part);
        tx.put(TABLES.blobRefs, ALL, blobId, { count: 1 }, { ifVersion: null });
        if (replaced) releaseBlob(tx, replaced.value.blobId);
        return replaced !== null;
      });
      if (released) this.onBlobsReleased();
    } catch (err) {
      this.intake.removeUncommitted(body.data);
      throw err;
    }
    return { etag, size: body.size, upload };
  }

  async listParts(caller: Caller, ref: UploadRef, options: { partNumberMarker: number; limit: number }): Promise<{ upload: UploadRow; parts: PartInfo[]; truncated: boolean }> {
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'ListMultipartUploadParts', ref.key);
    const upload = (await this.store.get(TABLES.uploads, bucket.id, uploadKey(ref.key, ref.uploadId)))?.value;
    if (!upload) fail('NoSuchUpload', NO_SUCH_UPLOAD);
    const lower = options.partNumberMarker > 0 ? { key: partNumberKey(options.partNumberMarker), inclusive: false } : undefined;
    const rows = await this.store.scan(TABLES.parts, ref.uploadId, { prefix: '', lower, limit: options.limit + 1, reverse: false });
    const parts = rows
      .slice(0, options.limit)
      .map((row) => ({ partNumber: Number(row.sk), size: row.value.size, etag: row.value.etag, lastModified: row.value.uploadedAt, checksums: row.value.checksums }));
    return { upload, parts, truncated: rows.length > options.limit };
  }

  /** The bucket's uploads in progress, by key and then by when they began (S3's ListMultipartUploads). */
  async listUploads(caller: Caller, account: string, bucketName: string, options: UploadListOptions): Promise<{ entries: UploadEntry[]; truncated: boolean }> {
    const bucket = await this.buckets.forObjects(caller, account, bucketName, 'ListMultipartUploads');
    const { prefix, delimiter, limit } = options;
    let lower: Bound | undefined;
    if (options.keyMarker !== '') {
      lower = options.uploadIdMarker !== '' ? { key: uploadKey(options.keyMarker, options.uploadIdMarker), inclusive: false } : { key: afterKey(options.keyMarker), inclusive: true };
    }
    const entries: UploadEntry[] = [];
    while (entries.length <= limit) {
      const rows = await this.store.scan(TABLES.uploads, bucket.id, { prefix, lower, limit: Math.min(1000, limit + 1), reverse: false });
      for (const row of rows) {
        const commonPrefix = delimiter ? commonPrefixOf(row.value.key, prefix, delimiter) : null;
        if (commonPrefix === null) {
          entries.push({ kind: 'item', item: row.value });
          lower = { key: row.sk, inclusive: false };
        } else {
          if (commonPrefix !== options.keyMarker) entries.push({ kind: 'prefix', prefix: commonPrefix });
          const next = prefixUpperBound(commonPrefix);
          if (next === null) return page(entries, limit);
          lower = { key: next, inclusive: true };
          break;
        }
        if (entries.length > limit) break;
      }
      if (rows.length === 0) break;
    }
    return page(entries, limit);
  }

  async abort(caller: Caller, ref: UploadRef): Promise<void> {
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'AbortMultipartUpload', ref.key);
    await this.store.transact(async (tx) => {
      await this.buckets.requireBucket(tx, bucket);
      if (!(await tx.get(TABLES.uploads, bucket.id, uploadKey(ref.key, ref.uploadId)))) fail('NoSuchUpload', NO_SUCH_UPLOAD);
      abortIn(tx, bucket.id, ref.key, ref.uploadId, this.clock.now());
    });
    this.onBlobsReleased();
  }

  /**
   * Makes the listed parts, in order, the key's current version. Every part but the last must be at least the
   * minimum part size; each must have been uploaded with the ETag given. The object's ETag is S3's: the MD5 of
   * the parts' MD5s, then `-` and the number of parts. Parts uploaded but not listed go.
   */
  async complete(caller: Caller, ref: UploadRef, listed: readonly CompletedPart[], conditions: WriteConditions = {}, versionHeaders?: VersionHeaders): Promise<ObjectRecord> {
    checkPartList(listed);
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'PutObject', ref.key);
    const now = this.clock.now();
    const { version, released } = await this.store.transact(async (tx) => {
      const current = await this.buckets.requireBucket(tx, bucket);
      await checkWriteConditions(tx, current.id, ref.key, conditions, now);
      const sk = uploadKey(ref.key, ref.uploadId);
      const upload = (await tx.get(TABLES.uploads, current.id, sk))?.value;
      if (!upload) fail('NoSuchUpload', NO_SUCH_UPLOAD);
      // S3 does not require an SSE-C upload's key to complete it; one given must be its key.
      if (ref.customerKey) customerSealOf(upload, ref);
      const uploaded = await this.uploadedParts(tx, ref.uploadId);
      const chosen = this.choose(listed, uploaded);
      const size = chosen.reduce((sum, part) => sum + part.size, 0);
      const headers = versionHeaders ? versionHeaders(upload.headers, chosen.map((part) => ({ partNumber: part.number, size: part.size, checksums: uploaded.get(part.number)?.checksums }))) : upload.headers;
      if (size > MAX_MULTIPART_OBJECT_SIZE) fail('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
      writePartIndex(tx, ref.uploadId, chosen);
      const chosenNumbers = new Set(chosen.map((part) => part.number));
      for (const [number, part] of uploaded) {
        if (chosenNumbers.has(number)) continue;
        tx.delete(TABLES.parts, ref.uploadId, partNumberKey(number));
        releaseBlob(tx, part.blobId);
      }
      tx.delete(TABLES.uploads, current.id, sk);
      const made: VersionRow = {
        id: newTimeOrderedId(),
        state: 'complete',
        createdAt: now,
        lastModified: now,
        size,
        etag: multipartEtag(chosen.map((part) => part.etag)),
        contentType: upload.contentType ?? 'application/octet-stream',
        meta: upload.meta,
        headers,
        deleteAt: upload.deleteAt,
        data: { kind: 'multipart', uploadId: ref.uploadId, parts: chosen.length, encrypted: upload.encrypted, ...(upload.customer === undefined ? {} : { customer: upload.customer }) },
        ...(upload.tags?.length ? { tags: upload.tags } : {}),
      };
      const lock = { retention: upload.retention, legalHold: upload.legalHold };
      const row = current.objectLock || lock.retention || lock.legalHold !== undefined ? withNewLock(current, made, lock, now) : made;
      await reference(tx, uploadReference(ref.uploadId), true);
      const change = await install(tx, current, ref.key, row, null, now);
      return { version: row, released: change.released + (uploaded.size - chosen.length) };
    });
    if (released > 0) this.onBlobsReleased();
    return toRecord(bucket.name, ref.key, version);
  }

  /** Lifecycle's AbortIncompleteMultipartUpload: aborts the bucket's uploads under `prefix` begun before `before`. */
  async abortStarted(bucketId: string, prefix: string, before: number): Promise<number> {
    let aborted = 0;
    let lower: Bound | undefined;
    for (;;) {
      const rows = await this.store.scan(TABLES.uploads, bucketId, { prefix, lower, limit: 1000, reverse: false });
      for (const row of rows) {
        lower = { key: row.sk, inclusive: false };
        if (row.value.initiatedAt >= before) continue;
        const done = await this.store.transact(async (tx) => {
          if (!(await tx.get(TABLES.uploads, bucketId, row.sk))) return false;
          abortIn(tx, bucketId, row.value.key, row.value.id, this.clock.now());
          return true;
        });
        if (done) aborted++;
      }
      if (rows.length < 1000) break;
    }
    if (aborted > 0) this.onBlobsReleased();
    return aborted;
  }

  /**
   * The collector's share: uploads nothing references any more (aborted, or their object's last version gone)
   * lose their parts' blobs and rows, a batch at a time. Returns how many parts went.
   */
  async collect(batch = 1000): Promise<number> {
    const queued = await this.store.scan(TABLES.blobGc, ALL, { prefix: uploadReference(''), limit: 10, reverse: false });
    let removed = 0;
    for (const entry of queued) {
      const uploadId = uploadOfReference(entry.sk);
      if (uploadId === null) continue;
      const parts = await this.store.scan(TABLES.parts, uploadId, { prefix: '', limit: batch, reverse: false });
      for (const part of parts) await this.blobs.delete(part.value.blobId);
      const index = parts.length > 0 ? [] : await this.store.scan(TABLES.partIndex, uploadId, { prefix: '', limit: batch, reverse: false });
      await this.store.transact(async (tx) => {
        for (const part of parts) {
          tx.delete(TABLES.parts, uploadId, part.sk);
          tx.delete(TABLES.blobRefs, ALL, part.value.blobId);
        }
        for (const row of index) tx.delete(TABLES.partIndex, uploadId, row.sk);
        if (parts.length === 0 && index.length < batch) tx.delete(TABLES.blobGc, ALL, entry.sk);
      });
      removed += parts.length;
    }
    return removed;
  }

  /** Every part uploaded, by number (a batch of rows per read). */
  private async uploadedParts(tx: Tx, uploadId: string): Promise<Map<number, PartRow>> {
    const parts = new Map<number, PartRow>();
    let lower: Bound | undefined;
    for (;;) {
      const rows = await tx.scan(TABLES.parts, uploadId, { prefix: '', lower, limit: PART_BATCH, reverse: false });
      for (const row of rows) parts.set(Number(row.sk), row.value);
      if (rows.length < PART_BATCH) return parts;
      lower = { key: rows[rows.length - 1]?.sk ?? '', inclusive: false };
    }
  }

  /** The listed parts as uploaded, checked against what was uploaded. */
  private choose(listed: readonly CompletedPart[], uploaded: ReadonlyMap<number, PartRow>): PartBatchRow['parts'] {
    return listed.map((given, i) => {
      const part = uploaded.get(given.partNumber);
      if (!part || normalizeEtag(given.etag) !== part.etag) {
        fail('InvalidPart', 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.', {
          partNumber: given.partNumber,
        });
      }
      if (i < listed.length - 1 && part.size < this.minPartSize) {
        fail('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { partNumber: given.partNumber, size: part.size, minSize: this.minPartSize });
      }
      const chosen: PartBatchRow['parts'][number] = { number: given.partNumber, blobId: part.blobId, size: part.size, etag: part.etag, encryption: part.encryption };
      if (part.crc32 !== undefined) chosen.crc32 = part.crc32;
      return chosen;
    });
  }
}

/** Ends an upload in a transaction: its row goes, its parts are queued for the collector. */
function abortIn(tx: Tx, bucketId: string, key: string, uploadId: string, now: number): void {
  tx.delete(TABLES.uploads, bucketId, uploadKey(key, uploadId));
  tx.put(TABLES.blobGc, ALL, uploadReference(uploadId), { queuedAt: now });
}

/** The part index of a completed upload: its parts in batches, each under the offset of its first byte. */
function writePartIndex(tx: Tx, uploadId: string, parts: PartBatchRow['parts']): void {
  let offset = 0;
  for (let i = 0; i < parts.length; i += PART_BATCH) {
    const batch = parts.slice(i, i + PART_BATCH);
    tx.put(TABLES.partIndex, uploadId, partOffsetKey(offset), { parts: batch });
    offset += batch.reduce((sum, part) => sum + part.size, 0);
  }
}

/** A part's blob let go of at once (it was never part of an object). */
export function releaseBlob(tx: Tx, blobId: string): void {
  tx.delete(TABLES.blobRefs, ALL, blobId);
  tx.put(TABLES.blobGc, ALL, blobId, { queuedAt: Date.now() });
}

/** S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, `-`, the number of parts. */
export function multipartEtag(partEtags: readonly string[]): string {
  const hash = createHash('md5');
  for (const etag of partEtags) hash.update(Buffer.from(etag, 'hex'));
  return `${hash.digest('hex')}-${partEtags.length}`;
}

function checkPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
    fail('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`);
  }
}

function checkPartList(parts: readonly CompletedPart[]): void {
  if (parts.length === 0) fail('InvalidArgument', 'You must specify at least one part');
  if (parts.length > MAX_PARTS) fail('InvalidArgument', `At most ${MAX_PARTS} parts`);
  parts.forEach((part, i) => {
    checkPartNumber(part.partNumber);
    const before = parts[i - 1];
    if (before && before.partNumber >= part.partNumber) fail('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
  });
}

function normalizeEtag(etag: string): string {
  return unquote(etag.trim()).toLowerCase();
}

/** An upload's sort key: its key, then its id (ids grow with time: a key's uploads in the order they began). */
function uploadKey(key: string, uploadId: string): string {
  return versionsPrefix(key) + uploadId;
}

/** The first sort key past every upload of `key`. */
function afterKey(key: string): string {
  return prefixUpperBound(versionsPrefix(key)) ?? versionsPrefix(key);
}

function commonPrefixOf(name: string, prefix: string, delimiter: string): string | null {
  const index = name.indexOf(delimiter, prefix.length);
  return index < 0 ? null : name.slice(0, index + delimiter.length);
}

function page(entries: UploadEntry[], limit: number): { entries: UploadEntry[]; truncated: boolean } {
  return { entries: entries.slice(0, limit), truncated: entries.length > limit };
}

/** The customer's key an SSE-C upload's parts are sealed under, checked against the upload's (null: not SSE-C). */
function customerSealOf(upload: UploadRow, ref: UploadRef): CustomerSeal | null {
  const check = upload.customer ?? null;
  checkCustomerKey(check, ref.customerKey);
  return check !== null && ref.customerKey ? { key: ref.customerKey, check } : null;
}
