/** Opens the stores the configuration names: SQLite in the data directory or a shared PostgreSQL; filesystem blobs; the server key. */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from './config.ts';
import { Core } from './core/index.ts';
import { ALL, ALL_TABLES, TABLES } from './core/model.ts';
import { checkMasterKey, recordedModuleMaster } from './core/key-check.ts';
import { loadModuleKeys, moduleKeys, openModule } from './core/module-master.ts';
import { MasterKeyError, ServerKeys } from './core/server-keys.ts';
import { makeDataDirPrivate } from './lib/private-files.ts';
import { FsBlobStore } from './store/blob/fs/fs-blob-store.ts';
import type { MetadataStore, StoreObserver } from './store/meta/index.ts';
import { SqliteKvStore } from './store/meta/sqlite/sqlite-kv-store.ts';

export type StoreConfig = Pick<Config, 'dataDir' | 'metadataUrl' | 'blobDir' | 'bucketNames' | 'masterKeyFile'> & Partial<Pick<Config, 'metadataTimeouts' | 'masterKey' | 'pkcs11'>>;

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

/**
 * The master key (a file's, or kept by a hardware module), refused when it is missing or another than the
 * metadata was written with.
 */
async function loadKeys(config: StoreConfig, meta: MetadataStore, metadataIn: string): Promise<ServerKeys> {
  const metadataExists = await holdsMetadata(meta);
  if (config.pkcs11) checkNoKeyFile(config);
  const keys = config.pkcs11 ? await loadModuleKeys(meta, config.pkcs11, metadataExists, metadataIn) : await loadFileKey(config, meta, metadataExists, metadataIn);
  await checkMasterKey(meta, keys, metadataIn);
  return keys;
}

async function loadFileKey(config: StoreConfig, meta: MetadataStore, metadataExists: boolean, metadataIn: string): Promise<ServerKeys> {
  if (await recordedModuleMaster(meta)) {
    throw new MasterKeyError(
      `the master key of ${metadataIn} is kept by a hardware module (PKCS#11): start with ONGGI_PKCS11_MODULE, ONGGI_PKCS11_TOKEN, ONGGI_PKCS11_PIN_FILE and ONGGI_PKCS11_KEY_LABEL set`,
    );
  }
  return ServerKeys.load(config.dataDir, { masterKeyFile: config.masterKeyFile, masterKey: config.masterKey, metadataExists, metadataIn });
}

/** Refused when a key file is configured beside the module. */
function checkNoKeyFile(config: StoreConfig): void {
  if (config.masterKeyFile || config.masterKey) {
    throw new MasterKeyError('ONGGI_PKCS11_MODULE and ONGGI_MASTER_KEY_FILE or ONGGI_MASTER_KEY are both set: the master key is either in the module or a file (`onggi admin encryption rotate --to-pkcs11` moves it)');
  }
}

/**
 * The master key the metadata is on now, not checked against it: for `onggi admin encryption rotate`, which finds
 * out itself how far a rotation got. The module's when the metadata's key is kept by one, else the configured file's.
 */
export async function currentKeys(config: StoreConfig, meta: MetadataStore): Promise<ServerKeys> {
  const inModule = await recordedModuleMaster(meta);
  if (inModule === null) return ServerKeys.load(config.dataDir, { masterKeyFile: config.masterKeyFile, masterKey: config.masterKey, metadataExists: true });
  if (!config.pkcs11) return loadFileKey(config, meta, true, config.dataDir);
  return moduleKeys(await openModule(config.pkcs11), inModule, config.dataDir);
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
