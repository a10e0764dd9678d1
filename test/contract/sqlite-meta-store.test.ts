import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetadataStore } from '../../src/store/meta/index.ts';
import { SqliteMetaStore } from '../../src/store/meta/sqlite/sqlite-meta-store.ts';
import { metaStoreContract } from './meta-store.contract.ts';

const dirs = new Map<MetadataStore, string>();

metaStoreContract(
  'sqlite',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onggi-meta-'));
    const store = new SqliteMetaStore(join(dir, 'meta.sqlite'));
    dirs.set(store, dir);
    return store;
  },
  async (store) => {
    await store.close();
    const dir = dirs.get(store);
    dirs.delete(store);
    if (dir) await rm(dir, { recursive: true, force: true });
  },
);
