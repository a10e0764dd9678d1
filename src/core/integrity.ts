/**
 * Whole-object reads checked against the CRC-32 recorded when the bytes were written (several GB/s, checked in
 * line), or the MD5 for blobs written before CRCs were kept and for small objects, as they stream: the bytes go
 * out as they are read, but the last chunk is held back until the digest matched (and the byte count came out
 * right), so a damaged object's response is cut off before its end (a broken transfer), never completed with
 * other bytes. Bytes at hand (small objects kept in the metadata store) are checked before anything is sent.
 * A multipart object has no MD5 of its whole; each of its parts is checked against the part's own CRC-32 or MD5.
 * Blobs sealed in authenticated chunks (chunked-gcm.ts) are checked by their GCM tags as they are opened, here
 * for their byte count only. Ranged reads of other blobs are not checked: a digest covers the whole of what it hashed only.
 */
import { hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isBlobStream, type BlobStream } from '../store/blob/index.ts';
import { OnggiError } from './errors.ts';
import type { BodyOffload, Md5 } from './body-offload.ts';
import type { BucketRow, DamageReason, VersionRow } from './model.ts';

/**
 * What a read of all of some stored bytes must come to: how many, their CRC-32 when recorded (checked instead of
 * the MD5), and their MD5 (hex; null: not known, count only).
 */
export interface Expected {
  size: number;
  md5: string | null;
  crc32?: number | undefined;
}

/** Which stored bytes a check was about, for the log: the object's version, and the part of it when one. */
export interface Subject {
  account: string;
  bucket: string;
  key: string;
  versionId: string;
  part?: number;
}

/** The version a check was about, as the log names it. */
export function subjectOf({ bucket, key, version }: { bucket: BucketRow; key: string; version: VersionRow }): Subject {
  return { bucket: bucket.name, account: bucket.projectId, key, versionId: version.named ? version.id : 'null' };
}

/** A failed check: what it was about, and what was wrong. */
export interface ReadFinding {
  subject: Subject;
  reason: DamageReason;
  detail: string;
}

/** Counts of checks since the process started, for the metrics. */
export interface ReadCheckStats {
  /** Whole reads that failed their check (the response was refused or cut off). */
  failed: number;
}

export class ReadVerifier {
  readonly stats: ReadCheckStats = { failed: 0 };
  private listener: (finding: ReadFinding) => void = () => undefined;
  /** Bytes at hand already checked (rows a cache hands out again are the same buffers): not hashed again. */
  private readonly checkedBytes = new WeakSet<Buffer>();

  constructor(private readonly md5: BodyOffload) {}

  /** Hears every failed check (the server logs them). */
  onFinding(listener: (finding: ReadFinding) => void): void {
    this.listener = listener;
  }

  /** Bytes at hand, checked before they are sent: returned as they are, or ObjectDamaged. */
  checkBytes(bytes: Buffer, expected: Expected, subject: () => Subject): Buffer {
    if (this.checkedBytes.has(bytes)) return bytes;
    if (bytes.length !== expected.size) throw this.failure(subject(), 'size', `${bytes.length} bytes stored, ${expected.size} recorded`);
    if (expected.md5 !== null && hash('md5', bytes, 'hex') !== expected.md5) throw this.failure(subject(), 'hash', 'the stored bytes do not hash to the recorded MD5');
    this.checkedBytes.add(bytes);
    return bytes;
  }

  /** The version's bytes are gone (its blob stayed missing however often its row was read again). */
  missing(subject: Subject): OnggiError<'ObjectDamaged'> {
    return this.failure(subject, 'missing', 'its blob is missing');
  }

  /** A stream of all of some stored bytes, checked as it goes (see the top of this file). */
  stream(source: Readable, expected: Expected, subject: () => Subject): Readable {
    const md5 = expected.md5 === null || expected.crc32 !== undefined ? null : this.md5.forBody(expected.size);
    return new CheckedStream(source, new DigestCheck(expected, md5, (reason, detail) => this.failure(subject(), reason, detail)));
  }

