/**
 * The worker thread of body-offload.ts: jobs of batches of a body, each job in the order its batches come (one
 * port delivers messages in order). A job hashes its bytes (MD5, and a CRC-32 when asked), seals them in
 * authenticated chunks, or opens sealed ones; each batch is handed back (to be filled again) with what it made.
 */
import { createHash, type Hash, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { ChunkKey, ChunkOpener, ChunkSealer } from './chunked-gcm.ts';
import type { ByteRange } from './conditions.ts';

/** What a job does, as its first message says. */
export interface JobStart {
  /** MD5 of the bytes; `crc`: their CRC-32 too. */
  hash?: { crc: boolean };
  /** Seal the bytes under this blob's key and identity. */
  seal?: { key: KeyObject; identity: Uint8Array };
  /** Open `range` of a sealed blob of `plainSize` bytes from its stored chunks (chunked-gcm.ts's ChunkOpener). */
  open?: { key: KeyObject; identity: Uint8Array; plainSize: number; range: ByteRange; last: number };
}

/** A batch comes with the output buffers its job's reader is done with (`spare`), to be filled again. */
export type ToWorker = { id: number; start: JobStart } | { id: number; data: Uint8Array<ArrayBuffer>; length: number; spare: ArrayBuffer[] } | { id: number; done: true } | { id: number; abort: true };

/** The room an output buffer is made with: a batch's plain bytes and a chunk held back from the batch before. */
export const OUTPUT_BUFFER = 1344 * 1024;

export type FromWorker =
  | { id: number; ack: true; data: Uint8Array<ArrayBuffer>; out: Uint8Array<ArrayBuffer> | null }
  | { id: number; done: true; digest: string; crc: number | null; out: Uint8Array<ArrayBuffer> | null }
  | { id: number; error: string; sealed: boolean };

interface Job {
  md5: Hash | null;
  crc: number | null;
  sealer: ChunkSealer | null;
  opener: ChunkOpener | null;
  /** What the job made from the batch at hand. */
  out: Buffer[];
  /** Output buffers handed back to be filled again. */
  spare: ArrayBuffer[];
}

const port = parentPort;
if (!port) throw new Error('body-worker.ts runs on a worker thread');
const jobs = new Map<number, Job>();

port.on('message', (m: ToWorker) => {
  if ('start' in m) {
    jobs.set(m.id, startJob(m.start));
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return; // failed or aborted: its last batches are let go
  if ('abort' in m) {
    jobs.delete(m.id);
    return;
  }
  try {
    if ('data' in m) {
      job.spare.push(...m.spare);
      take(job, Buffer.from(m.data.buffer, m.data.byteOffset, m.length));
      reply({ id: m.id, ack: true, data: m.data, out: gathered(job) }, [m.data.buffer]);
      return;
    }
    jobs.delete(m.id);
    if (job.sealer) job.out.push(job.sealer.final());
    job.opener?.final();
    reply({ id: m.id, done: true, digest: job.md5?.digest('hex') ?? '', crc: job.crc, out: gathered(job) });
  } catch (err) {
    jobs.delete(m.id);
    port.postMessage({ id: m.id, error: (err as Error).message, sealed: (err as Error).name === 'SealedChunkError' } satisfies FromWorker);
  }
});

function startJob(start: JobStart): Job {
  const job: Job = { md5: start.hash ? createHash('md5') : null, crc: start.hash?.crc ? 0 : null, sealer: null, opener: null, out: [], spare: [] };
  if (start.seal) job.sealer = new ChunkSealer(new ChunkKey(start.seal.key, Buffer.from(start.seal.identity)));
  const open = start.open;
  if (open) job.opener = new ChunkOpener(new ChunkKey(open.key, Buffer.from(open.identity)), open.plainSize, open.range, open.last, (plain) => job.out.push(plain));
  return job;
}

function take(job: Job, bytes: Buffer): void {
  job.md5?.update(bytes);
  if (job.crc !== null) job.crc = crc32(bytes, job.crc);
  job.sealer?.updateInto(bytes, job.out);
  job.opener?.update(bytes);
}

/**
 * What the job made, copied into one buffer of its own to be transferred (never a slice of Node's shared pool,
 * which the cipher's small outputs may be: a transfer would take it from every other user); null when nothing.
 */
function gathered(job: Job): Uint8Array<ArrayBuffer> | null {
  const total = job.out.reduce((sum, piece) => sum + piece.length, 0);
  if (total === 0) {
    job.out.length = 0;
    return null;
  }
  const spare = job.spare.pop();
  const out = spare && spare.byteLength >= total ? new Uint8Array(spare, 0, total) : new Uint8Array(Buffer.allocUnsafeSlow(Math.max(total, OUTPUT_BUFFER)).buffer, 0, total);
  let at = 0;
  for (const piece of job.out) {
    out.set(piece, at);
    at += piece.length;
  }
  job.out.length = 0;
  return out;
}

function reply(message: FromWorker & { data?: Uint8Array<ArrayBuffer>; out: Uint8Array<ArrayBuffer> | null }, transfer: ArrayBuffer[] = []): void {
  if (message.out) transfer.push(message.out.buffer);
  port?.postMessage(message, transfer);
}
