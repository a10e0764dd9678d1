/**
 * Seeds a listing bucket straight into the metadata store (an HTTP PUT per key would take the bench
 * longer than the measurement): `dir{NNNN}/file{NNNNNN}` keys, all pointing at one empty blob.
 */
import { join } from 'node:path';
import { SqliteMetaStore } from '../src/store/meta/sqlite/sqlite-meta-store.ts';
import type { ObjectRecord } from '../src/core/types.ts';

const [dataDir = '', bucket = '', dirsText = '1000', filesText = '1'] = process.argv.slice(2);
const store = new SqliteMetaStore(join(dataDir, 'meta.sqlite'));
const dirs = Number(dirsText);
const files = Number(filesText);
const now = Date.now();
const batch: ObjectRecord[] = [];
for (let d = 0; d < dirs; d++) {
  for (let f = 0; f < files; f++) {
    batch.push({
      bucket,
      key: `dir${String(d).padStart(4, '0')}/file${String(f).padStart(6, '0')}`,
      blobId: '00000000000000000000000000000000',
      size: 0,
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      contentType: 'application/octet-stream',
      lastModified: now,
      meta: {},
      headers: {},
      deleteAt: null,
      encryption: null,
      inline: null,
    });
    if (batch.length >= 50_000) await store.putObjects(batch.splice(0));
  }
}
if (batch.length > 0) await store.putObjects(batch.splice(0));
await store.close();
