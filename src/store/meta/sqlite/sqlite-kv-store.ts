/**
 * The MetadataStore on SQLite (better-sqlite3, WAL). Transactions are optimistic (see kv-tx.ts) and committed in
 * groups (see kv-group-commit.ts); a commit is acknowledged only after a WAL sync that began after it (see
 * wal-sync.ts: synchronous=NORMAL plus an fdatasync off the event loop, as durable as FULL).
 *
 * This process must be the only writer of the file (the data-directory lock sees to it): the row cache relies
 * on it (`shared` is false). Values handed out by `get` and `scan` may be shared with other callers (through the
 * row cache), and a transaction's own reads hand back the very values it put: never mutate either.
 */
import { closeSync, openSync } from 'node:fs';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { Contention, type AttachedRow, type Entry, type MetadataStore, type MetadataStoreOptions, type Row, type ScanRange, type StoreObserver, type Table, type Tx, type Version } from '../index.ts';
import { asDamaged, checkPages, checkWal } from './file-check.ts';
import { ExpiryFloors } from './expiry-floors.ts';
import { KvGroupCommitter } from './kv-group-commit.ts';
import { openDatabase } from './open-database.ts';
import { resolveBounds, type KeyBounds } from './kv-range.ts';
import { prepareSchema } from './kv-schema.ts';
import { SqliteTable, type ScanFilter } from './kv-table.ts';
import { newVersion, rowKey, SqliteTx, type CommittedState, type Written } from './kv-tx.ts';
import { cachedSize, RowCache } from './row-cache.ts';
import { ReadScope } from './read-scope.ts';
import { WalSync } from './wal-sync.ts';

/** Runs of `work` per transaction before it gives up with Contention. */
export const MAX_ATTEMPTS = 10;

/** How often reads check whether another process (onggi admin, a bulk loader) wrote the file. */
const OTHER_WRITERS_CHECK_MS = 100;
/** How long a re-run waits for the ones before it at most (see Gate). */
const GATE_PATIENCE_MS = 5_000;

/** Rows a live scan looks at per statement: a few milliseconds of the event loop, however many rows are past their time. */
const LIVE_SCAN_WINDOW = 4096;

/** Bounds of the recently-read row cache (as the old store's object cache). */
const CACHE_MAX_ROWS = 2_000;
const CACHE_MAX_BYTES = 2 * 1024 * 1024;

/** What `work` produced, and the sync its commit waits for (null: read-only, nothing to wait for). */
interface Done<T> {
  value: T;
  durable: Promise<void> | null;
}

export interface BulkRow<V> {
  pk: string;
  sk: string;
  value: V;
}

export class SqliteKvStore implements MetadataStore, CommittedState {
  readonly shared = false;
  writeSeq = 0;
  private readonly tables = new Map<string, SqliteTable>();
  private readonly cache = new RowCache(CACHE_MAX_ROWS, CACHE_MAX_BYTES);
  private readonly expiryFloors = new ExpiryFloors();
  private readonly committer: KvGroupCommitter;
  private readonly retryGate = new Gate();
  private readonly reads: ReadScope;
  private readonly observer: StoreObserver;
  private readonly pingStatement: Database.Statement;
  private readonly dataVersion: Database.Statement;
  private seenDataVersion: unknown = null;
  private otherWritersCheckedAt = 0;
  private running = 0;
  private closing: Promise<void> | null = null;
  private whenIdle: (() => void) | null = null;

  private constructor(
    private readonly db: Database.Database,
    private readonly wal: WalSync,
    options: MetadataStoreOptions,
  ) {
    this.observer = options.observer ?? {};
    for (const table of options.tables) this.tables.set(table.name, new SqliteTable(db, table));
    this.reads = new ReadScope(db);
    this.committer = new KvGroupCommitter(db, wal, this.observer, {
      beforeBegin: this.reads.leave,
      afterBegin: () => {
        this.noticeOtherWriters();
      },
      afterRollback: () => {
        this.cache.clear();
        this.expiryFloors.clear();
      },
    });
    this.pingStatement = db.prepare('SELECT 1').pluck(true);
    this.dataVersion = db.prepare('PRAGMA data_version').pluck(true);
    this.noticeOtherWriters();
  }

