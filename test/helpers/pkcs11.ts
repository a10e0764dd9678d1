/**
 * A SoftHSM2 token of a test's own (Debian's softhsm2: scripts/install-test-deps.sh), in a temp directory with its
 * own SOFTHSM2_CONF, and the ONGGI_PKCS11_* settings that name it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadPkcs11js } from '../../src/core/pkcs11-key.ts';
import { makeTempDir, removeDir } from './server.ts';

/** Where Debian's softhsm2 puts its module. */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const softhsmMissing = existsSync(SOFTHSM_MODULE) ? false : `no ${SOFTHSM_MODULE}: install softhsm2 (scripts/install-test-deps.sh)`;

export const USER_PIN = '4321-test';
export const KEY_LABEL = 'onggi-test-key';

export interface SoftToken {
  dir: string;
  /** The settings of a server or `onggi admin` using the token's key (the PIN from a file). */
  env: Record<string, string>;
  remove(): Promise<void>;
}

/** A new token labelled `label` in a directory of its own (no key yet: `onggi admin encryption pkcs11-init`). */
export async function softToken(label = 'onggi-test'): Promise<SoftToken> {
  const dir = await makeTempDir('onggi-softhsm-');
  await mkdir(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  await promisify(execFile)('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', USER_PIN, '--so-pin', '8765-test'], { env: { ...process.env, SOFTHSM2_CONF: conf } });
  const pinFile = join(dir, 'pin');
  await writeFile(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
  return {
    dir,
    env: { SOFTHSM2_CONF: conf, ONGGI_PKCS11_MODULE: SOFTHSM_MODULE, ONGGI_PKCS11_TOKEN: label, ONGGI_PKCS11_PIN_FILE: pinFile, ONGGI_PKCS11_KEY_LABEL: KEY_LABEL },
    remove: () => removeDir(dir),
  };
}

/**
 * The attributes of the token's key as pkcs11js reads them in this process (no server may hold the token then),
 * and whether its value could be read.
 */
export function keyAttributes(token: SoftToken, label = 'onggi-test'): { sensitive: boolean; extractable: boolean; valueRead: string } {
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = token.env.SOFTHSM2_CONF;
  const pkcs11 = loadPkcs11js();
  const module = new pkcs11.PKCS11();
  module.load(SOFTHSM_MODULE);
  module.C_Initialize();
  try {
    const slot = module.C_GetSlotList(true).find((candidate) => module.C_GetTokenInfo(candidate).label.trim() === label);
    if (!slot) throw new Error(`no token ${label}`);
    const session = module.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION);
    module.C_Login(session, pkcs11.CKU_USER, USER_PIN);
    module.C_FindObjectsInit(session, [{ type: pkcs11.CKA_LABEL, value: KEY_LABEL }]);
    const [key] = module.C_FindObjects(session, 1);
    module.C_FindObjectsFinal(session);
    if (!key) throw new Error(`no key ${KEY_LABEL}`);
    const [sensitive, extractable] = module.C_GetAttributeValue(session, key, [{ type: pkcs11.CKA_SENSITIVE }, { type: pkcs11.CKA_EXTRACTABLE }]);
    let valueRead = 'read';
    try {
      module.C_GetAttributeValue(session, key, [{ type: pkcs11.CKA_VALUE }]);
    } catch (err) {
      valueRead = err instanceof Error ? err.message : String(err);
    }
    const flag = (attribute: { value?: unknown } | undefined): boolean => Buffer.isBuffer(attribute?.value) && attribute.value[0] === 1;
    return { sensitive: flag(sensitive), extractable: flag(extractable), valueRead };
  } finally {
    module.C_Finalize();
    if (previous === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = previous;
  }
}
