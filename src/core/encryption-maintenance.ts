/**
 * `onggi admin encryption migrate`: rewrites the blobs of encrypted buckets still sealed the way versions before
 * 2026-12-07 sealed them (AES-256-CTR, unauthenticated) into authenticated chunks. One blob at a time: the new
 * blob is written (and fsynced by the blob store), then the row pointing at the old one is switched to it in one
 * transaction — only if it did not change meanwhile — and the old blob is let go through the usual release path
 * (its last reference gone, the collector removes it). A crash at any point leaves either the old blob in use
 * (the new one an orphan the sweep removes) or the new one; a second run takes up whatever is left.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../store/blob/index.ts';
import type { Entry, MetadataStore, Table, Tx } from '../store/meta/index.ts';
import { GcmCipher, type BlobCipher } from './cipher.ts';
import { GCM_SCHEME } from './chunked-gcm.ts';
import type { KeyWrapper } from './key-wrapping.ts';
import { ALL, TABLES, type BlobEncryption, type BlobRef, type BucketRow, type PartBatchRow, type PartRow, type VersionRow } from './model.ts';
import { releaseBlob } from './uploads.ts';
import { unreference } from './versions.ts';

export interface MigrationReport {
  /** Version rows switched to authenticated encryption. */
  versions: number;
  /** Parts of multipart uploads switched. */
  parts: number;
  /** Blobs written in the new scheme. */
  blobs: number;
  /** Rows that changed while they were being rewritten (a later run takes them). */
  skipped: number;
  /** Blobs whose plain bytes do not match their MD5 any more: left as they are, for the operator. */
  damaged: string[];
}

const BATCH = 200;

/** True for a blob sealed with CTR (no `scheme`). */
export function isLegacy(encryption: BlobEncryption | null | undefined): encryption is BlobEncryption {
  return !!encryption && encryption.scheme !== GCM_SCHEME;
}

/** Every bucket of every project. */
export async function* allBuckets(store: MetadataStore): AsyncGenerator<BucketRow> {
  for await (const project of scanAll(store, TABLES.projects, ALL)) {
    for await (const bucket of scanAll(store, TABLES.buckets, project.sk)) yield bucket.value;
  }
}

/** Every row of one partition, a batch at a time. */
export async function* scanAll<V>(store: MetadataStore, table: Table<V>, pk: string): AsyncGenerator<Entry<V>> {
  let lower: { key: string; inclusive: boolean } | undefined;
  for (;;) {
    const rows = await store.scan(table, pk, { prefix: '', lower, limit: BATCH, reverse: false });
    yield* rows;
    if (rows.length < BATCH) return;
    lower = { key: rows[rows.length - 1]?.sk ?? '', inclusive: false };
  }
}

class Changed extends Error {}