  /**
   * Opens (creating, mode 0600) the SQLite file at `path`, and creates the tables that are missing. Refuses
   * (DamagedStore) a WAL that lost frames the last run committed, and a file SQLite finds damaged.
   */
  static open(path: string, options: MetadataStoreOptions): SqliteKvStore {
    // Created here so that its mode is 0600; SQLite gives the -wal and -shm files the same mode.
    closeSync(openSync(path, 'a', 0o600));
    checkWal(path);
    return SqliteKvStore.connect(path, options);
  }

  /** `open`, after reading every page of the database for damage (PRAGMA quick_check; on a worker thread when large). */
  static async openChecked(path: string, options: MetadataStoreOptions): Promise<SqliteKvStore> {
    closeSync(openSync(path, 'a', 0o600));
    checkWal(path);
    await checkPages(path);
    return SqliteKvStore.connect(path, options);
  }

  private static connect(path: string, options: MetadataStoreOptions): SqliteKvStore {
    let db: Database.Database | undefined;
    try {
      db = openDatabase(path);
      db.pragma('journal_mode = WAL');
      // NORMAL: commits do not sync the WAL themselves; WalSync does, off the event loop, before any acknowledgement.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      // 4 MiB of page cache: the hot part of the index; the OS caches the rest without counting against us.
      db.pragma('cache_size = -4000');
      prepareSchema(db, options.tables);
      return new SqliteKvStore(db, new WalSync(`${path}-wal`), options);
    } catch (err) {
      db?.close();
      throw asDamaged(path, err);
    }
  }

  async get<V>(table: Table<V>, pk: string, sk: string): Promise<Row<V> | null> {
    const t = this.table(table);
    return this.readRow(t, pk, sk, rowKey(t.name, pk, sk)) as Row<V> | null;
  }

  async getAttached<V>(table: Table<V>, pk: string, sk: string): Promise<AttachedRow<V> | null> {
    const t = this.table(table);
    return this.readAttached(t, pk, sk, rowKey(t.name, pk, sk)) as AttachedRow<V> | null;
  }

  async scan<V>(table: Table<V>, pk: string, range: ScanRange): Promise<Entry<V>[]> {
    const t = this.table(table);
    const bounds = resolveBounds(range);
    const { reverse, limit, liveAt } = range;
    this.reads.enter();
    if (liveAt === undefined || !this.mayHoldExpired(t, pk, liveAt)) return this.scanRows(t, pk, bounds, reverse, limit, {}) as Entry<V>[];
    const found = this.scanLiveWindow(t, pk, bounds, reverse, limit, liveAt);
    if (found.length >= limit) return found as Entry<V>[];
    return (await this.scanLiveRest(found, t, pk, bounds, reverse, limit, liveAt)) as Entry<V>[];
  }

  private mayHoldExpired(t: SqliteTable, pk: string, liveAt: number): boolean {
    if (Date.now() - this.otherWritersCheckedAt > OTHER_WRITERS_CHECK_MS) this.noticeOtherWriters();
    return this.expiryFloors.mayHoldExpired(t, pk, liveAt);
  }

  private scanLiveWindow(t: SqliteTable, pk: string, bounds: KeyBounds, reverse: boolean, limit: number, liveAt: number): Entry<unknown>[] {
    return t.scanLiveWindow(pk, bounds, reverse, limit, liveAt, LIVE_SCAN_WINDOW).map(([sk, version, encoded]) => ({ value: t.decode(encoded), version, sk }));
  }

