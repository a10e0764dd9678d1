/**
 * Issue 9 items 6 and 7, and issue 8's ONGGI_MASTER_KEY_FILE: a missing key next to existing metadata stops the
 * server (never a silent new key); the key can come from a file every node reads; a data directory is private
 * (0700 / 0600) whatever the umask and whatever was there before.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { auth, putObject } from '../helpers/swift.ts';
import { admin, login, makeTempDir, onPostgres, removeDir, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const SECRET_BYTES = 'encrypted at rest, readable only with the same key';

async function encryptedBucketWithObject(session: Session, url: string): Promise<void> {
  const res = await fetch(`${url}/v1_ext/bucket`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'sealed', type: 'STANDARD', use_encryption: true }),
  });
  assert.equal(res.status, 201);
  await putObject(session, 'sealed', 'note.txt', SECRET_BYTES);
  await putObject(session, 'sealed', 'big.bin', randomBytes(200 * 1024));
}

async function readsBack(server: RunningServer): Promise<void> {
  const session = await login(server.url);
  const res = await fetch(`${session.storageUrl}/sealed/note.txt`, { headers: auth(session) });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), SECRET_BYTES);
}

const cleanup: string[] = [];
after(async () => {
  for (const dir of cleanup) await removeDir(dir);
});

async function freshDir(): Promise<string> {
  const dir = await makeTempDir();
  cleanup.push(dir);
  return dir;
}

void describe('the master key', () => {
  void test('a missing server.key next to existing metadata stops the server with a clear message; restoring it brings everything back', async () => {
    const dataDir = await freshDir();
    let server = await startServer({ dataDir });
    await encryptedBucketWithObject(await login(server.url), server.url);
    await server.stop();
    const key = await readFile(join(dataDir, 'server.key'));
    await rename(join(dataDir, 'server.key'), join(dataDir, 'server.key.saved'));

    await assert.rejects(startServer({ dataDir }), /holds Onggi metadata but not its key.*restore server\.key from a backup, or set ONGGI_MASTER_KEY_FILE/s);
    assert.deepEqual((await readdir(dataDir)).filter((name) => name === 'server.key'), [], 'no new key was made');
    await assert.rejects(admin(dataDir, 'project', 'list'), /holds Onggi metadata but not its key/);

    await writeFile(join(dataDir, 'server.key'), key);
    server = await startServer({ dataDir });
    await readsBack(server);
    await server.stop();
  });

  void test('another key than the metadata was written with stops the server and onggi admin; the right key brings everything back', async () => {
    const dataDir = await freshDir();
    let server = await startServer({ dataDir });
    await encryptedBucketWithObject(await login(server.url), server.url);
    await server.stop();
    const key = await readFile(join(dataDir, 'server.key'));
    await writeFile(join(dataDir, 'server.key'), `${randomBytes(32).toString('hex')}\n`);

    const refusal = /server\.key is not the master key that .* was written with.*must read the same key/s;
    await assert.rejects(startServer({ dataDir }), refusal);
    await assert.rejects(admin(dataDir, 'project', 'list'), refusal);

    await writeFile(join(dataDir, 'server.key'), key);
    server = await startServer({ dataDir });
    await readsBack(server);
    await server.stop();
  });

  void test('a new data directory gets a 0600 server.key of 64 hex characters, usable as ONGGI_MASTER_KEY_FILE', async () => {
    const dataDir = await freshDir();
    let server = await startServer({ dataDir });
    await encryptedBucketWithObject(await login(server.url), server.url);
    await server.stop();
    const keyText = await readFile(join(dataDir, 'server.key'), 'utf8');
    assert.match(keyText, /^[0-9a-f]{64}\n$/);
    assert.equal((await stat(join(dataDir, 'server.key'))).mode & 0o777, 0o600);

    const keyDir = await freshDir();
    const keyFile = join(keyDir, 'master.key');
    await rename(join(dataDir, 'server.key'), keyFile);
    server = await startServer({ dataDir, env: { ONGGI_MASTER_KEY_FILE: keyFile } });
    await readsBack(server);
    await server.stop();
    assert.ok(!(await readdir(dataDir)).includes('server.key'), 'with ONGGI_MASTER_KEY_FILE, no server.key is written');
  });

  void test('ONGGI_MASTER_KEY_FILE on a new data directory: the key is read, never generated; a bad or missing file stops the server', async () => {
    const keyDir = await freshDir();
    const keyFile = join(keyDir, 'master.key');
    await writeFile(keyFile, `${randomBytes(32).toString('hex').toUpperCase()}\n`);
    const dataDir = await freshDir();
    const server = await startServer({ dataDir, env: { ONGGI_MASTER_KEY_FILE: keyFile } });
    await encryptedBucketWithObject(await login(server.url), server.url);
    await server.stop();
    assert.ok(!(await readdir(dataDir)).includes('server.key'));

    const again = await startServer({ dataDir, env: { ONGGI_MASTER_KEY_FILE: keyFile } });
    await readsBack(again);
    await again.stop();

    await writeFile(join(keyDir, 'short.key'), 'abc123\n');
    await assert.rejects(startServer({ dataDir: await freshDir(), env: { ONGGI_MASTER_KEY_FILE: join(keyDir, 'short.key') } }), /does not hold a master key: expected 64 hexadecimal characters/);
    await assert.rejects(startServer({ dataDir: await freshDir(), env: { ONGGI_MASTER_KEY_FILE: join(keyDir, 'absent.key') } }), /ONGGI_MASTER_KEY_FILE names .*absent\.key, which cannot be read \(ENOENT\)/);
  });

  void test("a server.key in today's base64 form keeps working", async () => {
    const dataDir = await freshDir();
    const legacy = `${randomBytes(32).toString('base64')}\n`;
    await writeFile(join(dataDir, 'server.key'), legacy, { mode: 0o600 });
    let server = await startServer({ dataDir });
    await encryptedBucketWithObject(await login(server.url), server.url);
    await server.stop();
    server = await startServer({ dataDir });
    await readsBack(server);
    await server.stop();
    assert.equal(await readFile(join(dataDir, 'server.key'), 'utf8'), legacy, 'the key is left as it was');
  });
});

/** Every file and directory under `dir` with a mode other than 0600 (files) or 0700 (directories). */
async function notPrivate(dir: string): Promise<string[]> {
  const wrong: string[] = [];
  const visit = async (path: string): Promise<void> => {
    const info = await stat(path);
    const mode = info.mode & 0o777;
    if (info.isDirectory()) {
      if (mode !== 0o700) wrong.push(`${path} ${mode.toString(8)}`);
      for (const name of await readdir(path)) await visit(join(path, name));
    } else if (mode !== 0o600) wrong.push(`${path} ${mode.toString(8)}`);
  };
  await visit(dir);
  return wrong;
}