export class EncryptionMigration {
  private readonly sealer: GcmCipher;
  /** Old blob → its rewrite in this run: versions sharing a blob (copies) go on sharing one. */
  private readonly rewritten = new Map<string, BlobRef>();
  /** Rewritten blobs some row points at already. */
  private readonly inUse = new Set<string>();
  private readonly report: MigrationReport = { versions: 0, parts: 0, blobs: 0, skipped: 0, damaged: [] };

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    keys: KeyWrapper,
    private readonly opener: BlobCipher,
  ) {
    this.sealer = new GcmCipher(keys);
  }

  async run(): Promise<MigrationReport> {
    const uploads = new Set<string>();
    for await (const bucket of allBuckets(this.store)) {
      for (const table of [TABLES.objects, TABLES.versions]) {
        for await (const entry of scanAll(this.store, table, bucket.id)) {
          if (entry.value.data.kind === 'multipart') uploads.add(entry.value.data.uploadId);
          else await this.migrateVersion(table, bucket.id, entry.sk, entry.value);
        }
      }
      for await (const upload of scanAll(this.store, TABLES.uploads, bucket.id)) uploads.add(upload.value.id);
    }
    for (const uploadId of uploads) await this.migrateUpload(uploadId);
    return this.report;
  }

  private async migrateVersion(table: Table<VersionRow>, bucketId: string, sk: string, seen: VersionRow): Promise<void> {
    const { data } = seen;
    switch (data.kind) {
      case 'attached':
      case 'inline':
        if (isLegacy(data.encryption)) await this.migrateSmall(table, bucketId, sk);
        return;
      case 'blob':
      case 'parts': {
        const refs = data.kind === 'blob' ? [data] : data.parts;
        if (!refs.some((ref) => isLegacy(ref.encryption))) return;
        const etag = data.kind === 'blob' ? seen.etag : null;
        const replaced = new Map<string, BlobRef>();
        for (const ref of refs) {
          if (!isLegacy(ref.encryption)) continue;
          const fresh = await this.rewrite(ref, etag);
          if (!fresh) return;
          replaced.set(ref.blobId, fresh);
        }
        await this.switchVersion(table, bucketId, sk, seen, replaced);
        return;
      }
      default:
        return;
    }
  }

  /** A small body in the metadata store: opened and sealed again in memory, in the row's own transaction. */
  private async migrateSmall(table: Table<VersionRow>, bucketId: string, sk: string): Promise<void> {
    await this.store.transact(async (tx) => {
      const row = await tx.getAttached(table, bucketId, sk);
      if (!row || (row.value.data.kind !== 'attached' && row.value.data.kind !== 'inline') || !isLegacy(row.value.data.encryption)) return;
      const { data } = row.value;
      const inline = data.kind === 'inline' ? await tx.get(TABLES.inlineData, bucketId, row.value.id) : null;
      const stored = data.kind === 'inline' ? inline?.value : row.attachment;
      if (!stored) return;
      const sealed = sealBytes(this.sealer, this.opener.openBytes(data.encryption as BlobEncryption, stored));
      const value: VersionRow = { ...row.value, data: { kind: data.kind, encryption: sealed.encryption } };
      if (data.kind === 'inline') {
        tx.put(TABLES.inlineData, bucketId, row.value.id, sealed.stored);
        tx.put(table, bucketId, sk, value, { ifVersion: row.version });
      } else {
        tx.putAttached(table, bucketId, sk, value, sealed.stored, { ifVersion: row.version });
      }
    });
    this.report.versions++;
  }

  private async switchVersion(table: Table<VersionRow>, bucketId: string, sk: string, seen: VersionRow, replaced: Map<string, BlobRef>): Promise<void> {
    try {
      await this.store.transact(async (tx) => {
        const row = await tx.getAttached(table, bucketId, sk);
        if (!row || JSON.stringify(row.value.data) !== JSON.stringify(seen.data)) throw new Changed();
        const swap = (ref: BlobRef): BlobRef => replaced.get(ref.blobId) ?? ref;
        const { data } = row.value;
        const next: VersionRow = { ...row.value, data: data.kind === 'blob' ? { kind: 'blob', ...swap(data) } : data.kind === 'parts' ? { kind: 'parts', parts: data.parts.map(swap) } : data };
        if (row.attachment) tx.putAttached(table, bucketId, sk, next, row.attachment, { ifVersion: row.version });
        else tx.put(table, bucketId, sk, next, { ifVersion: row.version });
        for (const [old, fresh] of replaced) {
          await this.reference(tx, fresh.blobId);
          await unreference(tx, old);
        }
      });
      for (const fresh of replaced.values()) this.inUse.add(fresh.blobId);
      this.report.versions++;
    } catch (err) {
      await this.forget(replaced);
      if (!(err instanceof Changed)) throw err;
      this.report.skipped++;
    }
  }

  /** Rewrites that no row took: removed again (a copy of the same blob met later is rewritten anew). */
  private async forget(replaced: Map<string, BlobRef>): Promise<void> {
    for (const [old, fresh] of replaced) {
      if (this.inUse.has(fresh.blobId)) continue;
      this.rewritten.delete(old);
      await this.blobs.delete(fresh.blobId);
    }
  }

  /** One more reference on a rewritten blob: the first one makes its row. */
  private async reference(tx: Tx, blobId: string): Promise<void> {
    const refs = await tx.get(TABLES.blobRefs, ALL, blobId);
    tx.put(TABLES.blobRefs, ALL, blobId, { count: (refs?.value.count ?? 0) + 1 });
  }

  /** The parts of an upload, open or completed: each part's row and its entry in the part index switch together. */
  private async migrateUpload(uploadId: string): Promise<void> {
    for await (const part of scanAll(this.store, TABLES.parts, uploadId)) {
      if (!isLegacy(part.value.encryption)) continue;
      const fresh = await this.rewrite(part.value, part.value.etag);
      if (!fresh) continue;
      try {
        await this.store.transact(async (tx) => {
          const row = await tx.get(TABLES.parts, uploadId, part.sk);
          if (!row || row.value.blobId !== part.value.blobId) throw new Changed();
          const next: PartRow = { ...row.value, blobId: fresh.blobId, encryption: fresh.encryption };
          tx.put(TABLES.parts, uploadId, part.sk, next, { ifVersion: row.version });
          for (const batch of await tx.scan(TABLES.partIndex, uploadId, { prefix: '', limit: 100, reverse: false })) {
            if (!batch.value.parts.some((listed) => listed.blobId === part.value.blobId)) continue;
            const parts: PartBatchRow['parts'] = batch.value.parts.map((listed) => (listed.blobId === part.value.blobId ? { ...listed, blobId: fresh.blobId, encryption: fresh.encryption } : listed));
            tx.put(TABLES.partIndex, uploadId, batch.sk, { parts }, { ifVersion: batch.version });
          }
          tx.put(TABLES.blobRefs, ALL, fresh.blobId, { count: 1 }, { ifVersion: null });
          releaseBlob(tx, part.value.blobId);
        });
        this.report.parts++;
      } catch (err) {
        await this.blobs.delete(fresh.blobId);
        if (!(err instanceof Changed)) throw err;
        this.report.skipped++;
      }
    }
  }

  /**
   * The blob's plain bytes sealed into a new blob, durably; checked against `etag` (its MD5) on the way when there
   * is one, so that a damaged CTR blob is reported (and left as it is) rather than sealed as if it were sound: null.
   */
  private async rewrite(ref: BlobRef, etag: string | null): Promise<BlobRef | null> {
    const done = this.rewritten.get(ref.blobId);
    if (done) return done;
    const plain: Readable | null = ref.size === 0 ? null : await this.opener.openRange(ref.encryption as BlobEncryption, ref.size, { start: 0, end: ref.size - 1 }, (stored) => this.blobs.read(ref.blobId, stored));
    const sealer = this.sealer.seal();
    const md5 = createHash('md5');
    const sealed = async function* (): AsyncGenerator<Uint8Array> {
      if (plain) {
        for await (const chunk of plain as AsyncIterable<Buffer>) {
          md5.update(chunk);
          yield sealer.update(chunk);
        }
      }
      yield sealer.final();
    };
    const { blobId } = await this.blobs.write(sealed());
    if (etag !== null && /^[0-9a-f]{32}$/.test(etag) && md5.digest('hex') !== etag) {
      await this.blobs.delete(blobId);
      this.report.damaged.push(ref.blobId);
      return null;
    }
    const fresh = { blobId, size: ref.size, encryption: sealer.encryption };
    this.rewritten.set(ref.blobId, fresh);
    this.report.blobs++;
    return fresh;
  }
}

function sealBytes(cipher: BlobCipher, plain: Buffer): { encryption: BlobEncryption; stored: Buffer } {
  const sealer = cipher.seal();
  const stored = Buffer.concat([sealer.update(plain), sealer.final()]);
  return { encryption: sealer.encryption, stored };
}