  private failure(subject: Subject, reason: DamageReason, detail: string): OnggiError<'ObjectDamaged'> {
    this.stats.failed++;
    this.listener({ subject, reason, detail });
    return damagedError();
  }
}

/** What a client is told: the object is damaged (nothing about where its bytes are). */
export function damagedError(): OnggiError<'ObjectDamaged'> {
  return new OnggiError('ObjectDamaged', "The object's stored data is damaged (it failed an integrity check): restore it from a copy, or delete it");
}

/** Counts and hashes bytes as they pass; the last chunk resolves only once the digest matched. */
class DigestCheck {
  private seen = 0;
  private crc = 0;
  private settled = false;

  constructor(
    private readonly expected: Expected,
    private readonly md5: Md5 | null,
    private readonly fail: (reason: DamageReason, detail: string) => OnggiError,
  ) {}

  /** Takes a chunk (done with it when this returns or resolves); a promise when the caller must wait. */
  pass(chunk: Uint8Array): Promise<void> | undefined {
    this.seen += chunk.length;
    if (this.seen > this.expected.size) {
      this.cancel();
      return Promise.reject(this.fail('size', `more than the ${this.expected.size} bytes recorded`));
    }
    if (this.expected.crc32 !== undefined) return this.passCrc(chunk, this.expected.crc32);
    const hashing = this.md5?.update(chunk);
    if (this.seen === this.expected.size) return this.verify(hashing);
    return hashing;
  }

  /** The CRC-32 taken in line: a promise only for a last chunk that fails it. */
  private passCrc(chunk: Uint8Array, expected: number): Promise<void> | undefined {
    this.crc = crc32(chunk, this.crc);
    if (this.seen < this.expected.size || this.crc === expected) return undefined;
    this.settled = true;
    return Promise.reject(this.fail('hash', 'the stored bytes do not match the recorded CRC-32'));
  }

  /** After the last chunk: fails when fewer bytes came than recorded. */
  end(): OnggiError | null {
    if (this.seen === this.expected.size) return null;
    this.cancel();
    return this.fail('size', `${this.seen} bytes stored, ${this.expected.size} recorded`);
  }

  /** The read ended before the check did (the client went away): the hash is let go of. */
  cancel(): void {
    if (this.settled) return;
    this.settled = true;
    this.md5?.abort();
  }

  private async verify(hashing: Promise<void> | undefined): Promise<void> {
    this.settled = true;
    if (hashing) await hashing;
    if (!this.md5) return;
    const digest = await this.md5.digest();
    if (digest !== this.expected.md5) throw this.fail('hash', 'the stored bytes do not hash to the recorded MD5');
  }
}

/**
 * The source's bytes after their check. Pumped straight to a socket when the source is a blob (its buffers reused,
 * each chunk checked before it is written); read as a stream otherwise. Reads the source only once itself read,
 * and closes it with itself.
 */
class CheckedStream extends Transform implements BlobStream {
  private started = false;

  constructor(
    private readonly source: Readable,
    private readonly check: DigestCheck,
  ) {
    super();
    source.on('error', (err) => this.destroy(err));
  }

  async pumpTo(sink: Writable): Promise<void> {
    const { source } = this;
    if (!isBlobStream(source)) {
      await pipeline(this, sink, { end: false });
      return;
    }
    this.started = true;
    try {
      await source.pumpTo(sink, (chunk) => this.check.pass(chunk));
      const short = this.check.end();
      if (short) throw short;
    } finally {
      this.destroy();
    }
  }

  override _read(size: number): void {
    if (!this.started) {
      this.started = true;
      this.source.pipe(this);
    }
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const checking = this.check.pass(chunk);
    if (!checking) callback(null, chunk);
    else checking.then(() => callback(null, chunk), callback);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.check.end());
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.check.cancel();
    this.source.destroy();
    callback(err);
  }
}