async function loosen(dir: string): Promise<void> {
  const info = await stat(dir);
  await chmod(dir, info.isDirectory() ? 0o777 : 0o666);
  if (info.isDirectory()) for (const name of await readdir(dir)) await loosen(join(dir, name));
}

void describe('a private data directory', () => {
  void test('under umask 000, in a directory that already existed 0777, everything is 0700 / 0600 — and is again after a restore with loose modes', async () => {
    const dataDir = await freshDir();
    await chmod(dataDir, 0o777);
    const previous = process.umask(0);
    let server: RunningServer;
    try {
      server = await startServer({ dataDir });
    } finally {
      process.umask(previous);
    }
    const session = await login(server.url);
    await encryptedBucketWithObject(session, server.url);
    await putObject(session, 'sealed', 'more.bin', randomBytes(300 * 1024));
    // With PostgreSQL the data directory keeps the key, the blobs and their temp files, but no metadata files.
    if (!onPostgres) assert.ok((await readdir(join(dataDir))).includes('meta.sqlite-wal'), 'the WAL exists while the server runs');
    assert.deepEqual(await notPrivate(dataDir), []);
    await server.stop();

    // A restore (or an older version) left everything readable by all.
    await loosen(dataDir);
    server = await startServer({ dataDir });
    await readsBack(server);
    assert.deepEqual(await notPrivate(dataDir), []);
    await server.stop();
  });
});
