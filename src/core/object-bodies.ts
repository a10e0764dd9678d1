/**
 * A stored version's bytes on their way out: opened by byte range, from the version row's attachment, a legacy
 * inline row, one blob or a multipart object's blobs, decrypted on the way; and written into a response.
 */
import type { Decipher } from 'node:crypto';
import { PassThrough, Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../store/blob/index.ts';
import { BlobMissingError, isBlobStream } from '../store/blob/index.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import { alignToBlock, decipherAt } from './blob-crypto.ts';
import type { ByteRange } from './conditions.ts';
import { TABLES, type BlobEncryption, type BlobRef, type BucketRow, type VersionRow } from './model.ts';
import type { ServerKeys } from './server-keys.ts';

export type Body = Buffer | Readable;

/** A version read for its bytes: where it lives, and the row itself. */
export interface Located {
  bucket: BucketRow;
  key: string;
  version: VersionRow;
  /** An `attached` version's bytes, when it was read for them (null otherwise). */
  attachment: Buffer | null;
}

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

export class BodyReader {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly keys: ServerKeys,
  ) {}

  /** One body per range, each opened before this returns; on a failure the ones opened are closed. */
  async openRanges(located: Located, ranges: ByteRange[]): Promise<Body[]> {
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
