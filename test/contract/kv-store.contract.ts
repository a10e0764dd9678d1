/**
 * The MetadataStore contract: every implementation (SQLite, PostgreSQL) runs these same tests, through the interface
 * only. `open` must return a fresh, empty store with the given tables; `close` closes it and removes whatever
 * `open` created. `reopen` (optional) closes a store without removing its data and opens that data again.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bytesTable,
  Conflict,
  Contention,
  jsonTable,
  type Entry,
  type GroupedEntry,
  type GroupedRange,
  type MetadataStore,
  type MetadataStoreOptions,
  type ReadOps,
  type ScanRange,
  type StoreObserver,
  type Version,
} from '../../src/store/meta/index.ts';

export type OpenKvStore = (options: MetadataStoreOptions) => Promise<MetadataStore>;
export type CloseKvStore = (store: MetadataStore) => Promise<void>;
export type ReopenKvStore = (store: MetadataStore, options: MetadataStoreOptions) => Promise<MetadataStore>;

interface Doc {
  name: string;
  n?: number;
  tags?: string[];
  nested?: { deep: { value: string | boolean | number } };
}

interface Timed {
  name: string;
  /** ms since the epoch; null: for ever */
  until: number | null;
}

export const docs = jsonTable<Doc>('docs');
export const blobs = bytesTable('blobs');
export const counters = jsonTable<number>('counters');
export const timed = jsonTable<Timed>('timed', { liveUntil: (value) => value.until });
/** `timed` as declared before it had `liveUntil` (a table that gains it when opened again). */
const timedWithoutLiveUntil = jsonTable<Timed>('timed');
export const attached = jsonTable<Doc>('attached', { attachments: true });
interface Sum {
  n: number;
  max: number;
}
/** A table that takes merges (Tx.merge): counts add up, `max` keeps the larger; a negative delta fails. */
export const sums = jsonTable<Sum>('sums', {
  merge: (a, b) => {
    if (b.n < 0) throw new RangeError('a negative delta');
    return { n: a.n + b.n, max: Math.max(a.max, b.max) };
  },
});
interface Point {
  x: number;
  y: number;
}
/** A table with a codec: stored as [x, y]; rows stored as {x, y} (before the codec) still read. */
export const points = jsonTable<Point>('points', {
  codec: {
    pack: (point) => [point.x, point.y],
    unpack: (stored) => (Array.isArray(stored) ? { x: Number(stored[0]), y: Number(stored[1]) } : (stored as Point)),
  },
});
/** `points` seen without its codec: the JSON values as stored. */
const pointsAsStored = jsonTable<unknown>('points');
export const CONTRACT_TABLES = [docs, blobs, counters, timed, attached, sums, points];

/** Sort keys compare as UTF-8 bytes (= code points), not as JavaScript's UTF-16 code units. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Keys that trip up stores comparing as UTF-16, as locale text, or mishandling prefixes and wildcards. */
export const TRICKY_KEYS: readonly string[] = [
  'a',
  'a/',
  'a/b',
  'a/b/c',
  'a0',
  'ab',
  'A',
  'Z',
  '_',
  '~',
  '%',
  ' space',
  '\u0001',
  'a\u0001',
  'é',
  'e\u0301',
  '\u00ff',
  '\u0100',
  '\u07ff',
  '\u0800',
  '\ud7ff',
  '\ue000',
  '\ufffd',
  '\uffff',
  '😀',
  '😀/x',
  '\u{10000}',
  '\u{10ffff}',
  '한국어/키',
  'a%2Fb',
  'a\tb',
  'a b',
];

/** Counts what the store reports to its observer. */
class Counts implements StoreObserver {
  retries = 0;
  batches: number[] = [];
  retried(): void {
    this.retries++;
  }
  groupCommitted(transactions: number): void {
    this.batches.push(transactions);
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function range(extra: Partial<ScanRange> = {}): ScanRange {
  return { prefix: '', limit: 10_000, reverse: false, ...extra };
}

async function keysOf(reader: ReadOps, pk: string, scan: Partial<ScanRange>): Promise<string[]> {
  return (await reader.scan(docs, pk, range(scan))).map((entry) => entry.sk);
}

async function put(store: MetadataStore, pk: string, sk: string, value: Doc): Promise<Version> {
  await store.transact(async (tx) => {
    tx.put(docs, pk, sk, value);
  });
  const row = await store.get(docs, pk, sk);
  assert.ok(row, `${pk}/${sk} was written`);
  return row.version;
}

async function versionOf(store: MetadataStore, pk: string, sk: string): Promise<Version | null> {
  return (await store.get(docs, pk, sk))?.version ?? null;
}

/** The keys between two bounds of `sorted`, as a reference to check scans against. */
function between(sorted: readonly string[], lo: string, hi: string, loIn: boolean, hiIn: boolean): string[] {
  return sorted.filter((k) => {
    const a = byteOrder(k, lo);
    const b = byteOrder(k, hi);
    return (loIn ? a >= 0 : a > 0) && (hiIn ? b <= 0 : b < 0);
  });
}

/** A row's key, or a common prefix: what a grouped scan gives, by key. */
export type GroupedKey = { kind: 'item'; item: string } | { kind: 'prefix'; prefix: string };

/** What a grouped scan must give, worked out from every key in byte order (a reference for stores and callers). */
export function groupedReference(sorted: readonly string[], scan: GroupedRange): GroupedKey[] {
  const { lower, upper } = scan;
  const within = sorted.filter((key) => {
    if (!key.startsWith(scan.prefix)) return false;
    if (lower && byteOrder(key, lower.key) < (lower.inclusive ? 0 : 1)) return false;
    return !(upper && byteOrder(key, upper.key) > (upper.inclusive ? 0 : -1));
  });
  const out: GroupedKey[] = [];
  for (const key of scan.reverse ? within.reverse() : within) {
    const at = key.indexOf(scan.delimiter, scan.prefix.length);
    if (at < 0) out.push({ kind: 'item', item: key });
    else {
      const prefix = key.slice(0, at + scan.delimiter.length);
      const last = out[out.length - 1];
      if (last?.kind !== 'prefix' || last.prefix !== prefix) out.push({ kind: 'prefix', prefix });
    }
  }
  return out.slice(0, scan.limit);
}

/** `[prefix]` for a common prefix, the key for a row. */
function render(entry: GroupedKey): string {
  return entry.kind === 'item' ? entry.item : `[${entry.prefix}]`;
}

export function kvStoreContract(name: string, open: OpenKvStore, close: CloseKvStore, reopen?: ReopenKvStore): void {
  async function withStore(body: (store: MetadataStore, counts: Counts) => Promise<void>): Promise<void> {
    const counts = new Counts();
    const store = await open({ tables: CONTRACT_TABLES, observer: counts });
    try {
      await body(store, counts);
    } finally {
      await close(store);
    }
  }

  describe(`MetadataStore contract: ${name}`, () => {
    describe('rows', () => {
      test('json rows: put, get, overwrite, delete; a missing row is null', () =>
        withStore(async (store) => {
          assert.equal(await store.get(docs, 'p', 'k'), null);
          const doc: Doc = { name: '한글 ☃ 😀', n: 3.5, tags: ['a', ''], nested: { deep: { value: false } } };
          await put(store, 'p', 'k', doc);
          assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, doc);
          await put(store, 'p', 'k', { name: 'second' });
          assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { name: 'second' });
          await store.transact(async (tx) => {
            tx.delete(docs, 'p', 'k');
          });
          assert.equal(await store.get(docs, 'p', 'k'), null);
        }));

      test('json values of every shape round-trip, the empty object too', () =>
        withStore(async (store) => {
          const values = [{}, [], [1, 'two', { three: [3] }], 'a string', '', 0, -1.25, 1e300, true, false, { a: {} }, { '': 'empty key', 'é': 'ü' }];
          const table = jsonTable<unknown>('docs');
          await store.transact(async (tx) => {
            values.forEach((value, i) => {
              tx.put(table, 'shapes', String(i), value);
            });
          });
          for (const [i, value] of values.entries()) assert.deepEqual((await store.get(table, 'shapes', String(i)))?.value, value, `value ${i}`);
        }));

      test('bytes rows keep every byte, including empty and large values', () =>
        withStore(async (store) => {
          const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
          const large = Buffer.alloc(1024 * 1024 + 3, 0xab);
          await store.transact(async (tx) => {
            tx.put(blobs, 'p', 'all', all);
            tx.put(blobs, 'p', 'empty', Buffer.alloc(0));
            tx.put(blobs, 'p', 'large', large);
          });
          assert.deepEqual((await store.get(blobs, 'p', 'all'))?.value, all);
          assert.equal((await store.get(blobs, 'p', 'empty'))?.value.length, 0);
          assert.ok((await store.get(blobs, 'p', 'large'))?.value.equals(large));
          const scanned = await store.scan(blobs, 'p', range());
          assert.deepEqual(
            scanned.map((entry) => [entry.sk, entry.value.length]),
            [
              ['all', 256],
              ['empty', 0],
              ['large', large.length],
            ],
          );
        }));

      test('deleting a missing row is no error', () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            tx.delete(docs, 'p', 'missing');
          });
          assert.equal(await store.get(docs, 'p', 'missing'), null);
        }));

