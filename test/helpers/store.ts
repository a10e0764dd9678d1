/** A stopped server's own metadata store, opened by a test to load or inspect rows directly. */
import { ALL_TABLES } from '../../src/core/model.ts';
import { sqlitePath } from '../../src/open-stores.ts';
import type { MetadataStore } from '../../src/store/meta/index.ts';
import { PostgresKvStore } from '../../src/store/meta/postgres/postgres-kv-store.ts';
import { SqliteKvStore } from '../../src/store/meta/sqlite/sqlite-kv-store.ts';
import { adminEnv } from './server.ts';

/** The metadata store of a data directory (SQLite in it, or its PostgreSQL database). Stop its server first. */
export async function openStoreOf(dataDir: string): Promise<MetadataStore> {
  const url = (await adminEnv(dataDir)).ONGGI_METADATA_URL;
  if (url) return PostgresKvStore.open(url, { tables: ALL_TABLES });
  return SqliteKvStore.open(sqlitePath(dataDir), { tables: ALL_TABLES });
}
