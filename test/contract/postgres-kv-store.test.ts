/**
 * PostgresKvStore against a real PostgreSQL (test/helpers/postgres.ts): the behaviour every KvStore owes, and
 * what only a shared SQL database brings (byte order under a locale collation, several nodes, concurrent
 * migrations, serialization failures).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import {
  bytesTable,
  Conflict,
  Contention,
  jsonTable,
  type KvStore,
  type ScanRange,
  type Table,
} from '../../src/store/meta/kv.ts';
import { PostgresKvStore, type PostgresKvStoreOptions } from '../../src/store/meta/postgres/postgres-kv-store.ts';
import { createDatabase, dropDatabase } from '../helpers/postgres.ts';

interface Doc {
  n: number;
  s?: string;
}
const docs = jsonTable<Doc>('docs');
const blobs = bytesTable('blobs');
const counters = jsonTable<number>('counters');
const tables = [docs, blobs, counters];

function range(partial: Partial<ScanRange> = {}): ScanRange {
  return { prefix: '', limit: 1000, reverse: false, ...partial };
}

async function keys(store: KvStore, table: Table<unknown>, pk: string, partial: Partial<ScanRange> = {}) {
  return (await store.scan(table, pk, range(partial))).map((entry) => entry.sk);
}

/** Runs `test` on a store over a fresh database, then closes it. (Databases are not dropped: a drop costs a
 * checkpoint, and the cluster goes away at the end of the run.) */
async function withStore(
  test: (store: PostgresKvStore, url: string) => Promise<void>,
  options: Partial<PostgresKvStoreOptions> = {},
): Promise<void> {
  const url = await createDatabase();
  const store = await PostgresKvStore.open(url, { tables, ...options });
  try {
    await test(store, url);
  } finally {
    await store.close();
  }
}

