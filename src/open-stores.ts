/** Opens the embedded stores in a data directory: SQLite metadata, filesystem blobs, the server key. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Core } from './core/index.ts';
import { ServerKeys } from './core/server-keys.ts';
import { makeDataDirPrivate } from './lib/private-files.ts';
import { FsBlobStore } from './store/blob/fs/fs-blob-store.ts';
import { SqliteMetaStore } from './store/meta/sqlite/sqlite-meta-store.ts';

export async function openCore(dataDir: string, onBackgroundError: (err: unknown) => void, masterKeyFile: string | null = null): Promise<Core> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await makeDataDirPrivate(dataDir);
  const keys = await ServerKeys.load(dataDir, { masterKeyFile, metadataExists: await metadataExists(dataDir) });
  const meta = new SqliteMetaStore(join(dataDir, 'meta.sqlite'));
  const blobs = await FsBlobStore.open(dataDir);
  return new Core(meta, blobs, keys, onBackgroundError);
}

/** Whether Onggi metadata already exists (then a lost key must not be replaced). With PostgreSQL: its tables. */
export async function metadataExists(dataDir: string): Promise<boolean> {
  return existsSync(join(dataDir, 'meta.sqlite'));
}
