/**
 * Checking stored versions against what their rows record, for `onggi admin fsck` and the background scrubber:
 * every version of every bucket in a fixed order (resumable from a cursor), and for each its bytes — present, of
 * the recorded size, hashing to the recorded CRC-32 where one was kept, else the MD5 (a multipart object's parts each
 * to their own; `blobsBy` counts which). Encrypted bytes are
 * checked as plaintext, opened through the cipher seam; blobs sealed in authenticated chunks by their GCM tags alone.
 * Bytes under a customer's key (SSE-C) cannot be opened without it: they are checked for presence and stored size
 * only, and counted apart (`blobsBy.customer`), neither verified nor damaged.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { BlobMissingError, type BlobStore } from '../store/blob/index.ts';
import type { Bound, MetadataStore } from '../store/meta/index.ts';
import type { BlobCipher } from './cipher.ts';
import { isSealedInChunks, sealedSize } from './chunked-gcm.ts';
import { ALL, TABLES, type BlobRef, type BucketRow, type DamageReason, type VersionRow } from './model.ts';
import { keyOfNoncurrent } from './versions.ts';

/** Where a walk over every version is: a bucket (by project and name), a table of it, the last sort key done. */
export interface WalkCursor {
  projectId: string;
  bucket: string;
  table: 'objects' | 'versions';
  after: string;
}

/** A version as the walk meets it: its bucket, key, where its row is, the row. */
export interface WalkedVersion {
  bucket: BucketRow;
  key: string;
  table: 'objects' | 'versions';
  sk: string;
  version: VersionRow;
  /** Where the walk is once this version is done. */
  cursor: WalkCursor;
}

const PAGE = 500;
/** A version no longer where the walk found it (overwritten or deleted meanwhile). */
const GONE = Symbol('gone');

/**
 * Every complete version of every bucket, from just after `from` (null: the beginning): projects by id, buckets
 * by name, current versions by key, then the non-current ones. Rows are read a page at a time as the walk goes.
 */
export async function* walkVersions(store: MetadataStore, from: WalkCursor | null): AsyncGenerator<WalkedVersion> {
  const projects = (lower: Bound | undefined) => store.scan(TABLES.projects, ALL, { prefix: '', lower, limit: PAGE, reverse: false });
  for await (const { sk: projectId } of pagedRows(projects, from && { key: from.projectId, inclusive: true })) {
    const inProject = from?.projectId === projectId ? from : null;
    const buckets = (lower: Bound | undefined) => store.scan(TABLES.buckets, projectId, { prefix: '', lower, limit: PAGE, reverse: false });
    for await (const entry of pagedRows(buckets, inProject && { key: inProject.bucket, inclusive: true })) {
      const bucket = entry.value;
      const resume = inProject?.bucket === bucket.name ? inProject : null;
      for (const table of ['objects', 'versions'] as const) {
        if (resume?.table === 'versions' && table === 'objects') continue;
        const lower = resume?.table === table ? { key: resume.after, inclusive: false } : undefined;
        const rows = (at: Bound | undefined) => store.scan(TABLES[table], bucket.id, { prefix: '', lower: at, limit: PAGE, reverse: false });
        for await (const row of pagedRows(rows, lower)) {
          if (row.value.state !== 'complete') continue;
          const key = table === 'objects' ? row.sk : keyOfNoncurrent(row.sk);
          yield { bucket, key, table, sk: row.sk, version: row.value, cursor: { projectId, bucket: bucket.name, table, after: row.sk } };
        }
      }
    }
  }
}

async function* pagedRows<R extends { sk: string }>(scan: (lower: Bound | undefined) => Promise<R[]>, first: Bound | null | undefined): AsyncGenerator<R> {
  let lower = first ?? undefined;
  for (;;) {
    const rows = await scan(lower);
    yield* rows;
    const last = rows[rows.length - 1];
    if (!last || rows.length < PAGE) return;
    lower = { key: last.sk, inclusive: false };
  }
}

/** What is wrong with a version's bytes: why, in words, and which blob / part when it is about one. */
export interface Problem {
  reason: DamageReason;
  detail: string;
  blobId?: string;
  part?: number;
}

/** What a blob must hold: its recorded plain size, MD5 (null: not recorded) and encryption. */
interface BlobExpectation {
  blob: BlobRef;
  md5: string | null;
}

