/**
 * Work on large bodies on a worker thread (body-worker.ts), so that the event loop keeps parsing and writing
 * meanwhile: the MD5 (and CRC-32) of a body coming in, and the AES-GCM of blobs sealed in authenticated chunks
 * (chunked-gcm.ts) both ways. A large encrypted body is hashed and sealed there in one pass (its plain bytes
 * cross once). Batches are copied once into a buffer that is transferred (no second copy) and handed back to be
 * filled again; a job's order is kept because one port delivers messages in order, and each job has a few
 * batches at the worker at most (memory stays bounded).
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import type { FromWorker, JobStart, ToWorker } from './body-worker.ts';
import { SealedChunkError, type ChunkSecret, type Opening, type OpeningPlan } from './chunked-gcm.ts';

const BATCH = 1024 * 1024;
const BATCH_BUFFER = BATCH + 256 * 1024;
/** Batches one job may have queued at the worker before it waits (bounds memory to a few MiB). */
const MAX_QUEUED = 4;

/** What an upload hashes with: `update` per chunk (await it when it returns a promise), then `digest` once. */
export interface Md5 {
  update(chunk: Uint8Array): Promise<void> | undefined;
  digest(): Promise<string>;
  /** The CRC-32 of the same bytes, once `digest` resolved (asked for with `forBody(…, true)`; else undefined). */
  crc32(): number | undefined;
  abort(): void;
}

/** A large body hashed and sealed on the worker: `update` per plain chunk, the sealed bytes taken as they come. */
export interface SealingMd5 extends Md5 {
  /** The sealed bytes made so far, in order (throws when the worker failed). */
  take(): Buffer[];
  /** After the last `update`: the rest of the sealed bytes (the digest is then known). */
  finish(): Promise<Buffer[]>;
  /** Sealed bytes written and done with (no view of them kept): their buffers may be filled again. */
  release(sealed: Uint8Array[]): void;
}

export class BodyOffload {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly jobs = new Map<number, Job>();

  /** Bodies below this size are worked on in line: a round trip to the worker costs more than it saves. */
  constructor(private readonly threshold = 8 * 1024 * 1024) {}

  /** `withCrc`: a CRC-32 of the bytes too, taken where the MD5 is (off the event loop for large bodies). */
  forBody(declaredLength: number | null, withCrc = false): Md5 {
    if (!this.offloads(declaredLength)) return inlineMd5(createHash('md5'), withCrc);
    const job = this.startJob({ hash: { crc: withCrc } });
    let crc: number | undefined;
    return {
      update: (chunk) => job.update(chunk),
      digest: async () => {
        const done = await job.end();
        if (withCrc) crc = done.crc ?? undefined;
        return done.digest;
      },
      crc32: () => crc,
      abort: () => job.abort(),
    };
  }

  /** A large body's MD5 and its sealing under `secret`, both on the worker; null when small or of unknown length (in line then). */
  forSealedBody(declaredLength: number | null, secret: ChunkSecret): SealingMd5 | null {
    if (!this.offloads(declaredLength)) return null;
    const job = this.startJob({ hash: { crc: false }, seal: secret });
    let ending: Promise<{ digest: string }> | null = null;
    return {
      update: (chunk) => job.update(chunk),
      take: () => job.take(),
      finish: async () => {
        await (ending ??= job.end());
        return job.take();
      },
      release: (sealed) => job.release(sealed),
      digest: async () => (await (ending ??= job.end())).digest,
      crc32: () => undefined,
      abort: () => job.abort(),
    };
  }

  /** `storedLength` stored bytes of a sealed blob opened on the worker; null when fewer than the threshold (in line then). */
  forOpening(storedLength: number, plan: OpeningPlan): Opening | null {
    if (!this.offloads(storedLength)) return null;
    const job = this.startJob({ open: plan });
    return {
      update: (stored) => job.update(stored),
      take: () => job.take(),
      finish: async () => {
        await job.end();
        return job.take();
      },
      release: (plain) => job.release(plain),
      abort: () => job.abort(),
    };
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }

  private offloads(length: number | null): boolean {
    return length !== null && length >= this.threshold;
  }

  private startJob(start: JobStart): Job {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const job = new Job(worker, id, start, () => this.jobs.delete(id));
    this.jobs.set(id, job);
    return job;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    worker.unref();
    worker.on('message', (m: FromWorker) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      if ('ack' in m) job.acked(m.data, m.out);
      else if ('done' in m) job.done(m.digest, m.crc, m.out);
      else job.failed(m.sealed ? new SealedChunkError(m.error) : new Error(m.error));
    });
    const fail = (err: Error): void => {
      for (const job of [...this.jobs.values()]) job.failed(err);
      this.worker = null;
    };
    worker.on('error', fail);
    worker.on('exit', () => {
      fail(new Error('the body worker exited'));
    });
    this.worker = worker;
    return worker;
  }
}

