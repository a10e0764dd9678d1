/**
 * An optimistic transaction: `work` reads the committed state (recording what it read) and buffers its writes;
 * at commit, inside the group commit's SQLite transaction, the reads are checked again (any change is a
 * serialization failure: the store re-runs `work`), then the write conditions, then the writes are applied.
 */
import { checkAttachment, checkAttachments, Conflict, isLiveAt, mergeOf, type AttachedRow, type Entry, type Row, type ScanRange, type Table, type Tx, type Version, type WriteCondition } from '../index.ts';
import { compareKeys } from '../../../lib/key-order.ts';
import { resolveBounds, withinBounds, type KeyBounds } from './kv-range.ts';
import type { Encoded, ScanFilter, SqliteTable } from './kv-table.ts';

/** What a transaction needs of the store: the committed state, read and written synchronously. */
export interface CommittedState {
  /** Counts applied writes: unchanged since a transaction began means nothing it read can have changed. */
  readonly writeSeq: number;
  table(table: Table<unknown>): SqliteTable;
  /** Latest committed row (through the row cache). */
  readRow(table: SqliteTable, pk: string, sk: string, key: string): Row<unknown> | null;
  /** Latest committed row with its attachment. */
  readAttached(table: SqliteTable, pk: string, sk: string, key: string): AttachedRow<unknown> | null;
  /** The row as of now, including writes of this batch so far (no cache fill: used inside commits). */
  currentRow(table: SqliteTable, pk: string, sk: string, key: string): Row<unknown> | null;
  scanRows(table: SqliteTable, pk: string, bounds: KeyBounds, reverse: boolean, limit: number, filter: ScanFilter): Entry<unknown>[];
  /** Version of the row as of now, including writes of this batch so far (no cache fill: used inside commits). */
  currentVersion(table: SqliteTable, pk: string, sk: string, key: string): Version | null;
  /** Applies one write (inside the commit's SQLite transaction) and drops the key from the row cache. */
  write(table: SqliteTable, pk: string, sk: string, key: string, written: Written | null): void;
  /** Records that a transaction's writes were applied (advances `writeSeq`). */
  wrote(): void;
}

/** A row as a transaction wrote it: what its own reads see, and what the commit stores. */
export interface Written {
  readonly row: Row<unknown>;
  readonly encoded: Encoded;
  readonly liveUntil: number | null;
  readonly attachment: Buffer | null;
}

interface BufferedWrite {
  readonly table: SqliteTable;
  readonly pk: string;
  readonly sk: string;
  /** The row after this transaction's last write of the key; null = deleted. */
  written: Written | null;
  /** The condition on the committed row, from the transaction's first write of the key. */
  readonly condition: WriteCondition | null;
  /** A merge into the committed row, made at commit (then `written` is unused): the delta, and the row's next version. */
  merge: PendingMerge | null;
}

interface PendingMerge {
  readonly delta: unknown;
  readonly version: Version;
}

/** What a transaction's own write leaves in a scan's range. */
interface OwnRow {
  readonly sk: string;
  readonly row: Row<unknown> | null;
  readonly liveUntil: number | null;
}

interface PointRead {
  readonly table: SqliteTable;
  readonly pk: string;
  readonly sk: string;
  readonly version: Version | null;
}

interface ScanRead {
  readonly table: SqliteTable;
  readonly pk: string;
  readonly bounds: KeyBounds;
  readonly reverse: boolean;
  readonly limit: number;
  readonly filter: ScanFilter;
  /** What the committed scan returned: sort keys and versions, in order. */
  readonly keys: string[];
  readonly versions: Version[];
}

/** Unique per (table, pk, sk): table names hold no '/', and the length of pk marks where sk begins. */
export function rowKey(table: string, pk: string, sk: string): string {
  return `${table}/${pk.length}/${pk}${sk}`;
}

/** A random version: 53 bits make a repeat on one row (the only thing that matters) vanishingly unlikely. */
export function newVersion(): Version {
  for (;;) {
    const version = Math.floor(Math.random() * 2 ** 53);
    if (version !== 0) return version;
  }
}

export class SqliteTx implements Tx {
  /** Set when a write's condition failed against this transaction's own earlier write of the key. */
  conflict: Conflict | null = null;
  private readonly startSeq: number;
  private readonly points = new Map<string, PointRead>();
  private readonly scans: ScanRead[] = [];
  private readonly writes = new Map<string, BufferedWrite>();
  private finished = false;

  constructor(private readonly state: CommittedState) {
    this.startSeq = state.writeSeq;
  }

  get hasWrites(): boolean {
    return this.writes.size > 0;
  }

