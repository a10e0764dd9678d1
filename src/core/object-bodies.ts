/**
 * A stored version's bytes on their way out: opened by byte range, from the version row's attachment, a legacy
 * inline row, one blob or a multipart object's blobs, decrypted on the way; and written into a response.
 */
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../store/blob/index.ts';
import { BlobMissingError, isBlobStream } from '../store/blob/index.ts';
import type { Bound, Entry, MetadataStore } from '../store/meta/index.ts';
import { isSealedInChunks } from './chunked-gcm.ts';
import type { BlobCipher } from './cipher.ts';
import type { ByteRange } from './conditions.ts';
import { subjectOf, type Expected, type ReadVerifier } from './integrity.ts';
import { partOffsetKey, TABLES, type BlobEncryption, type BlobRef, type BucketRow, type PartBatchRow, type VersionRow } from './model.ts';

export type Body = Buffer | Readable;

/** A version read for its bytes: where it lives, and the row itself. */
export interface Located {
  bucket: BucketRow;
  key: string;
  version: VersionRow;
  /** An `attached` version's bytes, when it was read for them (null otherwise). */
  attachment: Buffer | null;
  /**
   * SSE-C: what opens the version's blobs, under the key the request gave (checked against the version's). Their
   * whole reads are checked by their GCM tags and byte count: the ETag is not their MD5, no CRC-32 is kept.
   */
  customer?: BlobCipher;
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

/** A part of a ranged read: which blob (with its MD5 when it is a multipart object's part; its CRC-32 when recorded), and which of its bytes. */
interface Piece {
  blob: BlobRef & { etag?: string; number?: number };
  range: ByteRange;
}

/** The piece of a part at `offset` of the object that `range` touches; null when it touches none. */
function pieceOf(blob: BlobRef, offset: number, range: ByteRange): Piece | null {
  const start = Math.max(range.start, offset);
  const end = Math.min(range.end, offset + blob.size - 1);
  return start <= end ? { blob, range: { start: start - offset, end: end - offset } } : null;
}

/** The pieces of a part list kept in the version row itself. */
async function* listedPieces(parts: readonly BlobRef[], range: ByteRange): AsyncGenerator<Piece> {
  let offset = 0;
  for (const blob of parts) {
    const piece = pieceOf(blob, offset, range);
    if (piece) yield piece;
    offset += blob.size;
  }
}

/**
 * The pieces' bytes one after the other as one stream, each opened only when the one before it is done; the
 * first is opened before this returns (a missing blob or segment fails the read before any byte is sent). A
 * piece that cannot be found or opened later ends the stream with an error: never other bytes in its place.
 */
export async function sequenceOf<P>(pieces: AsyncIterable<P>, open: (piece: P) => Promise<Body>): Promise<Readable> {
  const iterator = pieces[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return Readable.from([]);
  const opened = await open(first.value);
  const out = new PassThrough();
  // A later piece may fail before anyone reads the sequence (another range still opening, the response head not
  // written yet): the failure stays on the stream (`errored`) for its reader, and must not go unhandled meanwhile.
  out.on('error', () => undefined);
  void (async () => {
    await copyInto(opened, out);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) await copyInto(await open(next.value), out);
    out.end();
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}

/**
 * Copies one piece into the stream of a sequence, leaving it open for the next (`pipeline` with `end: false`
 * would leave a listener on it per piece); the piece is closed however it ends.
 */
async function copyInto(source: Body, out: PassThrough): Promise<void> {
  if (Buffer.isBuffer(source)) {
    if (!out.write(source)) await drained(out);
    return;
  }
  try {
    for await (const chunk of source) {
      if (!out.write(chunk)) await drained(out);
    }
  } finally {
    source.destroy();
  }
}

/**
 * What a whole read of a blob must come to: its size, and its CRC-32 (or else its MD5) — but for a blob sealed in
 * authenticated chunks, whose GCM tags already check every byte and its end as it is opened: its size only.
 */
function expectedOf(blob: BlobRef, md5: string | null): Expected {
  if (isSealedInChunks(blob.encryption)) return { size: blob.size, md5: null };
  return { size: blob.size, md5, crc32: blob.crc32 };
}

export class BodyReader {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly cipher: BlobCipher,
    /** Checks whole reads against their MD5 (integrity.ts). */
    private readonly verifier: ReadVerifier,
  ) {}

  /** The bytes of the `ordinal`th part (from 1) of a completed upload; null when it has fewer parts. */
  async partRange(uploadId: string, ordinal: number): Promise<ByteRange | null> {
    let seen = 0;
    let lower: Bound | undefined;
    for (;;) {
      const [batch] = await this.store.scan(TABLES.partIndex, uploadId, { prefix: '', lower, limit: 1, reverse: false });
      if (!batch) return null;
      const { parts } = batch.value;
      if (seen + parts.length >= ordinal) {
        let start = Number(batch.sk);
        for (const part of parts.slice(0, ordinal - seen - 1)) start += part.size;
        const size = parts[ordinal - seen - 1]?.size ?? 0;
        return { start, end: start + size - 1 };
      }
      seen += parts.length;
      lower = { key: batch.sk, inclusive: false };
    }
  }

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

  private async openRange(located: Located, range: ByteRange): Promise<Body> {
    const { bucket, version, attachment, customer } = located;
    const { data } = version;
    if (version.size === 0) return Buffer.alloc(0);
    // All of the object's bytes: checked against its MD5 (or its parts' MD5s) on the way out.
    const whole = range.start === 0 && range.end === version.size - 1 ? located : null;
    const cipher = customer ?? this.cipher;
    const md5 = customer ? null : version.etag;
    switch (data.kind) {
      case 'attached':
        if (!attachment) throw new BlobMissingError(`attachment of ${version.id}`);
        return this.bytesOf(cipher, attachment, data.encryption, range, whole, md5);
      case 'inline': {
        const stored = await this.store.get(TABLES.inlineData, bucket.id, version.id);
        if (!stored) throw new BlobMissingError(`inline ${version.id}`);
        return this.bytesOf(cipher, stored.value, data.encryption, range, whole, md5);
      }
      case 'blob': {
        const opened = await this.openBlob(cipher, data, range);
        return whole ? this.verifier.stream(opened, expectedOf(data, md5), () => subjectOf(whole)) : opened;
      }
      case 'parts':
        return this.openSequence(cipher, listedPieces(data.parts, range), whole);
      case 'multipart':
        return this.openSequence(cipher, this.multipartPieces(data.uploadId, range), whole);
      case 'static-manifest':
      case 'dynamic-manifest':
      case 'symlink':
        throw new Error(`a ${data.kind} is read through the objects it names (Objects.get), not as bytes of its own`);
    }
  }

  private async openBlob(cipher: BlobCipher, blob: BlobRef, range: ByteRange): Promise<Readable> {
    const { blobId, size, encryption } = blob;
    if (!encryption) return this.blobs.read(blobId, range);
    return cipher.openRange(encryption, size, range, (stored) => this.blobs.read(blobId, stored));
  }

  /** The pieces one after the other; in a whole read, each part checked against its own MD5 (or its size). */
  private async openSequence(cipher: BlobCipher, pieces: AsyncIterable<Piece>, whole: Located | null): Promise<Readable> {
    if (!whole) return sequenceOf(pieces, (piece) => this.openBlob(cipher, piece.blob, piece.range));
    return sequenceOf(pieces, async ({ blob, range }) => {
      const opened = await this.openBlob(cipher, blob, range);
      return this.verifier.stream(opened, expectedOf(blob, blob.etag ?? null), () => ({ ...subjectOf(whole), ...(blob.number === undefined ? {} : { part: blob.number }) }));
    });
  }

  /**
   * The parts of a completed upload that `range` touches, read a batch of the part index at a time: the batch
   * holding the range's first byte first (one row), then the next ones as the range goes on.
   */
  private async *multipartPieces(uploadId: string, range: ByteRange): AsyncGenerator<Piece> {
    const scan = (bound: { lower?: Bound; upper?: Bound }): Promise<Entry<PartBatchRow>[]> =>
      this.store.scan(TABLES.partIndex, uploadId, { prefix: '', ...bound, limit: 1, reverse: bound.upper !== undefined });
    let [batch] = await scan({ upper: { key: partOffsetKey(range.start), inclusive: true } });
    while (batch) {
      let offset = Number(batch.sk);
      for (const part of batch.value.parts) {
        const piece = pieceOf(part, offset, range);
        if (piece) yield piece;
        offset += part.size;
        if (offset > range.end) return;
      }
      [batch] = await scan({ lower: { key: batch.sk, inclusive: false } });
    }
    throw new BlobMissingError(`part index of upload ${uploadId}`);
  }

  /** `whole`: the whole object is read, its bytes checked against this MD5 (null: their size only), with the located version. */
  private bytesOf(cipher: BlobCipher, stored: Buffer, encryption: BlobEncryption | null, range: ByteRange, whole: Located | null, md5: string | null): Buffer {
    const plain = encryption ? cipher.openBytes(encryption, stored) : stored;
    if (whole) return this.verifier.checkBytes(plain, { size: whole.version.size, md5 }, () => subjectOf(whole));
    return plain.subarray(range.start, range.end + 1);
  }
}