/**
 * body-worker.ts, built (dist/) or from the sources. From the sources the worker registers tsx before loading them:
 * a process that runs them through tsx's register() rather than `--import tsx` (which a worker inherits) passes
 * nothing on, and Node's own type stripping (Node 22.18+) would load body-worker.ts but fail on what it imports.
 */
function startWorker(): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const module = new URL(fromSources ? './body-worker.ts' : './body-worker.js', import.meta.url).href;
  const tsx = fromSources ? import.meta.resolve('tsx/esm/api') : null;
  return new Worker(WORKER_BOOT, { eval: true, workerData: { module, tsx } });
}

const WORKER_BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.module);
})();
`;

/** One job's side of the worker: batches out (a few at a time), what the worker made back, in order. */
class Job {
  // Each chunk is copied into the batch as it comes: a reader may reuse its buffer once `update` returns.
  private batch: Uint8Array<ArrayBuffer> | null = null;
  private batched = 0;
  private queued = 0;
  private waiting: { resolve: () => void; reject: (err: Error) => void } | null = null;
  private ending: { resolve: (done: { digest: string; crc: number | null }) => void; reject: (err: Error) => void } | null = null;
  /** The worker hands each batch buffer back: reusing them keeps external memory (and RSS) flat. */
  private readonly spare: Uint8Array<ArrayBuffer>[] = [];
  private readonly made: Buffer[] = [];
  /** Output buffers the reader is done with, going back with the next batch (a reader keeps them from the GC's churn). */
  private readonly released: ArrayBuffer[] = [];
  private failure: Error | null = null;
  private settled = false;

  constructor(
    private readonly worker: Worker,
    private readonly id: number,
    start: JobStart,
    private readonly forget: () => void,
  ) {
    this.post({ id, start });
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    this.room(chunk.length).set(chunk, this.batched);
    this.batched += chunk.length;
    return this.batched >= BATCH ? this.flush() : undefined;
  }

  take(): Buffer[] {
    if (this.failure) throw this.failure;
    return this.made.splice(0);
  }

  /** Buffers `take` handed out, done with: nothing else may hold a view of them. */
  release(made: Uint8Array[]): void {
    if (this.settled) return;
    for (const { buffer } of made) if (buffer instanceof ArrayBuffer && buffer.byteLength > 0) this.released.push(buffer);
  }

  end(): Promise<{ digest: string; crc: number | null }> {
    if (this.failure) return Promise.reject(this.failure);
    this.flush()?.catch(() => undefined);
    return new Promise((resolve, reject) => {
      this.ending = { resolve, reject };
      this.post({ id: this.id, done: true });
    });
  }

  /** The job is let go of (its body failed or its reader went away); whoever still waits on it hears so. */
  abort(): void {
    if (this.settled) return;
    this.post({ id: this.id, abort: true });
    this.failed(new Error('the body was let go of before its end'));
  }

  acked(returned: Uint8Array<ArrayBuffer>, out: Uint8Array<ArrayBuffer> | null): void {
    this.spare.push(returned);
    if (out) this.made.push(bufferOf(out));
    this.queued--;
    if (this.waiting && this.queued < MAX_QUEUED) {
      this.waiting.resolve();
      this.waiting = null;
    }
  }

  done(digest: string, crc: number | null, out: Uint8Array<ArrayBuffer> | null): void {
    if (out) this.made.push(bufferOf(out));
    this.settle();
    this.ending?.resolve({ digest, crc });
  }

  failed(err: Error): void {
    this.failure = err;
    this.settle();
    this.waiting?.reject(err);
    this.ending?.reject(err);
  }

  private settle(): void {
    this.settled = true;
    this.forget();
  }

  private post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  private flush(): Promise<void> | undefined {
    if (this.batch === null || this.batched === 0) return undefined;
    // A buffer of its own (never a slice of Node's shared pool), so that transferring it detaches nothing else.
    const spare = this.released.splice(0);
    this.post({ id: this.id, data: this.batch, length: this.batched, spare }, [this.batch.buffer, ...spare]);
    this.batch = null;
    this.batched = 0;
    this.queued++;
    if (this.queued < MAX_QUEUED) return undefined;
    return new Promise<void>((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  private room(length: number): Uint8Array<ArrayBuffer> {
    if (this.batch !== null && this.batch.length - this.batched >= length) return this.batch;
    // A chunk larger than the room left (rare: batches leave room for one read): the batch goes as it is.
    this.flush()?.catch(() => undefined);
    const reusable = this.spare.pop();
    this.batch = reusable && reusable.length >= length ? reusable : new Uint8Array(Math.max(length, BATCH_BUFFER));
    return this.batch;
  }
}

function bufferOf(bytes: Uint8Array<ArrayBuffer>): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function inlineMd5(hash: Hash, withCrc: boolean): Md5 {
  let crc = 0;
  return {
    update: withCrc
      ? (chunk) => {
          hash.update(chunk);
          crc = crc32(chunk, crc);
          return undefined;
        }
      : (chunk) => {
          hash.update(chunk);
          return undefined;
        },
    digest: async () => hash.digest('hex'),
    crc32: () => (withCrc ? crc : undefined),
    abort: () => undefined,
  };
}
