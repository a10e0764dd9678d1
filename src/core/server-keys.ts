/**
 * The master key, from which every secret the server needs derives. It comes from ONGGI_MASTER_KEY_FILE (which
 * every node of a cluster reads), or ONGGI_MASTER_KEY (the key itself, from a secret store's environment), or else
 * from `server.key` in the data directory (0600, beside the metadata, never in the blob tree), generated there on
 * the first start of a single node. All hold 64 hex characters, as `openssl rand -hex 32` makes them; a
 * `server.key` written by earlier versions (base64) is still read.
 *
 * Data keys are wrapped through the key-wrapping seam (key-wrapping.ts), by default under a key derived from the
 * master key. After `onggi admin encryption rotate` the keys that sign tokens, hash access key secrets and seal S3
 * secrets are no longer derived from the master key: they are kept sealed under it in the metadata (`adoptAuthKeys`),
 * so that the rotation installs a new master key without invalidating credentials.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Refusal } from '../lib/refusal.ts';
import { MODULE_WRAPPED_PREFIX, type KeyWrapper } from './key-wrapping.ts';

export interface MasterKeyOptions {
  /** ONGGI_MASTER_KEY_FILE; null or absent: ONGGI_MASTER_KEY, else `server.key` in the data directory. */
  masterKeyFile?: string | null;
  /** ONGGI_MASTER_KEY: the key itself (64 hex characters). */
  masterKey?: string | null;
  /** Whether the metadata store already holds metadata: then a missing `server.key` is never regenerated. */
  metadataExists?: boolean;
  /** Where that metadata is, for messages (default: the data directory). */
  metadataIn?: string;
}

/** The server cannot start as configured; the message says what to do. */
export class MasterKeyError extends Refusal {}

/** The keys of credentials (token signing, secret hashing, S3 secret sealing), when kept apart from the master key. */
interface AuthKeys {
  token: Buffer;
  secret: Buffer;
  seal: Buffer;
}

/** Where the default key lives: the data directory, outside its blob tree. */
export function defaultKeyPath(dataDir: string): string {
  return join(dataDir, 'server.key');
}

export class ServerKeys implements KeyWrapper {
  private tokenKey: Buffer;
  private secretKey: Buffer;
  private sealKey: Buffer;
  private readonly authSealKey: Buffer;
  /** What wraps data keys: the master key's wrapping key, unless a hardware module is put in its place. */
  private wrapper: KeyWrapper;
  /** A one-way check value of the master key (it reveals nothing of the key or the keys derived from it). */
  readonly checkValue: string;

  private constructor(
    master: Buffer,
    /** Where the key came from, for messages: `ONGGI_MASTER_KEY_FILE (path)` or the path of `server.key`. */
    readonly source: string,
    /** With a hardware module: the master key as the module wrapped it (kept in the metadata); else null. */
    readonly moduleMaster: string | null = null,
  ) {
    this.tokenKey = derive(master, 'onggi token signing');
    this.secretKey = derive(master, 'onggi secret hashing');
    this.sealKey = derive(master, 'onggi credential secret sealing');
    this.authSealKey = derive(master, 'onggi credential key sealing');
    this.wrapper = new MasterKeyWrapper(derive(master, 'onggi data key wrapping'));
    this.checkValue = derive(master, 'onggi master key check').toString('hex');
  }

  /**
   * A master key kept wrapped by a hardware module (`moduleMaster`, from the metadata; or a new one, wrapped now):
   * it derives the credential keys as a file's key would, while the module itself wraps every data key.
   */
  static inModule(module: KeyWrapper & { description: string }, moduleMaster: string | null): ServerKeys {
    const master = moduleMaster === null ? randomBytes(32) : module.unwrapDataKey(moduleMaster);
    const keys = new ServerKeys(master, module.description, moduleMaster ?? module.wrapDataKey(master));
    keys.wrapDataKeysWith(module);
    return keys;
  }

  /** The key of a file of 64 hex characters (a new master key, for a rotation). */
  static async fromFile(path: string, setting: string): Promise<ServerKeys> {
    return new ServerKeys(await readKeyFile(path, setting), `${setting} (${path})`);
  }

