/**
 * One run of a transaction's work on one pooled connection, in two phases.
 *
 * 1. Work's reads run in a REPEATABLE READ READ ONLY transaction (begun at the first read): one consistent
 *    snapshot, and no predicate locks. Writes are buffered. What work read is remembered.
 * 2. At commit, if work wrote anything: a SERIALIZABLE transaction checks that everything work read is still as
 *    it saw it (else `StaleRead`: run again), then applies the writes and commits.
 *
 * Why not run work itself under SERIALIZABLE: PostgreSQL's serializable isolation locks the B-tree *page* of a
 * key read as absent, so concurrent "read a new key, then create it" transactions in one partition (every new
 * object) abort each other although they touch different keys (2.4 re-runs per transaction at 16 at once,
 * against none here). A row work read and then writes needs no re-read: its write is made conditional on the
 * version work saw, checked by the same statement that writes (no predicate lock for an insert), and a
 * mismatch means "run again". Everything else work read is read again under SERIALIZABLE just before the
 * writes, so the commit is exactly what work would have done at that snapshot — and PostgreSQL's own
 * serializable checks cover the short window up to COMMIT.
 *
 * A transaction that writes nothing ends after phase 1: it read one consistent committed snapshot (snapshot
 * isolation, so the rare read-only anomaly of snapshot isolation is possible; validating it too would cost a
 * second SERIALIZABLE round of every read).
 */
import type pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';
import { checkAttachment, checkAttachments, Conflict, isLiveAt, liveUntilOf, type AttachedRow, type Entry, type Row, type ScanRange, type Table, type Tx, type WriteCondition } from '../index.ts';
import { decodeValue, decodeVersion, encodeValue, newVersion } from './codec.ts';
import { StaleRead, storeFaultOf } from './errors.ts';
import { ReadSet, describeScan, sameCondition } from './read-set.ts';
import type { Statement, Tables, TableStatements } from './statements.ts';
import { compareKeys } from '../../../lib/key-order.ts';
import { WriteBuffer, type BufferedRow } from './write-buffer.ts';

export type Run = <R extends QueryResultRow>(statement: Statement) => Promise<QueryResult<R>>;

export interface StoredRow {
  sk: string;
  ver: string;
  val: string | Buffer;
}

export interface StoredAttachedRow {
  ver: string;
  val: string | Buffer;
  att: Buffer | null;
}

