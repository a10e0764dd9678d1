/**
 * `onggi admin encryption rotate` installs a new master key (issue 20): every data key wrapped again, bodies
 * untouched; afterwards every object reads under the new key (from `server.key`, or ONGGI_MASTER_KEY), access
 * keys and S3 key pairs still work, a second run finds nothing left, and the old master key alone opens nothing:
 * the server refuses it, and it unwraps no data key and unseals no S3 secret of the metadata.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ServerKeys } from '../../src/core/server-keys.ts';
import { checkReads, createEncryptedBucket, filesUnder, secretsOf, writeSample } from '../helpers/encryption.ts';
import { printedS3Keys, s3Client } from '../helpers/s3.ts';
import { admin, login, makeTempDir, removeDir, startServer } from '../helpers/server.ts';

const BUCKET = 'rotated';

const opens = (open: () => unknown): boolean => {
  try {
    open();
    return true;
  } catch {
    return false;
  }
};

test('rotate: every object reads under the new key, credentials work, the old key alone opens nothing', async () => {
  const first = await startServer({ env: { ONGGI_TEST_MIN_PART_SIZE: '1' } });
  const { dataDir } = first;
  const keyDir = await makeTempDir('onggi-keys-');
  try {
    const session = await login(first.url);
    await createEncryptedBucket(first.url, session, BUCKET);
    const written = await writeSample(first, session, BUCKET);
    const s3Keys = printedS3Keys(first);
    await first.stop();

    const oldKeyFile = join(keyDir, 'old.key');
    await writeFile(oldKeyFile, await readFile(join(dataDir, 'server.key')));
    const newKey = randomBytes(32).toString('hex');
    const newKeyFile = join(keyDir, 'new.key');
    await writeFile(newKeyFile, newKey + '\n', { mode: 0o600 });
    const before = await secretsOf(dataDir);
    const bodies = await Promise.all((await filesUnder(join(dataDir, 'blobs'))).map((file) => readFile(file)));

    const report = (await admin(dataDir, 'encryption', 'rotate', '--new-key-file', newKeyFile)) as { rows: number; credentials: number };
    // 9 Swift and 2 S3 single objects, 2 SLO segments; the multipart object's 3 parts and its part index row.
    assert.deepEqual({ rows: report.rows, credentials: report.credentials }, { rows: 17, credentials: 1 });
    assert.equal((await readFile(join(dataDir, 'server.key'), 'utf8')).trim(), newKey);
    const again = (await admin(dataDir, 'encryption', 'rotate', '--new-key-file', newKeyFile)) as { rows: number; credentials: number };
    assert.deepEqual({ rows: again.rows, credentials: again.credentials }, { rows: 0, credentials: 0 });
    // The bodies were not rewritten.
    assert.deepEqual(await Promise.all((await filesUnder(join(dataDir, 'blobs'))).map((file) => readFile(file))), bodies);

    for (const env of [{}, { ONGGI_MASTER_KEY: newKey }] as Record<string, string>[]) {
      const server = await startServer({ dataDir, env });
      try {
        await checkReads(await login(server.url), written);
        const s3 = s3Client(server, s3Keys);
        const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 's3-150000' }));
        assert.equal(Buffer.from(await got.Body?.transformToByteArray() ?? []).length, 150_000);
        s3.destroy();
      } finally {
        await server.stop();
      }
    }

    const oldKeys = await ServerKeys.fromFile(oldKeyFile, 'the old key');
    const newKeys = await ServerKeys.fromFile(newKeyFile, 'the new key');
    const after = await secretsOf(dataDir);
    assert.equal(after.wrapped.length, before.wrapped.length);
    assert.ok(after.wrapped.length >= 17 && after.sealed.length >= 1);
    assert.ok(before.wrapped.every((wrapped) => opens(() => oldKeys.unwrapDataKey(wrapped))), 'the old key opened them before');
    assert.ok(after.wrapped.every((wrapped) => !opens(() => oldKeys.unwrapDataKey(wrapped))), 'the old key opens no data key');
    assert.ok(after.wrapped.every((wrapped) => opens(() => newKeys.unwrapDataKey(wrapped))), 'the new key opens every one');
    assert.ok(after.sealed.every((sealed) => !oldKeys.canOpenSecret(sealed)), 'the old key opens no S3 secret');
    await assert.rejects(startServer({ dataDir, env: { ONGGI_MASTER_KEY_FILE: oldKeyFile } }), /not the master key/);
  } finally {
    await removeDir(keyDir);
    await removeDir(dataDir);
  }
});