  /**
   * Rows past their time may lie between the live ones in any number (they wait for a background job), and the
   * query steps over each: so a live scan looks at LIVE_SCAN_WINDOW rows per statement and lets the event loop
   * run between statements. Each statement sees the latest committed state.
   */
  private async scanLiveRest(
    found: Entry<unknown>[],
    t: SqliteTable,
    pk: string,
    bounds: KeyBounds,
    reverse: boolean,
    limit: number,
    liveAt: number,
  ): Promise<Entry<unknown>[]> {
    let window = bounds;
    for (;;) {
      const end = t.windowEnd(pk, window, reverse, LIVE_SCAN_WINDOW);
      if (end === null) return found;
      const past = { key: end, inclusive: false };
      window = reverse ? { ...window, upper: past } : { ...window, lower: past };
      await nextTurn();
      this.reads.enter();
      found.push(...this.scanLiveWindow(t, pk, window, reverse, limit - found.length, liveAt));
      if (found.length >= limit) return found;
    }
  }

  async transact<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closing) throw new Error('the metadata store is closed');
    this.running++;
    try {
      let done = await this.attempt(work, false);
      if (!done) {
        this.observer.retried?.();
        // Re-runs go one at a time: N transactions racing for one row all commit in N rounds, none starves.
        done = await this.retryGate.run(() => this.rerun(work));
      }
      await done.durable;
      return done.value;
    } finally {
      this.running--;
      if (this.running === 0) this.whenIdle?.();
    }
  }

  /**
   * Bulk load (bench seeding, imports), outside the interface: every row in one SQLite transaction, each with a
   * fresh version, then synced. Blocks the event loop while it writes: pass batches of some ten thousand rows.
   */
  async bulkPut<V>(table: Table<V>, rows: Iterable<BulkRow<V>>): Promise<number> {
    const t = this.table(table);
    this.reads.leave();
    const count = this.db
      .transaction(() => {
        let written = 0;
        for (const { pk, sk, value } of rows) {
          t.put(pk, sk, newVersion(), t.encode(value), t.liveUntil(value));
          written++;
        }
        return written;
      })
      .immediate();
    this.cache.clear();
    this.expiryFloors.clear();
    this.wrote();
    await this.wal.request();
    return count;
  }

  async ping(): Promise<void> {
    this.pingStatement.get();
  }

  /** Waits for the transactions under way (new ones are refused), then closes the file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.running > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
      await this.wal.close();
      this.reads.leave();
      this.db.close();
    })();
    return this.closing;
  }

  // --- CommittedState: what transactions read and write ---------------------------------------

  table(table: Table<unknown>): SqliteTable {
    const t = this.tables.get(table.name);
    if (!t || t.kind !== table.kind) throw new Error(`table ${table.name} (${table.kind}) was not opened with this store`);
    return t;
  }

  readRow(table: SqliteTable, pk: string, sk: string, key: string): Row<unknown> | null {
    if (Date.now() - this.otherWritersCheckedAt > OTHER_WRITERS_CHECK_MS) this.noticeOtherWriters();
    const cached = this.cache.get(key);
    if (cached) return cached.row;
    this.reads.enter();
    const raw = table.row(pk, sk);
    const row = raw ? { value: table.decode(raw[1]), version: raw[0] } : null;
    this.cache.remember(key, row, cachedSize(key, raw ? raw[1] : null));
    return row;
  }

  readAttached(table: SqliteTable, pk: string, sk: string, key: string): AttachedRow<unknown> | null {
    if (Date.now() - this.otherWritersCheckedAt > OTHER_WRITERS_CHECK_MS) this.noticeOtherWriters();
    const cached = this.cache.get(key);
    if (cached && (cached.row === null || cached.attachment !== undefined)) return cached.row && { ...cached.row, attachment: cached.attachment ?? null };
    this.reads.enter();
    const raw = table.rowAttached(pk, sk);
    if (!raw) {
      this.cache.remember(key, null, cachedSize(key, null));
      return null;
    }
    const [version, encoded, attachment] = raw;
    const row = { value: table.decode(encoded), version };
    if (attachment === null || this.cache.admits(key)) this.cache.remember(key, row, cachedSize(key, encoded, attachment), attachment);
    return { ...row, attachment };
  }

  scanRows(table: SqliteTable, pk: string, bounds: KeyBounds, reverse: boolean, limit: number, filter: ScanFilter): Entry<unknown>[] {
    this.reads.enter();
    return table.scan(pk, bounds, reverse, limit, filter).map(([sk, version, encoded]) => ({ value: table.decode(encoded), version, sk }));
  }

  currentRow(table: SqliteTable, pk: string, sk: string, key: string): Row<unknown> | null {
    const cached = this.cache.get(key);
    if (cached) return cached.row;
    const raw = table.row(pk, sk);
    return raw ? { value: table.decode(raw[1]), version: raw[0] } : null;
  }

  currentVersion(table: SqliteTable, pk: string, sk: string, key: string): Version | null {
    const cached = this.cache.get(key);
    if (cached) return cached.row?.version ?? null;
    return table.version(pk, sk);
  }

  write(table: SqliteTable, pk: string, sk: string, key: string, written: Written | null): void {
    this.cache.drop(key);
    if (written) {
      table.put(pk, sk, written.row.version, written.encoded, written.liveUntil, written.attachment);
      this.expiryFloors.wrote(table, pk, written.liveUntil);
      // Rows that take merges (counters) are merged into again soon: keep them (dropped if the batch rolls back).
      if (table.combine) this.cache.remember(key, written.row, cachedSize(key, written.encoded));
    } else {
      table.delete(pk, sk);
    }
  }

  wrote(): void {
    this.writeSeq++;
  }

  /**
   * This process is the only server on the file, but `onggi admin` (or a bulk loader) may commit to it too:
   * SQLite's data_version changes when another connection committed, and then nothing cached can be trusted.
   * Checked before every group commit validates, and by reads at most every OTHER_WRITERS_CHECK_MS.
   */
  private noticeOtherWriters(): void {
    this.otherWritersCheckedAt = Date.now();
    const version = this.dataVersion.get();
    if (version !== this.seenDataVersion) {
      this.seenDataVersion = version;
      // Reads cached from here on must come from a snapshot that has the other process's commit.
      this.reads.leave();
      this.cache.clear();
      this.expiryFloors.clear();
    }
  }

  // --- attempts ---------------------------------------------------------------------------------

  private async rerun<T>(work: (tx: Tx) => Promise<T>): Promise<Done<T>> {
    for (let attempt = 2; ; attempt++) {
      const done = await this.attempt(work, true);
      if (done) return done;
      if (attempt >= MAX_ATTEMPTS) throw new Contention(attempt);
      this.observer.retried?.();
    }
  }

  /** One run of `work` and its commit; null when what it read changed meanwhile (run it again). */
  private async attempt<T>(work: (tx: Tx) => Promise<T>, isRetry: boolean): Promise<Done<T> | null> {
    const tx = new SqliteTx(this);
    let value: T;
    try {
      value = await work(tx);
    } catch (err) {
      // `work` may have failed only because its reads were no consistent snapshot: then run it again.
      if (!tx.readsStillValid()) return null;
      throw err;
    } finally {
      tx.finish();
    }
    if (tx.conflict) {
      if (!tx.readsStillValid()) return null;
      throw tx.conflict;
    }
    if (!tx.hasWrites) return tx.readOnlyStillValid() ? { value, durable: null } : null;
    const outcome = await this.committer.submit(tx, isRetry);
    switch (outcome.kind) {
      case 'committed':
        return { value, durable: outcome.durable };
      case 'retry':
        return null;
      case 'conflict':
        await outcome.durable;
        throw outcome.conflict;
      case 'failed':
        throw outcome.error;
    }
  }
}

/**
 * Runs functions one at a time, in call order. A function waiting longer than GATE_PATIENCE_MS runs anyway: a
 * `work` that (against the rules) awaits another transaction of the same store, which itself needs a re-run,
 * would otherwise wait on itself forever.
 */
class Gate {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release = (): void => undefined;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    const patience = new AbortController();
    await Promise.race([previous, sleep(GATE_PATIENCE_MS, undefined, { ref: false, signal: patience.signal }).catch(() => undefined)]);
    patience.abort();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