  async get<V>(table: Table<V>, pk: string, sk: string): Promise<Row<V> | null> {
    return this.read(table, pk, sk, false) as Row<V> | null;
  }

  async getAttached<V>(table: Table<V>, pk: string, sk: string): Promise<AttachedRow<V> | null> {
    checkAttachments(table);
    return this.read(table, pk, sk, true) as AttachedRow<V> | null;
  }

  /** A row as this transaction sees it (its own write, else the committed row), the read recorded for the commit. */
  private read(table: Table<unknown>, pk: string, sk: string, withAttachment: boolean): Row<unknown> | AttachedRow<unknown> | null {
    this.checkOpen();
    const t = this.state.table(table);
    const key = rowKey(t.name, pk, sk);
    const written = this.writes.get(key);
    if (written?.merge) return this.merged(written, written.merge, key);
    if (written) {
      const own = written.written;
      return own && withAttachment ? { ...own.row, attachment: own.attachment } : (own?.row ?? null);
    }
    return this.readCommitted(t, pk, sk, key, withAttachment);
  }

  /** The committed row, the read recorded for the commit. */
  private readCommitted(t: SqliteTable, pk: string, sk: string, key: string, withAttachment: boolean): Row<unknown> | AttachedRow<unknown> | null {
    const row = withAttachment ? this.state.readAttached(t, pk, sk, key) : this.state.readRow(t, pk, sk, key);
    if (!this.points.has(key)) this.points.set(key, { table: t, pk, sk, version: row?.version ?? null });
    return row;
  }

  /** A row with a pending merge as this transaction sees it: the committed row (a recorded read) and the delta. */
  private merged(write: BufferedWrite, merge: PendingMerge, key: string): Row<unknown> {
    const committed = this.readCommitted(write.table, write.pk, write.sk, key, false);
    return { value: combined(write.table, committed, merge.delta), version: merge.version };
  }

  async scan<V>(table: Table<V>, pk: string, range: ScanRange): Promise<Entry<V>[]> {
    this.checkOpen();
    const t = this.state.table(table);
    const bounds = resolveBounds(range);
    const pending = this.writesWithin(t, pk, bounds);
    // Each buffered write hides at most one committed row: reading that many more keeps `limit` rows in view.
    const limit = range.limit + pending.length;
    const filter = { liveAt: range.liveAt };
    const committed = this.state.scanRows(t, pk, bounds, range.reverse, limit, filter);
    const own = pending.map((write) => this.ownRow(write));
    this.scans.push({
      table: t,
      pk,
      bounds,
      reverse: range.reverse,
      limit,
      filter,
      keys: committed.map((entry) => entry.sk),
      versions: committed.map((entry) => entry.version),
    });
    if (own.length === 0) return committed as Entry<V>[];
    return overlay(committed, own, range, range.limit) as Entry<V>[];
  }

  put<V>(table: Table<V>, pk: string, sk: string, value: V, condition?: WriteCondition): void {
    this.write(table, pk, sk, value, null, condition);
  }

  putAttached<V>(table: Table<V>, pk: string, sk: string, value: V, attachment: Buffer, condition?: WriteCondition): void {
    this.write(table, pk, sk, value, checkAttachment(table, attachment), condition);
  }

  private write<V>(table: Table<V>, pk: string, sk: string, value: V, attachment: Buffer | null, condition: WriteCondition | undefined): void {
    this.checkOpen();
    const t = this.state.table(table);
    this.buffer(t, pk, sk, written(t, value, attachment, newVersion()), condition);
  }

  merge<V>(table: Table<V>, pk: string, sk: string, delta: V): void {
    this.checkOpen();
    const t = this.state.table(table);
    const combine = t.combine ?? (mergeOf(table) as (value: unknown, delta: unknown) => unknown);
    const key = rowKey(t.name, pk, sk);
    const earlier = this.writes.get(key);
    if (!earlier) {
      this.writes.set(key, { table: t, pk, sk, written: null, condition: null, merge: { delta, version: newVersion() } });
    } else if (earlier.merge) {
      earlier.merge = { delta: combine(earlier.merge.delta, delta), version: newVersion() };
    } else {
      // Onto this transaction's own put or delete: the merged value is known now.
      const value = earlier.written ? combine(earlier.written.row.value, delta) : delta;
      earlier.written = written(t, value, null, newVersion());
    }
  }

  delete(table: Table<unknown>, pk: string, sk: string, condition?: WriteCondition): void {
    this.checkOpen();
    this.buffer(this.state.table(table), pk, sk, null, condition);
  }

  /** No more calls once `work` has settled (a promise it left behind must not write into a later attempt). */
  finish(): void {
    this.finished = true;
  }

