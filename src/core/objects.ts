/** Objects: put/get/head/update/delete/copy, with conditional, range, expiry and encryption rules. */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { lookup as lookupMimeType } from 'mime-types';
import type { BlobStore } from '../store/blob/index.ts';
import { BlobMissingError, isBlobStream } from '../store/blob/index.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import { alignToBlock, decipherAt, newBlobEncryption } from './blob-crypto.ts';
import type { Buckets } from './buckets.ts';
import { checkObjectKey, checkUserMetadata, INLINE_OBJECT_MAX, MAX_FILE_SIZE } from './constraints.ts';
import { checkReadConditions, resolveRanges, type ByteRange, type ReadConditions } from './conditions.ts';
import { fail } from './errors.ts';
import { Md5Offload } from './md5-offload.ts';
import { listEntries, type ListEntry, type ListOptions } from './listing.ts';
import type { ServerKeys } from './server-keys.ts';
import type { BlobEncryption, Bucket, Caller, Metadata, ObjectRecord } from './types.ts';

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

/** Writes one body into `sink`, leaving it open for more. */
export async function writeBody(body: Body, sink: Writable): Promise<void> {
  if (Buffer.isBuffer(body)) {
    if (!sink.write(body)) await once(sink, 'drain');
  } else if (isBlobStream(body)) {
    await body.pumpTo(sink);
  } else {
    await pipeline(body, sink, { end: false });
  }
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

const OPEN_RETRIES = 3;

interface ReceivedBody {
  blobId: string;
  inline: Buffer | null;
  size: number;
  etag: string;
  encryption: BlobEncryption | null;
}

export class Objects {
  constructor(
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly buckets: Buckets,
    private readonly keys: ServerKeys,
    private readonly onBackgroundError: (err: unknown) => void,
    private readonly md5 = new Md5Offload(),
  ) {}

  async put(caller: Caller, input: PutObjectInput): Promise<ObjectRecord> {
    const bucket = await this.buckets.forObjects(caller, input.account, input.bucket, 'object:write');
    checkObjectKey(input.key);
    checkUserMetadata(input.meta);
    if (input.contentLength !== null && input.contentLength > MAX_FILE_SIZE) fail('EntityTooLarge', 'Your request is too large.');
    if (input.ifNoneMatchAny && (await this.live(input.bucket, input.key))) fail('PreconditionFailed', 'The object already exists');

    const body = await this.receive(input, bucket.encryption !== null);
    try {
      if (input.expectedMd5 !== undefined && input.expectedMd5.toLowerCase() !== body.etag) {
        fail('BadDigest', 'The ETag you sent does not match the MD5 of the data received');
      }
      const record: ObjectRecord = {
        bucket: input.bucket,
        key: input.key,
        blobId: body.blobId,
        size: body.size,
        etag: body.etag,
        contentType: input.contentType ?? guessContentType(input.key),
        lastModified: Date.now(),
        meta: input.meta,
        headers: input.headers,
        deleteAt: input.deleteAt,
        encryption: body.encryption,
        inline: body.inline,
      };
      const result = await this.meta.putObject(record, { mustNotExist: input.ifNoneMatchAny === true });
      if (!result.ok) {
        if (result.reason === 'exists') fail('PreconditionFailed', 'The object already exists');
        fail('NoSuchBucket', 'The specified bucket does not exist');
      }
      if (result.replaced) this.discardBlob(result.replaced.blobId);
      return record;
    } catch (err) {
      this.discardBlob(body.blobId);
      throw err;
    }
  }

  /**
   * Drains a request body into a durable blob — or into memory when it is small enough to live in the
   * metadata row — hashing (MD5) and encrypting on the way. Nothing is left behind when it fails.
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
    let blobId = '';
    try {
      const small = input.contentLength !== null && input.contentLength <= INLINE_OBJECT_MAX;
      const inline = small ? await collect(source()) : null;
      if (!inline) blobId = (await this.blobs.write(source())).blobId;
      if (input.contentLength !== null && size !== input.contentLength) {
        fail('IncompleteBody', `Received ${size} bytes of the ${input.contentLength} declared`);
      }
      return { blobId, inline, size, etag: await md5.digest(), encryption: encrypted?.encryption ?? null };
    } catch (err) {
      md5.abort();
      this.discardBlob(blobId);
      throw err;
    }
  }

  async head(caller: Caller, ref: ObjectRef, conditions: ReadConditions): Promise<ObjectRecord> {
    const record = await this.readable(caller, ref);
    checkReadConditions(record, conditions);
    return record;
  }

  /** Opens the object's bytes before returning, so a concurrent overwrite cannot pull them away mid-response. */
  async get(caller: Caller, ref: ObjectRef, conditions: ReadConditions, rangeHeader: string | undefined): Promise<ReadResult> {
    for (let attempt = 1; ; attempt++) {
      const record = await this.readable(caller, ref);
      checkReadConditions(record, conditions);
      const ranges = resolveRanges(rangeHeader, record.size);
      try {
        const bodies = await this.openRanges(record, ranges ?? [{ start: 0, end: record.size - 1 }]);
        return { record, ranges, bodies };
      } catch (err) {
        if (!(err instanceof BlobMissingError) || attempt >= OPEN_RETRIES) throw err;
      }
    }
  }

  async update(caller: Caller, ref: ObjectRef, attributes: Partial<WriteAttributes>): Promise<ObjectRecord> {
    await this.buckets.forObjects(caller, ref.account, ref.bucket, 'object:write');
    if (attributes.meta) checkUserMetadata(attributes.meta);
    await this.requireLive(ref);
    const updated = await this.meta.updateObject(ref.bucket, ref.key, attributes);
    return updated ?? fail('NoSuchKey', 'The specified object does not exist');
  }

  async delete(caller: Caller, ref: ObjectRef): Promise<ObjectRecord> {
    await this.buckets.forObjects(caller, ref.account, ref.bucket, 'object:write');
    const deleted = await this.meta.deleteObject(ref.bucket, ref.key);
    if (!deleted) fail('NoSuchKey', 'The specified object does not exist');
    this.discardBlob(deleted.blobId);
    if (isExpired(deleted)) fail('NoSuchKey', 'The specified object does not exist');
    return deleted;
  }

  async copy(caller: Caller, from: ObjectRef, to: ObjectRef, options: CopyOptions): Promise<{ source: ObjectRecord; record: ObjectRecord }> {
    await this.buckets.forObjects(caller, to.account, to.bucket, 'object:write');
    const { record: source, bodies } = await this.get(caller, from, {}, undefined);
    const [opened] = bodies;
    if (!opened) fail('NoSuchKey', 'The specified object does not exist');
    const body = Buffer.isBuffer(opened) ? [opened] : opened;
    const keepSource = !options.freshMetadata;
    const record = await this.put(caller, {
      ...to,
      body,
      contentLength: source.size,
      contentType: options.contentType ?? (keepSource ? source.contentType : undefined),
      meta: keepSource ? { ...source.meta, ...options.meta } : options.meta,
      headers: keepSource ? { ...source.headers, ...options.headers } : options.headers,
      deleteAt: options.deleteAt,
    }).finally(() => {
      if (!Buffer.isBuffer(opened)) opened.destroy();
    });
    return { source, record };
  }

  async list(caller: Caller, account: string, bucketName: string, options: ListOptions): Promise<{ bucket: Bucket; entries: ListEntry<ObjectRecord>[] }> {
    const bucket = await this.buckets.get(caller, account, bucketName, 'bucket:read');
    const now = Date.now();
    const entries = await listEntries(
      (range) => this.meta.scanObjects(bucket.name, range),
      (record) => record.key,
      (record) => !isExpired(record, now),
      options,
    );
    return { bucket, entries };
  }

  /** Deletes objects whose X-Delete-At has passed; returns how many went. */
  async reapExpired(batch = 100): Promise<number> {
    let reaped = 0;
    const now = Date.now();
    for (const record of await this.meta.listExpired(now, batch)) {
      const deleted = await this.meta.deleteObject(record.bucket, record.key, now);
      if (deleted) {
        this.discardBlob(deleted.blobId);
        reaped++;
      }
    }
    return reaped;
  }

  private async openRanges(record: ObjectRecord, ranges: ByteRange[]): Promise<Body[]> {
    const bodies: Body[] = [];
    try {
      for (const range of ranges) bodies.push(await this.openRange(record, range));
      return bodies;
    } catch (err) {
      for (const body of bodies) if (!Buffer.isBuffer(body)) body.destroy();
      throw err;
    }
  }

  private async openRange(record: ObjectRecord, range: ByteRange): Promise<Body> {
    if (record.inline) return this.inlineBytes(record.inline, record.encryption).subarray(range.start, range.end + 1);
    if (record.size === 0) return Buffer.alloc(0);
    if (!record.encryption) return this.blobs.read(record.blobId, range);
    return this.openDecrypted(record.blobId, record.encryption, range);
  }

  private inlineBytes(stored: Buffer, encryption: BlobEncryption | null): Buffer {
    if (!encryption) return stored;
    const decipher = decipherAt(this.keys, encryption, 0);
    return Buffer.concat([decipher.update(stored), decipher.final()]);
  }

  private async openDecrypted(blobId: string, encryption: BlobEncryption, range: ByteRange): Promise<Readable> {
    const alignedStart = alignToBlock(range.start);
    const raw = await this.blobs.read(blobId, { start: alignedStart, end: range.end });
    const decipher = decipherAt(this.keys, encryption, alignedStart);
    let skip = range.start - alignedStart;
    raw.on('error', (err) => decipher.destroy(err));
    decipher.on('close', () => raw.destroy());
    const plain = raw.pipe(decipher);
    if (skip === 0) return plain;
    return plain.map((chunk: Buffer) => {
      if (skip === 0) return chunk;
      const cut = Math.min(skip, chunk.length);
      skip -= cut;
      return chunk.subarray(cut);
    });
  }

  private async readable(caller: Caller, ref: ObjectRef): Promise<ObjectRecord> {
    await this.buckets.forObjects(caller, ref.account, ref.bucket, 'object:read');
    return this.requireLive(ref);
  }

  private async requireLive(ref: ObjectRef): Promise<ObjectRecord> {
    return (await this.live(ref.bucket, ref.key)) ?? fail('NoSuchKey', 'The specified object does not exist');
  }

  private async live(bucket: string, key: string): Promise<ObjectRecord | null> {
    const record = await this.meta.getObject(bucket, key);
    return record && !isExpired(record) ? record : null;
  }

  private discardBlob(blobId: string): void {
    if (blobId === '') return;
    this.blobs.delete(blobId).catch(this.onBackgroundError);
  }
}

function isExpired(record: ObjectRecord, now = Date.now()): boolean {
  return record.deleteAt !== null && record.deleteAt <= now;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

function guessContentType(key: string): string {
  return lookupMimeType(key) || 'application/octet-stream';
}