export class PostgresTx implements Tx {
  private readonly writes = new WriteBuffer();
  private readonly reads = new ReadSet();
  /** Queries run one after another on the connection, even when `work` starts several at once. */
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private snapshotBegun = false;
  private finished = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly tables: Tables,
  ) {}

  async get<V>(table: Table<V>, pk: string, sk: string): Promise<Row<V> | null> {
    const statements = this.tables.of(table);
    this.checkOpen();
    const buffered = this.writes.lookup(table, pk, sk);
    if (buffered) return bufferedRow(table, buffered);
    this.beginSnapshot();
    const { rows } = await this.run<StoredRow>(statements.get(pk, sk));
    const row = rows[0];
    this.reads.noteRow(table, pk, sk, row ? decodeVersion(row.ver) : null);
    return row ? { value: decodeValue(table, row.val), version: decodeVersion(row.ver) } : null;
  }

  async getAttached<V>(table: Table<V>, pk: string, sk: string): Promise<AttachedRow<V> | null> {
    const statements = this.tables.of(table);
    this.checkOpen();
    checkAttachments(table);
    const buffered = this.writes.lookup(table, pk, sk);
    if (buffered) return buffered.after && { value: decodeValue(table, buffered.after.encoded), version: buffered.after.version, attachment: buffered.after.attachment };
    this.beginSnapshot();
    const { rows } = await this.run<StoredAttachedRow>(statements.getAttached(pk, sk));
    const row = rows[0];
    this.reads.noteRow(table, pk, sk, row ? decodeVersion(row.ver) : null);
    return row ? decodeAttached(table, row) : null;
  }

  async scan<V>(table: Table<V>, pk: string, range: ScanRange): Promise<Entry<V>[]> {
    const statements = this.tables.of(table);
    this.checkOpen();
    if (range.limit <= 0) return [];
    const buffered = this.writes.inRange(table, pk, range);
    // Each buffered row hides at most one stored row, so this many stored rows are enough to fill the page.
    const limit = range.limit + buffered.length;
    this.beginSnapshot();
    const { rows } = await this.run<StoredRow>(statements.scan(pk, range, limit));
    this.reads.noteScan(table, pk, range, limit, rows);
    const stored = rows.map((row) => decodeEntry(table, row));
    if (buffered.length === 0) return stored;
    const overridden = new Set(buffered.map((row) => row.sk));
    const merged = stored.filter((entry) => !overridden.has(entry.sk));
    for (const row of buffered) {
      const value = bufferedRow(table, row);
      if (value && isLiveAt(row.after?.liveUntil ?? null, range.liveAt)) merged.push({ sk: row.sk, ...value });
    }
    const direction = range.reverse ? -1 : 1;
    return merged.sort((a, b) => direction * compareKeys(a.sk, b.sk)).slice(0, range.limit);
  }

  put<V>(table: Table<V>, pk: string, sk: string, value: V, condition?: WriteCondition): void {
    this.write(table, pk, sk, value, null, condition);
  }

  putAttached<V>(table: Table<V>, pk: string, sk: string, value: V, attachment: Buffer, condition?: WriteCondition): void {
    this.write(table, pk, sk, value, checkAttachment(table, attachment), condition);
  }

  private write<V>(table: Table<V>, pk: string, sk: string, value: V, attachment: Buffer | null, condition: WriteCondition | undefined): void {
    this.tables.of(table);
    this.checkOpen();
    const after = { encoded: encodeValue(table, value), version: newVersion(), liveUntil: liveUntilOf(table, value), attachment };
    this.writes.write(table, pk, sk, after, condition);
  }

  delete(table: Table<unknown>, pk: string, sk: string, condition?: WriteCondition): void {
    this.tables.of(table);
    this.checkOpen();
    this.writes.write(table, pk, sk, null, condition);
  }

  /** Validates what work read, applies its writes and commits (phase 2); a read-only run just ends. */
  async commit(): Promise<void> {
    // A query failed and `work` carried on regardless: nothing may commit.
    if (this.failure !== undefined) throw this.failure;
    if (this.writes.conflict) throw this.writes.conflict;
    if (this.writes.isEmpty) {
      if (this.snapshotBegun) await this.run({ text: 'COMMIT' });
      return;
    }
    const begin = 'BEGIN ISOLATION LEVEL SERIALIZABLE';
    await this.run({ text: this.snapshotBegun ? `ROLLBACK; ${begin}` : begin });
    await this.validateReads();
    await this.applyAll(this.writes.ordered());
    const result = await this.run({ text: 'COMMIT' });
    if (result.command !== 'COMMIT') throw new Error(`transaction did not commit (${result.command})`);
  }

  /** Rolls back; returns the error when the connection is unusable (so the pool discards it). */
  async rollback(): Promise<Error | undefined> {
    await this.queue;
    try {
      await this.client.query('ROLLBACK');
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  finish(): void {
    this.finished = true;
  }

  /** Every scan, and every row that work read but does not write, must read the same under SERIALIZABLE. */
  private async validateReads(): Promise<void> {
    for (const scan of this.reads.scans) {
      const statements = this.tables.of(scan.table);
      const { rows } = await this.run<{ sk: string; ver: string }>(
        statements.scan(scan.pk, scan.range, scan.limit, false),
      );
      if (describeScan(rows) !== scan.seen) throw new StaleRead(`a scan of ${scan.table.name}[${scan.pk}]`);
    }
    for (const { table, pk, sk, seen } of this.reads.allRows()) {
      if (this.writes.lookup(table, pk, sk)) continue; // its write checks it
      if (!(await this.stillAsSeen(this.tables.of(table), pk, sk, seen))) {
        throw new StaleRead(`${table.name}[${pk}/${sk}]`);
      }
    }
  }

  private async stillAsSeen(statements: TableStatements, pk: string, sk: string, seen: WriteCondition) {
    const { rows } = await this.run<{ ver: string }>(statements.version(pk, sk));
    const row = rows[0];
    return sameCondition(seen, { ifVersion: row ? decodeVersion(row.ver) : null });
  }

  /**
   * Writes every row, in order; the blind deletes of one partition (rows deleted without a condition and not
   * read: a batch of parts let go of, say) go in one statement at the place of the first of them, so a
   * transaction deleting a thousand rows costs a statement, not a thousand.
   */
  private async applyAll(rows: readonly BufferedRow[]): Promise<void> {
    const groups = new Map<string, BufferedRow[]>();
    const blind = new Set<BufferedRow>();
    for (const row of rows) {
      if (row.after !== null || row.condition !== undefined || this.reads.seen(row.table, row.pk, row.sk) !== undefined) continue;
      blind.add(row);
      const group = JSON.stringify([row.table.name, row.pk]);
      const members = groups.get(group);
      if (members) members.push(row);
      else groups.set(group, [row]);
    }
    const done = new Set<BufferedRow>();
    for (const row of rows) {
      if (done.has(row)) continue;
      if (!blind.has(row)) {
        await this.apply(row);
        continue;
      }
      const group = groups.get(JSON.stringify([row.table.name, row.pk])) ?? [row];
      for (const member of group) done.add(member);
      const statements = this.tables.of(row.table);
      await this.run(group.length === 1 ? statements.delete(row.pk, row.sk) : statements.deleteMany(row.pk, group.map((member) => member.sk)));
    }
  }

  /**
   * Writes one row. A row work read first is written only if it is still as work saw it (else: run again);
   * work's own condition decides Conflict, judged on what work saw.
   */
  private async apply(row: BufferedRow): Promise<void> {
    const statements = this.tables.of(row.table);
    const { table, pk, sk, condition } = row;
    const seen = this.reads.seen(table, pk, sk);
    if (seen === undefined) {
      if (!(await this.applyRow(statements, row, condition))) throw new Conflict(table.name, pk, sk);
      return;
    }
    if (condition && !sameCondition(condition, seen)) {
      // What work saw already fails its condition: a Conflict, unless the row has changed since.
      if (await this.stillAsSeen(statements, pk, sk, seen)) throw new Conflict(table.name, pk, sk);
      throw new StaleRead(`${table.name}[${pk}/${sk}]`);
    }
    if (!(await this.applyRow(statements, row, seen))) throw new StaleRead(`${table.name}[${pk}/${sk}]`);
  }

  /** Writes one row's final state; false when `condition` does not hold in the database (nothing written). */
  private async applyRow(
    statements: TableStatements,
    { pk, sk, after }: BufferedRow,
    condition: WriteCondition | undefined,
  ): Promise<boolean> {
    const expected = condition?.ifVersion;
    if (after === null) {
      if (expected === undefined) {
        await this.run(statements.delete(pk, sk));
        return true;
      }
      if (expected === null) return (await this.run(statements.version(pk, sk))).rowCount === 0;
      return (await this.run(statements.deleteIfVersion(pk, sk, expected))).rowCount === 1;
    }
    if (expected === undefined) {
      await this.run(statements.upsert(pk, sk, after));
      return true;
    }
    if (expected === null) return (await this.run(statements.insertIfAbsent(pk, sk, after))).rowCount === 1;
    return (await this.run(statements.updateIfVersion(pk, sk, after, expected))).rowCount === 1;
  }

  /** Phase 1 starts with the first read; a transaction of blind writes goes straight to phase 2. */
  private beginSnapshot(): void {
    if (this.snapshotBegun) return;
    this.snapshotBegun = true;
    // Queued before the read that follows; a failure is recorded by `run` and fails the commit.
    this.run({ text: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' }).catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.finished) throw new Error('transaction already finished: tx used outside its transact() call');
  }

  private readonly run: Run = <R extends QueryResultRow>(statement: Statement) => {
    this.checkOpen();
    const result = this.queue.then(() => this.client.query<R>(statement));
    this.queue = result.catch(() => undefined);
    return result.catch((error: unknown) => {
      // A database that cannot serve (gone, full, restarting) is a StoreFault for the callers.
      const thrown = storeFaultOf(error) ?? error;
      this.failure ??= thrown instanceof Error ? thrown : new Error(String(thrown));
      throw thrown;
    });
  };
}

function bufferedRow<V>(table: Table<V>, row: BufferedRow): Row<V> | null {
  return row.after && { value: decodeValue(table, row.after.encoded), version: row.after.version };
}

export function decodeAttached<V>(table: Table<V>, row: StoredAttachedRow): AttachedRow<V> {
  return { value: decodeValue(table, row.val), version: decodeVersion(row.ver), attachment: row.att };
}

export function decodeEntry<V>(table: Table<V>, row: StoredRow): Entry<V> {
  return { sk: row.sk, value: decodeValue(table, row.val), version: decodeVersion(row.ver) };
}
