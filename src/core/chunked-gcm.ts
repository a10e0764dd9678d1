/**
 * Authenticated encryption of a blob: AES-256-GCM over 64 KiB chunks of plain bytes, each stored as its
 * ciphertext and its 16-byte tag, under a data key of the blob's own. The nonce is the chunk's index (a data key
 * seals one blob, so no nonce repeats under a key); the associated data binds the chunk's index, the blob's
 * identity (random, in its version row) and whether the chunk is the last: chunks cannot be reordered, moved
 * between blobs, or dropped from the end unnoticed. The last chunk is always short (empty when the plain size is
 * a multiple of 64 KiB), so a sealer knows a full chunk is not the last without waiting for more.
 */
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import type { ByteRange } from './conditions.ts';

export const GCM_SCHEME = 'aes-256-gcm-64k';
export const CHUNK = 64 * 1024;
const TAG = 16;
const RECORD = CHUNK + TAG;
const LABEL = Buffer.from('onggi blob chunk 1');
const NO_BYTES = Buffer.alloc(0);

/** The chunks of a blob of `plainSize` bytes: every full one, then the short last one. */
export function chunkCount(plainSize: number): number {
  return Math.floor(plainSize / CHUNK) + 1;
}

/** The stored size of a blob of `plainSize` plain bytes. */
export function sealedSize(plainSize: number): number {
  return plainSize + TAG * chunkCount(plainSize);
}

/**
 * Whether a blob is sealed in authenticated chunks: its GCM tags check every byte of a read (and its end), so a whole
 * read needs no CRC-32 or MD5 of its own (none is taken when such a blob is written).
 */
export function isSealedInChunks(encryption: { scheme?: string } | null | undefined): boolean {
  return encryption?.scheme === GCM_SCHEME;
}

export function newIdentity(): Buffer {
  return randomBytes(16);
}

/** What seals and opens a blob's chunks: its data key and identity (also what a worker thread is given to do it). */
export interface ChunkSecret {
  key: KeyObject;
  identity: Buffer;
}

/** A blob's key and identity: what seals and opens its chunks. */
export class ChunkKey {
  /** The nonce and associated data, rewritten for each chunk (both are copied by the cipher as it takes them). */
  private readonly nonce = Buffer.alloc(12);
  private readonly associated: Buffer;
  private readonly indexAt: number;

  constructor(
    private readonly key: KeyObject,
    identity: Buffer,
  ) {
    this.associated = Buffer.alloc(LABEL.length + identity.length + 9);
    LABEL.copy(this.associated, 0);
    identity.copy(this.associated, LABEL.length);
    this.indexAt = LABEL.length + identity.length;
  }

  seal(index: number, last: boolean, plain: Uint8Array, out: Buffer[]): void {
    const cipher = createCipheriv('aes-256-gcm', this.key, this.nonceOf(index));
    cipher.setAAD(this.associatedData(index, last));
    out.push(cipher.update(plain));
    cipher.final();
    out.push(cipher.getAuthTag());
  }

  /** The plain bytes of one stored chunk; throws when its tag does not check out. */
  open(index: number, last: boolean, sealed: Uint8Array): Buffer {
    if (sealed.length < TAG) throw new SealedChunkError(`chunk ${index} of an encrypted blob is cut short`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, this.nonceOf(index));
    decipher.setAAD(this.associatedData(index, last));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plain = decipher.update(sealed.subarray(0, sealed.length - TAG));
    try {
      decipher.final();
    } catch {
      throw new SealedChunkError(`chunk ${index} of an encrypted blob fails its authentication (damaged, moved or replaced)`);
    }
    return plain;
  }

  /** The chunk's index, 64 bits big-endian, at the end of the 96-bit nonce. */
  private nonceOf(index: number): Buffer {
    this.nonce.writeUInt32BE(Math.floor(index / 2 ** 32), 4);
    this.nonce.writeUInt32BE(index % 2 ** 32, 8);
    return this.nonce;
  }

