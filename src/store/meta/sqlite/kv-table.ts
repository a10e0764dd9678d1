/**
 * One logical table of the MetadataStore as one SQLite table `t_<name>` (pk, sk, ver, val, exp), with its
 * statements prepared once. `exp` is the row's `liveUntil` (NULL: live for ever, or a table without it).
 * A table with attachments also has `att`, the rowid of the row's bytes in `a_<name>` (id, data): a rowid table,
 * so the KiB of an attachment stay out of the clustered rows that scans walk, and one JOIN reads both.
 * Statements run in raw mode (rows as arrays: no object keyed by column name per row).
 */
import type Database from 'better-sqlite3';
import { fromJsonText, liveUntilOf, mergeOf, toJsonText, type Table } from '../index.ts';
import type { KeyBounds } from './kv-range.ts';

/** What a table stores: JSON text for json tables, a BLOB for bytes tables. */
export type Encoded = string | Uint8Array;

/** A row as SQLite returns it in raw mode: [ver, val]. */
export type RawRow = [number, Encoded];
/** A row with its attachment: [ver, val, data] (data null: none). */
export type RawAttachedRow = [number, Encoded, Buffer | null];
/** A scanned row in raw mode: [sk, ver, val], or [sk, ver] when values are not selected. */
export type RawEntry = [string, number, Encoded];
export type RawKey = [string, number];

export function tableSql(name: string): string {
  return `t_${name}`;
}

/** The table of a table's attachments. */
export function attachmentsSql(name: string): string {
  return `a_${name}`;
}

/** The index of a `liveUntil` table's rows that have an `exp`: (pk, exp), for the earliest one per partition. */
export function liveUntilIndexSql(name: string): string {
  return `t_${name}__live_until`;
}

/** Which rows a scan returns: all of them, or those live at a time (`exp` after it). */
export interface ScanFilter {
  liveAt?: number | undefined;
}

const LIVE = '(exp IS NULL OR exp > ?)';

export class SqliteTable {
  readonly name: string;
  readonly kind: Table<unknown>['kind'];
  private readonly table: Table<unknown>;
  private readonly sql: string;
  private readonly selectRow: Database.Statement;
  private readonly selectVersion: Database.Statement;
  private readonly upsert: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly attachments: { select: Database.Statement; insert: Database.Statement } | null;
  private readonly scans = new Map<string, Database.Statement>();
  private selectEarliest: Database.Statement | undefined;
  /** `Table.merge`, for tables that take merges (null: the table takes none). */
  readonly combine: ((value: unknown, delta: unknown) => unknown) | null;

  constructor(
    private readonly db: Database.Database,
    table: Table<unknown>,
  ) {
    this.name = table.name;
    this.kind = table.kind;
    this.table = table;
    this.combine = table.merge ? mergeOf(table) : null;
    this.sql = tableSql(table.name);
    this.selectRow = db.prepare(`SELECT ver, val FROM ${this.sql} WHERE pk = ? AND sk = ?`).raw(true);
    this.selectVersion = db.prepare(`SELECT ver FROM ${this.sql} WHERE pk = ? AND sk = ?`).pluck(true);
    // With attachments, every write sets `att` (NULL: none); triggers (kv-schema.ts) drop the bytes it replaced.
    this.upsert = table.attachments
      ? db.prepare(
          `INSERT INTO ${this.sql} (pk, sk, ver, val, exp, att) VALUES (?, ?, ?, ?, ?, ?) ` +
            'ON CONFLICT (pk, sk) DO UPDATE SET ver = excluded.ver, val = excluded.val, exp = excluded.exp, att = excluded.att',
        )
      : db.prepare(
          `INSERT INTO ${this.sql} (pk, sk, ver, val, exp) VALUES (?, ?, ?, ?, ?) ` +
            'ON CONFLICT (pk, sk) DO UPDATE SET ver = excluded.ver, val = excluded.val, exp = excluded.exp',
        );
    this.remove = db.prepare(`DELETE FROM ${this.sql} WHERE pk = ? AND sk = ?`);
    const attachments = attachmentsSql(table.name);
    this.attachments = table.attachments
      ? {
          select: db.prepare(`SELECT t.ver, t.val, a.data FROM ${this.sql} t LEFT JOIN ${attachments} a ON a.id = t.att WHERE t.pk = ? AND t.sk = ?`).raw(true),
          insert: db.prepare(`INSERT INTO ${attachments} (data) VALUES (?)`),
        }
      : null;
  }

  row(pk: string, sk: string): RawRow | undefined {
    return this.selectRow.get(pk, sk) as RawRow | undefined;
  }

  /** The row and its attachment, in one statement (a table with attachments only). */
  rowAttached(pk: string, sk: string): RawAttachedRow | undefined {
    return this.attachmentStatements().select.get(pk, sk) as RawAttachedRow | undefined;
  }

  version(pk: string, sk: string): number | null {
    const version = this.selectVersion.get(pk, sk) as number | undefined;
    return version ?? null;
  }

  put(pk: string, sk: string, version: number, encoded: Encoded, liveUntil: number | null, attachment: Buffer | null = null): void {
    if (!this.attachments) {
      if (attachment !== null) throw new TypeError(`table ${this.name} was declared without attachments`);
      this.upsert.run(pk, sk, version, encoded, liveUntil);
      return;
    }
    const att = attachment === null ? null : this.attachments.insert.run(attachment).lastInsertRowid;
    this.upsert.run(pk, sk, version, encoded, liveUntil, att);
  }

