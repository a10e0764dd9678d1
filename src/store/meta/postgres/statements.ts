/**
 * The SQL of one logical table: its DDL and the statements the store runs on it. Plain SQL that PostgreSQL,
 * CockroachDB and YugabyteDB all accept (no JSONB, no advisory locks, no sequences). Statements are named, so
 * each pooled connection prepares them once.
 */
import pg from 'pg';
import type { QueryConfig } from 'pg';
import { prefixUpperBound } from '../../../lib/key-order.ts';
import type { GroupedRange, ScanRange, Table, Version } from '../index.ts';
import type { Encoded } from './codec.ts';

/** A row's stored form: what a write puts in `val`, `ver` and `exp`. */
export interface StoredValue {
  encoded: Encoded;
  version: Version;
  liveUntil: number | null;
  /** The row's attachment (tables with attachments only; null: none). */
  attachment: Buffer | null;
}

/** SQL table name of a logical table (`onggi_` + its name; names are [a-z][a-z0-9_]*, checked by kv.ts). */
export function sqlTableName(table: Table<unknown>): string {
  return `onggi_${table.name}`;
}

/**
 * `COLLATE "C"`: keys compare as bytes (UTF-8 = code point order) whatever the database's default collation.
 * The first schema; `addLiveUntilSql` is the second.
 */
export function createTableSql(table: Table<unknown>): string {
  const valueType = table.kind === 'json' ? 'TEXT' : 'BYTEA';
  return (
    `CREATE TABLE IF NOT EXISTS ${pg.escapeIdentifier(sqlTableName(table))} (` +
    `pk TEXT COLLATE "C" NOT NULL, sk TEXT COLLATE "C" NOT NULL, ver BIGINT NOT NULL, ` +
    `val ${valueType} NOT NULL, PRIMARY KEY (pk, sk))`
  );
}

/** `exp`: the row's `liveUntil` (NULL: live for ever, or a table without it). */
export function addLiveUntilSql(table: Table<unknown>): string {
  return `ALTER TABLE ${pg.escapeIdentifier(sqlTableName(table))} ADD COLUMN IF NOT EXISTS exp BIGINT`;
}

/** `att`: the row's attachment, in tables with attachments (PostgreSQL keeps large values out of line by itself). */
export function addAttachmentsSql(table: Table<unknown>): string {
  return `ALTER TABLE ${pg.escapeIdentifier(sqlTableName(table))} ADD COLUMN IF NOT EXISTS att BYTEA`;
}

type Params = (string | number | Buffer | null | string[])[];

/** A statement with its values, ready for `query`. */
export type Statement = QueryConfig<Params>;

type Kind = 'get' | 'getAttached' | 'version' | 'upsert' | 'insertIfAbsent' | 'updateIfVersion' | 'delete' | 'deleteMany' | 'deleteIfVersion';

export class TableStatements {
  private readonly id: string;
  private readonly name: string;
  private readonly sql: Record<Kind, string>;
  private readonly attachments: boolean;

  constructor(table: Table<unknown>) {
    const t = pg.escapeIdentifier(sqlTableName(table));
    this.id = table.name;
    this.name = t;
    this.attachments = table.attachments === true;
    // With attachments, every write sets `att` too ($6; NULL: none), and an expected version moves to $7.
    const [att, attValue, attSet, expected] = this.attachments ? [', att', ', $6', ', att = $6', '$7'] : ['', '', '', '$6'];
    this.sql = {
      get: `SELECT ver, val FROM ${t} WHERE pk = $1 AND sk = $2`,
      getAttached: `SELECT ver, val, att FROM ${t} WHERE pk = $1 AND sk = $2`,
      version: `SELECT ver FROM ${t} WHERE pk = $1 AND sk = $2`,
      upsert:
        `INSERT INTO ${t} (pk, sk, ver, val, exp${att}) VALUES ($1, $2, $3, $4, $5${attValue}) ` +
        `ON CONFLICT (pk, sk) DO UPDATE SET ver = excluded.ver, val = excluded.val, exp = excluded.exp${attSet}`,
      insertIfAbsent: `INSERT INTO ${t} (pk, sk, ver, val, exp${att}) VALUES ($1, $2, $3, $4, $5${attValue}) ON CONFLICT (pk, sk) DO NOTHING`,
      updateIfVersion: `UPDATE ${t} SET ver = $3, val = $4, exp = $5${attSet} WHERE pk = $1 AND sk = $2 AND ver = ${expected}`,
      delete: `DELETE FROM ${t} WHERE pk = $1 AND sk = $2`,
      deleteMany: `DELETE FROM ${t} WHERE pk = $1 AND sk = ANY($2::text[])`,
      deleteIfVersion: `DELETE FROM ${t} WHERE pk = $1 AND sk = $2 AND ver = $3`,
    };
  }

