/**
 * One logical table of the MetadataStore as one SQLite table `t_<name>` (pk, sk, ver, val), with its statements
 * prepared once. Statements run in raw mode (rows as arrays: no object keyed by column name per row).
 */
import type Database from 'better-sqlite3';
import type { Table } from '../index.ts';
import type { KeyBounds } from './kv-range.ts';

/** What a table stores: JSON text for json tables, a BLOB for bytes tables. */
export type Encoded = string | Uint8Array;

/** A row as SQLite returns it in raw mode: [ver, val]. */
export type RawRow = [number, Encoded];
/** A scanned row in raw mode: [sk, ver, val], or [sk, ver] when values are not selected. */
export type RawEntry = [string, number, Encoded];
export type RawKey = [string, number];

export function tableSql(name: string): string {
  return `t_${name}`;
}

export class SqliteTable {
  readonly name: string;
  readonly kind: Table<unknown>['kind'];
  private readonly sql: string;
  private readonly selectRow: Database.Statement;
  private readonly selectVersion: Database.Statement;
  private readonly upsert: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly scans = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    table: Table<unknown>,
  ) {
    this.name = table.name;
    this.kind = table.kind;
    this.sql = tableSql(table.name);
    this.selectRow = db.prepare(`SELECT ver, val FROM ${this.sql} WHERE pk = ? AND sk = ?`).raw(true);
    this.selectVersion = db.prepare(`SELECT ver FROM ${this.sql} WHERE pk = ? AND sk = ?`).pluck(true);
    this.upsert = db.prepare(
      `INSERT INTO ${this.sql} (pk, sk, ver, val) VALUES (?, ?, ?, ?) ON CONFLICT (pk, sk) DO UPDATE SET ver = excluded.ver, val = excluded.val`,
    );
    this.remove = db.prepare(`DELETE FROM ${this.sql} WHERE pk = ? AND sk = ?`);
  }

  row(pk: string, sk: string): RawRow | undefined {
    return this.selectRow.get(pk, sk) as RawRow | undefined;
  }

  version(pk: string, sk: string): number | null {
    const version = this.selectVersion.get(pk, sk) as number | undefined;
    return version ?? null;
  }

  put(pk: string, sk: string, version: number, encoded: Encoded): void {
    this.upsert.run(pk, sk, version, encoded);
  }

  delete(pk: string, sk: string): void {
    this.remove.run(pk, sk);
  }

  scan(pk: string, bounds: KeyBounds, reverse: boolean, limit: number): RawEntry[] {
    return this.scanStatement(bounds, reverse, true).all(...scanParams(pk, bounds, limit)) as RawEntry[];
  }

  /** The (sk, version) pairs a scan returns, without reading the values (to validate a transaction's scans). */
  scanKeys(pk: string, bounds: KeyBounds, reverse: boolean, limit: number): RawKey[] {
    return this.scanStatement(bounds, reverse, false).all(...scanParams(pk, bounds, limit)) as RawKey[];
  }

  /** Throws a TypeError for a value the table cannot store, so that the transaction's `work` fails. */
  encode(value: unknown): Encoded {
    if (this.kind === 'bytes') {
      if (!(value instanceof Uint8Array)) throw new TypeError(`table ${this.name} stores bytes, not ${typeof value}`);
      return value;
    }
    const text: unknown = JSON.stringify(value);
    if (typeof text !== 'string') throw new TypeError(`table ${this.name}: value is not JSON-serialisable`);
    return text;
  }

  decode(encoded: Encoded): unknown {
    if (this.kind === 'bytes') return encoded;
    // An empty object is a common value (e.g. no metadata): skip the parser for it.
    return encoded === '{}' ? {} : JSON.parse(encoded as string);
  }

  private scanStatement(bounds: KeyBounds, reverse: boolean, withValues: boolean): Database.Statement {
    const lower = bounds.lower ? (bounds.lower.inclusive ? '>=' : '>') : '';
    const upper = bounds.upper ? (bounds.upper.inclusive ? '<=' : '<') : '';
    const shape = `${withValues ? 'v' : 'k'}${lower}|${upper}${reverse ? 'd' : 'a'}`;
    let statement = this.scans.get(shape);
    if (!statement) {
      const where = ['pk = ?'];
      if (lower) where.push(`sk ${lower} ?`);
      if (upper) where.push(`sk ${upper} ?`);
      const columns = withValues ? 'sk, ver, val' : 'sk, ver';
      const order = reverse ? 'DESC' : 'ASC';
      statement = this.db.prepare(`SELECT ${columns} FROM ${this.sql} WHERE ${where.join(' AND ')} ORDER BY sk ${order} LIMIT ?`).raw(true);
      this.scans.set(shape, statement);
    }
    return statement;
  }
}

function scanParams(pk: string, bounds: KeyBounds, limit: number): unknown[] {
  const params: unknown[] = [pk];
  if (bounds.lower) params.push(bounds.lower.key);
  if (bounds.upper) params.push(bounds.upper.key);
  params.push(limit);
  return params;
}