export class DataChecker {
  /** Bytes read so far (plaintext). */
  bytesRead = 0;
  /**
   * Blobs read so far, by the digest they were checked against (gcm: sealed in authenticated chunks, checked by
   * their tags as they were opened; none: their MD5 is not known, size only).
   */
  readonly blobsBy = { crc32: 0, md5: 0, gcm: 0, none: 0, customer: 0 };
  /** Blobs checked already and what was found (copies share blobs; shared multipart uploads their parts). */
  private readonly seen: Map<string, Problem | null> | null;

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly cipher: BlobCipher,
    { rememberBlobs = false } = {},
  ) {
    this.seen = rememberBlobs ? new Map() : null;
  }

  /** The problems of one version's bytes (none: it reads as recorded). */
  async check({ bucket, version, table, sk }: Pick<WalkedVersion, 'bucket' | 'version' | 'table' | 'sk'>): Promise<Problem[]> {
    const { data } = version;
    switch (data.kind) {
      case 'attached':
      case 'inline': {
        const stored = await this.smallBytes(bucket, version, table, sk);
        if (stored === GONE) return [];
        if (stored === null) return version.size === 0 ? [] : [{ reason: 'missing', detail: 'its bytes are not in the metadata store' }];
        if (data.encryption?.customer !== undefined) return present(this.storedSizeOf(stored.length, version.size));
        const plain = data.encryption ? this.cipher.openBytes(data.encryption, stored) : stored;
        this.bytesRead += plain.length;
        const problem = compare(plain.length, createHash('md5').update(plain).digest('hex'), { size: version.size, md5: version.etag });
        return problem ? [problem] : [];
      }
      case 'blob':
        return present(await this.checkBlob({ blob: data, md5: version.etag }));
      case 'parts':
        return this.checkParts(data.parts.map((blob) => ({ blob, md5: null })), version.size);
      case 'multipart':
        return this.checkMultipart(data.uploadId, version.size);
      case 'static-manifest':
      case 'dynamic-manifest':
      case 'symlink':
        // Bytes of other objects, each checked as itself.
        return [];
    }
  }

  /** A small version's bytes: a legacy inline row, or the attachment of its row (read again with it). */
  private async smallBytes(bucket: BucketRow, version: VersionRow, table: WalkedVersion['table'], sk: string): Promise<Buffer | null | typeof GONE> {
    if (version.data.kind === 'inline') return (await this.store.get(TABLES.inlineData, bucket.id, version.id))?.value ?? null;
    const row = await this.store.getAttached(TABLES[table], bucket.id, sk);
    // Replaced since the walk read it: the new version is another's business (its own walk or round).
    if (row?.value.id !== version.id) return GONE;
    return row.attachment;
  }

  private async checkMultipart(uploadId: string, size: number): Promise<Problem[]> {
    const parts: (BlobExpectation & { number: number })[] = [];
    let lower: Bound | undefined;
    for (;;) {
      const [batch] = await this.store.scan(TABLES.partIndex, uploadId, { prefix: '', lower, limit: 1, reverse: false });
      if (!batch) break;
      for (const part of batch.value.parts) parts.push({ blob: part, md5: part.etag, number: part.number });
      lower = { key: batch.sk, inclusive: false };
    }
    if (parts.length === 0) return [{ reason: 'missing', detail: `the part list of upload ${uploadId} is missing` }];
    return this.checkParts(parts, size);
  }

  private async checkParts(parts: (BlobExpectation & { number?: number })[], size: number): Promise<Problem[]> {
    const problems: Problem[] = [];
    let total = 0;
    for (const [i, part] of parts.entries()) {
      total += part.blob.size;
      const problem = await this.checkBlob(part);
      if (problem) problems.push({ ...problem, part: part.number ?? i + 1 });
    }
    if (total !== size) problems.push({ reason: 'size', detail: `its parts hold ${total} bytes, ${size} recorded` });
    return problems;
  }

  /** One blob read whole: present, of its size, hashing to its MD5. */
  private async checkBlob(expected: BlobExpectation): Promise<Problem | null> {
    const { blobId } = expected.blob;
    const known = this.seen?.get(blobId);
    if (known !== undefined) return known;
    const problem = await this.readBlob(expected);
    this.seen?.set(blobId, problem);
    return problem;
  }

  private async readBlob({ blob, md5 }: BlobExpectation): Promise<Problem | null> {
    const { blobId, size, encryption } = blob;
    if (encryption?.customer !== undefined) return this.readSealedBlob(blobId, size);
    let stream: Readable;
    try {
      // Unencrypted: the whole file, so that bytes past the recorded size show too.
      stream = encryption ? await this.cipher.openRange(encryption, size, { start: 0, end: Math.max(size - 1, 0) }, (range) => this.blobs.read(blobId, range)) : await this.blobs.read(blobId);
    } catch (err) {
      if (err instanceof BlobMissingError) return { reason: 'missing', detail: 'the blob is missing', blobId };
      throw err;
    }
    const digest = digestFor(blob, md5);
    this.blobsBy[digest.name]++;
    let read = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        digest.update(chunk);
        read += chunk.length;
      }
    } catch (err) {
      // A blob that cannot be read through (or, encrypted, does not authenticate) is as damaged as one that differs.
      return { reason: 'hash', detail: `reading it failed: ${(err as Error).message}`, blobId };
    } finally {
      this.bytesRead += read;
      stream.destroy();
    }
    if (read !== size) return { reason: 'size', detail: `${read} bytes stored, ${size} recorded`, blobId };
    const mismatch = digest.mismatch();
    return mismatch === null ? null : { reason: 'hash', detail: mismatch, blobId };
  }

  /** Bytes under a customer's key (SSE-C), which only that key opens: of the size they were sealed to, counted apart. */
  private storedSizeOf(stored: number, plainSize: number, blobId?: string): Problem | null {
    this.blobsBy.customer++;
    const expected = sealedSize(plainSize);
    if (stored === expected) return null;
    return { reason: 'size', detail: `${stored} bytes stored, ${expected} sealed for the ${plainSize} recorded (SSE-C, not decrypted)`, ...(blobId === undefined ? {} : { blobId }) };
  }

  /** An SSE-C blob: present, and of its sealed size (its bytes are counted, not opened). */
  private async readSealedBlob(blobId: string, plainSize: number): Promise<Problem | null> {
    let stored = 0;
    try {
      for await (const chunk of (await this.blobs.read(blobId)) as AsyncIterable<Buffer>) stored += chunk.length;
    } catch (err) {
      if (err instanceof BlobMissingError) return { reason: 'missing', detail: 'the blob is missing', blobId };
      throw err;
    }
    return this.storedSizeOf(stored, plainSize, blobId);
  }
}

