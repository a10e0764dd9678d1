/**
 * Seeds a listing bucket straight into the metadata store (an HTTP PUT per key would take the bench
 * longer than the measurement): `dir{NNNN}/file{NNNNNN}` keys, all empty objects. The store is the server's:
 * PostgreSQL when ONGGI_METADATA_URL is set, else SQLite in the data directory.
 */
import { newId } from '../src/lib/ids.ts';
import { ALL, ALL_TABLES, TABLES, type VersionRow } from '../src/core/model.ts';
import { sqlitePath } from '../src/open-stores.ts';
import type { MetadataStore } from '../src/store/meta/index.ts';
import { PostgresKvStore } from '../src/store/meta/postgres/postgres-kv-store.ts';
import { SqliteKvStore } from '../src/store/meta/sqlite/sqlite-kv-store.ts';

const [dataDir = '', bucketName = '', dirsText = '1000', filesText = '1'] = process.argv.slice(2);
const metadataUrl = process.env.ONGGI_METADATA_URL;
const store: MetadataStore = metadataUrl
  ? await PostgresKvStore.open(metadataUrl, { tables: ALL_TABLES })
  : SqliteKvStore.open(sqlitePath(dataDir), { tables: ALL_TABLES });
const owner = await store.get(TABLES.globalBucketNames, ALL, bucketName);
if (!owner) throw new Error(`no bucket ${bucketName}`);
const { bucketId } = owner.value;
const dirs = Number(dirsText);
const files = Number(filesText);
const now = Date.now();
const keys: string[] = [];
for (let d = 0; d < dirs; d++) {
  for (let f = 0; f < files; f++) keys.push(`dir${String(d).padStart(4, '0')}/file${String(f).padStart(6, '0')}`);
}
for (let i = 0; i < keys.length; i += 20_000) {
  const slice = keys.slice(i, i + 20_000);
  await store.transact(async (tx) => {
    for (const key of slice) tx.put(TABLES.objects, bucketId, key, emptyVersion());
    tx.put(TABLES.totalDeltas, ALL, `${bucketId}/seed${String(i).padStart(9, '0')}`, { objects: slice.length, bytes: 0, at: now });
  });
}
await store.close();

function emptyVersion(): VersionRow {
  return {
    id: newId(),
    state: 'complete',
    createdAt: now,
    lastModified: now,
    size: 0,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType: 'application/octet-stream',
    meta: {},
    headers: {},
    deleteAt: null,
    data: { kind: 'attached', encryption: null },
  };
}
