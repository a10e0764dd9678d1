/**
 * Micro-benchmark of the metadata stores alone (no HTTP), old SqliteMetaStore against the new SqliteKvStore in
 * the same run, rounds alternating so that a noisy host hits both alike:
 * - PUT: a 4 KiB small object at concurrency 64. Old: putObject (inline bytes). New: the transaction a PUT
 *   becomes (2 gets: bucket and current object; 3 puts: object row, inline bytes, a totals delta row), and the
 *   same without the delta row (the old store updated the bucket's totals in place instead).
 * - GET: at concurrency 64, random keys among all seeded objects (mostly SQLite reads) and among 200 hot ones
 *   (the row caches). Old: getObject (record and bytes in one query). New: two gets (object row, inline bytes),
 *   and the object row alone.
 * Not part of the test suite. Usage: node --import tsx bench/kv-micro.ts [--rounds N] [--seed N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ObjectRecord } from '../src/core/types.ts';
import { bytesTable, jsonTable, type KvStore } from '../src/store/meta/kv.ts';
import { SqliteMetaStore } from '../src/store/meta/sqlite/sqlite-meta-store.ts';
import { SqliteKvStore } from '../src/store/meta/sqlite/sqlite-kv-store.ts';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, seed: { type: 'string', default: '20000' }, puts: { type: 'string', default: '6000' }, gets: { type: 'string', default: '60000' } },
});
const ROUNDS = Number(args.rounds);
const SEEDED = Number(args.seed);
const PUTS = Number(args.puts);
const GETS = Number(args.gets);
const CONCURRENCY = 64;
const HOT_KEYS = 200;
const BUCKET = 'bench';
const BODY = Buffer.alloc(4096, 0x5a);

interface ObjectRow {
  versionId: string;
  blobId: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: number;
  meta: Record<string, string>;
  headers: Record<string, string>;
  deleteAt: number | null;
  encryption: null;
}
interface BucketRow {
  id: string;
  projectId: string;
  encryption: null;
}
interface Delta {
  objects: number;
  bytes: number;
}

const buckets = jsonTable<BucketRow>('buckets');
const objects = jsonTable<ObjectRow>('objects');
const inline = bytesTable('inline');
const deltas = jsonTable<Delta>('deltas');

function keyOf(i: number): string {
  return `seed/${String(i).padStart(8, '0')}`;
}

function oldRecord(key: string): ObjectRecord {
  return {
    bucket: BUCKET,
    key,
    blobId: '',
    size: BODY.length,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType: 'application/octet-stream',
    lastModified: Date.now(),
    meta: {},
    headers: {},
    deleteAt: null,
    encryption: null,
    inline: BODY,
  };
}

function newRow(n: number): ObjectRow {
  return {
    versionId: n.toString(16).padStart(16, '0'),
    blobId: '',
    size: BODY.length,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType: 'application/octet-stream',
    lastModified: Date.now(),
    meta: {},
    headers: {},
    deleteAt: null,
    encryption: null,
  };
}

async function newPut(store: KvStore, key: string, n: number, withDelta = true): Promise<void> {
  await store.transact(async (tx) => {
    const bucket = await tx.get(buckets, 'p1', BUCKET);
    if (!bucket) throw new Error('no bucket');
    const previous = await tx.get(objects, bucket.value.id, key);
    const row = newRow(n);
    tx.put(objects, bucket.value.id, key, row);
    tx.put(inline, bucket.value.id, row.versionId, BODY);
    if (withDelta) tx.put(deltas, bucket.value.id, row.versionId, { objects: previous ? 0 : 1, bytes: BODY.length - (previous?.value.size ?? 0) });
  });
}

async function newGet(store: KvStore, key: string, withBytes = true): Promise<void> {
  const row = await store.get(objects, 'b-1', key);
  if (!row) throw new Error(`missing ${key}`);
  if (!withBytes) return;
  const bytes = await store.get(inline, 'b-1', row.value.versionId);
  if (bytes?.value.length !== BODY.length) throw new Error('bad bytes');
}

interface Measure {
  opsPerSecond: number;
  cpuMicrosPerOp: number;
}

async function measure(total: number, op: (i: number) => Promise<void>): Promise<Measure> {
  let next = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) await op(next++);
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { opsPerSecond: total / seconds, cpuMicrosPerOp: (used.user + used.system) / total };
}

async function seedOld(store: SqliteMetaStore): Promise<void> {
  await store.createProject({ id: 'p1', name: 'p1', createdAt: 0, meta: {} });
  await store.createBucket({
    name: BUCKET,
    projectId: 'p1',
    type: 'STANDARD',
    createdAt: 0,
    updatedAt: 0,
    objectCount: 0,
    bytes: 0,
    publicRead: false,
    publicReadAllowIps: [],
    encryption: null,
    meta: {},
  });
  for (let from = 0; from < SEEDED; from += 10_000) {
    const count = Math.min(10_000, SEEDED - from);
    await store.putObjects(Array.from({ length: count }, (_, i) => oldRecord(keyOf(from + i))));
  }
}

async function seedNew(store: SqliteKvStore): Promise<void> {
  await store.transact(async (tx) => {
    tx.put(buckets, 'p1', BUCKET, { id: 'b-1', projectId: 'p1', encryption: null });
  });
  for (let from = 0; from < SEEDED; from += 10_000) {
    const count = Math.min(10_000, SEEDED - from);
    const indexes = Array.from({ length: count }, (_, i) => from + i);
    await store.bulkPut(
      objects,
      indexes.map((n) => ({ pk: 'b-1', sk: keyOf(n), value: newRow(n) })),
    );
    await store.bulkPut(
      inline,
      indexes.map((n) => ({ pk: 'b-1', sk: newRow(n).versionId, value: BODY })),
    );
  }
}

function random(below: number): number {
  return Math.floor(Math.random() * below);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const dir = await mkdtemp(join(tmpdir(), 'onggi-kv-micro-'));
const batches: number[] = [];
let retries = 0;
const oldStore = new SqliteMetaStore(join(dir, 'old.sqlite'));
const newStore = SqliteKvStore.open(join(dir, 'new.sqlite'), {
  tables: [buckets, objects, inline, deltas],
  observer: { groupCommitted: (n) => batches.push(n), retried: () => retries++ },
});
try {
  await seedOld(oldStore);
  await seedNew(newStore);
  const results = new Map<string, Measure[]>();
  const record = (name: string, m: Measure): void => {
    results.set(name, [...(results.get(name) ?? []), m]);
  };
  let putCounter = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const base = putCounter;
    putCounter += 2 * PUTS;
    record('PUT 4 KiB  old', await measure(PUTS, (i) => oldStore.putObject(oldRecord(`put/${base + i}`)).then(() => undefined)));
    record('PUT 4 KiB  new', await measure(PUTS, (i) => newPut(newStore, `put/${base + i}`, SEEDED + base + i)));
    record('PUT 4 KiB  new, no delta row', await measure(PUTS, (i) => newPut(newStore, `put/${base + PUTS + i}`, SEEDED + base + PUTS + i, false)));
    record('GET random old', await measure(GETS, () => oldStore.getObject(BUCKET, keyOf(random(SEEDED))).then(() => undefined)));
    record('GET random new', await measure(GETS, () => newGet(newStore, keyOf(random(SEEDED)))));
    record('GET random new, object row only', await measure(GETS, () => newGet(newStore, keyOf(random(SEEDED)), false)));
    record('GET hot    old', await measure(GETS, () => oldStore.getObject(BUCKET, keyOf(random(HOT_KEYS))).then(() => undefined)));
    record('GET hot    new', await measure(GETS, () => newGet(newStore, keyOf(random(HOT_KEYS)))));
  }
  console.log(`${ROUNDS} rounds, concurrency ${CONCURRENCY}, ${SEEDED} seeded objects; medians:`);
  for (const [name, runs] of results) {
    const ops = median(runs.map((m) => m.opsPerSecond));
    const cpu = median(runs.map((m) => m.cpuMicrosPerOp));
    console.log(`${name.padEnd(32)}  ${ops.toFixed(0).padStart(8)} ops/s  ${cpu.toFixed(1).padStart(7)} µs CPU/op   (runs: ${runs.map((m) => m.opsPerSecond.toFixed(0)).join(', ')})`);
  }
  const mean = batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length);
  console.log(`new store: ${batches.length} group commits, ${mean.toFixed(1)} transactions per batch on average, ${retries} retries`);
} finally {
  await oldStore.close();
  await newStore.close();
  await rm(dir, { recursive: true, force: true });
}
