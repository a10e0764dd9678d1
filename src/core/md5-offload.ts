/**
 * MD5 of large bodies on a worker thread, so the event loop keeps parsing and writing while it hashes.
 * Batches are copied once into a fresh buffer and transferred (no second copy); per-upload order is
 * kept because one port delivers messages in order.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { crc32 } = require('node:zlib');
const hashes = new Map();
parentPort.on('message', (m) => {
  let hash = hashes.get(m.id);
  if (!hash) hashes.set(m.id, (hash = { md5: createHash('md5'), crc: m.crc ? 0 : -1 }));
  if (m.data) {
    const bytes = m.data.subarray(0, m.length);
    hash.md5.update(bytes);
    if (hash.crc !== -1) hash.crc = crc32(bytes, hash.crc);
    parentPort.postMessage({ id: m.id, ack: true, data: m.data }, [m.data.buffer]);
  }
  if (m.done) {
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: m.abort ? '' : hash.md5.digest('hex'), crc: hash.crc });
  }
});
`;

const BATCH = 1024 * 1024;
const BATCH_BUFFER = BATCH + 256 * 1024;
/** Batches one upload may have queued at the worker before it waits (bounds memory to a few MiB). */
const MAX_QUEUED = 4;

/** What an upload hashes with: `update` per chunk (await it when it returns a promise), then `digest` once. */
export interface Md5 {
  update(chunk: Uint8Array): Promise<void> | undefined;
  digest(): Promise<string>;
  /** The CRC-32 of the same bytes, once `digest` resolved (asked for with `forBody(…, true)`; else undefined). */
  crc32(): number | undefined;
  abort(): void;
}

export class Md5Offload {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (done: { digest: string; crc: number }) => void; reject: (err: Error) => void }>();
  private readonly acks = new Map<number, (returned: Uint8Array<ArrayBuffer> | undefined) => void>();

  /** Bodies below this size are hashed in line: a round trip to the worker costs more than it saves. */
  constructor(private readonly threshold = 8 * 1024 * 1024) {}

  /** `withCrc`: a CRC-32 of the bytes too, taken where the MD5 is (off the event loop for large bodies). */
  forBody(declaredLength: number | null, withCrc = false): Md5 {
    if (declaredLength === null || declaredLength < this.threshold) return inlineMd5(createHash('md5'), withCrc);
    return this.offloaded(withCrc);
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }

  private offloaded(withCrc: boolean): Md5 {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    let crc: number | undefined;
    let first = true;
    // Each chunk is copied into the batch as it comes: a reader may reuse its buffer once `update` returns.
    let batch: Uint8Array<ArrayBuffer> | null = null;
    let batched = 0;
    let queued = 0;
    let drained: (() => void) | null = null;
    // The worker hands each batch buffer back: reusing them keeps external memory (and RSS) flat.
    const spare: Uint8Array<ArrayBuffer>[] = [];
    this.acks.set(id, (returned) => {
      if (returned) spare.push(returned);
      queued--;
      if (drained && queued < MAX_QUEUED) {
        drained();
        drained = null;
      }
    });
    const flush = (): Promise<void> | undefined => {
      if (batch === null || batched === 0) return undefined;
      // A buffer of its own (never a slice of Node's shared pool), so that transferring it detaches nothing else.
      worker.postMessage({ id, data: batch, length: batched, crc: first && withCrc }, [batch.buffer]);
      first = false;
      batch = null;
      batched = 0;
      queued++;
      return queued < MAX_QUEUED ? undefined : new Promise<void>((resolve) => (drained = resolve));
    };
    const room = (length: number): Uint8Array<ArrayBuffer> => {
      if (batch !== null && batch.length - batched >= length) return batch;
      // A chunk larger than the room left (rare: batches leave room for one read): the batch goes as it is.
      void flush();
      const reusable = spare.pop();
      batch = reusable && reusable.length >= length ? reusable : new Uint8Array(Math.max(length, BATCH_BUFFER));
      return batch;
    };
    return {
      update: (chunk) => {
        room(chunk.length).set(chunk, batched);
        batched += chunk.length;
        return batched >= BATCH ? flush() : undefined;
      },
      digest: () => {
        void flush();
        this.acks.delete(id);
        return new Promise<string>((resolve, reject) => {
          this.waiting.set(id, {
            resolve: (done) => {
              if (withCrc) crc = done.crc;
              resolve(done.digest);
            },
            reject,
          });
          worker.postMessage({ id, done: true, crc: first && withCrc });
        });
      },
      crc32: () => crc,
      abort: () => {
        this.acks.delete(id);
        worker.postMessage({ id, done: true, abort: true });
      },
    };
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (m: { id: number; digest: string; crc: number; ack?: boolean; data?: Uint8Array<ArrayBuffer> }) => {
      if (m.ack) {
        this.acks.get(m.id)?.(m.data);
        return;
      }
      const waiter = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      waiter?.resolve(m);
    });
    const fail = (err: Error): void => {
      for (const waiter of this.waiting.values()) waiter.reject(err);
      this.waiting.clear();
      this.worker = null;
    };
    worker.on('error', fail);
    worker.on('exit', () => {
      fail(new Error('the MD5 worker exited'));
    });
    this.worker = worker;
    return worker;
  }
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
