/**
 * The metadata store seam: small transactions over typed, ordered tables. Stores know nothing of what they
 * hold; every product rule lives in core. One contract suite (test/contract/meta-store.contract.ts) runs against
 * every implementation (SQLite, PostgreSQL).
 *
 * A table maps a two-part key (partition `pk`, sort key `sk`) to a value. Within one partition, rows are
 * ordered by `sk` in byte order (UTF-8 = code point order; never locale order), and scans run forward or
 * backward over a range of it. Each stored row carries a `version`: an opaque token that changes on every
 * write of the row, for compare-and-set.
 */

/** A table's values: JSON-serialisable objects, or raw bytes. The type parameter is the value's type. */
export interface Table<V> {
  readonly name: string;
  readonly kind: 'json' | 'bytes';
  /**
   * When a row stops being live (a time in ms since the epoch, an integer; null: never). The store keeps it
   * beside the row, written with it, so that a scan with `liveAt` leaves out rows whose time has come in the
   * query itself, without reading them. Must depend on the value only.
   */
  liveUntil?(value: V): number | null;
  /**
   * Rows may carry an attachment: bytes stored beside the value (see `Tx.putAttached`), read only by
   * `getAttached`, never by `get` or scans — so a table of small records can hold their contents too without
   * making its scans read them.
   */
  readonly attachments?: boolean;
  /**
   * How `Tx.merge` combines a row's value with a delta (and two deltas): must be associative and commutative,
   * as merges are applied in commit order, which no transaction chooses.
   */
  merge?(value: V, delta: V): V;
  /**
   * How a json table's values are stored, when not as they are: `pack` gives the JSON value stored (e.g. a
   * compact array for rows there are millions of), `unpack` reads it back — and must also read every form
   * stored before, rows are not rewritten when the form changes.
   */
  pack?(value: V): unknown;
  unpack?(stored: unknown): V;
  /** Phantom: carries V for the type checker only. */
  readonly __value?: V;
}

export interface JsonTableOptions<V> {
  liveUntil?: (value: V) => number | null;
  attachments?: boolean;
  merge?: (value: V, delta: V) => V;
  codec?: { pack: (value: V) => unknown; unpack: (stored: unknown) => V };
}

/** A table of JSON values (objects, arrays, strings, numbers, booleans; no undefined inside). */
export function jsonTable<V>(name: string, options: JsonTableOptions<V> = {}): Table<V> {
  checkTableName(name);
  return {
    name,
    kind: 'json',
    ...(options.liveUntil ? { liveUntil: options.liveUntil } : {}),
    ...(options.attachments ? { attachments: true } : {}),
    ...(options.merge ? { merge: options.merge } : {}),
    ...(options.codec ? { pack: options.codec.pack, unpack: options.codec.unpack } : {}),
  };
}

/** A json table's value as the JSON text stored (through the table's `pack`); throws for a value JSON cannot hold. */
export function toJsonText<V>(table: Table<V>, value: V): string {
  const text: unknown = JSON.stringify(table.pack ? table.pack(value) : value);
  if (typeof text !== 'string') throw new TypeError(`table ${table.name}: value is not JSON-serialisable`);
  return text;
}

/** A json table's stored JSON text as its value (through the table's `unpack`). */
export function fromJsonText<V>(table: Table<V>, text: string): V {
  const stored: unknown = JSON.parse(text);
  return table.unpack ? table.unpack(stored) : (stored as V);
}

/** The merge function of a table that takes merges (see `Tx.merge`); refuses any other table. */
export function mergeOf<V>(table: Table<V>): (value: V, delta: V) => V {
  if (!table.merge || table.attachments) throw new TypeError(`table ${table.name} takes no merges: declare it with a merge function and without attachments`);
  return table.merge.bind(table);
}

/** Refuses attachment calls on a table declared without attachments. */
export function checkAttachments(table: Table<unknown>): void {
  if (!table.attachments) throw new TypeError(`table ${table.name} was declared without attachments`);
}

/** An attachment about to be written, checked: bytes, for a table that has attachments. */
export function checkAttachment(table: Table<unknown>, attachment: unknown): Buffer {
  checkAttachments(table);
  if (!Buffer.isBuffer(attachment)) throw new TypeError(`table ${table.name}: an attachment is bytes, not ${typeof attachment}`);
  return attachment;
}

/** The time a value of `table` stops being live, checked; null for tables without `liveUntil`. */
export function liveUntilOf<V>(table: Table<V>, value: V): number | null {
  if (!table.liveUntil) return null;
  const until = table.liveUntil(value);
  if (until !== null && !Number.isSafeInteger(until)) throw new TypeError(`table ${table.name}: liveUntil gave ${String(until)}, not an integer or null`);
  return until;
}

/** Whether a row that is live until `until` is live at `liveAt` (no `liveAt`: every row counts). */
export function isLiveAt(until: number | null, liveAt: number | undefined): boolean {
  return liveAt === undefined || until === null || until > liveAt;
}

/** A table of raw bytes (e.g. small objects' contents). */
export function bytesTable(name: string): Table<Buffer> {
  checkTableName(name);
  return { name, kind: 'bytes' };
}

function checkTableName(name: string): void {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) throw new Error(`bad table name: ${name}`);
}

/** Opaque version token of a stored row. Never reused for the same row (not even after delete + re-create). */
export type Version = number;

export interface Row<V> {
  value: V;
  version: Version;
}

/** A row read with its attachment (null: the row has none). */
export interface AttachedRow<V> extends Row<V> {
  attachment: Buffer | null;
}

export interface Entry<V> extends Row<V> {
  sk: string;
}

export interface Bound {
  key: string;
  inclusive: boolean;
}

