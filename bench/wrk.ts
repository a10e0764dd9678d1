/**
 * The bench's fast load generators, for the rows where the undici loader (~10k requests/s on 2 cores) would be the
 * bottleneck: `wrk` (GET, PUT, DELETE: bench/wrk/requests.lua sends a list of requests, each formatted once) and
 * ApacheBench for HEAD (wrk waits for a HEAD response's Content-Length of body, so it cannot send HEAD; `ab -k -i`
 * keeps the connection and reads HEAD answers right; two processes, as ab is single-threaded). Both from Debian: scripts/install-bench-deps.sh.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Target } from './loader.ts';
import { Recorder } from './stats.ts';

const exec = promisify(execFile);
const SCRIPT = join(import.meta.dirname, 'wrk', 'requests.lua');
/** wrk's request timeout: a slower answer counts as an error (its latency histogram is sized by it). */
const TIMEOUT_SECONDS = 10;

export interface WrkRequest {
  method: 'GET' | 'PUT' | 'DELETE' | 'HEAD';
  path: string;
  /** Besides the target's own (its token). */
  headers?: Record<string, string>;
}

/** What a fast loader sends in one run: a list of requests, over and over (or each once), on `connections`. */
export interface FastLoad {
  requests: WrkRequest[];
  /** The body of every PUT. */
  body?: Buffer;
  /** Each request once (a DELETE of seeded keys); a thread that has sent its share stops. */
  once?: boolean;
  /** Payload bytes per request, for MB/s. */
  bytes: number;
}

export interface FastRun {
  recorder: Recorder;
  seconds: number;
  /** How many answers each status had ("once" runs; else below 400 and 400 and over, as wrk counts them). */
  statuses: Record<string, number>;
  /** A "once" run whose list ran out before the time was up (its time is then the time it was busy). */
  exhausted: boolean;
}

export function haveWrk(): boolean {
  return existsSync('/usr/bin/wrk') || existsSync('/usr/local/bin/wrk');
}

export function haveAb(): boolean {
  return existsSync('/usr/bin/ab') || existsSync('/usr/local/bin/ab');
}

/** wrk's duration is whole seconds. */
export function fastSeconds(seconds: number): number {
  return Math.max(1, Math.round(seconds));
}

interface WrkOutput {
  requests: number;
  durationUs: number;
  errors: Record<string, number>;
  statuses: Record<string, number>;
  exhausted: boolean;
  activeUs: number;
  latencyUs: [number, number][];
}