  /** label | blob identity | index (64 bits) | last (1 byte). */
  private associatedData(index: number, last: boolean): Buffer {
    this.associated.writeUInt32BE(Math.floor(index / 2 ** 32), this.indexAt);
    this.associated.writeUInt32BE(index % 2 ** 32, this.indexAt + 4);
    this.associated[this.indexAt + 8] = last ? 1 : 0;
    return this.associated;
  }
}

/** A stored chunk that is not what was sealed: the read ends with this, never with other bytes. */
export class SealedChunkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedChunkError';
  }
}

/** A blob being sealed: plain bytes in, stored chunks out as each fills. */
export class ChunkSealer {
  private readonly pending = Buffer.allocUnsafe(CHUNK);
  private filled = 0;
  private index = 0;

  constructor(private readonly key: ChunkKey) {}

  update(chunk: Uint8Array): Buffer {
    const out: Buffer[] = [];
    this.updateInto(chunk, out);
    return out.length === 0 ? NO_BYTES : Buffer.concat(out);
  }

  /** `update`, the stored pieces pushed onto `out` rather than joined (a caller that copies them anyway). */
  updateInto(chunk: Uint8Array, out: Buffer[]): void {
    let at = 0;
    if (this.filled > 0) {
      at = Math.min(CHUNK - this.filled, chunk.length);
      this.pending.set(chunk.subarray(0, at), this.filled);
      this.filled += at;
      if (this.filled < CHUNK) return;
      this.key.seal(this.index++, false, this.pending, out);
      this.filled = 0;
    }
    // Whole chunks straight from the input, without copying them first.
    for (; chunk.length - at >= CHUNK; at += CHUNK) this.key.seal(this.index++, false, chunk.subarray(at, at + CHUNK), out);
    if (at < chunk.length) {
      this.pending.set(chunk.subarray(at), 0);
      this.filled = chunk.length - at;
    }
  }

  final(): Buffer {
    const out: Buffer[] = [];
    this.key.seal(this.index++, true, this.pending.subarray(0, this.filled), out);
    this.filled = 0;
    return Buffer.concat(out);
  }
}

/** Every plain byte of a sealed blob held in memory. */
export function openAll(key: ChunkKey, stored: Buffer): Buffer {
  const last = Math.floor(stored.length / RECORD);
  const plain: Buffer[] = [];
  for (let index = 0; index <= last; index++) {
    plain.push(key.open(index, index === last, stored.subarray(index * RECORD, Math.min((index + 1) * RECORD, stored.length))));
  }
  return Buffer.concat(plain);
}

/** Which stored bytes hold `range` of a blob of `plainSize` bytes, and the chunks they are. */
export function chunksOf(range: ByteRange, plainSize: number): { first: number; last: number; stored: ByteRange } {
  const first = Math.floor(range.start / CHUNK);
  // A read to the end takes in the last chunk (empty when the size is a multiple of 64 KiB) and checks it is there.
  const last = range.end >= plainSize - 1 ? chunkCount(plainSize) - 1 : Math.floor(range.end / CHUNK);
  return { first, last, stored: { start: first * RECORD, end: Math.min((last + 1) * RECORD, sealedSize(plainSize)) - 1 } };
}

/** Which chunks of which blob to open, and which of their plain bytes to pass on (a ChunkOpener's arguments). */
export interface OpeningPlan extends ChunkSecret {
  plainSize: number;
  range: ByteRange;
  last: number;
}

/**
 * A range of a sealed blob being opened, in line (InlineOpening) or on a worker thread (body-offload.ts): stored
 * bytes in, plain bytes out in order, each only once its chunk checked out. A chunk that does not fails the
 * opening with a SealedChunkError (thrown by `update`, `take` or `finish`, or the promise `update` returned).
 */
