/**
 * The MetadataStore's SQLite schema: one `t_<name>` table per logical table, a record of each table's kind, and a
 * schema version for later migrations. Kept apart from the old store's `user_version`, so that both can share
 * one file while core moves over.
 */
import type Database from 'better-sqlite3';
import { fromJsonText, liveUntilOf, type Table } from '../index.ts';
import { attachmentsSql, liveUntilIndexSql, tableSql } from './kv-table.ts';

/**
 * 2: every table has `exp` (a row's `liveUntil`); kv_tables.live_until says which tables keep it filled.
 * 3: tables with attachments have `att` and an `a_<name>` table (added where missing; older builds refuse it).
 */
export const KV_SCHEMA_VERSION = 3;

const CATALOG = `
CREATE TABLE IF NOT EXISTS kv_schema (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kv_tables (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  live_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`;

/** Rows read per step when filling `exp` for a table that gained `liveUntil`. */
const FILL_BATCH = 1000;

/** Creates what is missing, in one transaction; refuses a schema newer than this build or a table of another kind. */
export function prepareSchema(db: Database.Database, tables: readonly Table<unknown>[]): void {
  refuseFirstLayout(db);
  db.transaction(() => {
    db.exec(CATALOG);
    const version = db.prepare('SELECT version FROM kv_schema WHERE id = 1').pluck(true).get() as number | undefined;
    if (version === undefined) db.prepare('INSERT INTO kv_schema (id, version) VALUES (1, ?)').run(KV_SCHEMA_VERSION);
    else if (version > KV_SCHEMA_VERSION) throw new Error(`metadata schema version ${version} is newer than this build's (${KV_SCHEMA_VERSION})`);
    else if (version < 2) addLiveUntilColumns(db);
    if (version !== undefined && version < 3) db.prepare('UPDATE kv_schema SET version = 3 WHERE id = 1').run();
    for (const table of tables) {
      createTable(db, table);
      keepLiveUntil(db, table);
      if (table.attachments) keepAttachments(db, table);
    }
  }).immediate();
}

function addLiveUntilColumns(db: Database.Database): void {
  db.exec('ALTER TABLE kv_tables ADD COLUMN live_until INTEGER NOT NULL DEFAULT 0');
  const names = db.prepare('SELECT name FROM kv_tables').pluck(true).all() as string[];
  for (const name of names) db.exec(`ALTER TABLE ${tableSql(name)} ADD COLUMN exp INTEGER`);
  db.prepare('UPDATE kv_schema SET version = 2 WHERE id = 1').run();
}

/**
 * The attachments of a table: `att` in its rows, the `a_<name>` rows it points at, and triggers that drop an
 * attachment whose row went or now points elsewhere (so no write path can leave one behind).
 */
function keepAttachments(db: Database.Database, table: Table<unknown>): void {
  const sql = tableSql(table.name);
  const attachments = attachmentsSql(table.name);
  const columns = db.prepare(`SELECT name FROM pragma_table_info('${sql}')`).pluck(true).all() as string[];
  if (!columns.includes('att')) db.exec(`ALTER TABLE ${sql} ADD COLUMN att INTEGER`);
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${attachments} (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
    CREATE TRIGGER IF NOT EXISTS ${sql}__att_replaced AFTER UPDATE OF att ON ${sql}
      WHEN old.att IS NOT NULL AND old.att IS NOT new.att
      BEGIN DELETE FROM ${attachments} WHERE id = old.att; END;
    CREATE TRIGGER IF NOT EXISTS ${sql}__att_deleted AFTER DELETE ON ${sql}
      WHEN old.att IS NOT NULL
      BEGIN DELETE FROM ${attachments} WHERE id = old.att; END;
  `);
}

function createTable(db: Database.Database, table: Table<unknown>): void {
  const kind = db.prepare('SELECT kind FROM kv_tables WHERE name = ?').pluck(true).get(table.name) as string | undefined;
  if (kind !== undefined && kind !== table.kind) throw new Error(`table ${table.name} holds ${kind} values, not ${table.kind}`);
  // val has no declared type: JSON text stays TEXT and bytes stay a BLOB. Rows clustered by key (WITHOUT ROWID)
  // make point reads and scans one B-tree walk, but only while rows are small: KiB-sized values (bytes tables)
  // would leave a few rows per interior page, a deep tree and ~3.5x slower random reads, so those go in a rowid
  // table with its (pk, sk) index beside it.
  const clustered = table.kind === 'json' ? ' WITHOUT ROWID' : '';
  db.exec(`CREATE TABLE IF NOT EXISTS ${tableSql(table.name)} (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    ver INTEGER NOT NULL,
    val NOT NULL,
    exp INTEGER,
    PRIMARY KEY (pk, sk)
  )${clustered}`);
  if (kind === undefined) db.prepare('INSERT INTO kv_tables (name, kind) VALUES (?, ?)').run(table.name, table.kind);
}

/**
 * Fills `exp` of every row when a table gained `liveUntil` (or clears it when the table lost it), and keeps an
 * index of the rows that have one (see SqliteTable.earliestLiveUntil).
 */
function keepLiveUntil(db: Database.Database, table: Table<unknown>): void {
  const kept = db.prepare('SELECT live_until FROM kv_tables WHERE name = ?').pluck(true).get(table.name) === 1;
  const wanted = table.liveUntil !== undefined;
  const sql = tableSql(table.name);
  if (wanted) db.exec(`CREATE INDEX IF NOT EXISTS ${liveUntilIndexSql(table.name)} ON ${sql} (pk, exp) WHERE exp IS NOT NULL`);
  else db.exec(`DROP INDEX IF EXISTS ${liveUntilIndexSql(table.name)}`);
  if (kept === wanted) return;
  if (wanted) fillLiveUntil(db, table);
  else db.exec(`UPDATE ${sql} SET exp = NULL`);
  db.prepare('UPDATE kv_tables SET live_until = ? WHERE name = ?').run(wanted ? 1 : 0, table.name);
}

function fillLiveUntil(db: Database.Database, table: Table<unknown>): void {
  const sql = tableSql(table.name);
  const first = db.prepare(`SELECT pk, sk, val FROM ${sql} ORDER BY pk, sk LIMIT ?`).raw(true);
  const next = db.prepare(`SELECT pk, sk, val FROM ${sql} WHERE (pk, sk) > (?, ?) ORDER BY pk, sk LIMIT ?`).raw(true);
  const update = db.prepare(`UPDATE ${sql} SET exp = ? WHERE pk = ? AND sk = ?`);
  let rows = first.all(FILL_BATCH) as [string, string, string | Buffer][];
  for (;;) {
    for (const [pk, sk, val] of rows) update.run(liveUntilOf(table, table.kind === 'json' ? fromJsonText(table, val as string) : val), pk, sk);
    const last = rows.at(-1);
    if (!last || rows.length < FILL_BATCH) return;
    rows = next.all(last[0], last[1], FILL_BATCH) as [string, string, string | Buffer][];
  }
}

/**
 * Onggi 0.1 kept its metadata in fixed tables (`objects`, `buckets`, …) of the same file. Opening such a file
 * must not look like an empty store: it is refused, by name, until an import exists.
 */
function refuseFirstLayout(db: Database.Database): void {
  const first = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'objects'").pluck(true).get();
  if (first !== undefined) {
    throw new Error(
      `${db.name} holds metadata in the layout of Onggi 0.1, which this version does not read yet: ` +
        'keep serving it with Onggi 0.1, or start this version on a new data directory',
    );
  }
}
