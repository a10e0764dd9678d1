/**
 * The metadata store on PostgreSQL (node-postgres), shared by several Onggi nodes. One SQL table per logical
 * table; each `transact` is one SERIALIZABLE transaction on one pooled connection, re-run from the start when
 * PostgreSQL reports a serialization failure. Writes are buffered and applied at commit, with their
 * conditions checked by the same statements that write (so a lost compare-and-set is a `Conflict`, not a
 * retry). Commits are durable when acknowledged under PostgreSQL's default `synchronous_commit = on`.
 *
 * Only SQL that CockroachDB and YugabyteDB also accept: see the README's PostgreSQL section for what is avoided.
 */
import pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';
import {
  Conflict,
  Contention,
  type Entry,
  type MetadataStore,
  type MetadataStoreOptions,
  type Row,
  type ScanRange,
  type StoreObserver,
  type Table,
  type Tx,
  type WriteCondition,
} from '../index.ts';
import { decodeValue, decodeVersion, encodeValue, newVersion } from './codec.ts';
import { backoffMs, isSerializationFailure, sleep } from './errors.ts';
import { migrate } from './migrations.ts';
import { TableStatements, type Statement } from './statements.ts';
import { compareKeys, WriteBuffer, type BufferedRow } from './write-buffer.ts';

export interface PostgresKvStoreOptions extends MetadataStoreOptions {
  /** Connections in this node's pool (default 10). Each running transaction holds one. */
  poolSize?: number;
  /** Runs of one transaction under serialization failures before `Contention` (default 20: 50 transactions
   * incrementing one row through a 10-connection pool hit 10 now and then, never 20 in our runs). */
  maxAttempts?: number;
}

interface StoredRow {
  sk: string;
  ver: string;
  val: string | Buffer;
}

type Run = <R extends QueryResultRow>(statement: Statement) => Promise<QueryResult<R>>;

export class PostgresKvStore implements MetadataStore {
  readonly shared = true;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly tables: Tables,
    private readonly observer: StoreObserver | undefined,
    private readonly maxAttempts: number,
  ) {}

  /** Connects, applies pending migrations (safe while other nodes open the same database), and returns the store. */
  static async open(url: string, options: PostgresKvStoreOptions): Promise<PostgresKvStore> {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    // An idle connection lost (server restart, network): the pool drops it and connects afresh on next use.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, options.tables);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresKvStore(pool, new Tables(options.tables), options.observer, options.maxAttempts ?? 20);
  }

  get<V>(table: Table<V>, pk: string, sk: string): Promise<Row<V> | null> {
    return readRow(this.poolRun, this.tables.of(table), table, pk, sk);
  }

  scan<V>(table: Table<V>, pk: string, range: ScanRange): Promise<Entry<V>[]> {
    return readScan(this.poolRun, this.tables.of(table), table, pk, range, range.limit);
  }

  async transact<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(work);
      } catch (error) {
        if (!isSerializationFailure(error)) throw error;
        if (attempt >= this.maxAttempts) throw new Contention(attempt);
        this.observer?.retried?.();
        await sleep(backoffMs(attempt));
      }
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private readonly poolRun: Run = (statement) => this.pool.query(statement);

  private async attempt<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx = new PostgresTx(client, this.tables);
    let broken: Error | undefined;
    try {
      await tx.begin();
      const result = await work(tx);
      await tx.commit();
      return result;
    } catch (error) {
      broken = await tx.rollback();
      // Once the database refused to serialize this transaction, whatever `work` made of that is moot: re-run it.
      throw tx.serializationFailure ?? error;
    } finally {
      tx.finish();
      client.release(broken);
    }
  }
}

/** The statements of every table declared at open. */
class Tables {
  private readonly byName = new Map<string, TableStatements>();

  constructor(tables: readonly Table<unknown>[]) {
    for (const table of tables) this.byName.set(table.name, new TableStatements(table));
  }

  of(table: Table<unknown>): TableStatements {
    const statements = this.byName.get(table.name);
    if (!statements) throw new Error(`table ${table.name} was not declared when the store was opened`);
    return statements;
  }
}

