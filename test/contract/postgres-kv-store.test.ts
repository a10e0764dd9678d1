/**
 * PostgresKvStore against a real PostgreSQL (test/helpers/postgres.ts): the shared MetadataStore contract, then what
 * only a shared SQL database brings (byte order under a locale collation, several nodes, concurrent
 * migrations, serialization failures). Each store gets a fresh database whose default collation is ICU
 * en-US, so any listing that forgot COLLATE "C" comes out in the wrong order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import {
  bytesTable,
  Conflict,
  Contention,
  jsonTable,
  type MetadataStore,
  type ScanRange,
  type Table,
} from '../../src/store/meta/index.ts';
import { PostgresKvStore, type PostgresKvStoreOptions } from '../../src/store/meta/postgres/postgres-kv-store.ts';
import { createDatabase } from '../helpers/postgres.ts';
import { kvStoreContract } from './kv-store.contract.ts';

const urls = new Map<MetadataStore, string>();

kvStoreContract(
  'postgres',
  async (options) => {
    const url = await createDatabase();
    const store = await PostgresKvStore.open(url, options);
    urls.set(store, url);
    return store;
  },
  async (store) => {
    urls.delete(store);
    await store.close();
  },
  async (store, options) => {
    const url = urls.get(store) ?? '';
    urls.delete(store);
    await store.close();
    const reopened = await PostgresKvStore.open(url, options);
    urls.set(reopened, url);
    return reopened;
  },
);

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

async function keys(store: MetadataStore, table: Table<unknown>, pk: string, partial: Partial<ScanRange> = {}) {
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

describe('PostgresKvStore: transactions (PostgreSQL only)', () => {
  it('re-runs a transaction whose read went stale before commit (no lost update), and reports the retry', async () => {
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

  it("re-runs transactions that PostgreSQL's serializable isolation refused (40001): 20 blind writers of one row", () =>
    withStore(async (store, url) => {
      let retries = 0;
      const observed = await PostgresKvStore.open(url, { tables, observer: { retried: () => (retries += 1) } });
      try {
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            observed.transact(async (tx) => {
              tx.put(counters, 'c', 'n', i);
            }),
          ),
        );
        assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
        assert.ok(retries >= 1, 'concurrent updates of one row are serialization failures, retried');
        assert.ok(Number.isInteger((await store.get(counters, 'c', 'n'))?.value));
      } finally {
        await observed.close();
      }
    }));

  it('prevents write skew: a row read but not written, changed before commit, re-runs the transaction', () =>
    withStore(async (store) => {
      // Invariant: at least one of a, b stays 1. Each transaction zeroes one if both are 1.
      await store.transact(async (tx) => {
        tx.put(counters, 'duty', 'a', 1);
        tx.put(counters, 'duty', 'b', 1);
      });
      const bothRead = { count: 0, ...gate() };
      const goOffDuty = (me: string) => {
        let runs = 0;
        return store.transact(async (tx) => {
          runs += 1;
          const a = (await tx.get(counters, 'duty', 'a'))?.value ?? 0;
          const b = (await tx.get(counters, 'duty', 'b'))?.value ?? 0;
          if (runs === 1) {
            if (++bothRead.count === 2) bothRead.open();
            await bothRead.opened;
          }
          if (a + b >= 2) tx.put(counters, 'duty', me, 0);
          return runs;
        });
      };
      const runs = await Promise.all([goOffDuty('a'), goOffDuty('b')]);
      const a = (await store.get(counters, 'duty', 'a'))?.value ?? 0;
      const b = (await store.get(counters, 'duty', 'b'))?.value ?? 0;
      assert.equal(a + b, 1, 'exactly one went off duty');
      // One ran once; the other re-ran (more than once now and then: PostgreSQL's checks may fail a re-run too).
      const [first = 0, second = 0] = [...runs].sort();
      assert.equal(first, 1);
      assert.ok(second >= 2, `the other transaction re-ran (${second} runs)`);
    }));

  it('judges a condition on a row work read by what work saw: Conflict when it still holds, re-run when it changed', () =>
    withStore(async (store) => {
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'k', { n: 1 });
      });
      const stale = (await store.get(docs, 'p', 'k'))?.version ?? 0;
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'k', { n: 2 });
      });
      let runs = 0;
      await assert.rejects(
        store.transact(async (tx) => {
          runs += 1;
          await tx.get(docs, 'p', 'k');
          tx.put(docs, 'p', 'k', { n: 3 }, { ifVersion: stale });
        }),
        Conflict,
      );
      assert.equal(runs, 1, 'a Conflict is not re-run');

      // Work reads, then another node changes the row, then work writes with a condition that held for what it
      // read: the write must not land; the re-run sees the new row and gets its Conflict.
      runs = 0;
      const error = await store
        .transact(async (tx) => {
          runs += 1;
          const seen = await tx.get(docs, 'p', 'k');
          if (runs === 1) {
            await store.transact(async (other) => {
              other.put(docs, 'p', 'k', { n: 4 });
            });
          }
          tx.put(docs, 'p', 'k', { n: 5 }, { ifVersion: runs === 1 ? (seen?.version ?? 0) : stale });
        })
        .catch((e: unknown) => e);
      assert.ok(error instanceof Conflict);
      assert.equal(runs, 2);
      assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { n: 4 });
    }));

  it('creates new keys of one partition concurrently, each read first, without a single re-run', async () => {
    let retries = 0;
    await withStore(
      async (store) => {
        await Promise.all(
          Array.from({ length: 48 }, (_, i) =>
            store.transact(async (tx) => {
              const sk = `obj-${String(i).padStart(3, '0')}`;
              const before = await tx.get(docs, 'bucket', sk);
              tx.put(docs, 'bucket', sk, { n: i }, { ifVersion: before?.version ?? null });
            }),
          ),
        );
        assert.equal((await store.scan(docs, 'bucket', range())).length, 48);
      },
      { poolSize: 16, observer: { retried: () => (retries += 1) } },
    );
    // Under SERIALIZABLE from the first read, PostgreSQL's page-level predicate locks made these abort each
    // other (2.4 re-runs per transaction at 16 at once); work's reads now take none.
    assert.equal(retries, 0);
  });

  it('reads one consistent snapshot inside a transaction', () =>
    withStore(async (store) => {
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'x', { n: 1 });
        tx.put(docs, 'p', 'y', { n: 1 });
      });
      const seen = await store.transact(async (tx) => {
        const x = (await tx.get(docs, 'p', 'x'))?.value.n;
        await store.transact(async (other) => {
          other.put(docs, 'p', 'x', { n: 2 });
          other.put(docs, 'p', 'y', { n: 2 });
          other.put(docs, 'p', 'z', { n: 2 });
        });
        const y = (await tx.get(docs, 'p', 'y'))?.value.n;
        const listed = (await tx.scan(docs, 'p', range())).map((e) => `${e.sk}${e.value.n}`);
        return { x, y, listed };
      });
      assert.deepEqual(seen, { x: 1, y: 1, listed: ['x1', 'y1'] });
    }));

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
      let leaked: Parameters<Parameters<MetadataStore['transact']>[0]>[0] | undefined;
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
        assert.equal(rows.length, 12, 'two schema migrations per table');
        assert.ok(rows.every((r) => r.n === '1'));
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    }
  });

  it('a database of the first schema (no exp column) gets it at open; its rows stay and live scans work', async () => {
    const url = await createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const now = Date.now();
    try {
      await client.query(`
        CREATE TABLE onggi__migrations (id TEXT COLLATE "C" NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL);
        CREATE TABLE onggi_timed (pk TEXT COLLATE "C" NOT NULL, sk TEXT COLLATE "C" NOT NULL, ver BIGINT NOT NULL, val TEXT NOT NULL, PRIMARY KEY (pk, sk));
        INSERT INTO onggi__migrations VALUES ('onggi_timed@1 json', 0);`);
      await client.query('INSERT INTO onggi_timed VALUES ($1, $2, $3, $4), ($1, $5, $6, $7)', [
        'p', 'gone', 1, JSON.stringify({ n: 1, until: now - 1 }), 'kept', 2, JSON.stringify({ n: 2, until: null }),
      ]);
    } finally {
      await client.end();
    }
    const timed = jsonTable<{ n: number; until: number | null }>('timed', { liveUntil: (value) => value.until });
    const store = await PostgresKvStore.open(url, { tables: [timed] });
    try {
      assert.deepEqual(await store.get(timed, 'p', 'kept'), { value: { n: 2, until: null }, version: 2 });
      assert.deepEqual(await keys(store, timed, 'p', { liveAt: now }), ['kept']);
      assert.deepEqual(await keys(store, timed, 'p'), ['gone', 'kept']);
    } finally {
      await store.close();
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