  static async load(dataDir: string, options: MasterKeyOptions = {}): Promise<ServerKeys> {
    const file = options.masterKeyFile;
    if (file) return ServerKeys.fromFile(file, 'ONGGI_MASTER_KEY_FILE');
    if (options.masterKey) return new ServerKeys(parseKey(options.masterKey, 'ONGGI_MASTER_KEY'), 'ONGGI_MASTER_KEY');
    const path = defaultKeyPath(dataDir);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (options.metadataExists) {
        throw new MasterKeyError(
          `${options.metadataIn ?? dataDir} holds Onggi metadata but not its key, ${path}. Every access key and every encrypted object ` +
            'depends on that key, so a new one will not be made: restore server.key from a backup, or set ONGGI_MASTER_KEY_FILE to the key.',
        );
      }
      const master = randomBytes(32);
      await writeDurably(dataDir, 'server.key', master.toString('hex') + '\n');
      return new ServerKeys(master, `${path} (generated now)`);
    }
    await chmod(path, 0o600);
    return new ServerKeys(parseKey(text, path), path);
  }

  signToken(payload: string): string {
    return createHmac('sha256', this.tokenKey).update(payload).digest('base64url');
  }

  verifyTokenSignature(payload: string, signature: string): boolean {
    return safeEqual(this.signToken(payload), signature);
  }

  hashSecret(secret: string): string {
    return createHmac('sha256', this.secretKey).update(secret).digest('hex');
  }

  verifySecret(secret: string, hash: string): boolean {
    return safeEqual(this.hashSecret(secret), hash);
  }

  /** A per-object data key, wrapped for its version row. */
  wrapDataKey(dataKey: Buffer): string {
    return this.wrapper.wrapDataKey(dataKey);
  }

  unwrapDataKey(wrapped: string): Buffer {
    return this.wrapper.unwrapDataKey(wrapped);
  }

  /** Puts another wrapper (a hardware module) in the master key's place for data keys. */
  wrapDataKeysWith(wrapper: KeyWrapper): void {
    this.wrapper = wrapper;
  }

  /**
   * The credential keys to go on using under the next master key of a rotation, sealed under that key: fresh
   * token and S3-secret-sealing keys (so the old master key signs and opens nothing any more), the same secret
   * hashing key (hashes cannot be redone without the secrets). `next` seals them.
   */
  authKeysFor(next: ServerKeys): string {
    const keys = { token: randomBytes(32).toString('base64'), secret: this.secretKey.toString('base64'), seal: randomBytes(32).toString('base64') };
    return sealGcm(next.authSealKey, Buffer.from(JSON.stringify(keys)));
  }

  /** Takes on the credential keys a rotation left sealed under this master key (see authKeysFor). */
  adoptAuthKeys(sealed: string): void {
    const keys = openAuthKeys(this.authSealKey, sealed);
    this.tokenKey = keys.token;
    this.secretKey = keys.secret;
    this.sealKey = keys.seal;
  }

  /** The S3-secret sealing of `sealed` (AES-256-GCM), or null when it is not this key's. */
  canOpenSecret(sealed: string): boolean {
    try {
      openGcm(this.sealKey, sealed);
      return true;
    } catch {
      return false;
    }
  }

  /** A secret the server must recover later (an S3 secret key, to check signatures): AES-256-GCM, base64. */
  sealSecret(secret: string): string {
    return sealGcm(this.sealKey, Buffer.from(secret, 'utf8'));
  }

  openSecret(sealed: string): string {
    return openGcm(this.sealKey, sealed).toString('utf8');
  }
}

/** Data keys wrapped with AES-256-GCM under a key derived from the master key: iv | tag | ciphertext, base64. */
class MasterKeyWrapper implements KeyWrapper {
  constructor(private readonly wrapKey: Buffer) {}

  wrapDataKey(dataKey: Buffer): string {
    return sealGcm(this.wrapKey, dataKey);
  }

  unwrapDataKey(wrapped: string): Buffer {
    if (wrapped.startsWith(MODULE_WRAPPED_PREFIX)) throw new MasterKeyError('this data key is wrapped by a hardware module (PKCS#11): configure ONGGI_PKCS11_MODULE to read it');
    return openGcm(this.wrapKey, wrapped);
  }
}

function openAuthKeys(key: Buffer, sealed: string): AuthKeys {
  const parsed = JSON.parse(openGcm(key, sealed).toString('utf8')) as Record<keyof AuthKeys, string>;
  return { token: Buffer.from(parsed.token, 'base64'), secret: Buffer.from(parsed.secret, 'base64'), seal: Buffer.from(parsed.seal, 'base64') };
}

async function readKeyFile(path: string, setting: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MasterKeyError(`${setting} names ${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseKey(text, path);
}

/** 64 hex characters (`openssl rand -hex 32`), or the base64 of 32 bytes that earlier versions wrote. */
function parseKey(text: string, path: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const legacy = /^[A-Za-z0-9+/]{43}=$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  if (legacy?.length === 32) return legacy;
  throw new MasterKeyError(`${path} does not hold a master key: expected 64 hexadecimal characters, as \`openssl rand -hex 32\` prints them`);
}

/** Writes a master key into `server.key` of `dir` (a rotation's new key), durably. */
export async function writeDefaultKey(dir: string, hex: string): Promise<void> {
  await writeDurably(dir, 'server.key', hex.trim() + '\n');
}

/** Temp file, fsync, rename, fsync the directory: the key is either wholly there or not at all. */
async function writeDurably(dir: string, name: string, content: string): Promise<void> {
  const temp = join(dir, `${name}.tmp`);
  await writeFile(temp, content, { mode: 0o600, flush: true });
  await rename(temp, join(dir, name));
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** iv | tag | ciphertext, base64. */
export function sealGcm(key: Buffer, plain: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

export function openGcm(key: Buffer, text: string): Buffer {
  const raw = Buffer.from(text, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}

function derive(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
