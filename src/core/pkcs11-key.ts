/**
 * Data keys wrapped inside a hardware security module through PKCS#11 (issue 20): an AES-256 key in the token,
 * sensitive and never extractable, encrypts each data key with AES-GCM (C_Encrypt, a random 96-bit IV stored with
 * the wrapped key, 128-bit tag, fixed associated data), so the key that opens data keys never leaves the module.
 * AES-GCM through C_Encrypt rather than CKM_AES_KEY_WRAP_PAD: softhsm2 (and most modules) offer the key-wrap
 * mechanisms only for C_WrapKey/C_UnwrapKey on key objects, which would cost a temporary object per data key and an
 * unwrapped key that is extractable; GCM is two calls and authenticated.
 *
 * pkcs11js (a native addon, an optional dependency) is loaded only when ONGGI_PKCS11_MODULE is set. Its calls are
 * synchronous, made by the one JavaScript thread: the module's one session is never used by two operations at once.
 * Unwrapped data keys are kept in a bounded LRU, so that reading an object again does not call the module.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as Pkcs11js from 'pkcs11js';
import type { Pkcs11Config } from '../config.ts';
import { Refusal } from '../lib/refusal.ts';
import { MODULE_WRAPPED_PREFIX, type KeyWrapper } from './key-wrapping.ts';

type Pkcs11Module = typeof Pkcs11js;
type Handle = Buffer;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const ASSOCIATED_DATA = Buffer.from('onggi data key');
/** Unwrapped data keys kept: 32 bytes each, a few thousand objects read again without a module call. */
const CACHED_KEYS = 4096;

/** The module, token, PIN or key cannot be used as configured; the message says which and what to do. */
export class Pkcs11Refusal extends Refusal {}

/** A bounded map, least recently used first out. */
class LruKeys {
  private readonly entries = new Map<string, Buffer>();

  constructor(private readonly limit: number) {}

  get(wrapped: string): Buffer | undefined {
    const key = this.entries.get(wrapped);
    if (key) {
      this.entries.delete(wrapped);
      this.entries.set(wrapped, key);
    }
    return key;
  }

  set(wrapped: string, key: Buffer): void {
    this.entries.delete(wrapped);
    this.entries.set(wrapped, key);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/**
 * pkcs11js, loaded on first use. Its addon is built on Node-API (node_api.h), whose ABI is stable across Node lines:
 * the one build serves the machine's Node and the newer line of `scripts/node-lts.sh` alike (unlike better-sqlite3,
 * which that script compiles again per ABI).
 */
export function loadPkcs11js(): Pkcs11Module {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('pkcs11js');
  } catch {
    throw new Pkcs11Refusal(
      'ONGGI_PKCS11_MODULE is set but the pkcs11js package is not installed (an optional dependency with a native addon: `npm install pkcs11js` with a C++ compiler and Python at hand)',
    );
  }
  try {
    return require('pkcs11js') as Pkcs11Module;
  } catch (err) {
    throw new Pkcs11Refusal(`the pkcs11js addon does not load in Node ${process.version} (${describe(err)}): rebuild it (npm rebuild pkcs11js)`);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] ?? String(err) : String(err);
}

/** The PKCS#11 return code of an error (CKR_PIN_INCORRECT, …: pkcs11js's message), or its message. */
const returnCode = describe;

/** An open session on the configured token, logged in; its AES key found or made. */
class TokenSession {
  private constructor(
    readonly pkcs11: Pkcs11Module,
    readonly module: Pkcs11js.PKCS11,
    readonly session: Handle,
    readonly token: string,
  ) {}

  static async open(config: Pkcs11Config, writable: boolean): Promise<TokenSession> {
    const pin = await readPin(config);
    const pkcs11 = loadPkcs11js();
    const module = new pkcs11.PKCS11();
    try {
      module.load(config.module);
    } catch (err) {
      throw new Pkcs11Refusal(`ONGGI_PKCS11_MODULE: cannot load the PKCS#11 module ${config.module} (${describe(err)})`);
    }
    try {
      module.C_Initialize();
    } catch (err) {
      if (!returnCode(err).includes('CKR_CRYPTOKI_ALREADY_INITIALIZED')) throw new Pkcs11Refusal(`ONGGI_PKCS11_MODULE: ${config.module} does not initialise (${returnCode(err)})`);
    }
    const { slot, token } = findSlot(module, config);
    const flags = pkcs11.CKF_SERIAL_SESSION | (writable ? pkcs11.CKF_RW_SESSION : 0);
    let session: Handle;
    try {
      session = module.C_OpenSession(slot, flags);
    } catch (err) {
      throw new Pkcs11Refusal(`the PKCS#11 token ${token} opens no session (${returnCode(err)})`);
    }
    try {
      module.C_Login(session, pkcs11.CKU_USER, pin);
    } catch (err) {
      const code = returnCode(err);
      if (!code.includes('CKR_USER_ALREADY_LOGGED_IN')) {
        const what = code.includes('CKR_PIN_INCORRECT') || code.includes('CKR_PIN_LEN_RANGE') ? 'refused the PIN' : 'refused the login';
        throw new Pkcs11Refusal(`the PKCS#11 token ${token} ${what} (${code}): check ONGGI_PKCS11_PIN_FILE or ONGGI_PKCS11_PIN`);
      }
    }
    return new TokenSession(pkcs11, module, session, token);
  }

