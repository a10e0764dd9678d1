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

/** The check value of the master key the metadata was written with. */
export const KEY_CHECK_SETTING = 'master-key-check';
/** The credential keys a rotation left sealed under the master key (ServerKeys.adoptAuthKeys). */
export const AUTH_KEYS_SETTING = 'auth-keys';
/** A rotation under way: the check value of the key it installs, and the credential keys it will leave. */
export const ROTATION_SETTING = 'key-rotation';
/** With a hardware module (PKCS#11): the master key, wrapped by the module's key. Absent: the key is a file's. */
export const MODULE_MASTER_SETTING = 'module-master-key';

export async function checkMasterKey(store: MetadataStore, keys: ServerKeys, metadataIn: string): Promise<void> {
  const rotation = await store.get(TABLES.settings, ALL, ROTATION_SETTING);
  if (rotation) {
    const toModule = (JSON.parse(rotation.value.value) as { moduleMaster?: string }).moduleMaster !== undefined;
    throw new MasterKeyError(
      `a master key rotation of ${metadataIn} was interrupted: run \`onggi admin encryption rotate\` again with the same ${toModule ? '--to-pkcs11 and PKCS#11 settings' : '--new-key-file'} to finish it`,
    );
  }
  await checkRecordedKey(store, keys, metadataIn);
  const auth = await store.get(TABLES.settings, ALL, AUTH_KEYS_SETTING);
  if (auth) keys.adoptAuthKeys(auth.value.value);
}

/** The check value recorded (recorded now when there is none) is this key's, or the start is refused. */
async function checkRecordedKey(store: MetadataStore, keys: ServerKeys, metadataIn: string): Promise<void> {
  const recorded = await recordedCheck(store, keys);
  if (recorded === keys.checkValue) return;
  throw new MasterKeyError(
    `${keys.source} is not the master key that ${metadataIn} was written with. Every node, and onggi admin, must ` +
      'read the same key (ONGGI_MASTER_KEY_FILE); start with the key the metadata was written with.',
  );
}

/** The check value of the key the metadata was written with; `keys`' own when none is recorded yet (it is then). */
export async function recordedCheck(store: MetadataStore, keys: ServerKeys): Promise<string> {
  return store.transact(async (tx) => {
    const row = await tx.get(TABLES.settings, ALL, KEY_CHECK_SETTING);
    if (row) return row.value.value;
    tx.put(TABLES.settings, ALL, KEY_CHECK_SETTING, { value: keys.checkValue }, { ifVersion: null });
    return keys.checkValue;
  });
}

/** The master key as the hardware module wrapped it, when the metadata's key is kept by one. */
export async function recordedModuleMaster(store: MetadataStore): Promise<string | null> {
  return (await store.get(TABLES.settings, ALL, MODULE_MASTER_SETTING))?.value.value ?? null;
}
