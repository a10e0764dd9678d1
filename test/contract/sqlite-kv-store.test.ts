import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { open, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { bytesTable, jsonTable, type MetadataStore, type MetadataStoreOptions } from '../../src/store/meta/index.ts';
import { DamagedStore } from '../../src/store/meta/sqlite/file-check.ts';
import { RowCache } from '../../src/store/meta/sqlite/row-cache.ts';
import { KV_SCHEMA_VERSION } from '../../src/store/meta/sqlite/kv-schema.ts';
import { SqliteKvStore } from '../../src/store/meta/sqlite/sqlite-kv-store.ts';
import { openDatabase } from '../../src/store/meta/sqlite/open-database.ts';
import { makeTempDir, removeDir } from '../helpers/server.ts';
import { attached, blobs, CONTRACT_TABLES, counters, docs, kvStoreContract, timed } from './kv-store.contract.ts';

const dirs = new Map<MetadataStore, string>();

function fileIn(dir: string): string {
  return join(dir, 'meta.sqlite');
}

kvStoreContract(
  'sqlite',
  async (options) => {
    const dir = await makeTempDir('onggi-kv-');
    const store = SqliteKvStore.open(fileIn(dir), options);
    dirs.set(store, dir);
    return store;
  },
  async (store) => {
    await store.close();
    const dir = dirs.get(store);
    dirs.delete(store);
    if (dir) await removeDir(dir);
  },
  async (store, options) => {
    await store.close();
    const dir = dirs.get(store) ?? '';
    dirs.delete(store);
    const reopened = SqliteKvStore.open(fileIn(dir), options);
    dirs.set(reopened, dir);
    return reopened;
  },
);

async function withFile(body: (file: string) => Promise<void>): Promise<void> {
  const dir = await makeTempDir('onggi-kv-sqlite-');
  try {
    await body(fileIn(dir));
  } finally {
    await removeDir(dir);
  }
}

async function withSqlite(body: (store: SqliteKvStore, file: string, batches: number[]) => Promise<void>, extra: Partial<MetadataStoreOptions> = {}): Promise<void> {
  await withFile(async (file) => {
    const batches: number[] = [];
    const store = SqliteKvStore.open(file, { tables: CONTRACT_TABLES, observer: { groupCommitted: (n) => batches.push(n) }, ...extra });
    try {
      await body(store, file, batches);
    } finally {
      await store.close();
    }
  });
}

describe('SqliteKvStore (SQLite only)', () => {
  test('the database file and its WAL are created 0600', () =>
    withSqlite(async (store, file) => {
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'k', { name: 'x' });
      });
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await stat(`${file}-wal`)).mode & 0o777, 0o600);
    }));

  test('transactions submitted together commit in one batch; read-only ones need no commit', () =>
    withSqlite(async (store, _file, batches) => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transact(async (tx) => {
            tx.put(docs, 'p', `k${i}`, { name: String(i) });
          }),
        ),
      );
      assert.deepEqual(batches, [20]);
      const names = await store.transact(async (tx) => {
        const a = await tx.get(docs, 'p', 'k1');
        const b = await tx.scan(docs, 'p', { prefix: 'k1', limit: 100, reverse: false });
        return [a?.value.name, b.length];
      });
      assert.deepEqual(names, ['1', 11]);
      assert.deepEqual(batches, [20], 'no batch for a read-only transaction');
    }));

  test('reads after a write never see a stale cached row (present or missing)', () =>
    withSqlite(async (store) => {
      assert.equal(await store.get(docs, 'p', 'k'), null);
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'k', { name: 'one' });
      });
      const one = await store.get(docs, 'p', 'k');
      assert.deepEqual(one?.value, { name: 'one' });
      assert.equal(await store.get(docs, 'p', 'k'), one, 'the second read comes from the cache');
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'k', { name: 'two' });
      });
      assert.deepEqual((await store.get(docs, 'p', 'k'))?.value, { name: 'two' });
      await store.transact(async (tx) => {
        tx.delete(docs, 'p', 'k');
      });
      assert.equal(await store.get(docs, 'p', 'k'), null);
      // A Conflict leaves the cache as it was, and the row too.
      await store.transact(async (tx) => {
        tx.put(docs, 'p', 'k', { name: 'three' });
      });
      const three = await store.get(docs, 'p', 'k');
      await assert.rejects(
        store.transact(async (tx) => {
          tx.put(docs, 'p', 'k', { name: 'four' }, { ifVersion: null });
        }),
      );
      assert.deepEqual(await store.get(docs, 'p', 'k'), three);
    }));

  test('a write SQLite refuses inside a batch undoes that transaction only (its savepoint), the others commit', () =>
    withSqlite(async (store, file, batches) => {
      const other = openDatabase(file);
      other.exec(`CREATE TRIGGER refuse BEFORE INSERT ON t_docs WHEN NEW.sk = 'poison' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END`);
      other.close();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.transact(async (tx) => {
            tx.put(docs, 'p', `k${i}`, { name: String(i) });
            tx.put(counters, 'p', `k${i}`, i);
            if (i === 4) tx.put(docs, 'p', 'poison', { name: 'refused' });
          }),
        ),
      );
      assert.deepEqual(batches, [10], 'all in one batch');
      results.forEach((result, i) => {
        if (i === 4) assert.ok(result.status === 'rejected' && /refused by trigger/.test(String(result.reason)));
        else assert.equal(result.status, 'fulfilled');
      });
      assert.equal(await store.get(docs, 'p', 'k4'), null, "the refused transaction's earlier writes are undone");
      assert.equal(await store.get(counters, 'p', 'k4'), null);
      const names = (await store.scan(docs, 'p', { prefix: '', limit: 100, reverse: false })).map((e) => e.sk);
      assert.deepEqual(names, ['k0', 'k1', 'k2', 'k3', 'k5', 'k6', 'k7', 'k8', 'k9']);
    }));

  test('close waits for the transactions under way, then refuses new ones', () =>
    withFile(async (file) => {
      const store = SqliteKvStore.open(file, { tables: CONTRACT_TABLES });
      const writes = Array.from({ length: 10 }, (_, i) =>
        store.transact(async (tx) => {
          await tx.get(docs, 'p', `k${i}`);
          tx.put(docs, 'p', `k${i}`, { name: 'late' });
        }),
      );
      await store.close();
      await Promise.all(writes);
      await assert.rejects(store.transact(async () => undefined), /closed/);
      const reopened = SqliteKvStore.open(file, { tables: CONTRACT_TABLES });
      assert.equal((await reopened.scan(docs, 'p', { prefix: '', limit: 100, reverse: false })).length, 10);
      await reopened.close();
    }));

  test('refuses a table of another kind, a newer schema, and a table it was not opened with', () =>
    withFile(async (file) => {
      const store = SqliteKvStore.open(file, { tables: [docs] });
      await assert.rejects(store.transact(async (tx) => tx.get(blobs, 'p', 'k')), /not opened/);
      await store.close();
      assert.throws(() => SqliteKvStore.open(file, { tables: [bytesTable('docs')] }), /holds json values/);
      const db = openDatabase(file);
      db.prepare('UPDATE kv_schema SET version = version + 1').run();
      db.close();
      assert.throws(() => SqliteKvStore.open(file, { tables: [docs] }), /newer/);
    }));

  test('a file of schema version 1 (no exp column) is migrated: its rows stay, live scans of a table with liveUntil work', () =>
    withFile(async (file) => {
      const now = Date.now();
      const v1 = openDatabase(file);
      v1.exec(`
        CREATE TABLE kv_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
        CREATE TABLE kv_tables (name TEXT PRIMARY KEY, kind TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE t_docs (pk TEXT NOT NULL, sk TEXT NOT NULL, ver INTEGER NOT NULL, val NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID;
        CREATE TABLE t_timed (pk TEXT NOT NULL, sk TEXT NOT NULL, ver INTEGER NOT NULL, val NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID;
        INSERT INTO kv_schema VALUES (1, 1);
        INSERT INTO kv_tables VALUES ('docs', 'json'), ('timed', 'json');
      `);
      const insert = v1.prepare('INSERT INTO t_timed VALUES (?, ?, ?, ?)');
      insert.run('p', 'gone', 1, JSON.stringify({ name: 'gone', until: now - 1 }));
      insert.run('p', 'kept', 2, JSON.stringify({ name: 'kept', until: null }));
      v1.prepare('INSERT INTO t_docs VALUES (?, ?, ?, ?)').run('p', 'k', 3, JSON.stringify({ name: 'old' }));
      v1.close();
      const store = SqliteKvStore.open(file, { tables: CONTRACT_TABLES });
      try {
        assert.deepEqual(await store.get(docs, 'p', 'k'), { value: { name: 'old' }, version: 3 });
        assert.deepEqual((await store.scan(timed, 'p', { prefix: '', limit: 10, reverse: false, liveAt: now })).map((e) => e.sk), ['kept']);
        assert.equal((await store.scan(timed, 'p', { prefix: '', limit: 10, reverse: false })).length, 2);
      } finally {
        await store.close();
      }
      const check = openDatabase(file, { readonly: true });
      assert.equal(check.prepare('SELECT version FROM kv_schema').pluck().get(), KV_SCHEMA_VERSION);
      check.close();
    }));

  test('attachments live in their own rowid table, read by one statement; none is left behind by overwrites and deletes', () =>
    withSqlite(async (store, file) => {
      const attachmentRows = (): number => {
        const check = openDatabase(file, { readonly: true });
        try {
          return check.prepare('SELECT count(*) FROM a_attached').pluck().get() as number;
        } finally {
          check.close();
        }
      };
      for (let i = 0; i < 20; i++) {
        await store.transact(async (tx) => {
          tx.putAttached(attached, 'p', `k${i % 5}`, { name: `v${i}` }, Buffer.alloc(5000, i));
        });
      }
      assert.equal(attachmentRows(), 5, 'one attachment per row, the replaced ones gone');
      await store.transact(async (tx) => {
        tx.put(attached, 'p', 'k0', { name: 'no bytes now' });
        tx.delete(attached, 'p', 'k1');
      });
      assert.equal(attachmentRows(), 3);
      assert.ok((await store.getAttached(attached, 'p', 'k4'))?.attachment?.equals(Buffer.alloc(5000, 19)));
    }));

  test('bulkPut loads rows in one transaction, each with its own version, visible through a warm cache', () =>
    withSqlite(async (store) => {
      assert.equal(await store.get(docs, 'bulk', 'k00005'), null);
      const rows = Array.from({ length: 10_000 }, (_, i) => ({ pk: 'bulk', sk: `k${String(i).padStart(5, '0')}`, value: { name: `n${i}` } }));
      assert.equal(await store.bulkPut(docs, rows), 10_000);
      assert.deepEqual((await store.get(docs, 'bulk', 'k00005'))?.value, { name: 'n5' });
      const scanned = await store.scan(docs, 'bulk', { prefix: 'k0000', limit: 100, reverse: false });
      assert.equal(scanned.length, 10);
      assert.equal(new Set(scanned.map((e) => e.version)).size, 10);
    }));

  test('a value larger than the cache admits is still read right, every time', () =>
    withSqlite(async (store) => {
      const big = Buffer.alloc(512 * 1024, 7);
      await store.transact(async (tx) => {
        tx.put(blobs, 'p', 'big', big);
      });
      for (let i = 0; i < 3; i++) assert.ok((await store.get(blobs, 'p', 'big'))?.value.equals(big));
    }));

  test('every acknowledged commit survives a SIGKILL of the writing process', { timeout: 120_000 }, () =>
    withFile(async (file) => {
      const acked: string[] = [];
      for (const concurrency of [1, 64]) {
        const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'sqlite-kv-writer.ts'), file, String(concurrency), String(concurrency * 1_000_000)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const lines = createInterface({ input: child.stdout });
        let round = 0;
        for await (const line of lines) {
          if (!line.startsWith('acked ')) continue;
          acked.push(line.slice('acked '.length));
          if (++round === 300) {
            child.kill('SIGKILL');
            break;
          }
        }
        if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
        assert.equal(child.signalCode, 'SIGKILL');
      }
      const store = SqliteKvStore.open(file, { tables: CONTRACT_TABLES });
      try {
        for (const sk of acked) {
          assert.deepEqual((await store.get(docs, 'p', sk))?.value.name, sk, `${sk} survived`);
          assert.equal((await store.get(blobs, 'p', sk))?.value.length, 4096);
          assert.equal((await store.get(counters, 'acked', sk))?.value, 1);
        }
      } finally {
        await store.close();
      }
    }));
});

