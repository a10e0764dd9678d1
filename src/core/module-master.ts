/**
 * The master key when a hardware module (PKCS#11) keeps it: a random key, wrapped by the module's AES key and kept
 * so in the metadata (MODULE_MASTER_SETTING), from which the credential keys derive as from a key file's; every
 * data key is wrapped by the module itself. Nothing on disk opens either without the token and its PIN.
 */
import type { Pkcs11Config } from '../config.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import { MODULE_MASTER_SETTING, recordedModuleMaster } from './key-check.ts';
import { ALL, TABLES } from './model.ts';
import type { Pkcs11KeyWrapper } from './pkcs11-key.ts';
import { MasterKeyError, ServerKeys } from './server-keys.ts';

/** The configured module's key, its token open (pkcs11js is loaded here, on first use). */
export async function openModule(config: Pkcs11Config): Promise<Pkcs11KeyWrapper> {
  const { Pkcs11KeyWrapper } = await import('./pkcs11-key.ts');
  return Pkcs11KeyWrapper.open(config);
}

/** The master key the module wrapped as `moduleMaster`; refused when the module's key does not open it. */
export function moduleKeys(module: Pkcs11KeyWrapper, moduleMaster: string, metadataIn: string): ServerKeys {
  try {
    return ServerKeys.inModule(module, moduleMaster);
  } catch (err) {
    throw new MasterKeyError(
      `${module.description} does not open the master key that ${metadataIn} was written with (${err instanceof Error ? err.message : String(err)}): ` +
        'start with the token and key it was written with (ONGGI_PKCS11_TOKEN, ONGGI_PKCS11_KEY_LABEL)',
    );
  }
}

/** A server's keys with a module: the metadata's master key opened by it, or (fresh metadata) a new one kept. */
export async function loadModuleKeys(store: MetadataStore, config: Pkcs11Config, metadataExists: boolean, metadataIn: string): Promise<ServerKeys> {
  const module = await openModule(config);
  try {
    const recorded = await recordedModuleMaster(store);
    if (recorded !== null) return moduleKeys(module, recorded, metadataIn);
    if (metadataExists) {
      throw new MasterKeyError(
        `${metadataIn} was written with a master key outside the PKCS#11 module (server.key, ONGGI_MASTER_KEY_FILE or ONGGI_MASTER_KEY): ` +
          'move it into the module with `onggi admin encryption rotate --to-pkcs11` (servers stopped), or start without ONGGI_PKCS11_MODULE',
      );
    }
    const fresh = ServerKeys.inModule(module, null);
    const kept = await store.transact(async (tx) => {
      const row = await tx.get(TABLES.settings, ALL, MODULE_MASTER_SETTING);
      if (row) return row.value.value;
      tx.put(TABLES.settings, ALL, MODULE_MASTER_SETTING, { value: fresh.moduleMaster ?? '' }, { ifVersion: null });
      return fresh.moduleMaster;
    });
    return kept === fresh.moduleMaster ? fresh : moduleKeys(module, kept ?? '', metadataIn);
  } catch (err) {
    module.close();
    throw err;
  }
}
