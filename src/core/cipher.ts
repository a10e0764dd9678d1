/**
 * How blobs are encrypted at rest, behind one seam: what writes a blob seals its bytes through it, what reads
 * one opens them, by range. New blobs are sealed in authenticated chunks (AES-256-GCM, chunked-gcm.ts); blobs
 * written before that (AES-256-CTR, blob-crypto.ts) still open: the version row's `BlobEncryption` says which.
 * Each blob has a data key of its own, wrapped through the key-wrapping seam (key-wrapping.ts).
 */
import { createSecretKey, randomBytes, type Decipher } from 'node:crypto';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isBlobStream, type BlobStream } from '../store/blob/index.ts';
import { alignToBlock, decipherAt, newBlobEncryption } from './blob-crypto.ts';
import type { BodyOffload } from './body-offload.ts';
import { ChunkKey, ChunkSealer, chunksOf, GCM_SCHEME, InlineOpening, newIdentity, openAll, type ChunkSecret, type Opening, type OpeningPlan } from './chunked-gcm.ts';
import type { ByteRange } from './conditions.ts';
import type { CustomerKey } from './customer-keys.ts';
import type { KeyWrapper } from './key-wrapping.ts';
import type { BlobEncryption } from './model.ts';

/** A blob being encrypted: how its version row describes it, and its bytes, chunk by chunk, then the end. */
export interface Sealer {
  encryption: BlobEncryption;
  update(chunk: Uint8Array): Buffer;
  final(): Buffer;
  /** A blob sealed in authenticated chunks: what seals them (a worker thread may, in place of `update`). */
  chunks?: ChunkSecret;
}

export interface BlobCipher {
  /** Starts encrypting a new blob. */
  seal(): Sealer;
  /** The plain bytes of a small blob held in memory. */
  openBytes(encryption: BlobEncryption, stored: Buffer): Buffer;
  /**
   * The plain bytes of `range` of a stored blob of `plainSize` plain bytes, reading the stored bytes it needs
   * through `readStored`. A stored byte that is not what was sealed ends the stream with an error.
   */
  openRange(encryption: BlobEncryption, plainSize: number, range: ByteRange, readStored: (stored: ByteRange) => Promise<Readable>): Promise<Readable>;
}

export type SealScheme = 'gcm' | 'ctr';

/**
 * Seals new blobs with `sealWith` (authenticated chunks; `ctr` only where a test needs blobs as earlier versions
 * wrote them: ONGGI_TEST_SEAL_SCHEME), opens blobs of either scheme.
 */
export class Cipher implements BlobCipher {
  private readonly gcm: GcmCipher;
  private readonly ctr: CtrCipher;

  /** `offload`: opens large ranges of sealed blobs on its worker thread (body-offload.ts). */
  constructor(
    keys: KeyWrapper,
    private readonly sealWith: SealScheme = 'gcm',
    private readonly offload?: BodyOffload,
  ) {
    this.gcm = new GcmCipher(keys, { offload });
    this.ctr = new CtrCipher(keys);
  }

  seal(): Sealer {
    return this.sealWith === 'ctr' ? this.ctr.seal() : this.gcm.seal();
  }

  openBytes(encryption: BlobEncryption, stored: Buffer): Buffer {
    return this.schemeOf(encryption).openBytes(encryption, stored);
  }

  openRange(encryption: BlobEncryption, plainSize: number, range: ByteRange, readStored: (stored: ByteRange) => Promise<Readable>): Promise<Readable> {
    return this.schemeOf(encryption).openRange(encryption, plainSize, range, readStored);
  }

  /** Seals (and opens) blobs whose data keys are wrapped under a customer's key (SSE-C); `check` goes into their rows. */
  forCustomer(key: CustomerKey, check?: string): BlobCipher {
    return new GcmCipher(key, { customer: check, offload: this.offload });
  }

