/** Objects: put/get/head/update/delete/copy and listing, with conditional, range, expiry and encryption rules. */
import type { Decipher } from 'node:crypto';
import { PassThrough, Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { lookup as lookupMimeType } from 'mime-types';
import { newTimeOrderedId } from '../lib/ids.ts';
import type { BlobStore } from '../store/blob/index.ts';
import { BlobMissingError, isBlobStream } from '../store/blob/index.ts';
import { Conflict, Contention, type AttachedRow, type GroupedRange, type MetadataStore, type Row, type ScanRange, type Tx } from '../store/meta/index.ts';
import { alignToBlock, decipherAt, newBlobEncryption } from './blob-crypto.ts';
import { addToTotals, type Buckets } from './buckets.ts';
import { checkObjectKey, checkUserMetadata, INLINE_OBJECT_MAX, MAX_FILE_SIZE } from './constraints.ts';
import { checkReadConditions, resolveRanges, type ByteRange, type ReadConditions } from './conditions.ts';
import { fail, isOnggiError } from './errors.ts';
import { listEntries, type ListEntry, type ListOptions } from './listing.ts';
import { Md5Offload, type Md5 } from './md5-offload.ts';
import { ALL, expiryKey, expiryUpTo, isLive, TABLES, type BlobEncryption, type BlobRef, type BucketRow, type VersionData, type VersionRow } from './model.ts';
import type { ServerKeys } from './server-keys.ts';
import type { Bucket, Caller, Metadata, ObjectRecord } from './types.ts';

export interface ObjectRef {
  account: string;
  bucket: string;
  key: string;
}

export interface WriteAttributes {
  contentType?: string | undefined;
  meta: Metadata;
  headers: Metadata;
  deleteAt: number | null;
}

export interface PutObjectInput extends ObjectRef, WriteAttributes {
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** The declared length, or null for a chunked upload. */
  contentLength: number | null;
  expectedMd5?: string | undefined;
  ifNoneMatchAny?: boolean | undefined;
}

export type Body = Buffer | Readable;

/**
 * Writes one body into `sink`, leaving it open for more. Fails once the sink is closed (a response whose client
 * went away), never waits for ever: a closed sink takes no more bytes and never drains.
 */
export async function writeBody(body: Body, sink: Writable): Promise<void> {
  if (sink.destroyed) throw new Error('the response closed before the body was written');
  if (Buffer.isBuffer(body)) {
    if (!sink.write(body)) await drained(sink);
  } else if (isBlobStream(body)) {
    await body.pumpTo(sink);
  } else {
    await pipeline(body, sink, { end: false });
  }
}

/** Resolves on the sink's next 'drain'; rejects if it closes or fails first. */
function drained(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error): void => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
      sink.off('error', settle);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(new Error('the response closed before the body was written'));
    sink.on('drain', onDrain);
    sink.on('close', onClose);
    sink.on('error', settle);
    // Closed during the write itself: no 'close' is coming any more.
    if (sink.destroyed) onClose();
  });
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
  contentType?: string | undefined;
  meta: Metadata;
  headers: Metadata;
  deleteAt: number | null;
}

/** A version read for its bytes: where it lives, and the row itself. */
interface Located {
  bucket: BucketRow;
  key: string;
  version: VersionRow;
  /** An `attached` version's bytes, when it was read for them (null otherwise). */
  attachment: Buffer | null;
}

interface ReceivedBody {
  data: VersionData;
  inline: Buffer | null;
  size: number;
  etag: string;
}

const OPEN_RETRIES = 3;
const NO_SUCH_KEY = 'The specified object does not exist';