class PostgresTx implements Tx {
  private readonly writes = new WriteBuffer();
  /** Queries run one after another on the connection, even when `work` starts several at once. */
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private finished = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly tables: Tables,
  ) {}

  /** The serialization failure a query of this transaction hit, if any. */
  get serializationFailure(): Error | undefined {
    return isSerializationFailure(this.failure) ? this.failure : undefined;
  }

  async begin(): Promise<void> {
    await this.run({ text: 'BEGIN ISOLATION LEVEL SERIALIZABLE' });
  }

  async get<V>(table: Table<V>, pk: string, sk: string): Promise<Row<V> | null> {
    const statements = this.tables.of(table);
    this.checkOpen();
    const buffered = this.writes.lookup(table, pk, sk);
    if (buffered) return bufferedRow(table, buffered);
    return readRow(this.run, statements, table, pk, sk);
  }

  async scan<V>(table: Table<V>, pk: string, range: ScanRange): Promise<Entry<V>[]> {
    const statements = this.tables.of(table);
    this.checkOpen();
    const buffered = this.writes.inRange(table, pk, range);
    if (buffered.length === 0) return readScan(this.run, statements, table, pk, range, range.limit);
    // Each buffered row hides at most one stored row, so this many stored rows are enough to fill the page.
    const stored = await readScan(this.run, statements, table, pk, range, range.limit + buffered.length);
    const overridden = new Set(buffered.map((row) => row.sk));
    const merged = stored.filter((entry) => !overridden.has(entry.sk));
    for (const row of buffered) {
      const value = bufferedRow(table, row);
      if (value) merged.push({ sk: row.sk, ...value });
    }
    const direction = range.reverse ? -1 : 1;
    return merged.sort((a, b) => direction * compareKeys(a.sk, b.sk)).slice(0, range.limit);
  }

  put<V>(table: Table<V>, pk: string, sk: string, value: V, condition?: WriteCondition): void {
    this.tables.of(table);
    this.checkOpen();
    const after = { encoded: encodeValue(table, value), version: newVersion() };
    this.writes.write(table, pk, sk, after, condition);
  }

  delete(table: Table<unknown>, pk: string, sk: string, condition?: WriteCondition): void {
    this.tables.of(table);
    this.checkOpen();
    this.writes.write(table, pk, sk, null, condition);
  }

  /** Applies the buffered writes, checking their conditions, then commits. */
  async commit(): Promise<void> {
    // A query failed and `work` carried on regardless: the transaction is aborted, nothing may commit.
    if (this.failure !== undefined) throw this.failure;
    if (this.writes.conflict) throw this.writes.conflict;
    for (const row of this.writes.ordered()) await this.apply(row);
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

  private async apply(row: BufferedRow): Promise<void> {
    if (!(await this.applyRow(this.tables.of(row.table), row))) throw new Conflict(row.table.name, row.pk, row.sk);
  }

  /** Writes one row's final state; false when the row's condition does not hold in the database. */
  private async applyRow(statements: TableStatements, { pk, sk, after, condition }: BufferedRow): Promise<boolean> {
    const expected = condition?.ifVersion;
    if (after === null) {
      if (expected === undefined) {
        await this.run(statements.delete(pk, sk));
        return true;
      }
      if (expected === null) return (await this.run(statements.exists(pk, sk))).rowCount === 0;
      return (await this.run(statements.deleteIfVersion(pk, sk, expected))).rowCount === 1;
    }
    const { version, encoded } = after;
    if (expected === undefined) {
      await this.run(statements.upsert(pk, sk, version, encoded));
      return true;
    }
    if (expected === null) return (await this.run(statements.insertIfAbsent(pk, sk, version, encoded))).rowCount === 1;
    return (await this.run(statements.updateIfVersion(pk, sk, version, encoded, expected))).rowCount === 1;
  }

  private checkOpen(): void {
    if (this.finished) throw new Error('transaction already finished: tx used outside its transact() call');
  }

  private readonly run: Run = <R extends QueryResultRow>(statement: Statement) => {
    this.checkOpen();
    const result = this.queue.then(() => this.client.query<R>(statement));
    this.queue = result.catch(() => undefined);
    return result.catch((error: unknown) => {
      this.failure ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    });
  };
}

function bufferedRow<V>(table: Table<V>, row: BufferedRow): Row<V> | null {
  return row.after && { value: decodeValue(table, row.after.encoded), version: row.after.version };
}

async function readRow<V>(run: Run, statements: TableStatements, table: Table<V>, pk: string, sk: string) {
  const { rows } = await run<StoredRow>(statements.get(pk, sk));
  const row = rows[0];
  return row ? { value: decodeValue(table, row.val), version: decodeVersion(row.ver) } : null;
}

async function readScan<V>(
  run: Run,
  statements: TableStatements,
  table: Table<V>,
  pk: string,
  range: ScanRange,
  limit: number,
): Promise<Entry<V>[]> {
  if (limit <= 0) return [];
  const { rows } = await run<StoredRow>(statements.scan(pk, range, limit));
  return rows.map((row) => ({ sk: row.sk, value: decodeValue(table, row.val), version: decodeVersion(row.ver) }));
}