  /** The AES keys of the token labelled `label`. */
  findKeys(label: string): Handle[] {
    const { pkcs11, module, session } = this;
    module.C_FindObjectsInit(session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
      { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
      { type: pkcs11.CKA_LABEL, value: label },
    ]);
    try {
      return module.C_FindObjects(session, 2);
    } finally {
      module.C_FindObjectsFinal(session);
    }
  }

  /** A new AES-256 key in the token: sensitive, never extractable, for encrypting and decrypting only. */
  generateKey(label: string): Handle {
    const { pkcs11, module, session } = this;
    return module.C_GenerateKey(session, { mechanism: pkcs11.CKM_AES_KEY_GEN }, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
      { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
      { type: pkcs11.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11.CKA_LABEL, value: label },
      { type: pkcs11.CKA_ID, value: randomBytes(16) },
      { type: pkcs11.CKA_TOKEN, value: true },
      { type: pkcs11.CKA_PRIVATE, value: true },
      { type: pkcs11.CKA_SENSITIVE, value: true },
      { type: pkcs11.CKA_EXTRACTABLE, value: false },
      { type: pkcs11.CKA_ENCRYPT, value: true },
      { type: pkcs11.CKA_DECRYPT, value: true },
      { type: pkcs11.CKA_WRAP, value: false },
      { type: pkcs11.CKA_UNWRAP, value: false },
      { type: pkcs11.CKA_SIGN, value: false },
      { type: pkcs11.CKA_VERIFY, value: false },
      { type: pkcs11.CKA_DERIVE, value: false },
    ]);
  }

  /** The key's protection as the token reports it. */
  protection(key: Handle): KeyProtection {
    const { pkcs11, module, session } = this;
    const [sensitive, extractable, neverExtractable] = module.C_GetAttributeValue(session, key, [
      { type: pkcs11.CKA_SENSITIVE },
      { type: pkcs11.CKA_EXTRACTABLE },
      { type: pkcs11.CKA_NEVER_EXTRACTABLE },
    ]);
    const flag = (attribute: Pkcs11js.Attribute | undefined): boolean => Buffer.isBuffer(attribute?.value) && attribute.value[0] === 1;
    return { sensitive: flag(sensitive), extractable: flag(extractable), neverExtractable: flag(neverExtractable) };
  }

  close(): void {
    try {
      this.module.C_CloseSession(this.session);
      this.module.C_Finalize();
    } catch {
      // Closing at exit: nothing to do about a module that will not.
    }
  }
}

export interface KeyProtection {
  sensitive: boolean;
  extractable: boolean;
  neverExtractable: boolean;
}

async function readPin(config: Pkcs11Config): Promise<string> {
  if (config.pin !== null) return config.pin;
  const path = config.pinFile ?? '';
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new Pkcs11Refusal(`ONGGI_PKCS11_PIN_FILE names ${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** The slot of the configured token (by label or slot ID); refused, with the tokens present, when absent. */
function findSlot(module: Pkcs11js.PKCS11, config: Pkcs11Config): { slot: Handle; token: string } {
  const present = module.C_GetSlotList(true).map((slot) => ({ slot, id: slotId(slot), label: module.C_GetTokenInfo(slot).label.trim() }));
  const found = present.find((entry) => (config.tokenLabel !== null ? entry.label === config.tokenLabel : entry.id === config.slot));
  if (found) return { slot: found.slot, token: `"${found.label}" (slot ${found.id})` };
  const wanted = config.tokenLabel !== null ? `labelled "${config.tokenLabel}" (ONGGI_PKCS11_TOKEN)` : `in slot ${String(config.slot)} (ONGGI_PKCS11_SLOT)`;
  const listed = present.map((entry) => `"${entry.label}" in slot ${entry.id}`).join(', ') || 'none';
  throw new Pkcs11Refusal(`the PKCS#11 module ${config.module} has no token ${wanted}; tokens present: ${listed}`);
}

function slotId(slot: Handle): bigint {
  return slot.length >= 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUInt32LE(0));
}

/** The configured key of the token; refused when absent, ambiguous, or not kept inside the module. */
function findKey(session: TokenSession, config: Pkcs11Config): Handle {
  const keys = session.findKeys(config.keyLabel);
  const key = keys[0];
  if (!key) {
    throw new Pkcs11Refusal(
      `the PKCS#11 token ${session.token} holds no AES key labelled "${config.keyLabel}" (ONGGI_PKCS11_KEY_LABEL): create it with \`onggi admin encryption pkcs11-init\``,
    );
  }
  if (keys.length > 1) throw new Pkcs11Refusal(`the PKCS#11 token ${session.token} holds several AES keys labelled "${config.keyLabel}": keep one, or name another label`);
  const protection = session.protection(key);
  if (!protection.sensitive || protection.extractable) {
    throw new Pkcs11Refusal(`the AES key "${config.keyLabel}" of the PKCS#11 token ${session.token} can leave the module (CKA_SENSITIVE false or CKA_EXTRACTABLE true): make a new one with \`onggi admin encryption pkcs11-init\` under another label`);
  }
  return key;
}

/** Wraps data keys with the token's AES key (see the top of this file). */
export class Pkcs11KeyWrapper implements KeyWrapper {
  private readonly cache = new LruKeys(CACHED_KEYS);

