/** Opens the stores the configuration names: SQLite in the data directory or a shared PostgreSQL; filesystem blobs; the server key. */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from './config.ts';
import { Core } from './core/index.ts';
import { ALL, ALL_TABLES, TABLES } from './core/model.ts';
import { checkMasterKey } from './core/key-check.ts';
import { ServerKeys } from './core/server-keys.ts';
import { makeDataDirPrivate } from './lib/private-files.ts';
import { FsBlobStore } from './store/blob/fs/fs-blob-store.ts';
import type { MetadataStore, StoreObserver } from './store/meta/index.ts';
import { SqliteKvStore } from './store/meta/sqlite/sqlite-kv-store.ts';

export type StoreConfig = Pick<Config, 'dataDir' | 'metadataUrl' | 'blobDir' | 'bucketNames' | 'masterKeyFile'> & Partial<Pick<Config, 'metadataTimeouts' | 'masterKey'>>;

export async function openCore(config: StoreConfig, onBackgroundError: (err: unknown) => void, observer?: StoreObserver): Promise<Core> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await makeDataDirPrivate(config.dataDir);
  const meta = await openMetadataStore(config, observer);
  const metadataIn = config.metadataUrl ? 'the metadata database (ONGGI_METADATA_URL)' : config.dataDir;
  const keys = await loadKeys(config, meta, metadataIn).catch(async (err: unknown) => {
    await meta.close();
    throw err;
  });
  const defaultBlobDir = resolve(config.dataDir, 'blobs') === config.blobDir;
  const blobs = await FsBlobStore.open({ blobDir: config.blobDir, tempDir: defaultBlobDir ? join(config.dataDir, 'tmp') : join(config.blobDir, 'tmp') });
  return new Core(meta, blobs, keys, config.bucketNames, onBackgroundError, meta.shared && !defaultBlobDir);
}

/** The master key, refused when it is missing or another than the metadata was written with. */
async function loadKeys(config: StoreConfig, meta: MetadataStore, metadataIn: string): Promise<ServerKeys> {
  const metadataExists = await holdsMetadata(meta);
  const keys = await ServerKeys.load(config.dataDir, { masterKeyFile: config.masterKeyFile, masterKey: config.masterKey, metadataExists, metadataIn });
  await checkMasterKey(meta, keys, metadataIn);
  return keys;
}

/**
 * The metadata store and the configured master key, not checked against each other: for `onggi admin encryption
 * rotate`, which finds out itself how far a rotation got. `defaultKey`: the key is `server.key` of the data directory.
 */
export async function openForRotation(config: StoreConfig): Promise<{ meta: MetadataStore; keys: ServerKeys; defaultKey: boolean }> {
  const meta = await openMetadataStore(config, undefined);
  try {
    const keys = await ServerKeys.load(config.dataDir, { masterKeyFile: config.masterKeyFile, masterKey: config.masterKey, metadataExists: true });
    return { meta, keys, defaultKey: !config.masterKeyFile && !config.masterKey };
  } catch (err) {
    await meta.close();
    throw err;
  }
}

/** Where the metadata lives when no database is configured. */
export function sqlitePath(dataDir: string): string {
  return join(dataDir, 'meta.sqlite');
}

export async function openMetadataStore(config: Pick<StoreConfig, 'dataDir' | 'metadataUrl'> & Partial<Pick<Config, 'metadataTimeouts'>>, observer: StoreObserver | undefined): Promise<MetadataStore> {
  const options = { tables: ALL_TABLES, ...(observer ? { observer } : {}) };
  if (config.metadataUrl) {
    // Loaded only here: the PostgreSQL driver costs the embedded default a few MiB it would never use.
    const { PostgresKvStore } = await import('./store/meta/postgres/postgres-kv-store.ts');
    const timeouts = config.metadataTimeouts;
    return PostgresKvStore.open(config.metadataUrl, timeouts ? { ...options, statementTimeoutMs: timeouts.statementMs, lockTimeoutMs: timeouts.lockMs } : options);
  }
  return SqliteKvStore.openChecked(sqlitePath(config.dataDir), options);
}

/** Whether the store holds Onggi metadata already (then a lost key must not be replaced by a new one). */
async function holdsMetadata(store: MetadataStore): Promise<boolean> {
  return (await store.scan(TABLES.projects, ALL, { prefix: '', limit: 1, reverse: false })).length > 0;
}