/**
 * What a blob is checked against: its GCM tags when sealed in authenticated chunks, its CRC-32 when one was kept
 * (as fast as reading), its MD5, or nothing.
 */
interface BlobDigest {
  name: 'crc32' | 'md5' | 'gcm' | 'none';
  update(chunk: Buffer): void;
  /** How the bytes read differ from what was recorded; null: they match. */
  mismatch(): string | null;
}

function digestFor(blob: BlobRef, md5: string | null): BlobDigest {
  // Opening it through the cipher checked every chunk's tag and its end: nothing more to hash.
  if (isSealedInChunks(blob.encryption)) return { name: 'gcm', update: () => undefined, mismatch: () => null };
  const recordedCrc = blob.crc32;
  if (recordedCrc !== undefined) {
    let crc = 0;
    return {
      name: 'crc32',
      update: (chunk) => (crc = crc32(chunk, crc)),
      mismatch: () => (crc === recordedCrc ? null : `CRC-32 ${hex32(crc)}, ${hex32(recordedCrc)} recorded`),
    };
  }
  if (md5 === null) return { name: 'none', update: () => undefined, mismatch: () => null };
  const hash = createHash('md5');
  let found: string | null = null;
  return {
    name: 'md5',
    update: (chunk) => hash.update(chunk),
    mismatch: () => {
      found ??= hash.digest('hex');
      return found === md5 ? null : `MD5 ${found}, ${md5} recorded`;
    },
  };
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function compare(size: number, md5: string, expected: { size: number; md5: string | null }): Problem | null {
  if (size !== expected.size) return { reason: 'size', detail: `${size} bytes stored, ${expected.size} recorded` };
  if (expected.md5 !== null && md5 !== expected.md5) return { reason: 'hash', detail: `MD5 ${md5}, ${expected.md5} recorded` };
  return null;
}

function present(problem: Problem | null): Problem[] {
  return problem ? [problem] : [];
}