/** One run of `load` against `target` for `seconds` (whole) on `connections`. */
export async function runFast(target: Target, load: FastLoad, connections: number, seconds: number): Promise<FastRun> {
  if (load.requests.every((r) => r.method === 'HEAD')) return runAb(target, load, connections, seconds);
  const dir = await mkdtemp(join(tmpdir(), 'onggi-wrk-'));
  try {
    const threads = Math.min(2, connections);
    const requestsFile = join(dir, 'requests.txt');
    await writeFile(requestsFile, load.requests.map((r) => requestLine(r, target.headers)).join('\n') + '\n');
    const bodyFile = load.body ? join(dir, 'body.bin') : '-';
    if (load.body) await writeFile(bodyFile, load.body);
    const args = ['-t', String(threads), '-c', String(connections), '-d', `${fastSeconds(seconds)}s`, '--timeout', `${TIMEOUT_SECONDS}s`, '-s', SCRIPT, target.origin, '--', requestsFile, bodyFile, load.once ? 'once' : 'cycle', String(threads)];
    // Each answer through Lua only where the run needs it (see requests.lua: it costs wrk as much CPU again).
    const env = { ...process.env, BENCH_WRK_STATUSES: load.once ? '1' : '0' };
    const { stdout } = await exec('wrk', args, { maxBuffer: 64 * 1024 * 1024, env });
    const line = stdout.split('\n').find((l) => l.startsWith('WRK_RESULT '));
    if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
    const out = JSON.parse(line.slice('WRK_RESULT '.length)) as WrkOutput;
    return fromWrk(out, load.bytes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function requestLine(request: WrkRequest, targetHeaders: Record<string, string>): string {
  const headers = { ...targetHeaders, ...request.headers };
  // wrk.format adds `Host` unless given under that spelling: a signed request's `host` must not be sent twice.
  const line = Object.entries(headers).map(([name, value]) => `${name.toLowerCase() === 'host' ? 'Host' : name}: ${value}`);
  return [request.method, request.path, ...line].join('\t');
}

/**
 * Every answer that is not 2xx (where the run counted each status; else every status ≥ 400, which wrk counts itself:
 * the bench's requests have no 3xx answer), and every connection error or timeout, is an error: it is not throughput.
 */
function fromWrk(out: WrkOutput, bytesPerOp: number): FastRun {
  const recorder = new Recorder();
  const counted = Object.keys(out.statuses).length > 0;
  const { connect = 0, read = 0, write = 0, timeout = 0, status = 0 } = out.errors;
  const ok = counted ? Object.entries(out.statuses).filter(([code]) => code.startsWith('2')).reduce((sum, [, n]) => sum + n, 0) : out.requests - status;
  const failed = counted ? Object.entries(out.statuses).filter(([code]) => !code.startsWith('2')).reduce((sum, [, n]) => sum + n, 0) : status;
  recorder.errors = failed + connect + read + write + timeout;
  recorder.recordHistogram(out.latencyUs.map(([us, n]) => [us / 1000, n]), ok, bytesPerOp);
  const seconds = (out.exhausted ? out.activeUs : out.durationUs) / 1e6;
  const statuses = counted ? out.statuses : { 'below 400': out.requests - status, '400 and over': status };
  return { recorder, seconds, statuses, exhausted: out.exhausted };
}

/**
 * HEAD through ApacheBench. ab is single-threaded and takes one URL: two ab processes (as wrk runs two threads) split
 * the connections, each asking for its own key of the list; `-e` gives each one's latency percentiles, merged as a
 * histogram of 100 equal slices.
 */
async function runAb(target: Target, load: FastLoad, connections: number, seconds: number): Promise<FastRun> {
  const processes = Math.min(2, connections);
  const runs = await Promise.all(Array.from({ length: processes }, (_, i) => {
    const request = load.requests[i % load.requests.length];
    if (!request) throw new Error('no request to send');
    const share = Math.floor(connections / processes) + (i < connections % processes ? 1 : 0);
    return runOneAb(target, request, share, seconds);
  }));
  const recorder = new Recorder();
  let ok = 0;
  let nonOk = 0;
  for (const run of runs) {
    recorder.errors += run.nonOk + run.failed;
    recorder.recordHistogram(run.percentiles.slice(1).map((ms) => [ms, run.ok / 100]), run.ok, load.bytes);
    ok += run.ok;
    nonOk += run.nonOk;
  }
  return { recorder, seconds: Math.max(...runs.map((r) => r.seconds)), statuses: { '2xx': ok, other: nonOk }, exhausted: false };
}

async function runOneAb(target: Target, request: WrkRequest, connections: number, seconds: number): Promise<{ ok: number; nonOk: number; failed: number; seconds: number; percentiles: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'onggi-ab-'));
  try {
    const headers = { ...target.headers, ...request.headers };
    const csv = join(dir, 'percentiles.csv');
    const args = ['-q', '-k', '-i', '-c', String(connections), '-t', String(fastSeconds(seconds)), '-n', '100000000', '-e', csv, '-s', String(TIMEOUT_SECONDS), ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]), `${target.origin}${request.path}`];
    const { stdout } = await exec('ab', args, { maxBuffer: 16 * 1024 * 1024 });
    const number = (pattern: RegExp): number => Number(pattern.exec(stdout)?.[1] ?? 0);
    const complete = number(/Complete requests:\s+(\d+)/);
    const nonOk = number(/Non-2xx responses:\s+(\d+)/);
    const failed = number(/Failed requests:\s+(\d+)/);
    // ab's percentiles 0…100: each slice between two of them holds 1 % of the answers.
    const percentiles = (await readFile(csv, 'utf8')).split('\n').slice(1).filter(Boolean).map((l) => Number(l.split(',')[1]));
    return { ok: complete - nonOk - failed, nonOk, failed, seconds: number(/Time taken for tests:\s+([\d.]+) seconds/), percentiles };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