  delete(pk: string, sk: string): void {
    this.remove.run(pk, sk);
  }

  scan(pk: string, bounds: KeyBounds, reverse: boolean, limit: number, filter: ScanFilter = {}): RawEntry[] {
    const { liveAt } = filter;
    return this.scanStatement(bounds, reverse, 'values', liveAt !== undefined).all(...scanParams(pk, bounds, liveAt, limit)) as RawEntry[];
  }

  /** The (sk, version) pairs a scan returns, without reading the values (to validate a transaction's scans). */
  scanKeys(pk: string, bounds: KeyBounds, reverse: boolean, limit: number, filter: ScanFilter = {}): RawKey[] {
    const { liveAt } = filter;
    return this.scanStatement(bounds, reverse, 'keys', liveAt !== undefined).all(...scanParams(pk, bounds, liveAt, limit)) as RawKey[];
  }

  /** Like `scan` of the live rows, but looking at no more than the first `window` rows of the range. */
  scanLiveWindow(pk: string, bounds: KeyBounds, reverse: boolean, limit: number, liveAt: number, window: number): RawEntry[] {
    const params = rangeParams(pk, bounds);
    params.push(window, liveAt, limit);
    return this.scanStatement(bounds, reverse, 'window', true).all(...params) as RawEntry[];
  }

  /** The sort key of the range's `window`-th row (where a window of that many rows ends), or null. */
  windowEnd(pk: string, bounds: KeyBounds, reverse: boolean, window: number): string | null {
    const params = rangeParams(pk, bounds);
    params.push(window - 1);
    return (this.scanStatement(bounds, reverse, 'nth', false).get(...params) as [string] | undefined)?.[0] ?? null;
  }

  /** Throws a TypeError for a value the table cannot store, so that the transaction's `work` fails. */
  encode(value: unknown): Encoded {
    if (this.kind === 'bytes') {
      if (!(value instanceof Uint8Array)) throw new TypeError(`table ${this.name} stores bytes, not ${typeof value}`);
      return value;
    }
    return toJsonText(this.table, value);
  }

  decode(encoded: Encoded): unknown {
    if (this.kind === 'bytes') return encoded;
    // An empty object is a common value (e.g. no metadata): skip the parser for it.
    if (encoded === '{}' && !this.table.unpack) return {};
    return fromJsonText(this.table, encoded as string);
  }

  /** The earliest `exp` in the partition (an index seek; null when no row has one, or a table without `liveUntil`). */
  earliestLiveUntil(pk: string): number | null {
    if (!this.table.liveUntil) return null;
    this.selectEarliest ??= this.db.prepare(`SELECT min(exp) FROM ${this.sql} WHERE pk = ? AND exp IS NOT NULL`).pluck(true);
    return (this.selectEarliest.get(pk) as number | null | undefined) ?? null;
  }

  private attachmentStatements(): NonNullable<SqliteTable['attachments']> {
    if (!this.attachments) throw new TypeError(`table ${this.name} was declared without attachments`);
    return this.attachments;
  }

  /** When a row of this value stops being live (null: never, or a table without `liveUntil`). */
  liveUntil(value: unknown): number | null {
    return liveUntilOf(this.table, value);
  }

  private scanStatement(bounds: KeyBounds, reverse: boolean, output: 'values' | 'keys' | 'window' | 'nth', live: boolean): Database.Statement {
    const lower = bounds.lower ? (bounds.lower.inclusive ? '>=' : '>') : '';
    const upper = bounds.upper ? (bounds.upper.inclusive ? '<=' : '<') : '';
    const order = reverse ? 'DESC' : 'ASC';
    const shape = `${output}${live ? 'L' : ''}${lower}|${upper}${order}`;
    let statement = this.scans.get(shape);
    if (!statement) {
      const where = ['pk = ?'];
      if (lower) where.push(`sk ${lower} ?`);
      if (upper) where.push(`sk ${upper} ?`);
      const range = `FROM ${this.sql} WHERE ${where.join(' AND ')}`;
      const liveOnly = live ? ` AND ${LIVE}` : '';
      const sql = {
        values: `SELECT sk, ver, val ${range}${liveOnly} ORDER BY sk ${order} LIMIT ?`,
        keys: `SELECT sk, ver ${range}${liveOnly} ORDER BY sk ${order} LIMIT ?`,
        // The inner LIMIT bounds the rows looked at; SQLite runs the subquery as a co-routine, in key order.
        window: `SELECT sk, ver, val FROM (SELECT sk, ver, val, exp ${range} ORDER BY sk ${order} LIMIT ?) WHERE ${LIVE} ORDER BY sk ${order} LIMIT ?`,
        nth: `SELECT sk ${range} ORDER BY sk ${order} LIMIT 1 OFFSET ?`,
      }[output];
      statement = this.db.prepare(sql).raw(true);
      this.scans.set(shape, statement);
    }
    return statement;
  }
}

function rangeParams(pk: string, bounds: KeyBounds): unknown[] {
  const params: unknown[] = [pk];
  if (bounds.lower) params.push(bounds.lower.key);
  if (bounds.upper) params.push(bounds.upper.key);
  return params;
}

function scanParams(pk: string, bounds: KeyBounds, liveAt: number | undefined, limit: number): unknown[] {
  const params = rangeParams(pk, bounds);
  if (liveAt !== undefined) params.push(liveAt);
  params.push(limit);
  return params;
}