  /** True while nothing this transaction read has changed in the committed state. */
  readsStillValid(): boolean {
    if (this.state.writeSeq === this.startSeq) return true;
    for (const [key, read] of this.points) {
      if (this.state.currentVersion(read.table, read.pk, read.sk, key) !== read.version) return false;
    }
    return this.scans.every((read) => scanUnchanged(read));
  }

  /**
   * A read-only transaction commits without a commit round. Its reads, made across awaits, form one serializable
   * snapshot only if none changed since; a single read is a snapshot by itself.
   */
  readOnlyStillValid(): boolean {
    return this.points.size + this.scans.length <= 1 || this.readsStillValid();
  }

  /** The first write whose condition does not hold against the current state, as a Conflict. */
  failedCondition(): Conflict | null {
    for (const [key, write] of this.writes) {
      const { condition } = write;
      if (condition && this.state.currentVersion(write.table, write.pk, write.sk, key) !== condition.ifVersion) {
        return new Conflict(write.table.name, write.pk, write.sk);
      }
    }
    return null;
  }

  applyWrites(): void {
    for (const [key, write] of this.writes) {
      const { table, pk, sk, merge } = write;
      const applied = merge ? written(table, combined(table, this.state.currentRow(table, pk, sk, key), merge.delta), null, merge.version) : write.written;
      this.state.write(table, pk, sk, key, applied);
    }
    this.state.wrote();
  }

  private buffer(table: SqliteTable, pk: string, sk: string, written: Written | null, condition: WriteCondition | undefined): void {
    const key = rowKey(table.name, pk, sk);
    const earlier = this.writes.get(key);
    if (!earlier) {
      this.writes.set(key, { table, pk, sk, written, condition: condition ?? null, merge: null });
      return;
    }
    // A second write of the key is conditioned on the first one's outcome, known now.
    const ownVersion = earlier.merge ? earlier.merge.version : (earlier.written?.row.version ?? null);
    if (condition && ownVersion !== condition.ifVersion) this.conflict ??= new Conflict(table.name, pk, sk);
    earlier.written = written;
    earlier.merge = null;
  }

  private ownRow(write: BufferedWrite): OwnRow {
    if (write.merge) {
      const row = this.merged(write, write.merge, rowKey(write.table.name, write.pk, write.sk));
      return { sk: write.sk, row, liveUntil: write.table.liveUntil(row.value) };
    }
    return { sk: write.sk, row: write.written?.row ?? null, liveUntil: write.written?.liveUntil ?? null };
  }

  private writesWithin(table: SqliteTable, pk: string, bounds: KeyBounds): BufferedWrite[] {
    const found: BufferedWrite[] = [];
    for (const write of this.writes.values()) {
      if (write.table === table && write.pk === pk && withinBounds(write.sk, bounds)) found.push(write);
    }
    return found;
  }

  private checkOpen(): void {
    if (this.finished) throw new Error('transaction already finished: every tx call must happen (and be awaited) inside work');
  }
}

function scanUnchanged(read: ScanRead): boolean {
  const now = read.table.scanKeys(read.pk, read.bounds, read.reverse, read.limit, read.filter);
  if (now.length !== read.keys.length) return false;
  return now.every(([sk, version], i) => sk === read.keys[i] && version === read.versions[i]);
}

/** Committed entries with the transaction's own rows of the same range laid over them. */
function overlay(committed: Entry<unknown>[], own: OwnRow[], range: ScanRange, limit: number): Entry<unknown>[] {
  const overridden = new Set(own.map((write) => write.sk));
  const merged = committed.filter((entry) => !overridden.has(entry.sk));
  for (const { sk, row, liveUntil } of own) {
    if (row && isLiveAt(liveUntil, range.liveAt)) merged.push({ value: row.value, version: row.version, sk });
  }
  merged.sort(range.reverse ? (a, b) => compareKeys(b.sk, a.sk) : (a, b) => compareKeys(a.sk, b.sk));
  return merged.slice(0, limit);
}

/** A row as written with `value` (checked: a value the table cannot store throws here). */
function written(table: SqliteTable, value: unknown, attachment: Buffer | null, version: Version): Written {
  return { row: { value, version }, encoded: table.encode(value), liveUntil: table.liveUntil(value), attachment };
}

/** A merge's delta applied to a row (an absent row becomes the delta). */
function combined(table: SqliteTable, row: Row<unknown> | null, delta: unknown): unknown {
  if (!row) return delta;
  if (!table.combine) throw new TypeError(`table ${table.name} takes no merges`);
  return table.combine(row.value, delta);
}