  get(pk: string, sk: string): Statement {
    return this.named('get', [pk, sk]);
  }

  getAttached(pk: string, sk: string): Statement {
    if (!this.attachments) throw new TypeError(`table ${this.id} was declared without attachments`);
    return this.named('getAttached', [pk, sk]);
  }

  version(pk: string, sk: string): Statement {
    return this.named('version', [pk, sk]);
  }

  upsert(pk: string, sk: string, row: StoredValue): Statement {
    return this.named('upsert', this.written(pk, sk, row));
  }

  insertIfAbsent(pk: string, sk: string, row: StoredValue): Statement {
    return this.named('insertIfAbsent', this.written(pk, sk, row));
  }

  updateIfVersion(pk: string, sk: string, row: StoredValue, expected: number): Statement {
    return this.named('updateIfVersion', [...this.written(pk, sk, row), expected]);
  }

  /** $1–$5 the row, then $6 its attachment when the table has them. */
  private written(pk: string, sk: string, row: StoredValue): Params {
    const params: Params = [pk, sk, row.version, row.encoded, row.liveUntil];
    if (this.attachments) params.push(row.attachment);
    return params;
  }

  delete(pk: string, sk: string): Statement {
    return this.named('delete', [pk, sk]);
  }

  /** Several rows of one partition in one statement (unconditional deletes of one transaction). */
  deleteMany(pk: string, sks: string[]): Statement {
    return this.named('deleteMany', [pk, sks]);
  }

  deleteIfVersion(pk: string, sk: string, expected: number): Statement {
    return this.named('deleteIfVersion', [pk, sk, expected]);
  }

  /**
   * `ORDER BY sk [DESC] LIMIT n` over one partition; the prefix is a range (`sk >= prefix AND sk < next`), never
   * LIKE, so it uses the primary key and needs no escaping. The statement's shape (which bounds are present, the
   * direction, whether values are wanted) names it, so each shape is prepared once per connection.
   */
  scan(pk: string, range: ScanRange, limit: number, withValues = true): Statement {
    const where = rangeConditions(pk, range);
    where.values.push(limit);
    const text =
      `SELECT sk, ver${withValues ? ', val' : ''} FROM ${this.name} WHERE ${where.conditions} ` +
      `ORDER BY sk${range.reverse ? ' DESC' : ''} LIMIT $${where.values.length}`;
    return { name: `kv:${this.id}:scan:${where.shape}${withValues ? '' : 'v'}`, text, values: where.values };
  }

