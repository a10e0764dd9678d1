/** A closed-loop load generator on undici: N workers, each sending its next request as soon as the last one ends. */
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { S3Access } from './s3.ts';
import { Recorder, type Figures } from './stats.ts';

export interface Target {
  name: string;
  origin: string;
  /** Path of an object key in the bench bucket. */
  objectPath(key: string): string;
  /** Path of a listing of `bucket` (null when the target cannot list). */
  listingPath(bucket: string, query: string): string | null;
  headers: Record<string, string>;
  /** Set when the target is addressed through S3: how its requests are signed. */
  s3?: S3Access;
  /** A bucket with managed encryption on (issue 20's rows). */
  encrypted?: boolean;
  /** The target whose process serves this one, when another's (its CPU profile). */
  server?: string;
}

export interface Operation {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE';
  path: string;
  body?: Buffer | AsyncIterable<Buffer> | undefined;
  /** Bytes this operation moves (request or response payload), for MB/s. */
  bytes: number;
  headers?: Record<string, string>;
  /** Statuses that count as success besides 2xx (e.g. a GET racing a DELETE in a mixed load). */
  alsoOk?: number[];
}

/** Several requests timed as one operation (e.g. a multipart upload): true when they all succeeded. */
export interface Steps {
  steps: (send: Send) => Promise<boolean>;
  bytes: number;
}

export type Send = (request: { method: 'GET' | 'PUT' | 'POST' | 'DELETE'; path: string; headers: Record<string, string>; body?: Buffer | AsyncIterable<Buffer> }) => Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>;

/** What a worker does next: one request, or steps; a promise when it must be made first (e.g. signed on the spot). */
export type Next = Operation | Steps | null | Promise<Operation | Steps | null>;

export interface LoadSpec {
  concurrency: number;
  /** Connections to the target (default: one per worker), for steps that send requests in parallel. */
  connections?: number;
  /** Stop after this long, or after `maxOps` operations, whichever comes first. */
  durationMs: number;
  maxOps?: number;
  /** The next operation for a worker, or null when there is nothing left to do. */
  next: (index: number) => Next;
}

export async function runLoad(target: Target, spec: LoadSpec): Promise<Figures> {
  const { recorder, seconds } = await measureLoad(target, spec);
  return recorder.figures(seconds);
}

/** One load run: its latencies and bytes, and how long it took (several runs can be merged into one figure). */
export async function measureLoad(target: Target, spec: LoadSpec): Promise<{ recorder: Recorder; seconds: number }> {
  const pool = new Pool(target.origin, { connections: spec.connections ?? spec.concurrency, pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
  const recorder = new Recorder();
  const started = performance.now();
  const deadline = started + spec.durationMs;
  let issued = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (performance.now() >= deadline || (spec.maxOps !== undefined && issued >= spec.maxOps)) return;
      const next = spec.next(issued++);
      const op = next instanceof Promise ? await next : next;
      if (!op) return;
      const t0 = performance.now();
      try {
        if ('steps' in op) {
          if (await op.steps(send)) recorder.record(performance.now() - t0, op.bytes);
          else recorder.errors++;
          continue;
        }
        const res = await pool.request({
          origin: target.origin,
          path: op.path,
          method: op.method,
          headers: { ...target.headers, ...op.headers, ...(Buffer.isBuffer(op.body) ? { 'content-length': String(op.body.length) } : {}) },
          body: op.body === undefined || Buffer.isBuffer(op.body) ? (op.body ?? null) : Readable.from(op.body),
        });
        let received = 0;
        for await (const chunk of res.body) received += (chunk as Buffer).length;
        const expected = res.statusCode < 300 ? op.method !== 'GET' || op.bytes === 0 || received === op.bytes : op.alsoOk?.includes(res.statusCode) === true;
        if (!expected) recorder.errors++;
        else recorder.record(performance.now() - t0, op.bytes);
      } catch {
        recorder.errors++;
      }
    }
  };
  const send: Send = async (request) => {
    const res = await pool.request({
      origin: target.origin,
      ...request,
      headers: { ...request.headers, ...(Buffer.isBuffer(request.body) ? { 'content-length': String(request.body.length) } : {}) },
      body: request.body === undefined || Buffer.isBuffer(request.body) ? (request.body ?? null) : Readable.from(request.body),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { recorder, seconds };
}