  private schemeOf(encryption: BlobEncryption): BlobCipher {
    return encryption.scheme === GCM_SCHEME ? this.gcm : this.ctr;
  }
}

/** The scheme of new blobs: ONGGI_TEST_SEAL_SCHEME=ctr makes blobs the way versions before 2026-12-07 did (tests). */
export function sealSchemeFromEnv(env: NodeJS.ProcessEnv = process.env): SealScheme {
  return env.ONGGI_TEST_SEAL_SCHEME === 'ctr' ? 'ctr' : 'gcm';
}

/** AES-256-GCM in authenticated 64 KiB chunks (chunked-gcm.ts). */
export class GcmCipher implements BlobCipher {
  private readonly customer: string | undefined;
  private readonly offload: BodyOffload | undefined;

  /**
   * `customer`: SSE-C, the customer key's check value, recorded with every blob sealed (see
   * BlobEncryption.customer). `offload`: opens large ranges on its worker thread.
   */
  constructor(
    private readonly keys: KeyWrapper,
    { customer, offload }: { customer?: string | undefined; offload?: BodyOffload | undefined } = {},
  ) {
    this.customer = customer;
    this.offload = offload;
  }

  seal(): Sealer {
    const chunks: ChunkSecret = { key: createSecretKey(randomBytes(32)), identity: newIdentity() };
    const encryption: BlobEncryption = { scheme: GCM_SCHEME, wrappedKey: this.keys.wrapDataKey(chunks.key.export()), iv: chunks.identity.toString('base64') };
    if (this.customer !== undefined) encryption.customer = this.customer;
    const sealer = new ChunkSealer(new ChunkKey(chunks.key, chunks.identity));
    return { encryption, update: (chunk) => sealer.update(chunk), final: () => sealer.final(), chunks };
  }

  openBytes(encryption: BlobEncryption, stored: Buffer): Buffer {
    const { key, identity } = this.secretOf(encryption);
    return openAll(new ChunkKey(key, identity), stored);
  }

  async openRange(encryption: BlobEncryption, plainSize: number, range: ByteRange, readStored: (stored: ByteRange) => Promise<Readable>): Promise<Readable> {
    const { last, stored } = chunksOf(range, plainSize);
    const plan: OpeningPlan = { ...this.secretOf(encryption), plainSize, range, last };
    const raw = await readStored(stored);
    return new OpenedChunks(raw, this.offload?.forOpening(stored.end - stored.start + 1, plan) ?? new InlineOpening(plan));
  }

  private secretOf(encryption: BlobEncryption): ChunkSecret {
    return { key: createSecretKey(this.keys.unwrapDataKey(encryption.wrappedKey)), identity: Buffer.from(encryption.iv, 'base64') };
  }
}

/** AES-256-CTR: length-preserving, so a range of plain bytes is the same range of the blob. */
export class CtrCipher implements BlobCipher {
  constructor(private readonly keys: KeyWrapper) {}

  seal(): Sealer {
    const { encryption, cipher } = newBlobEncryption(this.keys);
    return { encryption, update: (chunk) => cipher.update(chunk), final: () => cipher.final() };
  }

  openBytes(encryption: BlobEncryption, stored: Buffer): Buffer {
    const decipher = decipherAt(this.keys, encryption, 0);
    return Buffer.concat([decipher.update(stored), decipher.final()]);
  }

  async openRange(encryption: BlobEncryption, _plainSize: number, range: ByteRange, readStored: (stored: ByteRange) => Promise<Readable>): Promise<Readable> {
    const alignedStart = alignToBlock(range.start);
    const raw = await readStored({ start: alignedStart, end: range.end });
    return new DecipheredRange(raw, decipherAt(this.keys, encryption, alignedStart), range.start - alignedStart);
  }
}

/**
 * A range of a blob on its way out through a transform of its stored bytes. `raw` is read only once this stream
 * is (a multi-range answer does not read 50 ranges ahead), and closed with it, whenever that is, read or not (so
 * its blob's descriptor is let go).
 */