/** Commits `rows` rows in a child process, kills it (SIGKILL), and returns the files it left and the rows acknowledged. */
async function crashedWriter(dir: string, rows: number): Promise<string[]> {
  const file = fileIn(dir);
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'sqlite-kv-writer.ts'), file, '1', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('acked ')) acked.push(line.slice('acked '.length));
    if (acked.length === rows) break;
  }
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return acked;
}

describe('a damaged WAL at open (SQLite only)', () => {
  const variants: [string, (wal: string, shm: string) => Promise<void>, RegExp | null][] = [
    ['intact, with its index', async () => undefined, null],
    ['intact, without its index', async (_wal, shm) => rm(shm), null],
    ['a byte of a middle frame flipped', async (wal) => flipByte(wal, 32 + 10 * 4120 + 2000), /meta\.sqlite-wal lacks writes the last run committed: .* counts \d+ frames .* but only \d+ can be read/],
    ['cut inside a frame, without its index', async (wal, shm) => (await rm(shm), truncate(wal, 32 + 10 * 4120 + 7)), /meta\.sqlite-wal ends inside a frame \(41239 bytes: .*truncate -s 41232 '/],
    ['no valid header, without its index', async (wal, shm) => (await rm(shm), flipByte(wal, 1)), /meta\.sqlite-wal holds \d+ bytes but no valid header/],
  ];
  for (const [name, damage, refusal] of variants) {
    test(`${name}: ${refusal ? 'refused, by name, with nothing written' : 'opens with every acknowledged row'}`, () =>
      withFile(async (file) => {
        const acked = await crashedWriter(join(file, '..'), 30);
        const [wal, shm] = [`${file}-wal`, `${file}-shm`];
        assert.ok((await stat(wal)).size > 32 + 20 * 4120, 'the rows are in the WAL');
        await damage(wal, shm);
        if (refusal) {
          const before = await readFile(wal);
          assert.throws(() => SqliteKvStore.open(file, { tables: CONTRACT_TABLES }), (err: unknown) => err instanceof DamagedStore && refusal.test(err.message));
          await assert.rejects(SqliteKvStore.openChecked(file, { tables: CONTRACT_TABLES }), DamagedStore);
          assert.ok((await readFile(wal)).equals(before), 'the WAL is as it was');
          return;
        }
        const store = await SqliteKvStore.openChecked(file, { tables: CONTRACT_TABLES });
        try {
          for (const sk of acked) assert.equal((await store.get(docs, 'p', sk))?.value.name, sk);
        } finally {
          await store.close();
        }
      }));
  }
});

async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, at);
  byte[0] = (byte[0] ?? 0) ^ 0xff;
  await handle.write(byte, 0, 1, at);
  await handle.close();
}

describe('row cache bounds', () => {
  test('a row with bytes is kept only when missed twice within the window: random reads never churn it', () => {
    const cache = new RowCache(100, 1 << 20, 3);
    assert.equal(cache.admits('a'), false, 'first miss');
    assert.equal(cache.admits('a'), true, 'missed again soon');
    for (const key of ['b', 'c', 'd']) assert.equal(cache.admits(key), false);
    assert.equal(cache.admits('b'), true, 'within the window');
    for (const key of ['e', 'f', 'g', 'h']) cache.admits(key);
    assert.equal(cache.admits('c'), false, 'too many misses ago: forgotten');
  });

  test('thousands of distinct rows read once each stay correct as the cache evicts', () =>
    withSqlite(async (store) => {
      const table = jsonTable<number>('counters');
      await store.bulkPut(
        table,
        Array.from({ length: 5000 }, (_, i) => ({ pk: 'p', sk: String(i), value: i })),
      );
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 5000; i += 7) assert.equal((await store.get(table, 'p', String(i)))?.value, i);
      }
    }));
});
