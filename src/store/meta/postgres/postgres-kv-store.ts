/**
 * The metadata store on PostgreSQL (node-postgres), shared by several Onggi nodes. One SQL table per logical
 * table. Each `transact` runs on one pooled connection (see postgres-tx.ts for its two phases) and is re-run
 * from the start when PostgreSQL reports a serialization failure or a read turned stale before commit, up to
 * a bound. Commits are durable when acknowledged under PostgreSQL's default `synchronous_commit = on`.
 *
 * Only SQL that CockroachDB and YugabyteDB also accept: see the README's PostgreSQL section for what is avoided.
 */
import pg from 'pg';
import {
  checkAttachments,
  Contention,
  type AttachedRow,
  type Entry,
  type GroupedEntry,
  type GroupedRange,
  type MetadataStore,
  type MetadataStoreOptions,
  type Row,
  type ScanRange,
  type StoreFault,
  type StoreObserver,
  type Table,
  type Tx,
} from '../index.ts';
import { decodeValue, decodeVersion } from './codec.ts';
import { backoffMs, connectFault, isRetryable, sleep, storeFaultOf } from './errors.ts';
import { migrate } from './migrations.ts';
import { decodeAttached, decodeEntry, PostgresTx, type Run, type StoredAttachedRow, type StoredRow } from './postgres-tx.ts';
import { Tables, type TableStatements } from './statements.ts';

export interface PostgresKvStoreOptions extends MetadataStoreOptions {
  /** Connections in this node's pool (default 10). Each running transaction holds one. */
  poolSize?: number;
  /** Runs of one transaction before `Contention` (default 20: 50 transactions incrementing one row through a
   * 10-connection pool needed up to 10 now and then). */
  maxAttempts?: number;
  /** How long an operation waits for a connection (a free one of the pool, or a new one) before `StoreFault`. */
  connectTimeoutMs?: number;
  /** PostgreSQL's statement_timeout for every statement (default 30 s): a stalled database is a `StoreFault`, not a hang. */
  statementTimeoutMs?: number;
  /** PostgreSQL's lock_timeout (default 10 s): a statement waiting longer for a lock fails as a `StoreFault`. */
  lockTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 30_000;
const LOCK_TIMEOUT_MS = 10_000;

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
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      // Session settings sent at connect: every statement of every connection is bounded by the database itself.
      statement_timeout: options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS,
      lock_timeout: options.lockTimeoutMs ?? LOCK_TIMEOUT_MS,
    });
    // An idle connection lost (server restart, network): the pool drops it and connects afresh on next use.
    pool.on('error', () => undefined);
    // A connection can also die while checked out (a database restart, a terminated backend, a network failure):
    // node-postgres then emits 'error' on its client, which the pool listens to only while the client is idle, and
    // an unheard 'error' would end the process. The statement in flight fails by itself, and the pool drops a
    // client that is no longer queryable when it comes back.
    pool.on('connect', (client) => client.on('error', () => undefined));
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

  async getAttached<V>(table: Table<V>, pk: string, sk: string): Promise<AttachedRow<V> | null> {
    checkAttachments(table);
    const { rows } = await this.poolRun<StoredAttachedRow>(this.tables.of(table).getAttached(pk, sk));
    const row = rows[0];
    return row ? decodeAttached(table, row) : null;
  }

  scan<V>(table: Table<V>, pk: string, range: ScanRange): Promise<Entry<V>[]> {
    return readScan(this.poolRun, this.tables.of(table), table, pk, range);
  }

  async scanGrouped<V>(table: Table<V>, pk: string, range: GroupedRange): Promise<GroupedEntry<V>[]> {
    if (range.limit <= 0) return [];
    const statement = this.tables.of(table).scanGrouped(pk, range, range.limit);
    if (!statement) throw new TypeError(`a grouped scan needs a delimiter with an upper bound, not ${JSON.stringify(range.delimiter)}`);
    const { rows } = await this.poolRun<StoredRow & { prefix: string | null }>(statement);
    return rows.map((row) => (row.prefix === null ? { kind: 'item', item: decodeEntry(table, row) } : { kind: 'prefix', prefix: row.prefix }));
  }

  async transact<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(work);
      } catch (error) {
        if (!isRetryable(error)) throw error;
        if (attempt >= this.maxAttempts) throw new Contention(attempt);
        this.observer?.retried?.();
        await sleep(backoffMs(attempt));
      }
    }
  }

  async ping(): Promise<void> {
    await this.poolRun({ text: 'SELECT 1' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** One statement outside a transaction, on a pooled connection. */
  private readonly poolRun: Run = async (statement) => {
    const client = await this.connect();
    let fault: StoreFault | null = null;
    try {
      return await client.query(statement);
    } catch (error) {
      fault = storeFaultOf(error);
      throw fault ?? error;
    } finally {
      client.release(fault ?? undefined);
    }
  };

  private async attempt<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.connect();
    const tx = new PostgresTx(client, this.tables);
    let broken: Error | undefined;
    try {
      const result = await work(tx);
      await tx.commit();
      return result;
    } catch (error) {
      broken = await tx.rollback();
      throw error;
    } finally {
      tx.finish();
      client.release(broken);
    }
  }

  /** A pooled connection; not getting one (refused, no such database, pool exhausted too long) is a `StoreFault`. */
  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw connectFault(error);
    }
  }
}

async function readRow<V>(run: Run, statements: TableStatements, table: Table<V>, pk: string, sk: string) {
  const { rows } = await run<StoredRow>(statements.get(pk, sk));
  const row = rows[0];
  return row ? { value: decodeValue(table, row.val), version: decodeVersion(row.ver) } : null;
}

async function readScan<V>(run: Run, statements: TableStatements, table: Table<V>, pk: string, range: ScanRange) {
  if (range.limit <= 0) return [];
  const { rows } = await run<StoredRow>(statements.scan(pk, range, range.limit));
  return rows.map((row) => decodeEntry(table, row));
}