export class Objects {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly buckets: Buckets,
    private readonly keys: ServerKeys,
    private readonly onBackgroundError: (err: unknown) => void,
    /** Called after a commit queued blobs for removal. */
    private readonly onBlobsReleased: () => void = () => undefined,
    private readonly md5 = new Md5Offload(),
  ) {}

  async put(caller: Caller, input: PutObjectInput): Promise<ObjectRecord> {
    const bucket = await this.buckets.forObjects(caller, input.account, input.bucket, 'object:write');
    return this.putInto(bucket, input);
  }

  /** Writes into a bucket the caller was authorized for, or that the server itself writes (access logs). */
  async putInto(bucket: BucketRow, input: PutObjectInput): Promise<ObjectRecord> {
    checkObjectKey(input.key, this.buckets.naming);
    checkUserMetadata(input.meta);
    if (input.contentLength !== null && input.contentLength > MAX_FILE_SIZE) fail('EntityTooLarge', 'Your request is too large.');
    if (input.ifNoneMatchAny && (await this.liveVersion(bucket, input.key))) fail('PreconditionFailed', 'The object already exists');

    const body = await this.receive(input, bucket.encryption !== null);
    try {
      if (input.expectedMd5 !== undefined && input.expectedMd5.toLowerCase() !== body.etag) {
        fail('BadDigest', 'The ETag you sent does not match the MD5 of the data received');
      }
      const now = Date.now();
      const version: VersionRow = {
        id: newTimeOrderedId(),
        state: 'complete',
        createdAt: now,
        lastModified: now,
        size: body.size,
        etag: body.etag,
        contentType: input.contentType ?? guessContentType(input.key),
        meta: input.meta,
        headers: input.headers,
        deleteAt: input.deleteAt,
        data: body.data,
      };
      await this.publish(bucket, input.key, version, { inline: body.inline, freshBlobs: true, mustNotExist: input.ifNoneMatchAny === true });
      return toRecord(bucket.name, input.key, version);
    } catch (err) {
      // Only when the commit certainly did not happen; otherwise the orphan sweep decides.
      if (isDefiniteFailure(err)) this.removeUncommitted(body.data);
      throw err;
    }
  }

  /**
   * Makes `version` the key's current version in one transaction, against the bucket the caller was authorized
   * for: the old version's blobs lose a reference, the new one's gain one (fresh blobs start at one).
   */
  private async publish(
    bucket: BucketRow,
    key: string,
    version: VersionRow,
    options: { inline: Buffer | null; freshBlobs: boolean; mustNotExist?: boolean; sharedFrom?: Located },
  ): Promise<void> {
    const released = await this.store.transact(async (tx) => {
      await this.buckets.requireBucket(tx, bucket);
      const inline = options.sharedFrom ? await this.sharedBytes(tx, options.sharedFrom) : options.inline;
      const current = (await tx.get(TABLES.objects, bucket.id, key))?.value ?? null;
      if (options.mustNotExist && current && isLive(current)) fail('PreconditionFailed', 'The object already exists');
      if (inline) tx.putAttached(TABLES.objects, bucket.id, key, version, inline);
      else tx.put(TABLES.objects, bucket.id, key, version);
      for (const blob of blobsOf(version.data)) await this.reference(tx, blob.blobId, options.freshBlobs);
      // The old version's expiry entry goes first: with the same X-Delete-At it is the new one's key too.
      const released = current ? await this.drop(tx, bucket.id, key, current) : 0;
      if (version.deleteAt !== null) tx.put(TABLES.expiry, ALL, expiryKey(version.deleteAt, bucket.id, key), { bucketId: bucket.id, key, versionId: version.id });
      addToTotals(tx, bucket.id, current ? 0 : 1, version.size - (current?.size ?? 0));
      return released;
    });
    if (released > 0) this.onBlobsReleased();
  }

  /**
   * For a copy that shares its source's bytes: the source must still be the version read (else the copy would
   * point at bytes on their way out); small versions' bytes are copied, blobs gain a reference in `publish`.
   */
  private async sharedBytes(tx: Tx, source: Located): Promise<Buffer | null> {
    const { kind } = source.version.data;
    const current = kind === 'attached' ? await tx.getAttached(TABLES.objects, source.bucket.id, source.key) : await tx.get(TABLES.objects, source.bucket.id, source.key);
    if (current?.value.id !== source.version.id) fail('NoSuchKey', NO_SUCH_KEY);
    if (kind === 'attached') return (current as AttachedRow<VersionRow>).attachment ?? fail('NoSuchKey', NO_SUCH_KEY);
    if (kind !== 'inline') return null;
    return (await tx.get(TABLES.inlineData, source.bucket.id, source.version.id))?.value ?? fail('NoSuchKey', NO_SUCH_KEY);
  }

  /**
   * Drains a request body into a durable blob — or into memory when it is small enough to live in the
   * metadata store — hashing (MD5) and encrypting on the way. Nothing is left behind when it fails.
   */
  private async receive(input: PutObjectInput, encrypt: boolean): Promise<ReceivedBody> {
    const md5 = this.md5.forBody(input.contentLength);
    const encrypted = encrypt ? newBlobEncryption(this.keys) : null;
    let size = 0;
    const source = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of input.body) {
        size += chunk.length;
        if (size > MAX_FILE_SIZE) fail('EntityTooLarge', 'Your request is too large.');
        const hashing = md5.update(chunk);
        if (hashing) await hashing;
        yield encrypted ? encrypted.cipher.update(chunk) : chunk;
      }
      if (encrypted) yield encrypted.cipher.final();
    };
    const encryption = encrypted?.encryption ?? null;
    let blobId = '';
    try {
      const small = input.contentLength !== null && input.contentLength <= INLINE_OBJECT_MAX;
      // Most small bodies are not encrypted: read them straight, without the generator's turns per chunk.
      const inline = small ? (encrypted ? await collect(source()) : await this.receiveSmall(input.body, md5, (n) => (size = n))) : null;
      if (!inline) blobId = (await this.blobs.write(source())).blobId;
      if (input.contentLength !== null && size !== input.contentLength) {
        fail('IncompleteBody', `Received ${size} bytes of the ${input.contentLength} declared`);
      }
      const data: VersionData = inline ? { kind: 'attached', encryption } : { kind: 'blob', blobId, size, encryption };
      return { data, inline, size, etag: await md5.digest() };
    } catch (err) {
      md5.abort();
      if (blobId) this.removeUncommitted({ kind: 'blob', blobId, size, encryption });
      throw err;
    }
  }

  /** A small body as it comes, hashed on the way; `sized` hears the bytes so far (a body past its length fails). */
  private async receiveSmall(body: PutObjectInput['body'], md5: Md5, sized: (bytes: number) => void): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      sized(size);
      if (size > INLINE_OBJECT_MAX) break;
      const hashing = md5.update(chunk);
      if (hashing) await hashing;
      chunks.push(chunk);
    }
    return chunks.length === 1 && Buffer.isBuffer(chunks[0]) ? chunks[0] : Buffer.concat(chunks);
  }

  async head(caller: Caller, ref: ObjectRef, conditions: ReadConditions): Promise<ObjectRecord> {
    const { bucket, version } = await this.readable(caller, ref);
    const record = toRecord(bucket.name, ref.key, version);
    checkReadConditions(record, conditions);
    return record;
  }

  /** Opens the object's bytes before returning, so a concurrent overwrite cannot pull them away mid-response. */
  async get(caller: Caller, ref: ObjectRef, conditions: ReadConditions, rangeHeader: string | undefined): Promise<ReadResult> {
    for (let attempt = 1; ; attempt++) {
      const located = await this.readable(caller, ref, true);
      const record = toRecord(located.bucket.name, ref.key, located.version);
      checkReadConditions(record, conditions);
      const ranges = resolveRanges(rangeHeader, record.size);
      try {
        const bodies = await this.openRanges(located, ranges ?? [{ start: 0, end: record.size - 1 }]);
        return { record, ranges, bodies };
      } catch (err) {
        // Overwritten between reading the version and opening its bytes: read the key again.
        if (!(err instanceof BlobMissingError) || attempt >= OPEN_RETRIES) throw err;
      }
    }
  }

  async update(caller: Caller, ref: ObjectRef, attributes: Partial<WriteAttributes>): Promise<ObjectRecord> {
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'object:write');
    if (attributes.meta) checkUserMetadata(attributes.meta);
    const version = await this.store.transact(async (tx) => {
      await this.buckets.requireBucket(tx, bucket);
      const row = await tx.getAttached(TABLES.objects, bucket.id, ref.key);
      const current = row?.value;
      if (!row || !current || !isLive(current)) fail('NoSuchKey', NO_SUCH_KEY);
      const next: VersionRow = { ...current, ...definedOnly(attributes) };
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

  async delete(caller: Caller, ref: ObjectRef): Promise<ObjectRecord> {
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'object:write');
    const deleted = await this.removeCurrent(bucket, ref.key);
    if (!deleted || !isLive(deleted)) fail('NoSuchKey', NO_SUCH_KEY);
    return toRecord(bucket.name, ref.key, deleted);
  }

  /**
   * Server-side copy. When the bytes can stay as they are (the source is encrypted, or the destination bucket
   * is not), the new version shares the source's blobs: no bytes move. Otherwise the bytes are streamed over.
   */
  async copy(caller: Caller, from: ObjectRef, to: ObjectRef, options: CopyOptions): Promise<{ source: ObjectRecord; record: ObjectRecord }> {
    const target = await this.buckets.forObjects(caller, to.account, to.bucket, 'object:write');
    checkObjectKey(to.key, this.buckets.naming);
    const located = await this.readable(caller, from);
    const source = toRecord(located.bucket.name, from.key, located.version);
    const keepSource = !options.freshMetadata;
    const attributes = {
      contentType: options.contentType ?? (keepSource ? source.contentType : undefined),
      meta: keepSource ? { ...source.meta, ...options.meta } : options.meta,
      headers: keepSource ? { ...source.headers, ...options.headers } : options.headers,
      deleteAt: options.deleteAt,
    };
    checkUserMetadata(attributes.meta);
    const sourceEncryption = encryptionOf(located.version.data);
    if (sourceEncryption !== null || target.encryption === null) {
      const record = await this.copySharing(located, target, to.key, attributes);
      return { source, record };
    }
    const { bodies } = await this.get(caller, from, {}, undefined);
    const [opened] = bodies;
    if (!opened) fail('NoSuchKey', NO_SUCH_KEY);
    const body = Buffer.isBuffer(opened) ? [opened] : opened;
    const record = await this.put(caller, { ...to, ...attributes, body, contentLength: source.size }).finally(() => {
      if (!Buffer.isBuffer(opened)) opened.destroy();
    });
    return { source, record };
  }

  private async copySharing(source: Located, target: BucketRow, key: string, attributes: WriteAttributes): Promise<ObjectRecord> {
    const now = Date.now();
    const { data } = source.version;
    const version: VersionRow = {
      ...source.version,
      // A small version's bytes are copied into the new row (see sharedBytes), whichever way the source kept them.
      data: data.kind === 'inline' ? { kind: 'attached', encryption: data.encryption } : data,
      id: newTimeOrderedId(),
      createdAt: now,
      lastModified: now,
      contentType: attributes.contentType ?? guessContentType(key),
      meta: attributes.meta,
      headers: attributes.headers,
      deleteAt: attributes.deleteAt,
    };
    await this.publish(target, key, version, { inline: null, freshBlobs: false, sharedFrom: source });
    return toRecord(target.name, key, version);
  }

  async list(caller: Caller, account: string, bucketName: string, options: ListOptions): Promise<{ bucket: Bucket; entries: ListEntry<ObjectRecord>[] }> {
    const bucket = await this.buckets.get(caller, account, bucketName, 'bucket:read');
    const liveAt = Date.now();
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

  /** Deletes objects whose X-Delete-At has passed; returns how many went. */
  async reapExpired(batch = 100): Promise<number> {
    const now = Date.now();
    const due = await this.store.scan(TABLES.expiry, ALL, { prefix: '', upper: { key: expiryUpTo(now), inclusive: false }, limit: batch, reverse: false });
    let reaped = 0;
    for (const entry of due) {
      const { bucketId, key, versionId } = entry.value;
      const deleted = await this.store.transact(async (tx) => {
        tx.delete(TABLES.expiry, ALL, entry.sk);
        const current = (await tx.get(TABLES.objects, bucketId, key))?.value;
        if (current?.id !== versionId || isLive(current, now)) return false;
        await this.dropCurrent(tx, bucketId, key, current);
        return true;
      });
      if (deleted) reaped++;
    }
    if (reaped > 0) this.onBlobsReleased();
    return reaped;
  }

  /** Removes blobs nothing references any more (the durable queue); returns how many went. */
  async collectBlobs(batch = 100): Promise<number> {
    const queued = await this.store.scan(TABLES.blobGc, ALL, { prefix: '', limit: batch, reverse: false });
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

  private async removeCurrent(bucket: BucketRow, key: string): Promise<VersionRow | null> {
    const removed = await this.store.transact(async (tx) => {
      await this.buckets.requireBucket(tx, bucket);
      const current = (await tx.get(TABLES.objects, bucket.id, key))?.value;
      if (!current) return null;
      await this.dropCurrent(tx, bucket.id, key, current);
      return current;
    });
    if (removed) this.onBlobsReleased();
    return removed;
  }

  /** Removes the key's current version if it is still `versionId` (background rules: lifecycle, emptying). */
  async removeVersion(bucketId: string, key: string, versionId: string): Promise<boolean> {
    const removed = await this.store.transact(async (tx) => {
      const current = (await tx.get(TABLES.objects, bucketId, key))?.value;
      if (current?.id !== versionId) return false;
      await this.dropCurrent(tx, bucketId, key, current);
      return true;
    });
    if (removed) this.onBlobsReleased();
    return removed;
  }

  private async dropCurrent(tx: Tx, bucketId: string, key: string, current: VersionRow): Promise<void> {
    tx.delete(TABLES.objects, bucketId, key);
    await this.drop(tx, bucketId, key, current);
    addToTotals(tx, bucketId, -1, -current.size);
  }

  /**
   * Lets go of a version that is no longer current: its legacy inline row, its expiry entry, its blob references
   * (attached bytes go with the row itself).
   */
  private async drop(tx: Tx, bucketId: string, key: string, version: VersionRow): Promise<number> {
    if (version.data.kind === 'inline') tx.delete(TABLES.inlineData, bucketId, version.id);
    if (version.deleteAt !== null) tx.delete(TABLES.expiry, ALL, expiryKey(version.deleteAt, bucketId, key));
    let released = 0;
    for (const blob of blobsOf(version.data)) if (await this.unreference(tx, blob.blobId)) released++;
    return released;
  }

  private async reference(tx: Tx, blobId: string, fresh: boolean): Promise<void> {
    if (fresh) {
      tx.put(TABLES.blobRefs, ALL, blobId, { count: 1 }, { ifVersion: null });
      return;
    }
    const refs = await tx.get(TABLES.blobRefs, ALL, blobId);
    if (!refs) fail('NoSuchKey', NO_SUCH_KEY);
    tx.put(TABLES.blobRefs, ALL, blobId, { count: refs.value.count + 1 });
  }

  /** Drops one reference; the last one queues the blob for removal. True when it did. */
  private async unreference(tx: Tx, blobId: string): Promise<boolean> {
    const refs = await tx.get(TABLES.blobRefs, ALL, blobId);
    if (refs && refs.value.count > 1) {
      tx.put(TABLES.blobRefs, ALL, blobId, { count: refs.value.count - 1 });
      return false;
    }
    tx.delete(TABLES.blobRefs, ALL, blobId);
    tx.put(TABLES.blobGc, ALL, blobId, { queuedAt: Date.now() });
    return true;
  }

  private async openRanges(located: Located, ranges: ByteRange[]): Promise<Body[]> {
    const bodies: Body[] = [];
    try {
      for (const range of ranges) bodies.push(await this.openRange(located, range));
      return bodies;
    } catch (err) {
      for (const body of bodies) if (!Buffer.isBuffer(body)) body.destroy();
      throw err;
    }
  }

  private async openRange({ bucket, version, attachment }: Located, range: ByteRange): Promise<Body> {
    const { data } = version;
    if (version.size === 0) return Buffer.alloc(0);
    switch (data.kind) {
      case 'attached':
        if (!attachment) throw new BlobMissingError(`attachment of ${version.id}`);
        return this.inlineBytes(attachment, data.encryption).subarray(range.start, range.end + 1);
      case 'inline': {
        const stored = await this.store.get(TABLES.inlineData, bucket.id, version.id);
        if (!stored) throw new BlobMissingError(`inline ${version.id}`);
        return this.inlineBytes(stored.value, data.encryption).subarray(range.start, range.end + 1);
      }
      case 'blob':
        return this.openBlob(data, range);
      case 'parts':
        return this.openParts(data.parts, range);
    }
  }

  private async openBlob(blob: BlobRef, range: ByteRange): Promise<Readable> {
    if (!blob.encryption) return this.blobs.read(blob.blobId, range);
    return this.openDecrypted(blob.blobId, blob.encryption, range);
  }

  /** The parts' bytes one after the other, each part opened only when the one before it is done. */
  private async openParts(parts: readonly BlobRef[], range: ByteRange): Promise<Readable> {
    const pieces: { blob: BlobRef; range: ByteRange }[] = [];
    let offset = 0;
    for (const blob of parts) {
      const start = Math.max(range.start, offset);
      const end = Math.min(range.end, offset + blob.size - 1);
      if (start <= end) pieces.push({ blob, range: { start: start - offset, end: end - offset } });
      offset += blob.size;
    }
    const [first, ...rest] = pieces;
    if (!first) return Readable.from([]);
    const opened = await this.openBlob(first.blob, first.range);
    const out = new PassThrough();
    void (async () => {
      await pipeline(opened, out, { end: false });
      for (const piece of rest) await pipeline(await this.openBlob(piece.blob, piece.range), out, { end: false });
      out.end();
    })().catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  private inlineBytes(stored: Buffer, encryption: BlobEncryption | null): Buffer {
    if (!encryption) return stored;
    const decipher = decipherAt(this.keys, encryption, 0);
    return Buffer.concat([decipher.update(stored), decipher.final()]);
  }

  private async openDecrypted(blobId: string, encryption: BlobEncryption, range: ByteRange): Promise<Readable> {
    const alignedStart = alignToBlock(range.start);
    const raw = await this.blobs.read(blobId, { start: alignedStart, end: range.end });
    return new DecipheredRange(raw, decipherAt(this.keys, encryption, alignedStart), range.start - alignedStart);
  }

  /** The live version of `ref`; with `withBytes`, a small version's bytes too, read with it in one go. */
  private async readable(caller: Caller, ref: ObjectRef, withBytes = false): Promise<Located> {
    const bucket = await this.buckets.forObjects(caller, ref.account, ref.bucket, 'object:read');
    const row: AttachedRow<VersionRow> | null = withBytes
      ? await this.store.getAttached(TABLES.objects, bucket.id, ref.key)
      : asUnattached(await this.store.get(TABLES.objects, bucket.id, ref.key));
    if (!row || !isLive(row.value)) fail('NoSuchKey', NO_SUCH_KEY);
    return { bucket, key: ref.key, version: row.value, attachment: row.attachment };
  }

  private async liveVersion(bucket: BucketRow, key: string): Promise<VersionRow | null> {
    const row = await this.store.get(TABLES.objects, bucket.id, key);
    return row && isLive(row.value) ? row.value : null;
  }

  /** Removes the blob of a write that never committed. */
  private removeUncommitted(data: VersionData): void {
    for (const blob of blobsOf(data)) this.blobs.delete(blob.blobId).catch(this.onBackgroundError);
  }
}

/**
 * The plain bytes of an encrypted range: `raw` starts on the AES block that holds the range's first byte, `skip`
 * bytes before it. `raw` is read only once this stream is (a multi-range answer does not read 50 ranges ahead),
 * and closed with it, whenever that is, read or not (so its blob's descriptor is let go).
 */
class DecipheredRange extends Transform {
  private started = false;

  constructor(
    private readonly raw: Readable,
    private readonly decipher: Decipher,
    private skip: number,
  ) {
    super();
    raw.on('error', (err) => this.destroy(err));
  }

  override _read(size: number): void {
    if (!this.started) {
      this.started = true;
      this.raw.pipe(this);
    }
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, this.cut(this.decipher.update(chunk)));
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.cut(this.decipher.final()));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.raw.destroy();
    callback(err);
  }

  private cut(chunk: Buffer): Buffer {
    if (this.skip === 0) return chunk;
    const cut = Math.min(this.skip, chunk.length);
    this.skip -= cut;
    return chunk.subarray(cut);
  }
}

function toRecord(bucket: string, key: string, version: VersionRow): ObjectRecord {
  return {
    bucket,
    key,
    versionId: version.id,
    size: version.size,
    etag: version.etag,
    contentType: version.contentType,
    lastModified: version.lastModified,
    meta: version.meta,
    headers: version.headers,
    deleteAt: version.deleteAt,
  };
}

function asUnattached<V>(row: Row<V> | null): AttachedRow<V> | null {
  return row && { ...row, attachment: null };
}

function blobsOf(data: VersionData): readonly BlobRef[] {
  switch (data.kind) {
    case 'attached':
    case 'inline':
      return [];
    case 'blob':
      return [data];
    case 'parts':
      return data.parts;
  }
}

function encryptionOf(data: VersionData): BlobEncryption | null {
  if (data.kind === 'parts') return data.parts[0]?.encryption ?? null;
  return data.encryption;
}

/** An error after which the transaction certainly did not commit. */
function isDefiniteFailure(err: unknown): boolean {
  return isOnggiError(err) || err instanceof Conflict || err instanceof Contention;
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  const entries: [string, unknown][] = Object.entries(patch);
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

function guessContentType(key: string): string {
  return lookupMimeType(key) || 'application/octet-stream';
}