export interface Opening {
  /** Takes stored bytes (done with the buffer when it returns); a promise when the caller must wait before more. */
  update(stored: Buffer): Promise<void> | undefined;
  /** The plain bytes opened so far, in order. */
  take(): Buffer[];
  /** After the last stored bytes: the rest of the plain bytes, once every chunk the range takes in checked out. */
  finish(): Promise<Buffer[]>;
  /**
   * Plain bytes `take` handed out that were written and are done with (nothing holds a view of them any more):
   * their buffers may be filled again.
   */
  release?(plain: Buffer[]): void;
  /** The opening is let go of before its end. */
  abort(): void;
}

/** An Opening on the event loop (ranges too small for a round trip to the worker to pay). */
export class InlineOpening implements Opening {
  private readonly opened: Buffer[] = [];
  private readonly opener: ChunkOpener;

  constructor({ key, identity, plainSize, range, last }: OpeningPlan) {
    this.opener = new ChunkOpener(new ChunkKey(key, identity), plainSize, range, last, (plain) => this.opened.push(plain));
  }

  update(stored: Buffer): undefined {
    this.opener.update(stored);
  }

  take(): Buffer[] {
    return this.opened.splice(0);
  }

  async finish(): Promise<Buffer[]> {
    this.opener.final();
    return this.take();
  }

  abort(): void {
    // Nothing is held but what `take` hands out.
  }
}

/**
 * Opens the stored chunks up to `last` of a blob of `plainSize` bytes as they stream in, passing on `range`
 * of its plain bytes; a chunk's bytes are passed on only once its tag checked out. Each chunk is opened from the
 * input itself when one input chunk holds it whole, or gathered into a buffer of this reader's own first (the
 * input's buffers may be reused once handed over).
 */
export class ChunkOpener {
  private readonly gathered = Buffer.allocUnsafe(RECORD);
  private have = 0;
  private index: number;
  private readonly finalIndex: number;
  private skip: number;
  private remaining: number;
  /**
   * The latest chunk's plain bytes, passed on only with the next one, or once the range is complete: the last
   * bytes of a read go out only after every chunk it takes in (the empty last one too) checked out, so that a
   * blob cut short never ends in a response that looks complete.
   */
  private held: Buffer | null = null;

  constructor(
    private readonly key: ChunkKey,
    private readonly plainSize: number,
    range: ByteRange,
    private readonly last: number,
    private readonly emit: (plain: Buffer) => void,
  ) {
    this.index = Math.floor(range.start / CHUNK);
    this.finalIndex = chunkCount(plainSize) - 1;
    this.skip = range.start - this.index * CHUNK;
    this.remaining = range.end - range.start + 1;
  }

  update(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      const need = this.expected() - this.have;
      if (need <= 0) throw new SealedChunkError('an encrypted blob holds more bytes than it was sealed with');
      if (this.have === 0 && data.length - at >= need) {
        this.openChunk(data.subarray(at, at + need));
        at += need;
        continue;
      }
      const take = Math.min(need, data.length - at);
      data.copy(this.gathered, this.have, at, at + take);
      this.have += take;
      at += take;
      if (this.have === this.expected()) {
        this.have = 0;
        this.openChunk(this.gathered.subarray(0, this.expected()));
      }
    }
  }

  /** Throws unless every chunk the range needs came in whole; passes on the bytes held back until then. */
  final(): void {
    if (this.index <= this.last || this.have > 0) throw new SealedChunkError('an encrypted blob ends before its last chunk');
    if (this.held) this.emit(this.held);
    this.held = null;
  }

  private expected(): number {
    if (this.index > this.last) return 0;
    return this.index === this.finalIndex ? (this.plainSize % CHUNK) + TAG : RECORD;
  }

  private openChunk(sealed: Uint8Array): void {
    const index = this.index++;
    const plain = this.key.open(index, index === this.finalIndex, sealed);
    const piece = plain.subarray(this.skip, this.skip + Math.min(this.remaining, plain.length - this.skip));
    this.skip = 0;
    this.remaining -= piece.length;
    if (piece.length === 0) return;
    if (this.held) this.emit(this.held);
    this.held = piece;
  }
}
