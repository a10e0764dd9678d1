/**
 * Data keys wrapped by a hardware module through PKCS#11 (issue 20), with Debian's SoftHSM2 as the module: a server
 * with no key file writes and reads an encrypted bucket through Swift and S3, across a restart, and nothing of its
 * data directory (or metadata) opens the objects without the token; a wrong PIN, token or key label refuses the
 * start; the key in the token is sensitive and not extractable; `onggi admin encryption rotate` moves a key file's
 * data into the module and back out, the old key alone opening nothing after either.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ServerKeys } from '../../src/core/server-keys.ts';
import { assertNoPlaintext, checkReads, createEncryptedBucket, secretsOf, writeSample } from '../helpers/encryption.ts';
import { keyAttributes, softhsmMissing, softToken, type SoftToken } from '../helpers/pkcs11.ts';
import { printedS3Keys, s3Client } from '../helpers/s3.ts';
import { runAdminWithEnv, login, makeTempDir, removeDir, startServer, type RunningServer } from '../helpers/server.ts';

const BUCKET = 'in-module';
const SMALL_PARTS = { ONGGI_TEST_MIN_PART_SIZE: '1' };

/** `onggi admin … --json` that must succeed: its output. */
async function adminOk(dataDir: string, env: Record<string, string>, ...args: string[]): Promise<Record<string, unknown>> {
  const run = await runAdminWithEnv(dataDir, env, ...args);
  assert.equal(run.code, 0, `onggi admin ${args.join(' ')}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** A token with its key made by `onggi admin encryption pkcs11-init`. */
async function tokenWithKey(dataDir: string, label?: string): Promise<SoftToken> {
  const token = await softToken(label);
  const made = await adminOk(dataDir, token.env, 'encryption', 'pkcs11-init');
  assert.equal(made.created, true);
  return token;
}

/** A fresh data directory and a token holding the key, removed after `body`. */
async function withKeyInToken(body: (dataDir: string, token: SoftToken) => Promise<void>): Promise<void> {
  const dataDir = await makeTempDir();
  const token = await tokenWithKey(dataDir);
  try {
    await body(dataDir, token);
  } finally {
    await token.remove();
    await removeDir(dataDir);
  }
}

/** A start that must be refused: exit code 1 and `message` on stderr. */
async function assertRefused(dataDir: string, env: Record<string, string>, message: RegExp): Promise<void> {
  await assert.rejects(startServer({ dataDir, env }), (err: Error) => {
    assert.match(err.message, /exited during start-up \(exit code 1\)/);
    assert.match(err.message, message);
    return true;
  });
}

/** The S3 object of the sample reads through the SDK with the key pair the first server printed. */
async function checkS3Read(server: RunningServer, keys: ReturnType<typeof printedS3Keys>): Promise<void> {
  const s3 = s3Client(server, keys);
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 's3-150000' }));
    assert.equal(Buffer.from((await got.Body?.transformToByteArray()) ?? []).length, 150_000);
  } finally {
    s3.destroy();
  }
}

const opens = (open: () => unknown): boolean => {
  try {
    open();
    return true;
  } catch {
    return false;
  }
};

describe('PKCS#11 (SoftHSM2)', { skip: softhsmMissing }, () => {
  test('a server whose key is in the module: Swift and S3 objects read whole and at ranges, after a restart too; nothing on disk opens them', async () => {
    const dataDir = await makeTempDir();
    const token = await tokenWithKey(dataDir);
    const other = await softToken('onggi-other');
    try {
      const first = await startServer({ dataDir, env: { ...token.env, ...SMALL_PARTS } });
      const session = await login(first.url);
      await createEncryptedBucket(first.url, session, BUCKET);
      const written = await writeSample(first, session, BUCKET);
      await checkReads(session, written);
      const s3Keys = printedS3Keys(first);
      await first.stop();

      const again = await startServer({ dataDir, env: token.env });
      try {
        await checkReads(await login(again.url), written);
        await checkS3Read(again, s3Keys);
      } finally {
        await again.stop();
      }

      await assertNoPlaintext(dataDir, written);
      await assert.rejects(access(join(dataDir, 'server.key')), 'no key file in the data directory');
      const { wrapped } = await secretsOf(dataDir);
      assert.ok(wrapped.length >= 17 && wrapped.every((key) => key.startsWith('p11:')), 'every data key is wrapped by the module');
      // Without the module, or with another token whose key has the same label, the server does not start.
      await assertRefused(dataDir, {}, /kept by a hardware module \(PKCS#11\): start with ONGGI_PKCS11_MODULE/);
      await assertRefused(dataDir, { ONGGI_MASTER_KEY: randomBytes(32).toString('hex') }, /kept by a hardware module/);
      await adminOk(dataDir, other.env, 'encryption', 'pkcs11-init');
      await assertRefused(dataDir, other.env, /does not open the master key that .* was written with/);
    } finally {
      await token.remove();
      await other.remove();
      await removeDir(dataDir);
    }
  });

  test('a wrong PIN, token, key label, module or PIN file refuses the start with a message naming it', () =>
    withKeyInToken(async (dataDir, token) => {
      const withPin = Object.fromEntries(Object.entries(token.env).filter(([name]) => name !== 'ONGGI_PKCS11_PIN_FILE'));
      await assertRefused(dataDir, { ...withPin, ONGGI_PKCS11_PIN: '0000-wrong' }, /token "onggi-test" \(slot \d+\) refused the PIN \(CKR_PIN_INCORRECT\)/);
      await assertRefused(dataDir, { ...token.env, ONGGI_PKCS11_TOKEN: 'no-such-token' }, /has no token labelled "no-such-token" \(ONGGI_PKCS11_TOKEN\); tokens present: "onggi-test" in slot/);
      await assertRefused(dataDir, { ...token.env, ONGGI_PKCS11_KEY_LABEL: 'no-such-key' }, /holds no AES key labelled "no-such-key" \(ONGGI_PKCS11_KEY_LABEL\): create it with `onggi admin encryption pkcs11-init`/);
      await assertRefused(dataDir, { ...token.env, ONGGI_PKCS11_MODULE: '/nonexistent/libpkcs11.so' }, /ONGGI_PKCS11_MODULE: cannot load the PKCS#11 module \/nonexistent\/libpkcs11.so/);
      await assertRefused(dataDir, { ...token.env, ONGGI_PKCS11_PIN_FILE: join(token.dir, 'absent') }, /ONGGI_PKCS11_PIN_FILE names .*absent, which cannot be read \(ENOENT\)/);
      // Configured right, it starts.
      await (await startServer({ dataDir, env: token.env })).stop();
    }));

  test('the key in the token is sensitive and not extractable: its value cannot be read', () =>
    withKeyInToken(async (dataDir, token) => {
      const again = await adminOk(dataDir, token.env, 'encryption', 'pkcs11-init');
      assert.deepEqual({ created: again.created, sensitive: again.sensitive, extractable: again.extractable }, { created: false, sensitive: true, extractable: false });
      const attributes = keyAttributes(token);
      assert.equal(attributes.sensitive, true, 'CKA_SENSITIVE');
      assert.equal(attributes.extractable, false, 'CKA_EXTRACTABLE');
      assert.match(attributes.valueRead, /CKR_ATTRIBUTE_SENSITIVE/);
    }));

  test('rotate from the key file into the module and back: every object reads, the old key alone opens nothing', async () => {
    const first = await startServer({ env: SMALL_PARTS });
    const { dataDir } = first;
    const keyDir = await makeTempDir('onggi-keys-');
    const token = await tokenWithKey(dataDir);
    try {
      const session = await login(first.url);
      await createEncryptedBucket(first.url, session, BUCKET);
      const written = await writeSample(first, session, BUCKET);
      const s3Keys = printedS3Keys(first);
      await first.stop();
      const oldKeyFile = join(keyDir, 'old.key');
      await writeFile(oldKeyFile, await readFile(join(dataDir, 'server.key')));

      // Into the module: server.key is the current key (no ONGGI_MASTER_KEY_FILE), the module the new one.
      const into = await adminOk(dataDir, token.env, 'encryption', 'rotate', '--to-pkcs11');
      // 9 Swift and 2 S3 single objects, 2 SLO segments; the multipart object's 3 parts and its part index row.
      assert.deepEqual({ rows: into.rows, credentials: into.credentials }, { rows: 17, credentials: 1 });
      await assert.rejects(access(join(dataDir, 'server.key')), 'server.key removed');
      const second = await adminOk(dataDir, token.env, 'encryption', 'rotate', '--to-pkcs11');
      assert.deepEqual({ rows: second.rows, credentials: second.credentials }, { rows: 0, credentials: 0 });

      const inModule = await startServer({ dataDir, env: token.env });
      try {
        await checkReads(await login(inModule.url), written);
        await checkS3Read(inModule, s3Keys);
      } finally {
        await inModule.stop();
      }
      const oldKeys = await ServerKeys.fromFile(oldKeyFile, 'the old key');
      const moved = await secretsOf(dataDir);
      assert.ok(moved.wrapped.length >= 17 && moved.wrapped.every((wrapped) => wrapped.startsWith('p11:') && !opens(() => oldKeys.unwrapDataKey(wrapped))), 'the old key opens no data key');
      assert.ok(moved.sealed.length >= 1 && moved.sealed.every((sealed) => !oldKeys.canOpenSecret(sealed)), 'the old key opens no S3 secret');
      await assertRefused(dataDir, { ONGGI_MASTER_KEY_FILE: oldKeyFile }, /kept by a hardware module/);

      // And back out into a new key file (written to server.key, as no ONGGI_MASTER_KEY_FILE is set).
      const newKey = randomBytes(32).toString('hex');
      const newKeyFile = join(keyDir, 'new.key');
      await writeFile(newKeyFile, newKey + '\n', { mode: 0o600 });
      const out = await adminOk(dataDir, token.env, 'encryption', 'rotate', '--new-key-file', newKeyFile);
      assert.deepEqual({ rows: out.rows, credentials: out.credentials }, { rows: 17, credentials: 1 });
      assert.match(String(out.key), /now holds the new key: start every node without ONGGI_PKCS11_MODULE/);
      assert.equal((await readFile(join(dataDir, 'server.key'), 'utf8')).trim(), newKey);
      const outAgain = await adminOk(dataDir, token.env, 'encryption', 'rotate', '--new-key-file', newKeyFile);
      assert.deepEqual({ rows: outAgain.rows, credentials: outAgain.credentials }, { rows: 0, credentials: 0 });

      const onFile = await startServer({ dataDir, env: {} });
      try {
        await checkReads(await login(onFile.url), written);
        await checkS3Read(onFile, s3Keys);
      } finally {
        await onFile.stop();
      }
      const newKeys = await ServerKeys.fromFile(newKeyFile, 'the new key');
      const back = await secretsOf(dataDir);
      assert.ok(back.wrapped.every((wrapped) => !wrapped.startsWith('p11:') && opens(() => newKeys.unwrapDataKey(wrapped))), 'the new key file opens every data key');
      await assertRefused(dataDir, token.env, /written with a master key outside the PKCS#11 module/);
      await assertRefused(dataDir, { ONGGI_MASTER_KEY_FILE: oldKeyFile }, /not the master key/);
    } finally {
      await token.remove();
      await removeDir(keyDir);
      await removeDir(dataDir);
    }
  });
});
