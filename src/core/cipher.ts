/**
 * How blobs are encrypted at rest, behind one seam: what writes a blob seals its bytes through it, what reads
 * one opens them, by range. Today's scheme is AES-256-CTR with a data key per blob, wrapped under the server's
 * master key (blob-crypto.ts); the encryption issue puts authenticated encryption behind the same interface.
 */
import type { Decipher } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { alignToBlock, decipherAt, newBlobEncryption } from './blob-crypto.ts';
import type { ByteRange } from './conditions.ts';
import type { BlobEncryption } from './model.ts';
import type { ServerKeys } from './server-keys.ts';

/** A blob being encrypted: how its version row describes it, and its bytes, chunk by chunk, then the end. */
export interface Sealer {
  encryption: BlobEncryption;
  update(chunk: Uint8Array): Buffer;
  final(): Buffer;
}

export interface BlobCipher {
  /** Starts encrypting a new blob. */
  seal(): Sealer;
  /** The plain bytes of a small blob held in memory. */
  openBytes(encryption: BlobEncryption, stored: Buffer): Buffer;
  /** The plain bytes of `range` of a stored blob, reading the stored bytes it needs through `readStored`. */
  openRange(encryption: BlobEncryption, range: ByteRange, readStored: (stored: ByteRange) => Promise<Readable>): Promise<Readable>;
}

/** AES-256-CTR: length-preserving, so a range of plain bytes is the same range of the blob. */
export class CtrCipher implements BlobCipher {
  constructor(private readonly keys: ServerKeys) {}

  seal(): Sealer {
    const { encryption, cipher } = newBlobEncryption(this.keys);
    return { encryption, update: (chunk) => cipher.update(chunk), final: () => cipher.final() };
  }

  openBytes(encryption: BlobEncryption, stored: Buffer): Buffer {
    const decipher = decipherAt(this.keys, encryption, 0);
    return Buffer.concat([decipher.update(stored), decipher.final()]);
  }

  async openRange(encryption: BlobEncryption, range: ByteRange, readStored: (stored: ByteRange) => Promise<Readable>): Promise<Readable> {
    const alignedStart = alignToBlock(range.start);
    const raw = await readStored({ start: alignedStart, end: range.end });
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