/** A range of sort keys in one partition; with `reverse` the scan runs from `upper` down to `lower`. */
export interface ScanRange {
  /** Only sort keys that start with this prefix ('' for all). */
  prefix: string;
  lower?: Bound | undefined;
  upper?: Bound | undefined;
  limit: number;
  reverse: boolean;
  /**
   * Only rows live at this time (see `Table.liveUntil`): the rest are left out by the query. Outside a
   * transaction, a store may split such a scan into bounded steps and let other work run between them, since
   * the rows left out can be many.
   */
  liveAt?: number | undefined;
}

/** A scan that groups by a delimiter (see `MetadataStore.scanGrouped`). */
export interface GroupedRange extends ScanRange {
  /** Not empty, and with an upper bound (`prefixUpperBound`: not made of U+10FFFF only). */
  delimiter: string;
}

/** A row, or the common prefix (through the first delimiter after the scan's prefix) standing for its rows. */
export type GroupedEntry<V> = { kind: 'item'; item: Entry<V> } | { kind: 'prefix'; prefix: string };

export interface ReadOps {
  get<V>(table: Table<V>, pk: string, sk: string): Promise<Row<V> | null>;
  /** The row and its attachment, read together (one statement where the store can). */
  getAttached<V>(table: Table<V>, pk: string, sk: string): Promise<AttachedRow<V> | null>;
  scan<V>(table: Table<V>, pk: string, range: ScanRange): Promise<Entry<V>[]>;
}

/**
 * A write's condition: `version` = the row must currently have exactly this version; `null` = the row must not
 * exist. A write whose condition does not hold makes the whole transaction fail with `Conflict`.
 */
export interface WriteCondition {
  ifVersion: Version | null;
}

/**
 * Inside `transact`: reads see the transaction's own earlier writes; writes are buffered and applied together,
 * atomically, at commit. `put`/`delete` do not return a promise: their conditions are checked at commit.
 */
export interface Tx extends ReadOps {
  /** Writes the row; on a table with attachments, without one (an attachment it had is gone). */
  put<V>(table: Table<V>, pk: string, sk: string, value: V, condition?: WriteCondition): void;
  /** Writes the row with `attachment` (the bytes are the store's from now on: do not change them). */
  putAttached<V>(table: Table<V>, pk: string, sk: string, value: V, attachment: Buffer, condition?: WriteCondition): void;
  /** Deleting a missing row is not an error (unless a condition says the row must exist). */
  delete(table: Table<unknown>, pk: string, sk: string, condition?: WriteCondition): void;
  /**
   * Optional, offered by stores whose commits are applied one after another anyway (SQLite): combines `delta`
   * into the row at commit (`Table.merge`; an absent row becomes `delta`) without reading it first, so
   * transactions merging into one row never invalidate each other — a counter without a hot spot. Reading the
   * row in the same transaction does record a read. Where it is absent (PostgreSQL, whose concurrent writers
   * would queue on the row), callers keep deltas in rows of their own.
   */
  merge?<V>(table: Table<V>, pk: string, sk: string, delta: V): void;
}

/** Thrown by `transact` when a write's condition (compare-and-set) did not hold. Never retried by the store. */
export class Conflict extends Error {
  constructor(
    readonly table: string,
    readonly pk: string,
    readonly sk: string,
  ) {
    super(`conflicting write to ${table}[${pk}/${sk}]`);
    this.name = 'Conflict';
  }
}

/** Thrown by `transact` when concurrent transactions kept invalidating this one past the retry bound. */
export class Contention extends Error {
  constructor(readonly attempts: number) {
    super(`transaction gave up after ${attempts} attempts under contention`);
    this.name = 'Contention';
  }
}

/**
 * Thrown by a store whose storage cannot serve right now: `full` (out of space) or `unavailable` (its database
 * unreachable, restarting, refusing connections, read-only). The operation did not happen — or, when the
 * connection was lost during the commit itself, whether the commit happened is unknown. Never retried by the store.
 */
export class StoreFault extends Error {
  constructor(
    readonly kind: 'full' | 'unavailable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreFault';
  }
}

/** What a store reports to the process's metrics (all optional). */
export interface StoreObserver {
  /** A transaction was re-run after a serialization failure. */
  retried?(): void;
  /** A group commit applied this many transactions together (SQLite). */
  groupCommitted?(transactions: number): void;
}

export interface MetadataStore extends ReadOps {
  /**
   * Runs `work` as one serializable transaction and commits it; the returned promise resolves only once the
   * commit is durable (on disk, synced). When a concurrent transaction invalidates what `work` read
   * (a serialization failure), the store re-runs `work` from the start, up to a bound, then throws
   * `Contention`. So `work` must have no effects besides its tx calls, and may run more than once.
   * An error thrown by `work` aborts the transaction (nothing is written) and is passed through.
   * Reads outside a transaction (`get`, `scan` on the store itself) see the latest committed state.
   */
  transact<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Optional, offered by stores whose every scan is a round trip (PostgreSQL): a scan in which the rows whose key
   * continues past `prefix` with `delimiter` appear once, as their common prefix, in one query. (A delimited
   * listing otherwise scans once per common prefix, which costs SQLite microseconds.) `limit` counts entries,
   * rows and prefixes; each prefix stands where its rows would, in either direction.
   */
  scanGrouped?<V>(table: Table<V>, pk: string, range: GroupedRange): Promise<GroupedEntry<V>[]>;
  /** True when other processes may write the same data (PostgreSQL), so in-process caches cannot be trusted. */
  readonly shared: boolean;
  /** Resolves when the store answers (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What every implementation's `open` takes: the tables core uses (created when missing). */
export interface MetadataStoreOptions {
  tables: readonly Table<unknown>[];
  observer?: StoreObserver;
}