abstract class LazyRange extends Transform {
  private started = false;

  constructor(private readonly raw: Readable) {
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

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.raw.destroy();
    callback(err);
  }
}

/**
 * The plain bytes of authenticated chunks; a chunk that fails its check, or a blob cut short, fails the stream.
 * Going straight to a socket (`pumpTo`, as a plain blob does), it opens the blob's buffers as the blob store hands
 * them over and writes the plain bytes out, without a stream between.
 */
class OpenedChunks extends LazyRange implements BlobStream {
  constructor(
    private readonly stored: Readable,
    private readonly opening: Opening,
  ) {
    super(stored);
  }

  /** `inspect` sees each plain chunk before it is written (a whole read's check, integrity.ts), and may hold it back. */
  async pumpTo(sink: Writable, inspect?: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
    const stored = this.stored;
    if (!isBlobStream(stored)) {
      if (!inspect) {
        await pipeline(this, sink, { end: false });
        return;
      }
      try {
        for await (const chunk of this as AsyncIterable<Buffer>) await writeInspected(sink, [chunk], inspect);
      } finally {
        this.destroy();
      }
      return;
    }
    const relay = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.open(chunk)
          .then(() => this.writeOut(sink, this.opening.take(), inspect))
          .then(() => callback(), callback);
      },
    });
    relay.on('error', () => undefined);
    try {
      await stored.pumpTo(relay);
      await this.writeOut(sink, await this.opening.finish(), inspect);
    } finally {
      this.destroy();
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.open(chunk).then(() => {
      for (const plain of this.opening.take()) this.push(plain);
      callback();
    }, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.opening.finish().then((rest) => {
      for (const plain of rest) this.push(plain);
      callback();
    }, callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.opening.abort();
    super._destroy(err, callback);
  }

  /** Writes plain bytes out; once the kernel has them, their buffers go back to the opening to be filled again. */
  private async writeOut(sink: Writable, plain: Buffer[], inspect: ((chunk: Buffer) => Promise<void> | undefined) | undefined): Promise<void> {
    await writeInspected(sink, [...plain], inspect);
    this.opening.release?.(plain);
  }

  /** Hands stored bytes to the opening; resolves when it can take more. */
  private async open(stored: Buffer): Promise<void> {
    await this.opening.update(stored);
  }
}

/** `writeAll`, each chunk shown to `inspect` first (all of them before any is written: a check may refuse the last). */
async function writeInspected(sink: Writable, chunks: Buffer[], inspect: ((chunk: Buffer) => Promise<void> | undefined) | undefined): Promise<void> {
  if (inspect) {
    for (const chunk of chunks) {
      const checking = inspect(chunk);
      if (checking) await checking;
    }
  }
  await writeAll(sink, chunks);
}

/** Writes `chunks` into `sink` (left open); resolves once the last is handed to the kernel, rejects if it closes first. */
function writeAll(sink: Writable, chunks: Buffer[]): Promise<void> {
  const last = chunks.pop();
  if (!last) return Promise.resolve();
  for (const chunk of chunks) sink.write(chunk);
  return new Promise((resolve, reject) => {
    const closed = (): void => reject(new Error('the response closed before the body was written'));
    sink.once('close', closed);
    sink.write(last, (err) => {
      sink.off('close', closed);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** The plain bytes of a CTR range: `raw` starts on the AES block that holds the range's first byte, `skip` bytes before it. */
class DecipheredRange extends LazyRange {
  constructor(
    raw: Readable,
    private readonly decipher: Decipher,
    private skip: number,
  ) {
    super(raw);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, this.cut(this.decipher.update(chunk)));
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.cut(this.decipher.final()));
  }

  private cut(chunk: Buffer): Buffer {
    if (this.skip === 0) return chunk;
    const cut = Math.min(this.skip, chunk.length);
    this.skip -= cut;
    return chunk.subarray(cut);
  }
}
