/**
 * Versioned schema migrations, applied at open and recorded in `onggi__migrations` (the double underscore
 * cannot clash with a logical table's `onggi_<name>`, whose names start with a letter).
 *
 * Several nodes may open the same database at once. No advisory lock (CockroachDB and YugabyteDB have none):
 * every step is idempotent (`CREATE TABLE IF NOT EXISTS`, `INSERT … ON CONFLICT DO NOTHING`) and a step that
 * loses a race with another node (PostgreSQL then reports a duplicate catalog entry) is simply run again.
 * DDL runs outside explicit transactions, as CockroachDB advises; a crash between a step and its record only
 * means the step runs again, harmlessly, at the next open.
 */
import pg from 'pg';
import { liveUntilOf, type Table } from '../index.ts';
import { decodeValue } from './codec.ts';
import { addAttachmentsSql, addLiveUntilSql, createTableSql, sqlTableName } from './statements.ts';
import { isSqlState, sleep } from './errors.ts';

const MIGRATIONS_TABLE = 'onggi__migrations';

interface Migration {
  /** Unique and never reused; for tables it names the kind, so a table re-declared with another kind is caught. */
  id: string;
  sql: string;
}

/** The migrations of one logical table, in order. A later schema change appends `…@3`, `…@4`. */
function tableMigrations(table: Table<unknown>): Migration[] {
  return [
    { id: `${sqlTableName(table)}@1 ${table.kind}`, sql: createTableSql(table) },
    { id: `${sqlTableName(table)}@2 exp`, sql: addLiveUntilSql(table) },
    ...(table.attachments ? [{ id: `${sqlTableName(table)}@3 att`, sql: addAttachmentsSql(table) }] : []),
  ];
}

/** Recorded once every row of a table with `liveUntil` has its `exp` filled. */
function liveUntilFilled(table: Table<unknown>): string {
  return `${sqlTableName(table)}@live-until`;
}

/** Rows read per step when filling `exp`. */
const FILL_BATCH = 1000;

/** Losing a concurrent CREATE to another node: duplicate catalog row / table / object; or a serialization failure. */
const RACE_STATES = ['23505', '42P07', '42710', '40001', '40P01'];
const RACE_ATTEMPTS = 8;

async function runRacing(pool: pg.Pool, sql: string, values: unknown[] = []): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query(sql, values);
      return;
    } catch (error) {
      if (attempt >= RACE_ATTEMPTS || !isSqlState(error, RACE_STATES)) throw error;
      await sleep(Math.random() * 20 * attempt);
    }
  }
}

export async function migrate(pool: pg.Pool, tables: readonly Table<unknown>[]): Promise<void> {
  await runRacing(
    pool,
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (id TEXT COLLATE "C" NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`,
  );
  const applied = new Set((await pool.query<{ id: string }>(`SELECT id FROM ${MIGRATIONS_TABLE}`)).rows.map((r) => r.id));
  for (const table of tables) checkKind(table, applied);
  const pending = tables.flatMap(tableMigrations).filter((m) => !applied.has(m.id));
  if (pending.length > 0) {
    // One batch (one commit, one fsync) rather than one per table: a fresh database opens several times faster.
    await runRacing(pool, pending.map((m) => m.sql).join(';\n'));
    await record(pool, pending.map((m) => m.id));
  }
  for (const table of tables) await keepLiveUntil(pool, table, applied);
}

async function record(pool: pg.Pool, ids: string[]): Promise<void> {
  const rows = ids.map((_, i) => `($${i + 2}, $1)`).join(', ');
  await runRacing(pool, `INSERT INTO ${MIGRATIONS_TABLE} (id, applied_at) VALUES ${rows} ON CONFLICT (id) DO NOTHING`, [Date.now(), ...ids]);
}

/**
 * Fills `exp` of every row when a table gained `liveUntil` (or clears it when it lost it). Nodes doing so at
 * once write the same values; a row written meanwhile got its `exp` from its writer (the version check).
 */
async function keepLiveUntil(pool: pg.Pool, table: Table<unknown>, applied: ReadonlySet<string>): Promise<void> {
  const id = liveUntilFilled(table);
  const wanted = table.liveUntil !== undefined;
  if (applied.has(id) === wanted) return;
  const t = pg.escapeIdentifier(sqlTableName(table));
  if (!wanted) {
    await pool.query(`UPDATE ${t} SET exp = NULL`);
    await pool.query(`DELETE FROM ${MIGRATIONS_TABLE} WHERE id = $1`, [id]);
    return;
  }
  let after: [string, string] | null = null;
  for (;;) {
    const page: pg.QueryResult<{ pk: string; sk: string; ver: string; val: unknown }> = after
      ? await pool.query(`SELECT pk, sk, ver, val FROM ${t} WHERE (pk, sk) > ($1, $2) ORDER BY pk, sk LIMIT $3`, [...after, FILL_BATCH])
      : await pool.query(`SELECT pk, sk, ver, val FROM ${t} ORDER BY pk, sk LIMIT $1`, [FILL_BATCH]);
    for (const row of page.rows) {
      const until = liveUntilOf(table, decodeValue(table, row.val));
      if (until !== null) await pool.query(`UPDATE ${t} SET exp = $3 WHERE pk = $1 AND sk = $2 AND ver = $4`, [row.pk, row.sk, until, row.ver]);
    }
    const last = page.rows.at(-1);
    if (!last || page.rows.length < FILL_BATCH) break;
    after = [last.pk, last.sk];
  }
  await record(pool, [id]);
}

function checkKind(table: Table<unknown>, applied: ReadonlySet<string>): void {
  const otherKind = table.kind === 'json' ? 'bytes' : 'json';
  for (const id of applied) {
    if (id.startsWith(`${sqlTableName(table)}@`) && id.endsWith(` ${otherKind}`)) {
      throw new Error(`table ${table.name} exists in the database with ${otherKind} values, asked for ${table.kind}`);
    }
  }
}
