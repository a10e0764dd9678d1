/** The blob store: streams in, ranged streams out, atomic publish, delete. */
import type { Readable, Writable } from 'node:stream';

export interface BlobWriteResult {
  blobId: string;
  size: number;
}

export interface BlobWriteOptions {
  /**
   * Hears chunks of the source the store is done with (written out, no view of them kept), so that their buffers
   * may be filled again; a store may never call it (the chunks are then the garbage collector's).
   */
  written?: (chunks: Uint8Array[]) => void;
}

export interface BlobStore {
  /**
   * Drains `source` into a new blob, durably (fsynced, atomically published) before resolving.
   * The blob is not referenced by anything yet; the caller commits metadata next, or calls `delete`.
   */
  write(source: AsyncIterable<Uint8Array>, options?: BlobWriteOptions): Promise<BlobWriteResult>;
  /** A stream of bytes [start, end] inclusive; throws NotFound (`BlobMissing`) when the blob is gone. */
  read(blobId: string, range?: { start: number; end: number }): Promise<BlobStream>;
  delete(blobId: string): Promise<void>;
  /** Every published blob (not the temp files of writes under way), in no particular order: for fsck. */
  list(): AsyncIterable<BlobInfo>;
  /** Removes temp leftovers of interrupted writes, and published blobs nothing references. */
  /** Resolves when the store is reachable (readiness checks). */
  ping(): Promise<void>;
  sweep(isReferenced: (blobId: string) => Promise<boolean>, olderThan: number): Promise<{ temps: number; orphans: number }>;
}

export interface BlobInfo {
  blobId: string;
  /** Bytes stored (encrypted blobs: their stored size). */
  size: number;
  /** Last modification, ms since the epoch. */
  modifiedAt: number;
}

export class BlobMissingError extends Error {
  constructor(blobId: string) {
    super(`blob ${blobId} is missing`);
    this.name = 'BlobMissingError';
  }
}

/**
 * A blob being read. Read it as a stream, or, when it goes straight to a socket, `pumpTo` it instead:
 * that reuses a few buffers, each written out before it is read into again. Either way it is read once.
 */
export interface BlobStream extends Readable {
  /**
   * Writes the rest of the blob into `sink` (without ending it) and closes the blob. `inspect` sees each chunk
   * before it is written (its buffer is reused after the write): when it returns a promise the chunk waits for it,
   * and a rejection ends the pump with that error, the chunk unwritten.
   */
  pumpTo(sink: Writable, inspect?: (chunk: Buffer) => Promise<void> | undefined): Promise<void>;
}

export function isBlobStream(stream: Readable): stream is BlobStream {
  return typeof (stream as Partial<BlobStream>).pumpTo === 'function';
}
