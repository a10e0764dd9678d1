/**
 * The bench's fast loaders against the bare node:http server: wrk sends a list of requests (round and round, or
 * each once), ab sends HEAD; every answer that is not 2xx is an error of the row, never throughput.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runLoad } from '../../bench/loader.ts';
import { startBare, type Contender } from '../../bench/targets.ts';
import { haveAb, haveWrk, runFast, type WrkRequest } from '../../bench/wrk.ts';

const skip = haveWrk() && haveAb() ? false : 'wrk and ab are not installed (scripts/install-bench-deps.sh)';
let bare: Contender;
const body = Buffer.alloc(4096, 1);

before(async () => {
  if (skip) return;
  bare = await startBare();
});
after(async () => {
  await bare?.spawned.stop();
});

async function seed(keys: string[]): Promise<void> {
  let next = 0;
  await runLoad(bare.target, { concurrency: 8, durationMs: 60_000, maxOps: keys.length, next: () => ({ method: 'PUT', path: bare.target.objectPath(keys[next++] ?? ''), body, bytes: body.length }) });
}

const requests = (method: WrkRequest['method'], keys: string[]): WrkRequest[] => keys.map((key) => ({ method, path: bare.target.objectPath(key) }));

test('wrk: GETs of seeded keys and PUTs of a ring of keys count as throughput, with latency percentiles', { skip, timeout: 60_000 }, async () => {
  const keys = Array.from({ length: 50 }, (_, i) => `wrk-get-${i}`);
  await seed(keys);
  const gets = await runFast(bare.target, { requests: requests('GET', keys), bytes: body.length }, 4, 1);
  const got = gets.recorder.figures(gets.seconds);
  assert.equal(got.errors, 0);
  assert.ok(got.ops > 100, `${got.ops} GETs`);
  assert.ok(got.p50Ms > 0 && got.p99Ms >= got.p50Ms, `p50 ${got.p50Ms} ms, p99 ${got.p99Ms} ms`);
  assert.ok(Math.abs(got.mbPerSec - (got.ops * 4096) / 1e6 / gets.seconds) < 0.01, 'MB/s from the 2xx answers');
  assert.equal(gets.statuses['below 400'], got.ops, 'every answer below 400');
  const puts = await runFast(bare.target, { requests: requests('PUT', keys), body, bytes: body.length }, 4, 1);
  assert.equal(puts.recorder.errors, 0);
  assert.ok(puts.recorder.figures(puts.seconds).ops > 100);
});

test('wrk: an answer that is not 2xx fails the row and is not throughput', { skip, timeout: 60_000 }, async () => {
  const run = await runFast(bare.target, { requests: requests('GET', ['wrk-missing']), bytes: 4096 }, 2, 1);
  const figures = run.recorder.figures(run.seconds);
  assert.equal(figures.ops, 0, 'no 404 counted as done');
  assert.ok(figures.errors > 100, `${figures.errors} errors`);
  assert.equal(run.statuses['400 and over'], figures.errors);
});

test('wrk: each request once (DELETE of seeded keys): the row is timed over the time it was busy', { skip, timeout: 60_000 }, async () => {
  const keys = Array.from({ length: 500 }, (_, i) => `wrk-delete-${i}`);
  await seed(keys);
  const run = await runFast(bare.target, { requests: requests('DELETE', keys), once: true, bytes: 0 }, 4, 2);
  const figures = run.recorder.figures(run.seconds);
  assert.equal(run.exhausted, true, 'the list ran out before the 2 s were up');
  assert.equal(figures.errors, 0, 'no key deleted twice');
  assert.equal(run.statuses['204'], figures.ops, 'each status counted');
  // A thread stops as soon as one of its connections finds its share sent: the answers still on its way are not read.
  assert.ok(figures.ops >= keys.length - 4 && figures.ops <= keys.length, `${figures.ops} DELETEs answered`);
  assert.ok(run.seconds < 1.5, `timed over ${run.seconds} s, not the whole 2 s`);
});

test('ab: HEAD on kept-alive connections; a 404 fails the row', { skip, timeout: 60_000 }, async () => {
  await seed(['ab-head']);
  const ok = await runFast(bare.target, { requests: requests('HEAD', ['ab-head']), bytes: 0 }, 4, 1);
  const figures = ok.recorder.figures(ok.seconds);
  assert.equal(figures.errors, 0);
  assert.ok(figures.ops > 100 && figures.p99Ms > 0, `${figures.ops} HEADs, p99 ${figures.p99Ms} ms`);
  const missing = await runFast(bare.target, { requests: requests('HEAD', ['ab-missing']), bytes: 0 }, 4, 1);
  assert.equal(missing.recorder.figures(missing.seconds).ops, 0);
  assert.ok(missing.recorder.errors > 100);
});
