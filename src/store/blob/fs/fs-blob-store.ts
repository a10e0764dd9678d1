/** Local-disk blobs: temp file, fsync, rename, fsync dir (Garage's pattern). Paths come from ids, never from keys. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { BufferPool } from '../../../lib/buffer-pool.ts';
import { passedThrough } from '../../../lib/young-garbage.ts';
import { BlobMissingError, type BlobInfo, type BlobStore, type BlobStream, type BlobWriteOptions, type BlobWriteResult } from '../index.ts';

const READ_CHUNK = 256 * 1024;
/** Enough for a handful of concurrent large downloads; more than that allocate (and the GC takes them back). */
const readBuffers = new BufferPool(READ_CHUNK, 16);
const WRITE_BATCH = 512 * 1024;
/** A large upload holds three (one filling, two being written). */
const writeBuffers = new BufferPool(WRITE_BATCH, 8);
const EARLY_FLUSH = 32 * 1024 * 1024;
const WRITES_IN_FLIGHT = 2;
const SHARDS = 256;
const BLOB_ID = /^[0-9a-f]{32}$/;

export interface BlobDirs {
  blobDir: string;
  tempDir: string;
}

export class FsBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly tempDir: string;
  /** Readers of one blob share one descriptor (blobs never change once published; reads are positional). */
  private readonly openBlobs = new SharedHandles();

  private constructor(dirs: BlobDirs) {
    this.blobDir = dirs.blobDir;
    this.tempDir = dirs.tempDir;
  }

  /** Blobs in `blobDir` (256 shard folders), uploads in progress in `tempDir` (same file system, for rename). */
  static async open(dirs: BlobDirs): Promise<FsBlobStore> {
    const store = new FsBlobStore(dirs);
    await mkdir(store.tempDir, { recursive: true, mode: 0o700 });
    const shards = Array.from({ length: SHARDS }, (_, i) => mkdir(store.shardDir(i), { recursive: true, mode: 0o700 }));
    await Promise.all(shards);
    await fsyncDir(dirname(store.blobDir));
    await fsyncDir(store.blobDir);
    return store;
  }

  async ping(): Promise<void> {
    const dir = await stat(this.blobDir);
    if (!dir.isDirectory()) throw new Error(`${this.blobDir} is not a directory`);
  }

  async write(source: AsyncIterable<Uint8Array>, { written }: BlobWriteOptions = {}): Promise<BlobWriteResult> {
    const blobId = randomBytes(16).toString('hex');
    const tempPath = join(this.tempDir, `${blobId}.tmp`);
    const handle = await open(tempPath, 'wx', 0o600);
    let size = 0;
    try {
      // Chunks are copied into pooled batches written a few at a time while the next ones fill: a chunk (a fresh
      // buffer per socket read) is dead as soon as it is copied, so the next scavenge frees it (young-garbage.ts).
      const inflight = new Set<Promise<void>>();
      let position = 0;
      let batch = writeBuffers.take();
      let filled = 0;
      // Big blobs start flushing while they are still arriving, so the final fsync has little left to do.
      let flushing: Promise<void> | null = null;
      let unflushed = 0;
      for await (const chunk of source) {
        size += chunk.length;
        passedThrough(chunk.length);
        for (let copied = 0; copied < chunk.length; ) {
          const n = Math.min(chunk.length - copied, batch.length - filled);
          batch.set(copied === 0 && n === chunk.length ? chunk : chunk.subarray(copied, copied + n), filled);
          filled += n;
          copied += n;
          if (filled < batch.length) continue;
          if (inflight.size >= WRITES_IN_FLIGHT) await Promise.race(inflight);
          const full = batch;
          const write = writeAll(handle, full, position)
            .then(() => writeBuffers.give(full))
            .finally(() => inflight.delete(write));
          write.catch(() => undefined);
          inflight.add(write);
          position += filled;
          unflushed += filled;
          batch = writeBuffers.take();
          filled = 0;
          if (unflushed >= EARLY_FLUSH && flushing === null) {
            unflushed = 0;
            flushing = handle.datasync().finally(() => (flushing = null));
            flushing.catch(() => undefined);
          }
        }
        // Copied: the source may fill this chunk's buffer again.
        written?.([chunk]);
      }
      await Promise.all(inflight);
      await writeAll(handle, batch.subarray(0, filled), position);
      writeBuffers.give(batch);
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

  async read(blobId: string, range?: { start: number; end: number }): Promise<BlobStream> {
    let lease: HandleLease;
    try {
      lease = await this.openBlobs.acquire(this.pathOf(blobId));
    } catch (err) {
      if (isNotFound(err)) throw new BlobMissingError(blobId);
      throw err;
    }
    return new FileRangeStream(lease, range?.start ?? 0, Math.min(range?.end ?? Infinity, lease.size - 1));
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

  async *list(): AsyncGenerator<BlobInfo> {
    for (let shard = 0; shard < SHARDS; shard++) {
      const dir = this.shardDir(shard);
      for (const blobId of await readdir(dir)) {
        if (!BLOB_ID.test(blobId) || !blobId.startsWith(dir.slice(-2))) continue;
        const info = await stat(join(dir, blobId)).catch(() => null);
        if (info?.isFile()) yield { blobId, size: info.size, modifiedAt: info.mtimeMs };
      }
    }
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

interface HandleLease {
  handle: FileHandle;
  size: number;
  release(): Promise<void>;
}

interface SharedHandle {
  opened: Promise<{ handle: FileHandle; size: number }>;
  users: number;
}

/** One open descriptor per path, however many readers; closed when the last of them lets go. */
class SharedHandles {
  private readonly byPath = new Map<string, SharedHandle>();

  async acquire(path: string): Promise<HandleLease> {
    let shared = this.byPath.get(path);
    if (!shared) {
      shared = { opened: openWithSize(path), users: 0 };
      this.byPath.set(path, shared);
    }
    shared.users++;
    const entry = shared;
    let opened: { handle: FileHandle; size: number };
    try {
      opened = await entry.opened;
    } catch (err) {
      this.letGo(path, entry);
      throw err;
    }
    let released = false;
    return {
      ...opened,
      release: async () => {
        if (released) return;
        released = true;
        if (this.letGo(path, entry)) await opened.handle.close();
      },
    };
  }

  /** True when `entry` had no other user left (the caller closes it). */
  private letGo(path: string, entry: SharedHandle): boolean {
    entry.users--;
    if (entry.users > 0) return false;
    if (this.byPath.get(path) === entry) this.byPath.delete(path);
    return true;
  }
}

async function openWithSize(path: string): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(path, 'r');
  try {
    return { handle, size: (await handle.stat()).size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Bytes [position, end] of an open file; lets go of it when done, failed or destroyed. */
class FileRangeStream extends Readable implements BlobStream {
  private readonly handle: FileHandle;

  constructor(
    private readonly lease: HandleLease,
    private position: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.handle = lease.handle;
  }

  override _read(): void {
    const length = Math.min(READ_CHUNK, this.end - this.position + 1);
    if (length <= 0) {
      this.push(null);
      return;
    }
    this.readInto(Buffer.allocUnsafeSlow(length), length).then(
      (chunk) => this.push(chunk),
      (err: unknown) => this.destroy(err as Error),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.lease.release().then(() => callback(err), callback);
  }

  async pumpTo(sink: Writable, inspect?: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
    // Two buffers: the next one fills while the last is being written; a buffer is reused only after its write completed.
    let [current, next] = [readBuffers.take(), readBuffers.take()];
    let writing: Promise<void> = Promise.resolve();
    try {
      let reading = this.readNext(current);
      while (reading) {
        const chunk = await reading;
        const inspecting = inspect?.(chunk);
        if (inspecting) await inspecting;
        await writing;
        writing = writeChunk(sink, chunk);
        // Awaited below; until then, a failed write must not count as an unhandled rejection.
        writing.catch(() => undefined);
        reading = this.readNext(next);
        [current, next] = [next, current];
      }
      await writing;
      readBuffers.give(current);
      readBuffers.give(next);
    } finally {
      this.destroy();
    }
  }

  private readNext(buffer: Buffer): Promise<Buffer> | null {
    const length = Math.min(buffer.length, this.end - this.position + 1);
    return length > 0 ? this.readInto(buffer, length) : null;
  }

  private async readInto(buffer: Buffer, length: number): Promise<Buffer> {
    const { bytesRead } = await this.handle.read(buffer, 0, length, this.position);
    if (bytesRead === 0) throw new Error('blob ended before its recorded size');
    this.position += bytesRead;
    return buffer.subarray(0, bytesRead);
  }
}

/** Resolves once `chunk` has been handed to the kernel, so that its buffer may be reused. */
function writeChunk(sink: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = (): void => {
      reject(new Error('the response closed before the body was written'));
    };
    sink.once('close', closed);
    sink.write(chunk, (err) => {
      sink.off('close', closed);
      if (err) reject(err);
      else resolve();
    });
  });
}

async function writeAll(handle: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  for (let written = 0; written < buffer.length; ) {
    written += (await handle.write(buffer, written, buffer.length - written, position + written)).bytesWritten;
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