/** A promise with its resolve, to hold transactions at a chosen point. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('PostgresKvStore: rows, versions, scans', () => {
  it('puts, gets and deletes JSON and bytes rows; every write gives a new version', () =>
    withStore(async (store) => {
      assert.equal(store.shared, true);
      await store.ping();
      assert.equal(await store.get(docs, 'p', 'a'), null);
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'a', { n: 1, s: 'x' });
        tx.put(blobs, 'p', 'a', Buffer.from([0, 1, 255]));
      });
      const first = await store.get(docs, 'p', 'a');
      assert.deepEqual(first?.value, { n: 1, s: 'x' });
      assert.deepEqual((await store.get(blobs, 'p', 'a'))?.value, Buffer.from([0, 1, 255]));
      await store.transact(async (tx) => { tx.put(docs, 'p', 'a', { n: 1, s: 'x' }); });
      const second = await store.get(docs, 'p', 'a');
      assert.notEqual(second?.version, first?.version);
      assert.ok(Number.isSafeInteger(second?.version));
      await store.transact(async (tx) => { tx.delete(docs, 'p', 'a'); });
      assert.equal(await store.get(docs, 'p', 'a'), null);
      assert.deepEqual((await store.get(blobs, 'p', 'a'))?.value, Buffer.from([0, 1, 255]), 'other table untouched');
      await store.transact(async (tx) => { tx.delete(docs, 'p', 'never-there'); });
    }));

  it('scans one partition by prefix and bounds, forward and backward, with a limit', () =>
    withStore(async (store) => {
      const names = ['a', 'a/1', 'a/2', 'a/3', 'a0', 'b', 'b/1'];
      await store.transact(async (tx) => {
        for (const sk of names) tx.put(docs, 'p', sk, { n: names.indexOf(sk) });
        tx.put(docs, 'other', 'a/9', { n: 99 });
      });
      assert.deepEqual(await keys(store, docs, 'p'), names);
      assert.deepEqual(await keys(store, docs, 'p', { prefix: 'a/' }), ['a/1', 'a/2', 'a/3']);
      assert.deepEqual(await keys(store, docs, 'p', { prefix: 'a/', reverse: true, limit: 2 }), ['a/3', 'a/2']);
      assert.deepEqual(await keys(store, docs, 'p', { lower: { key: 'a/1', inclusive: false }, limit: 2 }), ['a/2', 'a/3']);
      assert.deepEqual(await keys(store, docs, 'p', { lower: { key: 'a/1', inclusive: true }, limit: 2 }), ['a/1', 'a/2']);
      assert.deepEqual(
        await keys(store, docs, 'p', { upper: { key: 'b', inclusive: false }, reverse: true, limit: 2 }),
        ['a0', 'a/3'],
      );
      assert.deepEqual(await keys(store, docs, 'p', { upper: { key: 'b', inclusive: true }, reverse: true, limit: 1 }), [
        'b',
      ]);
      assert.deepEqual(
        await keys(store, docs, 'p', {
          prefix: 'a',
          lower: { key: 'a/1', inclusive: true },
          upper: { key: 'a/3', inclusive: false },
        }),
        ['a/1', 'a/2'],
      );
      assert.deepEqual(await keys(store, docs, 'p', { limit: 0 }), []);
      const [entry] = await store.scan(docs, 'p', range({ prefix: 'b/' }));
      assert.deepEqual(entry?.value, { n: 6 });
      assert.equal(entry?.version, (await store.get(docs, 'p', 'b/1'))?.version);
    }));

  it('keeps byte (code point) order for non-ASCII keys, including a prefix at U+10FFFF', () =>
    withStore(async (store) => {
      // UTF-16 order would put U+FFFD after U+1F600; code point order (= UTF-8 bytes) puts it before.
      const names = ['A', 'B', 'Z', '_', 'a', 'b', 'z', '~', 'é', '\uFFFD', '😀', '\u{10FFFF}', '\u{10FFFF}a'];
      await store.transact(async (tx) => {
        for (const sk of [...names].reverse()) tx.put(docs, 'p', sk, { n: 0 });
      });
      assert.deepEqual(await keys(store, docs, 'p'), names);
      assert.deepEqual(await keys(store, docs, 'p', { reverse: true }), [...names].reverse());
      assert.deepEqual(await keys(store, docs, 'p', { prefix: '\u{10FFFF}' }), ['\u{10FFFF}', '\u{10FFFF}a']);
    }));
});

describe('PostgresKvStore: transactions', () => {
  it('lets a transaction read its own writes, in get and in scans merged with stored rows', () =>
    withStore(async (store) => {
      await store.transact(async (tx) => {
        for (const sk of ['k1', 'k2', 'k3', 'k4', 'k5']) tx.put(docs, 'p', sk, { n: 0 });
      });
      const seen = await store.transact(async (tx) => {
        tx.delete(docs, 'p', 'k2');
        tx.put(docs, 'p', 'k3', { n: 3 });
        tx.put(docs, 'p', 'k0', { n: 10 });
        tx.put(docs, 'p', 'k35', { n: 35 });
        tx.delete(docs, 'p', 'k9');
        const k3 = await tx.get(docs, 'p', 'k3');
        return {
          k2: await tx.get(docs, 'p', 'k2'),
          k3: k3?.value,
          forward: (await tx.scan(docs, 'p', range({ limit: 4 }))).map((e) => `${e.sk}=${e.value.n}`),
          backward: (await tx.scan(docs, 'p', range({ limit: 3, reverse: true }))).map((e) => e.sk),
          bounded: (await tx.scan(docs, 'p', range({ lower: { key: 'k1', inclusive: false } }))).map((e) => e.sk),
          outside: await store.get(docs, 'p', 'k0'),
        };
      });
      assert.equal(seen.k2, null);
      assert.deepEqual(seen.k3, { n: 3 });
      assert.deepEqual(seen.forward, ['k0=10', 'k1=0', 'k3=3', 'k35=35']);
      assert.deepEqual(seen.backward, ['k5', 'k4', 'k35']);
      assert.deepEqual(seen.bounded, ['k3', 'k35', 'k4', 'k5']);
      assert.equal(seen.outside, null, 'uncommitted writes are invisible outside the transaction');
      assert.deepEqual(await keys(store, docs, 'p'), ['k0', 'k1', 'k3', 'k35', 'k4', 'k5']);
    }));

  it('passes through an error thrown by work, writing nothing', () =>
    withStore(async (store) => {
      await assert.rejects(
        store.transact(async (tx) => {
          tx.put(docs, 'p', 'a', { n: 1 });
          await tx.get(docs, 'p', 'a');
          throw new RangeError('no');
        }),
        RangeError,
      );
      assert.equal(await store.get(docs, 'p', 'a'), null);
    }));

  it('checks conditions at commit: a failed one is a Conflict and nothing of the transaction is written', () =>
    withStore(async (store) => {
      await store.transact(async (tx) => { tx.put(docs, 'p', 'a', { n: 1 }); });
      const current = await store.get(docs, 'p', 'a');
      assert.ok(current);
      const conflict = await store
        .transact(async (tx) => {
          tx.put(docs, 'p', 'b', { n: 2 });
          tx.put(docs, 'p', 'a', { n: 3 }, { ifVersion: null });
        })
        .catch((error: unknown) => error);
      assert.ok(conflict instanceof Conflict);
      assert.deepEqual([conflict.table, conflict.pk, conflict.sk], ['docs', 'p', 'a']);
      assert.equal(await store.get(docs, 'p', 'b'), null);
      await assert.rejects(
        store.transact(async (tx) => { tx.put(docs, 'p', 'a', { n: 4 }, { ifVersion: current.version + 1 }); }),
        Conflict,
      );
      await assert.rejects(
        store.transact(async (tx) => { tx.delete(docs, 'p', 'a', { ifVersion: current.version + 1 }); }),
        Conflict,
      );
      await assert.rejects(store.transact(async (tx) => { tx.delete(docs, 'p', 'a', { ifVersion: null }); }), Conflict);
      await assert.rejects(store.transact(async (tx) => { tx.delete(docs, 'p', 'x', { ifVersion: 5 }); }), Conflict);
      assert.deepEqual(await store.get(docs, 'p', 'a'), current);

      await store.transact(async (tx) => { tx.put(docs, 'p', 'a', { n: 5 }, { ifVersion: current.version }); });
      const updated = await store.get(docs, 'p', 'a');
      assert.deepEqual(updated?.value, { n: 5 });
      await store.transact(async (tx) => { tx.delete(docs, 'p', 'a', { ifVersion: updated?.version ?? 0 }); });
      await store.transact(async (tx) => { tx.put(docs, 'p', 'a', { n: 6 }, { ifVersion: null }); });
      await store.transact(async (tx) => { tx.delete(docs, 'p', 'gone', { ifVersion: null }); });
      assert.deepEqual((await store.get(docs, 'p', 'a'))?.value, { n: 6 });
    }));

  it('checks a condition on a row the transaction already wrote against that write', () =>
    withStore(async (store) => {
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'a', { n: 1 }, { ifVersion: null });
        const mine = await tx.get(docs, 'p', 'a');
        tx.put(docs, 'p', 'a', { n: 2 }, { ifVersion: mine?.version ?? 0 });
      });
      assert.deepEqual((await store.get(docs, 'p', 'a'))?.value, { n: 2 });
      await assert.rejects(
        store.transact(async (tx) => {
          tx.delete(docs, 'p', 'a');
          tx.put(docs, 'p', 'a', { n: 3 }, { ifVersion: 1 });
        }),
        Conflict,
      );
      assert.deepEqual((await store.get(docs, 'p', 'a'))?.value, { n: 2 });
    }));

  it('lets exactly one of racing conditional creates win; the others get Conflict', () =>
    withStore(async (store) => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.transact(async (tx) => {
            await tx.get(docs, 'p', 'race');
            tx.put(docs, 'p', 'race', { n: i }, { ifVersion: null });
            return i;
          }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1);
      for (const r of lost) assert.ok(r.reason instanceof Conflict, String(r.reason));
      assert.deepEqual((await store.get(docs, 'p', 'race'))?.value, { n: won[0]?.value });
    }));

  it('commits the other concurrent transactions when one of them fails its condition', () =>
    withStore(async (store) => {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          store.transact(async (tx) => { tx.put(docs, 'p', `k${i}`, { n: i }, i === 3 ? { ifVersion: 42 } : undefined); }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.deepEqual(await keys(store, docs, 'p'), ['k0', 'k1', 'k2', 'k4', 'k5']);
    }));

  it('re-runs a transaction after a serialization failure, and reports the retry', async () => {
    let retries = 0;
    await withStore(
      async (store) => {
        await store.transact(async (tx) => { tx.put(counters, 'c', 'n', 0); });
        // Both transactions read the counter before either writes: PostgreSQL can commit only one as is.
        const bothRead = { count: 0, ...gate() };
        const increment = (): Promise<number> => {
          let runs = 0;
          return store.transact(async (tx) => {
            runs += 1;
            const row = await tx.get(counters, 'c', 'n');
            if (runs === 1) {
              if (++bothRead.count === 2) bothRead.open();
              await bothRead.opened;
            }
            tx.put(counters, 'c', 'n', (row?.value ?? 0) + 1);
            return runs;
          });
        };
        const runs = await Promise.all([increment(), increment()]);
        assert.deepEqual((await store.get(counters, 'c', 'n'))?.value, 2, 'no lost update');
        assert.ok(runs.some((r) => r > 1), `one transaction ran again (runs: ${runs.join(', ')})`);
      },
      { observer: { retried: () => (retries += 1) } },
    );
    assert.ok(retries >= 1, `observer saw ${retries} retries`);
  });

  it('gives up with Contention after the bound', () =>
    withStore(
      async (store) => {
        await store.transact(async (tx) => { tx.put(counters, 'c', 'n', 0); });
        const bothRead = { count: 0, ...gate() };
        const increment = () =>
          store.transact(async (tx) => {
            const row = await tx.get(counters, 'c', 'n');
            if (++bothRead.count === 2) bothRead.open();
            await bothRead.opened;
            tx.put(counters, 'c', 'n', (row?.value ?? 0) + 1);
          });
        const results = await Promise.allSettled([increment(), increment()]);
        const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        assert.equal(failures.length, 1);
        assert.ok(failures[0] instanceof Contention);
        assert.equal(failures[0].attempts, 1);
        assert.equal((await store.get(counters, 'c', 'n'))?.value, 1);
      },
      { maxAttempts: 1 },
    ));

  it('refuses a tx used after its transaction ended', () =>
    withStore(async (store) => {
      let leaked: Parameters<Parameters<KvStore['transact']>[0]>[0] | undefined;
      await store.transact(async (tx) => {
        leaked = tx;
      });
      assert.throws(() => leaked?.put(docs, 'p', 'a', { n: 1 }), /already finished/);
      await assert.rejects(async () => leaked?.get(docs, 'p', 'a'), /already finished/);
    }));
});

describe('PostgresKvStore: on a shared PostgreSQL', () => {
  it('lists in byte order although the database default collation (ICU en-US) does not', async () => {
    const url = await createDatabase({ icuLocale: 'en-US' });
    const names = ['B', 'a', 'b', 'Ä', 'ä', 'é'];
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // The database's own order differs from byte order, so this test can tell the difference.
      const { rows } = await client.query<{ x: string }>('SELECT x FROM unnest($1::text[]) AS x ORDER BY x', [names]);
      assert.notDeepEqual(
        rows.map((r) => r.x),
        names,
      );
    } finally {
      await client.end();
    }
    const store = await PostgresKvStore.open(url, { tables });
    try {
      await store.transact(async (tx) => {
        for (const sk of [...names].reverse()) tx.put(docs, 'p', `${sk}/x`, { n: 0 });
      });
      assert.deepEqual(await keys(store, docs, 'p'), names.map((n) => `${n}/x`));
      assert.deepEqual(await keys(store, docs, 'p', { lower: { key: 'a', inclusive: true }, limit: 2 }), ['a/x', 'b/x']);
    } finally {
      await store.close();
    }
  });

  it("lets two stores (two nodes) on one database see each other's commits at once", () =>
    withStore(async (nodeA, url) => {
      const nodeB = await PostgresKvStore.open(url, { tables });
      try {
        await nodeA.transact(async (tx) => { tx.put(docs, 'p', 'k', { n: 1 }); });
        const seen = await nodeB.get(docs, 'p', 'k');
        assert.deepEqual(seen?.value, { n: 1 });
        assert.deepEqual(await keys(nodeB, docs, 'p'), ['k']);
        await nodeB.transact(async (tx) => { tx.put(docs, 'p', 'k', { n: 2 }, { ifVersion: seen?.version ?? 0 }); });
        assert.deepEqual((await nodeA.get(docs, 'p', 'k'))?.value, { n: 2 });
        await assert.rejects(
          nodeA.transact(async (tx) => { tx.put(docs, 'p', 'k', { n: 3 }, { ifVersion: seen?.version ?? 0 }); }),
          Conflict,
        );
        await nodeB.transact(async (tx) => { tx.delete(docs, 'p', 'k'); });
        assert.equal(await nodeA.get(docs, 'p', 'k'), null);
      } finally {
        await nodeB.close();
      }
    }));

  it('migrates safely when several nodes open a fresh database at once', async () => {
    const many = Array.from({ length: 6 }, (_, i) => jsonTable(`t${i}`));
    for (let round = 0; round < 3; round++) {
      const url = await createDatabase();
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => PostgresKvStore.open(url, { tables: many, poolSize: 2 })),
      );
      try {
        await stores[0]?.transact(async (tx) => { tx.put(many[5] as Table<number>, 'p', 'k', 1); });
        assert.equal((await stores[3]?.get(many[5] as Table<number>, 'p', 'k'))?.value, 1);
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        const { rows } = await client.query<{ id: string; n: string }>(
          'SELECT id, count(*) AS n FROM onggi__migrations GROUP BY id ORDER BY id',
        );
        await client.end();
        assert.equal(rows.length, 6);
        assert.ok(rows.every((r) => r.n === '1'));
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await dropDatabase(url);
      }
    }
  });

  it('applies only missing migrations at reopen, and refuses a table re-declared with another kind', () =>
    withStore(async (store, url) => {
      await store.transact(async (tx) => { tx.put(docs, 'p', 'k', { n: 1 }); });
      const more = await PostgresKvStore.open(url, { tables: [...tables, jsonTable('extra')] });
      assert.deepEqual((await more.get(docs, 'p', 'k'))?.value, { n: 1 });
      await more.close();
      await assert.rejects(PostgresKvStore.open(url, { tables: [bytesTable('docs')] }), /docs .* json/);
    }));
});