  private constructor(
    private readonly session: TokenSession,
    private readonly key: Handle,
    /** For messages: the key and its token. */
    readonly description: string,
  ) {}

  /** Opens the configured token and finds its key: refused with a clear message when anything is wrong. */
  static async open(config: Pkcs11Config): Promise<Pkcs11KeyWrapper> {
    const session = await TokenSession.open(config, false);
    try {
      const key = findKey(session, config);
      return new Pkcs11KeyWrapper(session, key, `the PKCS#11 key "${config.keyLabel}" of token ${session.token}`);
    } catch (err) {
      session.close();
      throw err;
    }
  }

  wrapDataKey(dataKey: Buffer): string {
    const iv = randomBytes(IV_BYTES);
    const { module, session } = this.session;
    module.C_EncryptInit(session, this.mechanism(iv), this.key);
    const sealed = module.C_Encrypt(session, dataKey, Buffer.alloc(dataKey.length + TAG_BYTES));
    const wrapped = MODULE_WRAPPED_PREFIX + Buffer.concat([iv, sealed]).toString('base64');
    this.cache.set(wrapped, dataKey);
    return wrapped;
  }

  unwrapDataKey(wrapped: string): Buffer {
    const cached = this.cache.get(wrapped);
    if (cached) return cached;
    if (!wrapped.startsWith(MODULE_WRAPPED_PREFIX)) throw new Error('this data key is not wrapped by the PKCS#11 module (it is wrapped by a master key)');
    const raw = Buffer.from(wrapped.slice(MODULE_WRAPPED_PREFIX.length), 'base64');
    if (raw.length <= IV_BYTES + TAG_BYTES) throw new Error('a wrapped data key too short to be one');
    const { module, session } = this.session;
    module.C_DecryptInit(session, this.mechanism(raw.subarray(0, IV_BYTES)), this.key);
    let dataKey: Buffer;
    try {
      dataKey = Buffer.from(module.C_Decrypt(session, raw.subarray(IV_BYTES), Buffer.alloc(raw.length - IV_BYTES)));
    } catch (err) {
      throw new Error(`${this.description} does not open this data key (${returnCode(err)})`, { cause: err });
    }
    this.cache.set(wrapped, dataKey);
    return dataKey;
  }

  private mechanism(iv: Buffer): Pkcs11js.Mechanism {
    const { pkcs11 } = this.session;
    const parameter: Pkcs11js.GcmParams = { type: pkcs11.CK_PARAMS_AES_GCM, iv, ivBits: IV_BYTES * 8, aad: ASSOCIATED_DATA, tagBits: TAG_BYTES * 8 };
    return { mechanism: pkcs11.CKM_AES_GCM, parameter };
  }

  close(): void {
    this.session.close();
  }
}

/** `onggi admin encryption pkcs11-init`: the configured key, made in the token when absent; its protection. */
export async function initPkcs11Key(config: Pkcs11Config): Promise<{ key: string; token: string; created: boolean } & KeyProtection> {
  const session = await TokenSession.open(config, true);
  try {
    const found = session.findKeys(config.keyLabel);
    if (found.length > 1) throw new Pkcs11Refusal(`the PKCS#11 token ${session.token} holds several AES keys labelled "${config.keyLabel}"`);
    const key = found[0] ?? session.generateKey(config.keyLabel);
    return { key: config.keyLabel, token: session.token, created: found.length === 0, ...session.protection(key) };
  } finally {
    session.close();
  }
}
