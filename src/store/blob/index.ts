/** The blob store: streams in, ranged streams out, atomic publish, delete. */
import type { Readable } from 'node:stream';

export interface BlobWriteResult {
  blobId: string;
  size: number;
}

export interface BlobStore {
  /**
   * Drains `source` into a new blob, durably (fsynced, atomically published) before resolving.
   * The blob is not referenced by anything yet; the caller commits metadata next, or calls `delete`.
   */
  write(source: AsyncIterable<Uint8Array>): Promise<BlobWriteResult>;
  /** A stream of bytes [start, end] inclusive; throws NotFound (`BlobMissing`) when the blob is gone. */
  read(blobId: string, range?: { start: number; end: number }): Promise<Readable>;
  delete(blobId: string): Promise<void>;
  /** Removes temp leftovers of interrupted writes, and published blobs nothing references. */
  sweep(isReferenced: (blobId: string) => Promise<boolean>, olderThan: number): Promise<{ temps: number; orphans: number }>;
}

export class BlobMissingError extends Error {
  constructor(blobId: string) {
    super(`blob ${blobId} is missing`);
    this.name = 'BlobMissingError';
  }
}