  /**
   * A scan grouped by a delimiter in one statement: a recursive walk that takes one row per step through the
   * primary key (a loose index scan) and, on a row with the delimiter past the prefix, jumps over every key
   * that shares its common prefix (forward: to the prefix with the delimiter's upper bound; reverse: below the
   * prefix). Null when the delimiter has no upper bound (made of U+10FFFF only): callers scan step by step.
   */
  scanGrouped(pk: string, range: GroupedRange, limit: number): Statement | null {
    const delimiterBound = prefixUpperBound(range.delimiter);
    if (delimiterBound === null) return null;
    const where = rangeConditions(pk, range);
    // Each value is used by the statement (PostgreSQL cannot type an unused one): the bound only by forward scans.
    const values = [...where.values, limit, range.prefix, range.delimiter, ...(range.reverse ? [] : [delimiterBound])];
    const max = `CAST($${where.values.length + 1} AS INTEGER)`;
    const [prefix, delimiter, bound] = [2, 3, 4].map((i) => `CAST($${where.values.length + i} AS TEXT)`);
    /** The delimiter's place in `key` after the prefix (0: none), in characters, as the functions below count. */
    const at = (key: string): string => `strpos(substr(${key}, length(${prefix}) + 1), ${delimiter})`;
    /** `key` up to its first delimiter after the prefix; its common prefix is that and the delimiter. */
    const head = (key: string): string => `left(${key}, length(${prefix}) + ${at(key)} - 1)`;
    const grouped = (key: string): string => `CASE WHEN ${at(key)} > 0 THEN ${head(key)} || ${delimiter} END`;
    const next = range.reverse
      ? `sk < CASE WHEN ${at('w.sk')} > 0 THEN ${head('w.sk')} || ${delimiter} ELSE w.sk END`
      : `sk > w.sk AND sk >= CASE WHEN ${at('w.sk')} > 0 THEN ${head('w.sk')} || ${bound} ELSE w.sk END`;
    const order = `ORDER BY sk${range.reverse ? ' DESC' : ''} LIMIT 1`;
    const text =
      `WITH RECURSIVE w (n, sk) AS (` +
      `(SELECT 1, sk FROM ${this.name} WHERE ${where.conditions} ${order}) UNION ALL ` +
      `SELECT w.n + 1, (SELECT sk FROM ${this.name} WHERE ${where.conditions} AND ${next} ${order}) ` +
      `FROM w WHERE w.sk IS NOT NULL AND w.n < ${max}) ` +
      `SELECT g.sk, g.prefix, t.ver, t.val FROM (SELECT n, sk, ${grouped('sk')} AS prefix FROM w WHERE sk IS NOT NULL) g ` +
      `LEFT JOIN ${this.name} t ON g.prefix IS NULL AND t.pk = $1 AND t.sk = g.sk ORDER BY g.n`;
    return { name: `kv:${this.id}:grouped:${where.shape}`, text, values };
  }

  private named(kind: Kind, values: Params): Statement {
    return { name: `kv:${this.id}:${kind}`, text: this.sql[kind], values };
  }
}

/**
 * The WHERE conditions of a scan over one partition (the values `$1…` they use), and its shape: which bounds are
 * present and the direction, which names the prepared statement.
 */
function rangeConditions(pk: string, range: ScanRange): { conditions: string; values: Params; shape: string } {
  const conditions = ['pk = $1'];
  const values: Params = [pk];
  let shape = range.reverse ? 'r' : 'f';
  const add = (operator: string, key: string, tag: string): void => {
    values.push(key);
    conditions.push(`sk ${operator} $${values.length}`);
    shape += tag;
  };
  if (range.prefix !== '') {
    add('>=', range.prefix, 'p');
    const next = prefixUpperBound(range.prefix);
    if (next !== null) add('<', next, 'n');
  }
  if (range.lower) add(range.lower.inclusive ? '>=' : '>', range.lower.key, range.lower.inclusive ? 'L' : 'l');
  if (range.upper) add(range.upper.inclusive ? '<=' : '<', range.upper.key, range.upper.inclusive ? 'U' : 'u');
  if (range.liveAt !== undefined) {
    values.push(range.liveAt);
    conditions.push(`(exp IS NULL OR exp > $${values.length})`);
    shape += 'a';
  }
  return { conditions: conditions.join(' AND '), values, shape };
}

/** The statements of every table declared at open. */
export class Tables {
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
