/**
 * The metadata remembers a check value of the master key it was written with. A server or `onggi admin` started
 * with another key is refused: a wrong ONGGI_MASTER_KEY_FILE on one node of several, a `server.key` from the
 * wrong backup, or two fresh nodes that each generated a key of their own. With another key a node would refuse
 * every token and secret the others issued, replace the root access key with one hashed under its own key (so
 * that the others refuse it in turn), and fail to decrypt every encrypted object.
 *
 * Metadata written before this check has no check value: the key it is opened with is taken as its key.
 */
import type { MetadataStore } from '../store/meta/index.ts';
import { ALL, TABLES } from './model.ts';
import { MasterKeyError, type ServerKeys } from './server-keys.ts';

const SETTING = 'master-key-check';

export async function checkMasterKey(store: MetadataStore, keys: ServerKeys, metadataIn: string): Promise<void> {
  const recorded = await store.transact(async (tx) => {
    const row = await tx.get(TABLES.settings, ALL, SETTING);
    if (row) return row.value.value;
    tx.put(TABLES.settings, ALL, SETTING, { value: keys.checkValue }, { ifVersion: null });
    return keys.checkValue;
  });
  if (recorded === keys.checkValue) return;
  throw new MasterKeyError(
    `${keys.source} is not the master key that ${metadataIn} was written with. Every node, and onggi admin, must ` +
      'read the same key (ONGGI_MASTER_KEY_FILE); start with the key the metadata was written with.',
  );
}
