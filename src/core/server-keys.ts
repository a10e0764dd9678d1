/** The server key, kept in the data directory (0600); every secret the server needs derives from it. */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class ServerKeys {
  private readonly tokenKey: Buffer;
  private readonly secretKey: Buffer;
  private readonly wrapKey: Buffer;

  private constructor(master: Buffer) {
    this.tokenKey = derive(master, 'onggi token signing');
    this.secretKey = derive(master, 'onggi secret hashing');
    this.wrapKey = derive(master, 'onggi data key wrapping');
  }

  static async load(dataDir: string): Promise<ServerKeys> {
    const path = join(dataDir, 'server.key');
    let master: Buffer;
    try {
      master = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      master = randomBytes(32);
      await writeDurably(dataDir, 'server.key', master.toString('base64') + '\n');
    }
    await chmod(path, 0o600);
    if (master.length !== 32) throw new Error(`${path} does not hold a 32-byte key`);
    return new ServerKeys(master);
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

  /** AES-256-GCM wrap of a per-object data key: iv | tag | ciphertext, base64. */
  wrapDataKey(dataKey: Buffer): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.wrapKey, iv);
    const sealed = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
  }

  unwrapDataKey(wrapped: string): Buffer {
    const raw = Buffer.from(wrapped, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.wrapKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  }
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

function derive(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