      test('a table with a codec: values go out through pack and come back through unpack, in every read', () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            tx.put(points, 'p', 'a', { x: 1, y: 2 });
            tx.put(points, 'p', 'b', { x: -3.5, y: 0 });
            assert.deepEqual((await tx.get(points, 'p', 'a'))?.value, { x: 1, y: 2 });
          });
          assert.deepEqual((await store.get(points, 'p', 'b'))?.value, { x: -3.5, y: 0 });
          await store.transact(async (tx) => {
            tx.put(points, 'p', 'c', { x: 9, y: 9 });
            const scanned = await tx.scan(points, 'p', range());
            assert.deepEqual(scanned.map((entry) => entry.value), [{ x: 1, y: 2 }, { x: -3.5, y: 0 }, { x: 9, y: 9 }]);
          });
          assert.deepEqual((await store.scan(points, 'p', range({ reverse: true, limit: 1 }))).map((entry) => entry.value), [{ x: 9, y: 9 }]);
        }));

      test('tables and partitions are separate', () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            tx.put(docs, 'a', 'k', { name: 'docs a' });
            tx.put(docs, 'b', 'k', { name: 'docs b' });
            tx.put(docs, 'a/', 'k', { name: 'docs a/' });
            tx.put(counters, 'a', 'k', 7);
          });
          assert.deepEqual((await store.get(docs, 'a', 'k'))?.value, { name: 'docs a' });
          assert.deepEqual((await store.get(docs, 'b', 'k'))?.value, { name: 'docs b' });
          assert.equal((await store.get(counters, 'a', 'k'))?.value, 7);
          assert.equal(await store.get(counters, 'b', 'k'), null);
          // The boundary between pk and sk is not a string concatenation.
          assert.equal(await store.get(docs, 'a', '/k'), null);
          assert.equal(await store.get(docs, 'ak', ''), null);
          assert.deepEqual(await keysOf(store, 'a', {}), ['k']);
          await store.transact(async (tx) => {
            tx.delete(docs, 'a', 'k');
          });
          assert.deepEqual((await store.get(docs, 'b', 'k'))?.value, { name: 'docs b' });
          assert.equal((await store.get(counters, 'a', 'k'))?.value, 7);
        }));

      test('versions change on every write, and never come back after delete and re-create', () =>
        withStore(async (store) => {
          const seen = new Set<Version>();
          for (let i = 0; i < 5; i++) {
            const version = await put(store, 'p', 'k', { name: `v${i}` });
            assert.ok(!seen.has(version), 'a new version');
            seen.add(version);
            if (i % 2 === 1) {
              await store.transact(async (tx) => {
                tx.delete(docs, 'p', 'k');
              });
            }
          }
          const [entry] = await store.scan(docs, 'p', range());
          assert.equal(entry?.version, await versionOf(store, 'p', 'k'), 'scan and get agree on the version');
        }));

      test('transact returns what work returns; a read-only transaction commits nothing', () =>
        withStore(async (store) => {
          await put(store, 'p', 'k', { name: 'x' });
          const result = await store.transact(async (tx) => {
            const row = await tx.get(docs, 'p', 'k');
            const entries = await tx.scan(docs, 'p', range());
            return { name: row?.value.name, count: entries.length };
          });
          assert.deepEqual(result, { name: 'x', count: 1 });
        }));
    });

    describe('attachments (Table.attachments)', () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const large = Buffer.alloc(1024 * 1024 + 7, 0x5a);

      test('a row and its attachment are read together; get and scans read the value only', () =>
        withStore(async (store) => {
          assert.equal(await store.getAttached(attached, 'p', 'k'), null);
          await store.transact(async (tx) => {
            tx.putAttached(attached, 'p', 'a', { name: 'with bytes' }, bytes);
            tx.putAttached(attached, 'p', 'big', { name: 'large' }, large);
            tx.putAttached(attached, 'p', 'empty', { name: 'empty bytes' }, Buffer.alloc(0));
            tx.put(attached, 'p', 'none', { name: 'no bytes' });
          });
          const a = await store.getAttached(attached, 'p', 'a');
          assert.deepEqual(a?.value, { name: 'with bytes' });
          assert.ok(a.attachment?.equals(bytes));
          assert.ok((await store.getAttached(attached, 'p', 'big'))?.attachment?.equals(large));
          assert.equal((await store.getAttached(attached, 'p', 'empty'))?.attachment?.length, 0);
          assert.equal((await store.getAttached(attached, 'p', 'none'))?.attachment, null);
          const plain = await store.get(attached, 'p', 'a');
          assert.deepEqual(plain?.value, { name: 'with bytes' });
          assert.equal(plain.version, a.version, 'get and getAttached agree on the version');
          assert.equal('attachment' in plain && plain.attachment !== undefined, false, 'get leaves the attachment out');
          const scanned = await store.scan(attached, 'p', range());
          assert.deepEqual(scanned.map((entry) => entry.sk), ['a', 'big', 'empty', 'none']);
          for (const entry of scanned) assert.equal('attachment' in entry, false, `scans leave attachments out (${entry.sk})`);
        }));

      test('a write replaces the attachment: a put without one leaves none; a delete takes it along', () =>
        withStore(async (store) => {
          const write = (attachment: Buffer | null, name: string): Promise<void> =>
            store.transact(async (tx) => {
              if (attachment) tx.putAttached(attached, 'p', 'k', { name }, attachment);
              else tx.put(attached, 'p', 'k', { name });
            });
          await write(bytes, 'one');
          await write(Buffer.from('second'), 'two');
          assert.equal((await store.getAttached(attached, 'p', 'k'))?.attachment?.toString(), 'second');
          await write(null, 'three');
          const three = await store.getAttached(attached, 'p', 'k');
          assert.deepEqual(three && [three.value.name, three.attachment], ['three', null]);
          await write(bytes, 'four');
          await store.transact(async (tx) => {
            tx.delete(attached, 'p', 'k');
          });
          assert.equal(await store.getAttached(attached, 'p', 'k'), null);
          await store.transact(async (tx) => {
            tx.put(attached, 'p', 'k', { name: 'again' });
          });
          assert.equal((await store.getAttached(attached, 'p', 'k'))?.attachment, null, 'nothing of the deleted row comes back');
        }));

      test("a transaction reads its own attachments; conditions and re-runs hold as for any row", () =>
        withStore(async (store, counts) => {
          await store.transact(async (tx) => {
            tx.putAttached(attached, 'p', 'k', { name: 'first' }, Buffer.from('first'));
          });
          const seen = await store.transact(async (tx) => {
            const before = await tx.getAttached(attached, 'p', 'k');
            tx.putAttached(attached, 'p', 'k', { name: 'mine' }, Buffer.from('mine'), { ifVersion: before?.version ?? null });
            const after = await tx.getAttached(attached, 'p', 'k');
            tx.put(attached, 'p', 'other', { name: 'no bytes' });
            return [before?.attachment?.toString(), after?.attachment?.toString(), (await tx.getAttached(attached, 'p', 'other'))?.attachment];
          });
          assert.deepEqual(seen, ['first', 'mine', null]);
          await assert.rejects(
            store.transact(async (tx) => {
              tx.putAttached(attached, 'p', 'k', { name: 'lost' }, Buffer.from('lost'), { ifVersion: null });
            }),
            Conflict,
          );
          assert.equal((await store.getAttached(attached, 'p', 'k'))?.attachment?.toString(), 'mine', 'a failed condition writes nothing');
          // A row read with its attachment and changed before the commit: the work runs again and sees the change.
          let runs = 0;
          const gate = deferred();
          const reading = store.transact(async (tx) => {
            runs++;
            const row = await tx.getAttached(attached, 'p', 'k');
            if (runs === 1) await gate.promise;
            tx.put(docs, 'p', 'copy', { name: row?.attachment?.toString() ?? 'none' });
          });
          await sleep(20);
          await store.transact(async (tx) => {
            tx.putAttached(attached, 'p', 'k', { name: 'changed' }, Buffer.from('changed'));
          });
          gate.resolve();
          await reading;
          assert.equal(runs, 2);
          assert.ok(counts.retries >= 1);
          assert.equal((await store.get(docs, 'p', 'copy'))?.value.name, 'changed');
        }));

      test('a table declared without attachments refuses them', () =>
        withStore(async (store) => {
          await assert.rejects(store.getAttached(docs, 'p', 'k'), TypeError);
          await assert.rejects(
            store.transact(async (tx) => {
              tx.putAttached(docs, 'p', 'k', { name: 'x' }, bytes);
            }),
            TypeError,
          );
          await assert.rejects(store.transact(async (tx) => tx.getAttached(docs, 'p', 'k')), TypeError);
          assert.equal(await store.get(docs, 'p', 'k'), null);
        }));
    });

    describe('scans', () => {
      const sorted = [...TRICKY_KEYS].sort(byteOrder);

      async function withTricky(body: (store: MetadataStore) => Promise<void>): Promise<void> {
        await withStore(async (store) => {
          await store.transact(async (tx) => {
            for (const key of TRICKY_KEYS) tx.put(docs, 'b1', key, { name: key });
            tx.put(docs, 'b2', 'a/b', { name: 'other partition' });
            tx.put(docs, 'b', 'a/b', { name: 'prefix of the partition' });
          });
          await body(store);
        });
      }

      test('in UTF-8 byte order, one partition only, values and versions with the keys', () =>
        withTricky(async (store) => {
          assert.deepEqual(await keysOf(store, 'b1', {}), sorted);
          assert.deepEqual(await keysOf(store, 'b1', { reverse: true }), [...sorted].reverse());
          assert.deepEqual(await keysOf(store, 'b2', {}), ['a/b']);
          assert.deepEqual(await keysOf(store, 'nope', {}), []);
          for (const entry of await store.scan(docs, 'b1', range({ prefix: 'a/' }))) {
            assert.equal(entry.value.name, entry.sk);
            assert.equal(entry.version, await versionOf(store, 'b1', entry.sk));
          }
        }));

      test('prefix', () =>
        withTricky(async (store) => {
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/' }), ['a/', 'a/b', 'a/b/c']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a' }), sorted.filter((k) => k.startsWith('a')));
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '😀' }), ['😀', '😀/x']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'e' }), ['e\u0301']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '\ud7ff' }), ['\ud7ff']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '\uffff' }), ['\uffff']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '\u{10ffff}' }), ['\u{10ffff}']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '\u0001' }), ['\u0001']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '한국어/' }), ['한국어/키']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'zz' }), []);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/', reverse: true }), ['a/b/c', 'a/b', 'a/']);
          // LIKE-style wildcards in a prefix are plain characters.
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '_' }), ['_']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: '%' }), ['%']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a%' }), ['a%2Fb']);
        }));

      test('lower and upper bounds, inclusive and exclusive, with prefix and reverse', () =>
        withTricky(async (store) => {
          for (const [lo, hi] of [
            ['a/', 'ab'],
            ['a', '\ufffd'],
            ['é', '😀'],
            ['\uffff', '\u{10ffff}'],
            ['\u0001', 'a\u0001'],
          ] as const) {
            for (const loIn of [true, false]) {
              for (const hiIn of [true, false]) {
                const expected = between(sorted, lo, hi, loIn, hiIn);
                const scan = { lower: { key: lo, inclusive: loIn }, upper: { key: hi, inclusive: hiIn } };
                assert.deepEqual(await keysOf(store, 'b1', scan), expected, `${lo}..${hi} ${loIn} ${hiIn}`);
                assert.deepEqual(await keysOf(store, 'b1', { ...scan, reverse: true }), [...expected].reverse(), `reverse ${lo}..${hi}`);
              }
            }
          }
          assert.deepEqual(await keysOf(store, 'b1', { lower: { key: 'a/b', inclusive: false } }), sorted.filter((k) => byteOrder(k, 'a/b') > 0));
          assert.deepEqual(await keysOf(store, 'b1', { upper: { key: 'A', inclusive: true } }), sorted.filter((k) => byteOrder(k, 'A') <= 0));
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/', lower: { key: 'a/', inclusive: false } }), ['a/b', 'a/b/c']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/', lower: { key: 'a', inclusive: true } }), ['a/', 'a/b', 'a/b/c']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/', upper: { key: 'a0', inclusive: true } }), ['a/', 'a/b', 'a/b/c']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/', upper: { key: 'a/b', inclusive: true } }), ['a/', 'a/b']);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a', upper: { key: 'a/b', inclusive: false }, reverse: true, limit: 2 }), ['a/', 'a%2Fb']);
          assert.deepEqual(await keysOf(store, 'b1', { lower: { key: 'b', inclusive: true }, upper: { key: 'a', inclusive: true } }), []);
          assert.deepEqual(await keysOf(store, 'b1', { prefix: 'a/', lower: { key: 'b', inclusive: true } }), []);
        }));

      test('limit is exact, in either direction; limit 0 returns nothing', () =>
        withTricky(async (store) => {
          assert.deepEqual(await keysOf(store, 'b1', { limit: 3 }), sorted.slice(0, 3));
          assert.deepEqual(await keysOf(store, 'b1', { limit: 3, reverse: true }), [...sorted].reverse().slice(0, 3));
          assert.deepEqual(await keysOf(store, 'b1', { limit: 1, prefix: 'a/' }), ['a/']);
          assert.deepEqual(await keysOf(store, 'b1', { limit: 0 }), []);
          const fromAstral = between(sorted, '\ue000', '\u{10ffff}', false, true);
          assert.deepEqual(await keysOf(store, 'b1', { lower: { key: '\ue000', inclusive: false }, limit: 4 }), fromAstral.slice(0, 4));
        }));

      test('paging through 600 keys with exclusive bounds, forward and reverse', () =>
        withStore(async (store) => {
          const keys = Array.from({ length: 600 }, (_, i) => {
            const n = String(i).padStart(4, '0');
            return i % 3 === 0 ? `dir/${n}` : i % 3 === 1 ? `dir/${n}/é` : `${n}😀`;
          });
          await store.transact(async (tx) => {
            for (const key of keys) tx.put(docs, 'p', key, { name: key });
          });
          const expected = [...keys].sort(byteOrder);
          const forward: string[] = [];
          let lower: ScanRange['lower'];
          for (;;) {
            const page = await keysOf(store, 'p', { lower, limit: 77 });
            forward.push(...page);
            const last = page.at(-1);
            if (page.length < 77 || last === undefined) break;
            lower = { key: last, inclusive: false };
          }
          assert.deepEqual(forward, expected);
          const backward: string[] = [];
          let upper: ScanRange['upper'];
          for (;;) {
            const page = await keysOf(store, 'p', { prefix: 'dir/', upper, limit: 50, reverse: true });
            backward.push(...page);
            const last = page.at(-1);
            if (page.length < 50 || last === undefined) break;
            upper = { key: last, inclusive: false };
          }
          assert.deepEqual(backward, expected.filter((k) => k.startsWith('dir/')).reverse());
        }));
    });

    describe('live rows (Table.liveUntil, ScanRange.liveAt)', () => {
      const NOW = 1_700_000_000_000;
      const liveKeys = (reader: ReadOps, scan: Partial<ScanRange>): Promise<string[]> =>
        reader.scan(timed, 'p', range({ liveAt: NOW, ...scan })).then((entries) => entries.map((entry) => entry.sk));

      test('a scan with liveAt leaves out rows whose time has come; limit, bounds and direction count live rows only', () =>
        withStore(async (store) => {
          // More rows past their time than a store might look at in one step, with live rows between them.
          const gone = Array.from({ length: 5000 }, (_, i) => `m${String(i).padStart(5, '0')}`);
          await store.transact(async (tx) => {
            for (const key of gone) tx.put(timed, 'p', key, { name: key, until: NOW - 1 });
            tx.put(timed, 'p', 'a', { name: 'for ever', until: null });
            tx.put(timed, 'p', 'm02500x', { name: 'later', until: NOW + 1 });
            tx.put(timed, 'p', 'n', { name: 'exactly now', until: NOW });
            tx.put(timed, 'p', 'z', { name: 'later', until: NOW + 60_000 });
            tx.put(timed, 'q', 'a', { name: 'other partition', until: NOW - 1 });
          });
          assert.deepEqual(await liveKeys(store, {}), ['a', 'm02500x', 'z']);
          assert.deepEqual(await liveKeys(store, { reverse: true }), ['z', 'm02500x', 'a']);
          assert.deepEqual(await liveKeys(store, { limit: 2 }), ['a', 'm02500x']);
          assert.deepEqual(await liveKeys(store, { limit: 1, lower: { key: 'a', inclusive: false } }), ['m02500x']);
          assert.deepEqual(await liveKeys(store, { limit: 1, reverse: true, upper: { key: 'z', inclusive: false } }), ['m02500x']);
          assert.deepEqual(await liveKeys(store, { prefix: 'm' }), ['m02500x']);
          assert.deepEqual(await liveKeys(store, { prefix: 'm0', upper: { key: 'm02500', inclusive: true } }), []);
          assert.deepEqual(await liveKeys(store, { liveAt: NOW - 2 }), ['a', ...gone.slice(0, 2501), 'm02500x', ...gone.slice(2501), 'n', 'z']);
          assert.equal((await store.scan(timed, 'p', range())).length, 5004, 'without liveAt every row counts');
          assert.deepEqual(await liveKeys(store, { limit: 0 }), []);
          const [later] = await store.scan(timed, 'p', range({ liveAt: NOW, lower: { key: 'm', inclusive: true }, limit: 1 }));
          assert.deepEqual(later?.value, { name: 'later', until: NOW + 1 });
          assert.equal(later.version, await store.get(timed, 'p', 'm02500x').then((row) => row?.version));
        }));

      test('rewriting a row moves it in or out of live scans; tables without liveUntil ignore liveAt', () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            tx.put(timed, 'p', 'k', { name: 'gone', until: NOW - 1 });
            tx.put(docs, 'p', 'k', { name: 'no liveUntil here' });
          });
          assert.deepEqual(await liveKeys(store, {}), []);
          await store.transact(async (tx) => {
            tx.put(timed, 'p', 'k', { name: 'back', until: null });
          });
          assert.deepEqual(await liveKeys(store, {}), ['k']);
          await store.transact(async (tx) => {
            tx.put(timed, 'p', 'k', { name: 'gone again', until: 0 });
          });
          assert.deepEqual(await liveKeys(store, {}), []);
          assert.deepEqual((await store.scan(docs, 'p', range({ liveAt: NOW }))).map((e) => e.sk), ['k']);
        }));

      test("inside a transaction, live scans see the transaction's own writes, judged the same way", () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            tx.put(timed, 'p', 'a', { name: 'live', until: null });
            tx.put(timed, 'p', 'b', { name: 'gone', until: NOW - 1 });
          });
          const seen = await store.transact(async (tx) => {
            const before = await liveKeys(tx, {});
            tx.put(timed, 'p', 'a', { name: 'now gone', until: NOW });
            tx.put(timed, 'p', 'b', { name: 'back', until: NOW + 1 });
            tx.put(timed, 'p', 'c', { name: 'new, gone', until: 1 });
            tx.put(timed, 'p', 'd', { name: 'new', until: null });
            return { before, after: await liveKeys(tx, {}), limited: await liveKeys(tx, { limit: 1 }) };
          });
          assert.deepEqual(seen, { before: ['a'], after: ['b', 'd'], limited: ['b'] });
          assert.deepEqual(await liveKeys(store, {}), ['b', 'd']);
        }));

      test('a live scan is protected like any scan: a row made live in its range makes the scanner run again', () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            tx.put(timed, 'p', 'a', { name: 'gone', until: NOW - 1 });
          });
          let runs = 0;
          const counted = await store.transact(async (tx) => {
            runs++;
            const live = await liveKeys(tx, {});
            if (runs === 1) {
              await store.transact(async (other) => {
                await other.get(counters, 'p', 'live');
                other.put(timed, 'p', 'a', { name: 'back', until: null });
              });
            }
            tx.put(counters, 'p', 'live', live.length);
            return live.length;
          });
          assert.equal(runs, 2);
          assert.equal(counted, 1);
        }));

      test('a liveUntil that is not an integer or null fails the transaction', () =>
        withStore(async (store) => {
          await assert.rejects(
            store.transact(async (tx) => {
              tx.put(timed, 'p', 'k', { name: 'bad', until: 1.5 });
            }),
            TypeError,
          );
          assert.equal(await store.get(timed, 'p', 'k'), null);
        }));
    });

    describe('grouped scans (MetadataStore.scanGrouped, on stores that offer it)', () => {
      /** Runs `body` on a store that offers grouped scans; otherwise skips the test (the caller scans step by step). */
      async function withGrouped(t: TestContext, body: (store: MetadataStore, scanGrouped: NonNullable<MetadataStore['scanGrouped']>) => Promise<void>): Promise<void> {
        await withStore(async (store) => {
          const scanGrouped = store.scanGrouped?.bind(store);
          if (!scanGrouped) {
            t.skip(`${name} offers no grouped scans (a delimited listing scans once per common prefix)`);
            return;
          }
          await body(store, scanGrouped);
        });
      }

      const KEYS = [...TRICKY_KEYS, 'a/b/d', 'a/c', 'a//x', 'a/😀/1', 'b::c::d', 'b::e', 'b:', 'dir/😀x/1', 'dir/😀y', '한국어/키/값', 'z'];
      const grouping = (entries: GroupedEntry<unknown>[]): string[] => entries.map((entry) => render(entry.kind === 'item' ? { kind: 'item', item: entry.item.sk } : entry));

      test('the same entries as grouping an ordered scan: prefixes, delimiters of one or more characters, bounds, both directions, limits', (t) =>
        withGrouped(t, async (store, scanGrouped) => {
          await store.transact(async (tx) => {
            for (const key of KEYS) tx.put(docs, 'g', key, { name: key });
            tx.put(docs, 'h', 'a/x', { name: 'other partition' });
          });
          const sorted = [...KEYS].sort(byteOrder);
          const bounds: Partial<ScanRange>[] = [{}, { lower: { key: 'a/b', inclusive: true } }, { lower: { key: 'a/b', inclusive: false } }, { upper: { key: 'b::e', inclusive: false } }, { lower: { key: 'a/', inclusive: false }, upper: { key: 'dir/😀y', inclusive: true } }];
          let compared = 0;
          for (const prefix of ['', 'a', 'a/', 'b', 'dir/', '한국어/', 'nothing'])
            for (const delimiter of ['/', '::', 'b', '😀', '/😀'])
              for (const bound of bounds)
                for (const reverse of [false, true])
                  for (const limit of [1, 3, 1000]) {
                    const scan = { ...range({ prefix, reverse, limit, ...bound }), delimiter };
                    const expected = groupedReference(sorted, scan).map(render);
                    assert.deepEqual(grouping(await scanGrouped(docs, 'g', scan)), expected, JSON.stringify(scan));
                    compared++;
                  }
          assert.equal(compared, 7 * 5 * bounds.length * 2 * 3);
        }));

      test('rows come with their values and versions; a group is one entry however many rows it has', (t) =>
        withGrouped(t, async (store, scanGrouped) => {
          const many = Array.from({ length: 3000 }, (_, i) => `photos/${String(i).padStart(4, '0')}.jpg`);
          await store.transact(async (tx) => {
            for (const key of [...many, 'index.html', 'photos.txt', 'videos/a.mp4']) tx.put(docs, 'g', key, { name: key, n: key.length });
          });
          const entries = await scanGrouped(docs, 'g', { ...range(), delimiter: '/' });
          assert.deepEqual(grouping(entries), ['index.html', 'photos.txt', '[photos/]', '[videos/]']);
          for (const entry of entries) {
            if (entry.kind !== 'item') continue;
            assert.deepEqual(entry.item.value, { name: entry.item.sk, n: entry.item.sk.length });
            assert.equal(entry.item.version, await versionOf(store, 'g', entry.item.sk));
          }
          assert.deepEqual(grouping(await scanGrouped(docs, 'g', { ...range({ prefix: 'photos/', limit: 2, reverse: true }), delimiter: '/' })), [many[2999], many[2998]]);
        }));

      test('with liveAt, rows whose time has come are left out, and a group of only such rows is gone', (t) =>
        withGrouped(t, async (store, scanGrouped) => {
          const NOW = 1_700_000_000_000;
          await store.transact(async (tx) => {
            for (let i = 0; i < 50; i++) tx.put(timed, 'p', `gone/${i}`, { name: 'gone', until: NOW - 1 });
            tx.put(timed, 'p', 'half/old', { name: 'gone', until: NOW });
            tx.put(timed, 'p', 'half/new', { name: 'live', until: NOW + 1 });
            tx.put(timed, 'p', 'old', { name: 'gone', until: NOW - 1 });
            tx.put(timed, 'p', 'new', { name: 'live', until: null });
          });
          const keys = async (scan: Partial<ScanRange>): Promise<string[]> => grouping(await scanGrouped(timed, 'p', { ...range({ liveAt: NOW, ...scan }), delimiter: '/' }));
          assert.deepEqual(await keys({}), ['[half/]', 'new']);
          assert.deepEqual(await keys({ reverse: true }), ['new', '[half/]']);
          assert.deepEqual(await keys({ liveAt: NOW - 2 }), ['[gone/]', '[half/]', 'new', 'old']);
        }));
    });

    describe("a transaction's own writes", () => {
      test('get sees its puts (with the version they commit with) and its deletes', () =>
        withStore(async (store) => {
          await put(store, 'p', 'gone', { name: 'committed' });
          await put(store, 'p', 'changed', { name: 'old' });
          let versionInside: Version | undefined;
          await store.transact(async (tx) => {
            tx.put(docs, 'p', 'new', { name: 'new' });
            tx.put(docs, 'p', 'changed', { name: 'new value' });
            tx.delete(docs, 'p', 'gone');
            const row = await tx.get(docs, 'p', 'new');
            assert.deepEqual(row?.value, { name: 'new' });
            versionInside = row?.version;
            assert.deepEqual((await tx.get(docs, 'p', 'changed'))?.value, { name: 'new value' });
            assert.equal(await tx.get(docs, 'p', 'gone'), null);
            tx.put(docs, 'p', 'gone', { name: 'back' });
            assert.deepEqual((await tx.get(docs, 'p', 'gone'))?.value, { name: 'back' });
            tx.delete(docs, 'p', 'new');
            assert.equal(await tx.get(docs, 'p', 'new'), null);
            tx.put(docs, 'p', 'new', { name: 'again' });
            versionInside = (await tx.get(docs, 'p', 'new'))?.version;
          });
          assert.equal(await versionOf(store, 'p', 'new'), versionInside);
          assert.deepEqual((await store.get(docs, 'p', 'gone'))?.value, { name: 'back' });
          assert.deepEqual((await store.get(docs, 'p', 'changed'))?.value, { name: 'new value' });
        }));

      test('scan merges its writes in order; its deletes hide rows, and limit still fills', () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            for (const sk of ['k1', 'k2', 'k3', 'k4', 'k5', 'x/1']) tx.put(docs, 'p', sk, { name: `committed ${sk}` });
          });
          await store.transact(async (tx) => {
            tx.delete(docs, 'p', 'k1');
            tx.delete(docs, 'p', 'k2');
            tx.delete(docs, 'p', 'k9');
            tx.put(docs, 'p', 'k0', { name: 'new k0' });
            tx.put(docs, 'p', 'k4', { name: 'new k4' });
            tx.put(docs, 'p', 'k😀', { name: 'astral' });
            tx.put(docs, 'p', 'k\uffff', { name: 'bmp' });
            tx.put(docs, 'q', 'k3', { name: 'other partition' });
            tx.put(counters, 'p', 'k35', 1);
            assert.deepEqual(await keysOf(tx, 'p', {}), ['k0', 'k3', 'k4', 'k5', 'k\uffff', 'k😀', 'x/1']);
            assert.deepEqual(await keysOf(tx, 'p', { limit: 3 }), ['k0', 'k3', 'k4']);
            assert.deepEqual(await keysOf(tx, 'p', { limit: 3, reverse: true }), ['x/1', 'k😀', 'k\uffff']);
            assert.deepEqual(await keysOf(tx, 'p', { prefix: 'k', lower: { key: 'k0', inclusive: false }, limit: 2 }), ['k3', 'k4']);
            assert.deepEqual(await keysOf(tx, 'p', { prefix: 'k', upper: { key: 'k4', inclusive: true }, reverse: true }), ['k4', 'k3', 'k0']);
            assert.deepEqual(await keysOf(tx, 'p', { prefix: 'x/' }), ['x/1']);
            const entries = await tx.scan(docs, 'p', range({ prefix: 'k4' }));
            assert.deepEqual(
              entries.map((e) => e.value.name),
              ['new k4'],
            );
            assert.equal(entries[0]?.version, (await tx.get(docs, 'p', 'k4'))?.version);
            tx.delete(docs, 'p', 'k3');
            tx.delete(docs, 'p', 'k4');
            tx.delete(docs, 'p', 'k5');
            assert.deepEqual(await keysOf(tx, 'p', { limit: 2 }), ['k0', 'k\uffff']);
          });
          assert.deepEqual(await keysOf(store, 'p', {}), ['k0', 'k\uffff', 'k😀', 'x/1']);
          assert.deepEqual(await keysOf(store, 'q', {}), ['k3']);
        }));

      test('reads outside the transaction see committed data only, never its buffered writes', () =>
        withStore(async (store) => {
          await put(store, 'p', 'k', { name: 'committed' });
          const written = deferred();
          const release = deferred();
          const committing = store.transact(async (tx) => {
            tx.put(docs, 'p', 'k', { name: 'buffered' });
            tx.put(docs, 'p', 'new', { name: 'buffered' });
            tx.delete(docs, 'p', 'k');
            written.resolve();
            await release.promise;
          });
          await written.promise;
          assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { name: 'committed' });
          assert.equal(await store.get(docs, 'p', 'new'), null);
          assert.deepEqual(await keysOf(store, 'p', {}), ['k']);
          const seenByOther = await store.transact(async (tx) => (await tx.get(docs, 'p', 'k'))?.value.name);
          assert.equal(seenByOther, 'committed');
          release.resolve();
          await committing;
          assert.equal(await store.get(docs, 'p', 'k'), null);
          assert.deepEqual(await keysOf(store, 'p', {}), ['new']);
        }));
    });

    describe('aborts', () => {
      test('an error thrown by work writes nothing and comes out as is', () =>
        withStore(async (store) => {
          await put(store, 'p', 'kept', { name: 'before' });
          const failure = new Error('work failed');
          await assert.rejects(
            store.transact(async (tx) => {
              tx.put(docs, 'p', 'kept', { name: 'after' });
              tx.put(docs, 'p', 'new', { name: 'new' });
              tx.put(blobs, 'p', 'b', Buffer.from('x'));
              await tx.get(docs, 'p', 'kept');
              throw failure;
            }),
            (err: unknown) => err === failure,
          );
          assert.deepEqual((await store.get(docs, 'p', 'kept'))?.value, { name: 'before' });
          assert.equal(await store.get(docs, 'p', 'new'), null);
          assert.equal(await store.get(blobs, 'p', 'b'), null);
        }));

      test('a value the table cannot hold fails the transaction', () =>
        withStore(async (store) => {
          await assert.rejects(
            store.transact(async (tx) => {
              tx.put(docs, 'p', 'ok', { name: 'fine' });
              tx.put(blobs, 'p', 'b', 'not bytes' as unknown as Buffer);
            }),
          );
          assert.equal(await store.get(docs, 'p', 'ok'), null);
        }));
    });

    describe('conditions', () => {
      test('ifVersion: a match writes, a mismatch is a Conflict that writes nothing and is not retried', () =>
        withStore(async (store) => {
          const v1 = await put(store, 'p', 'k', { name: 'one' });
          await store.transact(async (tx) => {
            tx.put(docs, 'p', 'k', { name: 'two' }, { ifVersion: v1 });
          });
          const v2 = await versionOf(store, 'p', 'k');
          assert.ok(v2 !== null && v2 !== v1);
          let runs = 0;
          await assert.rejects(
            store.transact(async (tx) => {
              runs++;
              tx.put(docs, 'p', 'other', { name: 'side effect' });
              tx.put(docs, 'p', 'k', { name: 'three' }, { ifVersion: v1 });
            }),
            (err: unknown) => err instanceof Conflict && err.table === 'docs' && err.pk === 'p' && err.sk === 'k',
          );
          assert.equal(runs, 1, 'a Conflict is not retried');
          assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { name: 'two' });
          assert.equal(await store.get(docs, 'p', 'other'), null, 'the Conflict wrote nothing');
        }));

      test('ifVersion null: the row must not exist', () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            tx.put(docs, 'p', 'k', { name: 'created' }, { ifVersion: null });
          });
          assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { name: 'created' });
          await assert.rejects(
            store.transact(async (tx) => {
              tx.put(docs, 'p', 'k', { name: 'again' }, { ifVersion: null });
            }),
            Conflict,
          );
          assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { name: 'created' });
          await store.transact(async (tx) => {
            tx.delete(docs, 'p', 'missing', { ifVersion: null });
          });
        }));

      test('conditional deletes', () =>
        withStore(async (store) => {
          const v1 = await put(store, 'p', 'k', { name: 'one' });
          await assert.rejects(
            store.transact(async (tx) => {
              tx.delete(docs, 'p', 'k', { ifVersion: v1 + 1 });
            }),
            Conflict,
          );
          await assert.rejects(
            store.transact(async (tx) => {
              tx.delete(docs, 'p', 'k', { ifVersion: null });
            }),
            Conflict,
          );
          assert.equal(await versionOf(store, 'p', 'k'), v1);
          await store.transact(async (tx) => {
            tx.delete(docs, 'p', 'k', { ifVersion: v1 });
          });
          assert.equal(await store.get(docs, 'p', 'k'), null);
          await assert.rejects(
            store.transact(async (tx) => {
              tx.delete(docs, 'p', 'k', { ifVersion: v1 });
            }),
            Conflict,
          );
        }));

      test("a condition on the transaction's own earlier write holds against that write", () =>
        withStore(async (store) => {
          await store.transact(async (tx) => {
            tx.put(docs, 'p', 'k', { name: 'first' }, { ifVersion: null });
            const first = await tx.get(docs, 'p', 'k');
            assert.ok(first);
            tx.put(docs, 'p', 'k', { name: 'second' }, { ifVersion: first.version });
          });
          assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { name: 'second' });
          await assert.rejects(
            store.transact(async (tx) => {
              tx.put(docs, 'p', 'k2', { name: 'first' });
              tx.put(docs, 'p', 'k2', { name: 'second' }, { ifVersion: null });
            }),
            Conflict,
          );
          assert.equal(await store.get(docs, 'p', 'k2'), null);
        }));
    });

    describe('merges (Tx.merge, on stores that offer it)', () => {
      /** Runs `body` on a store whose transactions take merges; otherwise skips the test (the store does not offer them). */
      async function withMerges(t: TestContext, body: (store: MetadataStore, counts: Counts) => Promise<void>): Promise<void> {
        await withStore(async (store, counts) => {
          const offered = await store.transact(async (tx) => tx.merge !== undefined);
          if (!offered) {
            t.skip(`${name} offers no merges (callers keep delta rows instead)`);
            return;
          }
          await body(store, counts);
        });
      }

      test('60 concurrent merges into two rows add up exactly, and none re-runs', (t) =>
        withMerges(t, async (store, counts) => {
          let runs = 0;
          const merges = Array.from({ length: 60 }, (_, i) =>
            store.transact(async (tx) => {
              runs++;
              // Everyone reads something else first, so all 60 are in flight together.
              await tx.get(docs, 'p', `k${i}`);
              await sleep(1);
              tx.merge?.(sums, 'b', i % 3 === 0 ? 'x' : 'y', { n: i, max: i });
            }),
          );
          await Promise.all(merges);
          assert.deepEqual((await store.get(sums, 'b', 'x'))?.value, { n: 570, max: 57 });
          assert.deepEqual((await store.get(sums, 'b', 'y'))?.value, { n: 1200, max: 59 });
          assert.equal(runs, 60);
          assert.equal(counts.retries, 0);
        }));

      test("a transaction sees its own merges, onto the committed row and onto its own puts and deletes", (t) =>
        withMerges(t, async (store) => {
          await store.transact(async (tx) => {
            tx.put(sums, 'b', 'r', { n: 10, max: 1 });
          });
          const seen = await store.transact(async (tx) => {
            tx.merge?.(sums, 'b', 'r', { n: 5, max: 7 });
            tx.merge?.(sums, 'b', 'r', { n: 1, max: 2 });
            tx.merge?.(sums, 'b', 'absent', { n: 3, max: 3 });
            tx.put(sums, 'b', 'put', { n: 100, max: 0 });
            tx.merge?.(sums, 'b', 'put', { n: 1, max: 1 });
            tx.delete(sums, 'b', 'gone');
            tx.merge?.(sums, 'b', 'gone', { n: 2, max: 2 });
            const inScan = await tx.scan(sums, 'b', range());
            return { r: (await tx.get(sums, 'b', 'r'))?.value, scanned: inScan.map((e) => [e.sk, e.value.n]) };
          });
          assert.deepEqual(seen.r, { n: 16, max: 7 });
          assert.deepEqual(seen.scanned, [['absent', 3], ['gone', 2], ['put', 101], ['r', 16]]);
          const committed = await store.scan(sums, 'b', range());
          assert.deepEqual(committed.map((e) => [e.sk, e.value]), [
            ['absent', { n: 3, max: 3 }],
            ['gone', { n: 2, max: 2 }],
            ['put', { n: 101, max: 1 }],
            ['r', { n: 16, max: 7 }],
          ]);
        }));

      test('a put after a merge replaces it; its condition is judged on the merged row', (t) =>
        withMerges(t, async (store) => {
          await store.transact(async (tx) => {
            tx.merge?.(sums, 'b', 'r', { n: 1, max: 1 });
            const merged = await tx.get(sums, 'b', 'r');
            assert.ok(merged);
            tx.put(sums, 'b', 'r', { n: 40, max: 40 }, { ifVersion: merged.version });
          });
          assert.deepEqual((await store.get(sums, 'b', 'r'))?.value, { n: 40, max: 40 });
          await assert.rejects(
            store.transact(async (tx) => {
              tx.merge?.(sums, 'b', 'r', { n: 1, max: 1 });
              tx.put(sums, 'b', 'r', { n: 0, max: 0 }, { ifVersion: null });
            }),
            Conflict,
          );
          assert.deepEqual((await store.get(sums, 'b', 'r'))?.value, { n: 40, max: 40 });
        }));

      test('a transaction that read a row others merged into runs again, and sees their merges', (t) =>
        withMerges(t, async (store) => {
          const readIt = deferred();
          const mergedMeanwhile = deferred();
          let runs = 0;
          const reader = store.transact(async (tx) => {
            runs++;
            const n = (await tx.get(sums, 'b', 'r'))?.value.n ?? 0;
            if (runs === 1) {
              readIt.resolve();
              await mergedMeanwhile.promise;
            }
            tx.put(docs, 'p', 'copy', { name: 'copy', n });
          });
          await readIt.promise;
          await store.transact(async (tx) => {
            tx.merge?.(sums, 'b', 'r', { n: 9, max: 9 });
          });
          mergedMeanwhile.resolve();
          await reader;
          assert.equal(runs, 2);
          assert.equal((await store.get(docs, 'p', 'copy'))?.value.n, 9);
        }));

      test('a merge that fails at commit fails its transaction only: nothing of it is applied, the others commit', (t) =>
        withMerges(t, async (store) => {
          await store.transact(async (tx) => {
            tx.put(sums, 'b', 'r', { n: 0, max: 0 });
          });
          const outcomes = await Promise.allSettled(
            Array.from({ length: 10 }, (_, i) =>
              store.transact(async (tx) => {
                tx.put(docs, 'p', `k${i}`, { name: 'written' });
                // Combined with the stored row only at commit, where the merge function throws for this one.
                tx.merge?.(sums, 'b', 'r', { n: i === 4 ? -1 : 1, max: i });
              }),
            ),
          );
          assert.deepEqual(
            outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok')),
            Array.from({ length: 10 }, (_, i) => (i === 4 ? 'RangeError: a negative delta' : 'ok')),
          );
          assert.deepEqual((await store.get(sums, 'b', 'r'))?.value, { n: 9, max: 9 });
          assert.equal(await store.get(docs, 'p', 'k4'), null);
          assert.deepEqual((await keysOf(store, 'p', {})).length, 9);
        }));

      test('a table declared without a merge function refuses merges', (t) =>
        withMerges(t, async (store) => {
          await assert.rejects(
            store.transact(async (tx) => {
              tx.merge?.(docs, 'p', 'k', { name: 'x' });
            }),
            TypeError,
          );
          assert.equal(await store.get(docs, 'p', 'k'), null);
        }));
    });

    describe('concurrency', () => {
      test('two racing conditional creates: exactly one wins', () =>
        withStore(async (store) => {
          for (let round = 0; round < 5; round++) {
            const sk = `k${round}`;
            const racers = ['left', 'right'].map((name) =>
              store.transact(async (tx) => {
                tx.put(docs, 'p', sk, { name }, { ifVersion: null });
                return name;
              }),
            );
            const results = await Promise.allSettled(racers);
            const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
            const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
            assert.equal(winners.length, 1, 'exactly one wins');
            assert.ok(losers[0] instanceof Conflict, 'the other gets a Conflict');
            assert.deepEqual((await store.get(docs, 'p', sk))?.value, { name: winners[0] });
          }
        }));

      test('two racing compare-and-sets on one version: exactly one wins', () =>
        withStore(async (store) => {
          const v1 = await put(store, 'p', 'k', { name: 'base' });
          const results = await Promise.allSettled(
            ['left', 'right'].map((name) =>
              store.transact(async (tx) => {
                tx.put(docs, 'p', 'k', { name }, { ifVersion: v1 });
                return name;
              }),
            ),
          );
          const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
          assert.equal(winners.length, 1);
          assert.ok(results.some((r) => r.status === 'rejected' && r.reason instanceof Conflict));
          assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { name: winners[0] });
        }));

      test('a counter incremented by 50 concurrent read-modify-write transactions ends at 50 (serialization failures retried)', () =>
        withStore(async (store, counts) => {
          let runs = 0;
          let readers = 0;
          const twoRead = deferred();
          const increments = Array.from({ length: 50 }, () =>
            store.transact(async (tx) => {
              runs++;
              const current = (await tx.get(counters, 'c', 'n'))?.value ?? 0;
              // Make sure at least two transactions read the same value before either commits.
              if (++readers === 2) twoRead.resolve();
              await Promise.race([twoRead.promise, sleep(2000)]);
              tx.put(counters, 'c', 'n', current + 1);
            }),
          );
          const results = await Promise.allSettled(increments);
          assert.deepEqual(
            results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
            [],
          );
          assert.equal((await store.get(counters, 'c', 'n'))?.value, 50);
          assert.ok(runs > 50, 'some transactions ran more than once');
          assert.ok(counts.retries >= 1, 'the observer heard of the retries');
          assert.ok(counts.retries <= runs - 50);
        }));

      test('concurrent transactions, one failing its condition and one throwing: all the others commit', () =>
        withStore(async (store) => {
          await put(store, 'p', 'taken', { name: 'exists' });
          const failure = new Error('thrown by work');
          const attempts = Array.from({ length: 30 }, (_, i) =>
            store.transact(async (tx) => {
              tx.put(docs, 'p', `k${i}`, { name: `written by ${i}`, n: i });
              tx.put(blobs, 'p', `k${i}`, Buffer.from([i]));
              if (i === 7) tx.put(docs, 'p', 'taken', { name: 'overwritten' }, { ifVersion: null });
              if (i === 19) throw failure;
              return i;
            }),
          );
          const results = await Promise.allSettled(attempts);
          results.forEach((result, i) => {
            if (i === 7) assert.ok(result.status === 'rejected' && result.reason instanceof Conflict, 'the conditional write fails');
            else if (i === 19) assert.ok(result.status === 'rejected' && result.reason === failure, 'the thrown error comes out');
            else assert.deepEqual(result, { status: 'fulfilled', value: i });
          });
          const committed = (await store.scan(docs, 'p', range({ prefix: 'k' }))).map((e) => e.value.n).sort((a = 0, b = 0) => a - b);
          assert.deepEqual(
            committed,
            Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 7 && i !== 19),
          );
          assert.equal((await store.scan(blobs, 'p', range())).length, 28);
          assert.deepEqual((await store.get(docs, 'p', 'taken'))?.value, { name: 'exists' });
        }));

      test('a transaction invalidated on every run gives up with Contention, writing nothing', () =>
        withStore(async (store, counts) => {
          await store.transact(async (tx) => {
            tx.put(counters, 'c', 'x', 0);
          });
          let runs = 0;
          let interloper = 0;
          const error = await store
            .transact(async (tx) => {
              runs++;
              const x = (await tx.get(counters, 'c', 'x'))?.value ?? 0;
              // Another transaction changes the row this one read (and will write) before it commits.
              interloper = 1000 + runs;
              await store.transact(async (other) => {
                other.put(counters, 'c', 'x', interloper);
              });
              tx.put(counters, 'c', 'x', x + 1);
              tx.put(docs, 'p', 'never', { name: 'never written' });
            })
            .then(
              () => null,
              (err: unknown) => err,
            );
          assert.ok(error instanceof Contention, `Contention, not ${String(error)}`);
          assert.equal(error.attempts, runs);
          assert.ok(runs > 1);
          assert.ok(counts.retries >= runs - 1);
          assert.equal((await store.get(counters, 'c', 'x'))?.value, interloper);
          assert.equal(await store.get(docs, 'p', 'never'), null);
        }));

      test('a scan is protected too: a row inserted into a scanned range makes the scanner run again', () =>
        withStore(async (store) => {
          await put(store, 'p', 'a1', { name: 'a1' });
          let runs = 0;
          const counted = await store.transact(async (tx) => {
            runs++;
            const entries = await tx.scan(docs, 'p', range({ prefix: 'a' }));
            if (runs === 1) {
              // It also reads what the scanner writes, so that the two cannot be ordered either way.
              await store.transact(async (other) => {
                await other.get(counters, 'p', 'count');
                other.put(docs, 'p', 'a2', { name: 'a2' });
              });
            }
            tx.put(counters, 'p', 'count', entries.length);
            return entries.length;
          });
          assert.equal(runs, 2);
          assert.equal(counted, 2);
          assert.equal((await store.get(counters, 'p', 'count'))?.value, 2);
        }));

      test('many concurrent writers of distinct rows all commit', () =>
        withStore(async (store) => {
          const n = 200;
          await Promise.all(
            Array.from({ length: n }, (_, i) =>
              store.transact(async (tx) => {
                const before = await tx.get(docs, 'many', `k${i}`);
                assert.equal(before, null);
                tx.put(docs, 'many', `k${i}`, { name: `v${i}` }, { ifVersion: null });
              }),
            ),
          );
          const entries: Entry<Doc>[] = await store.scan(docs, 'many', range());
          assert.equal(entries.length, n);
          assert.equal(new Set(entries.map((e) => e.version)).size, n, 'every row has its own version');
        }));
    });

    if (reopen) {
      describe('durability', () => {
        test('acknowledged commits survive close and reopen; reopening with one more table keeps the data', async () => {
          const counts = new Counts();
          let store = await open({ tables: [docs, blobs], observer: counts });
          try {
            const v = await put(store, 'p', 'k', { name: 'durable' });
            await store.transact(async (tx) => {
              tx.put(blobs, 'p', 'b', Buffer.from('bytes'));
              tx.put(docs, 'p', 'gone', { name: 'deleted next' });
            });
            await store.transact(async (tx) => {
              tx.delete(docs, 'p', 'gone');
            });
            store = await reopen(store, { tables: CONTRACT_TABLES, observer: counts });
            assert.deepEqual(await store.get(docs, 'p', 'k'), { value: { name: 'durable' }, version: v });
            assert.deepEqual((await store.get(blobs, 'p', 'b'))?.value, Buffer.from('bytes'));
            assert.equal(await store.get(docs, 'p', 'gone'), null);
            await store.transact(async (tx) => {
              tx.put(counters, 'c', 'n', 1);
            });
            assert.equal((await store.get(counters, 'c', 'n'))?.value, 1);
            await store.ping();
          } finally {
            await close(store);
          }
        });

        test('a table that gains attachments keeps its rows; attachments survive close and reopen', async () => {
          const withoutAttachments = jsonTable<Doc>('attached');
          let store = await open({ tables: [withoutAttachments] });
          try {
            await store.transact(async (tx) => {
              tx.put(withoutAttachments, 'p', 'old', { name: 'from before' });
            });
            store = await reopen(store, { tables: CONTRACT_TABLES });
            const old = await store.getAttached(attached, 'p', 'old');
            assert.deepEqual(old && [old.value, old.attachment], [{ name: 'from before' }, null]);
            await store.transact(async (tx) => {
              tx.putAttached(attached, 'p', 'new', { name: 'with bytes' }, Buffer.from('kept'));
            });
            store = await reopen(store, { tables: CONTRACT_TABLES });
            assert.equal((await store.getAttached(attached, 'p', 'new'))?.attachment?.toString(), 'kept');
            assert.deepEqual((await store.get(attached, 'p', 'old'))?.value, { name: 'from before' });
          } finally {
            await close(store);
          }
        });

        test('a table that gains a codec reads the rows stored before it, and stores new ones packed', async () => {
          let store = await open({ tables: [pointsAsStored] });
          try {
            await store.transact(async (tx) => {
              tx.put(pointsAsStored, 'p', 'old', { x: 1, y: 2 });
            });
            store = await reopen(store, { tables: [points] });
            assert.deepEqual((await store.get(points, 'p', 'old'))?.value, { x: 1, y: 2 });
            await store.transact(async (tx) => {
              tx.put(points, 'p', 'new', { x: 3, y: 4 });
            });
            assert.deepEqual((await store.scan(points, 'p', range())).map((entry) => entry.value), [{ x: 3, y: 4 }, { x: 1, y: 2 }]);
            store = await reopen(store, { tables: [pointsAsStored] });
            assert.deepEqual((await store.get(pointsAsStored, 'p', 'new'))?.value, [3, 4]);
            assert.deepEqual((await store.get(pointsAsStored, 'p', 'old'))?.value, { x: 1, y: 2 });
          } finally {
            await close(store);
          }
        });

        test('a table that gains liveUntil has it worked out for the rows it already holds (and loses it again)', async () => {
          const now = Date.now();
          let store = await open({ tables: [docs, timedWithoutLiveUntil] });
          try {
            await store.transact(async (tx) => {
              for (let i = 0; i < 2500; i++) tx.put(timedWithoutLiveUntil, 'p', `k${String(i).padStart(4, '0')}`, { name: 'row', until: i % 1000 === 7 ? null : now - 1 });
            });
            assert.equal((await store.scan(timedWithoutLiveUntil, 'p', range({ liveAt: now }))).length, 2500);
            store = await reopen(store, { tables: [docs, timed] });
            const live = await store.scan(timed, 'p', range({ liveAt: now }));
            assert.deepEqual(
              live.map((entry) => entry.sk),
              ['k0007', 'k1007', 'k2007'],
            );
            store = await reopen(store, { tables: [docs, timedWithoutLiveUntil] });
            assert.equal((await store.scan(timedWithoutLiveUntil, 'p', range({ liveAt: now }))).length, 2500);
          } finally {
            await close(store);
          }
        });
      });
    }
  });
}
