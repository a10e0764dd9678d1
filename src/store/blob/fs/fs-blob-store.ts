/** Local-disk blobs: temp file, fsync, rename, fsync dir (Garage's pattern). Paths come from ids, never from keys. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BlobMissingError, type BlobStore, type BlobWriteResult } from '../index.ts';

const READ_CHUNK = 1024 * 1024;
const WRITE_BATCH = 512 * 1024;
const EARLY_FLUSH = 32 * 1024 * 1024;
const WRITES_IN_FLIGHT = 2;
const SHARDS = 256;
const BLOB_ID = /^[0-9a-f]{32}$/;

export class FsBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly tempDir: string;

  private constructor(root: string) {
    this.blobDir = join(root, 'blobs');
    this.tempDir = join(root, 'tmp');
  }

  static async open(root: string): Promise<FsBlobStore> {
    const store = new FsBlobStore(root);
    await mkdir(store.tempDir, { recursive: true });
    const shards = Array.from({ length: SHARDS }, (_, i) => mkdir(store.shardDir(i), { recursive: true }));
    await Promise.all(shards);
    await fsyncDir(root);
    await fsyncDir(store.blobDir);
    return store;
  }

  async write(source: AsyncIterable<Uint8Array>): Promise<BlobWriteResult> {
    const blobId = randomBytes(16).toString('hex');
    const tempPath = join(this.tempDir, `${blobId}.tmp`);
    const handle = await open(tempPath, 'wx', 0o600);
    let size = 0;
    try {
      // Gather chunks into ~1 MiB positional writev calls, a few in flight while the next batches arrive.
      const inflight = new Set<Promise<void>>();
      let position = 0;
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      // Big blobs start flushing while they are still arriving, so the final fsync has little left to do.
      let flushing: Promise<void> | null = null;
      let unflushed = 0;
      for await (const chunk of source) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        size += chunk.length;
        if (pendingBytes >= WRITE_BATCH) {
          if (inflight.size >= WRITES_IN_FLIGHT) await Promise.race(inflight);
          const write = writeAll(handle, pending, position).finally(() => inflight.delete(write));
          write.catch(() => undefined);
          inflight.add(write);
          position += pendingBytes;
          unflushed += pendingBytes;
          pending = [];
          pendingBytes = 0;
          if (unflushed >= EARLY_FLUSH && flushing === null) {
            unflushed = 0;
            flushing = handle.datasync().finally(() => (flushing = null));
            flushing.catch(() => undefined);
          }
        }
      }
      await Promise.all(inflight);
      await writeAll(handle, pending, position);
      await flushing;
      await handle.sync();
      await handle.close();
      const finalPath = this.pathOf(blobId);
      await rename(tempPath, finalPath);
      await fsyncDir(this.shardDirOf(blobId));
      return { blobId, size };
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(tempPath).catch(() => undefined);
      throw err;
    }
  }

  async read(blobId: string, range?: { start: number; end: number }): Promise<Readable> {
    const path = this.pathOf(blobId);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if (isNotFound(err)) throw new BlobMissingError(blobId);
      throw err;
    }
    return handle.createReadStream({ highWaterMark: READ_CHUNK, ...range });
  }

  async delete(blobId: string): Promise<void> {
    await unlink(this.pathOf(blobId)).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  async sweep(isReferenced: (blobId: string) => Promise<boolean>, olderThan: number): Promise<{ temps: number; orphans: number }> {
    let temps = 0;
    for (const name of await readdir(this.tempDir)) {
      const path = join(this.tempDir, name);
      const info = await stat(path).catch(() => null);
      if (info && info.mtimeMs < olderThan) {
        await unlink(path).catch(() => undefined);
        temps++;
      }
    }
    let orphans = 0;
    for (let shard = 0; shard < SHARDS; shard++) {
      const dir = this.shardDir(shard);
      for (const blobId of await readdir(dir)) {
        // Only names this store could have written; a stray file must not abort the whole sweep.
        if (!BLOB_ID.test(blobId) || !blobId.startsWith(dir.slice(-2))) continue;
        const info = await stat(join(dir, blobId)).catch(() => null);
        if (!info || info.mtimeMs >= olderThan) continue;
        if (!(await isReferenced(blobId))) {
          await this.delete(blobId);
          orphans++;
        }
      }
    }
    return { temps, orphans };
  }

  private shardDir(index: number): string {
    return join(this.blobDir, index.toString(16).padStart(2, '0'));
  }

  private shardDirOf(blobId: string): string {
    return join(this.blobDir, blobId.slice(0, 2));
  }

  private pathOf(blobId: string): string {
    if (!BLOB_ID.test(blobId)) throw new Error(`invalid blob id ${blobId}`);
    return join(this.shardDirOf(blobId), blobId);
  }
}

async function writeAll(handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let remaining = buffers;
  let at = position;
  while (remaining.length > 0) {
    let written = (await handle.writev(remaining, at)).bytesWritten;
    at += written;
    const rest: Uint8Array[] = [];
    for (const buffer of remaining) {
      if (written >= buffer.length) written -= buffer.length;
      else {
        rest.push(buffer.subarray(written));
        written = 0;
      }
    }
    remaining = rest;
  }
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}
