/**
 * Issue 9's faults, on real file systems the test mounts (as root): a full disk (a small tmpfs), a data
 * directory made read-only (a read-only bind mount over it) and one that disappears (renamed away) while the
 * server runs. Writes answer 507 / 503 with nothing half-written left visible, reads go on where they can, the
 * process neither dies nor floods its log, and everything works again once the disk or directory is back.
 * The same for a PostgreSQL metadata database that goes away (its connections terminated, then refused) or whose
 * disk is full (a tablespace on a small tmpfs).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { clusterQuery, createDatabase, createTablespace, databaseName, dropDatabaseAndTablespace, startPgCluster, stopPrivateCluster } from '../helpers/postgres.ts';
import { auth, createContainer, putObject } from '../helpers/swift.ts';
import { login, makeTempDir, removeDir, startServer, type RunningServer, type Session } from '../helpers/server.ts';

function run(command: string, ...args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

/** Mounts a tmpfs of `size` at a new directory; null (and the test skipped, saying why) where that is not allowed. */
async function mountTmpfs(t: TestContext, size: string): Promise<string | null> {
  const dir = await makeTempDir('onggi-fault-');
  const mounted = run('mount', '-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir);
  if (!mounted.ok) {
    await removeDir(dir);
    t.skip(`cannot mount a tmpfs here (the fault tests need root with CAP_SYS_ADMIN): ${mounted.output}`);
    return null;
  }
  return dir;
}

async function unmount(dir: string): Promise<void> {
  run('umount', '-l', dir);
  await removeDir(dir);
}

/** Writes a file until the file system is full; returns its path. */
async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(256 * 1024, 1);
  try {
    for (;;) await handle.write(chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await handle.close();
  }
  return path;
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * A large upload refused with 503. The server answers before reading the body and closes: a client still sending
 * may then see the connection reset instead of the answer, which is a refusal all the same (the listing checks
 * that nothing was stored).
 */
async function refusedPut(session: Session, key: string, body: Buffer): Promise<boolean> {
  try {
    return (await put(session, key, body)) === 503;
  } catch {
    return true;
  }
}

async function put(session: Session, key: string, body: Buffer, chunked = false): Promise<number> {
  const res = await fetch(`${session.storageUrl}/faults/${key}`, {
    method: 'PUT',
    headers: auth(session),
    body: chunked ? new Blob([body]).stream() : body,
    ...(chunked ? { duplex: 'half' } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

async function read(session: Session, key: string): Promise<{ status: number; md5: string }> {
  const res = await fetch(`${session.storageUrl}/faults/${key}`, { headers: auth(session) });
  return { status: res.status, md5: md5(Buffer.from(await res.arrayBuffer())) };
}

async function listNames(session: Session): Promise<string[]> {
  const res = await fetch(`${session.storageUrl}/faults?format=json`, { headers: auth(session) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { name: string }[]).map((e) => e.name);
}

async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Log lines at error level or above that are not the data-directory watcher's own reports. */
function unexpectedErrors(server: RunningServer): string[] {
  return server
    .errors()
    .split('\n')
    .filter((line) => /"level":(50|60)/.test(line) && !/data directory/.test(line));
}

/** Seeds two objects (one inline in the metadata, one blob) and returns their checksums. */
async function seed(session: Session): Promise<Map<string, string>> {
  await createContainer(session, 'faults');
  const seeded = new Map<string, string>();
  for (const [key, body] of [
    ['small', randomBytes(2000)],
    ['large', randomBytes(3 * 1024 * 1024)],
  ] as const) {
    await putObject(session, 'faults', key, body);
    seeded.set(key, md5(body));
  }
  return seeded;
}

async function assertReadable(session: Session, seeded: Map<string, string>): Promise<void> {
  for (const [key, sum] of seeded) assert.deepEqual(await read(session, key), { status: 200, md5: sum }, key);
}

void describe('a full disk', () => {
  void test('writes answer 507 and leave nothing behind; reads go on; writes work again once space returns', { timeout: 120_000 }, async (t) => {
    const mount = await mountTmpfs(t, '48m');
    if (!mount) return;
    const dataDir = join(mount, 'data');
    await mkdir(dataDir);
    const server = await startServer({ dataDir });
    try {
      let session = await login(server.url);
      const seeded = await seed(session);
      const filler = await fillDisk(mount);

      const statuses: Record<string, number> = {};
      statuses.blob = await put(session, 'full-blob', randomBytes(4 * 1024 * 1024));
      statuses.chunked = await put(session, 'full-chunked', randomBytes(2 * 1024 * 1024), true);
      assert.equal(statuses.blob, 507);
      assert.equal(statuses.chunked, 507);
      // Small objects live in the metadata store: they may still fit in pages the database already has.
      for (let i = 0; i < 40; i++) {
        const status = await put(session, `full-small-${i}`, randomBytes(60 * 1024));
        assert.ok(status === 201 || status === 507, `a small write on a full disk answered ${status}`);
        statuses[`small-${i}`] = status;
      }
      assert.ok(Object.values(statuses).filter((s) => s === 507).length >= 2);

      // Nothing half-written is visible: exactly the seeded objects and the small writes that were acknowledged.
      const acknowledged = Object.entries(statuses).filter(([, s]) => s === 201).map(([k]) => `full-${k}`);
      assert.deepEqual((await listNames(session)).sort(), [...seeded.keys(), ...acknowledged].sort());
      assert.equal((await read(session, 'full-blob')).status, 404);
      await pollUntil('temp files of failed uploads to go', async () => (await readdir(join(dataDir, 'tmp'))).length === 0);

      // Reads (and logins) go on.
      session = await login(server.url);
      await assertReadable(session, seeded);

      await rm(filler);
      const body = randomBytes(4 * 1024 * 1024);
      assert.equal(await put(session, 'after-full', body), 201);
      assert.deepEqual(await read(session, 'after-full'), { status: 200, md5: md5(body) });
      assert.equal(await put(session, 'after-full-small', randomBytes(100)), 201);
      assert.equal(server.process.exitCode, null, 'the server is still running');
      assert.deepEqual(unexpectedErrors(server), []);
    } finally {
      await server.stop();
      await unmount(mount);
    }
  });
});

void describe('the data directory made read-only while the server runs', () => {
  void test('writes answer 503, reads go on, and writes work again once it is writable', { timeout: 60_000 }, async (t) => {
    const dataDir = await makeTempDir();
    const server = await startServer({ dataDir });
    let bound = false;
    try {
      const session = await login(server.url);
      const seeded = await seed(session);
      const bind = run('mount', '--bind', dataDir, dataDir);
      if (!bind.ok) {
        t.skip(`cannot bind-mount here (needs root with CAP_SYS_ADMIN): ${bind.output}`);
        return;
      }
      bound = true;
      assert.ok(run('mount', '-o', 'remount,bind,ro', dataDir).ok);

      // Until the watcher notices (within a second), a small write may still land in the open database: it is real.
      const landed: string[] = [];
      let probes = 0;
      await pollUntil('writes to be refused', async () => {
        const key = `ro-probe-${probes++}`;
        const status = await put(session, key, randomBytes(10));
        if (status === 201) landed.push(key);
        return status === 503;
      });
      assert.equal(await refusedPut(session, 'ro-blob', randomBytes(1024 * 1024)), true, 'a large write is refused');
      const del = await fetch(`${session.storageUrl}/faults/small`, { method: 'DELETE', headers: auth(session) });
      assert.equal(del.status, 503);
      const bucket = await fetch(`${server.url}/v1_ext/bucket`, {
        method: 'PUT',
        headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'ro-bucket' }),
      });
      assert.equal(bucket.status, 503);
      assert.equal(((await bucket.json()) as { code: string }).code, 'StorageUnavailable');
      await assertReadable(await login(server.url), seeded);
      assert.deepEqual((await listNames(session)).sort(), [...seeded.keys(), ...landed].sort());

      assert.ok(run('umount', dataDir).ok);
      bound = false;
      await pollUntil('writes to work again', async () => (await put(session, 'after-ro', randomBytes(200 * 1024))) === 201);
      assert.equal((await read(session, 'after-ro')).status, 200);
      assert.equal(server.process.exitCode, null);
      assert.deepEqual(unexpectedErrors(server), []);
    } finally {
      if (bound) run('umount', '-l', dataDir);
      await server.destroy();
    }
  });
});

void describe('the data directory removed while the server runs', () => {
  void test('every request answers 503 with one log line, no crash; all is served again when it returns', { timeout: 60_000 }, async () => {
    const parent = await makeTempDir();
    const dataDir = join(parent, 'data');
    await mkdir(dataDir);
    const server = await startServer({ dataDir, env: { ONGGI_LOG_LEVEL: 'info' } });
    try {
      const session = await login(server.url);
      const seeded = await seed(session);
      await rename(dataDir, join(parent, 'away'));

      await pollUntil('requests to be refused', async () => (await read(session, 'small')).status === 503);
      assert.equal(await put(session, 'while-gone', randomBytes(10)), 503);
      assert.equal((await fetch(`${session.storageUrl}/faults`, { headers: auth(session) })).status, 503);
      const token = await fetch(`${server.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      assert.equal(token.status, 503);
      await sleep(3000);
      assert.equal(server.process.exitCode, null, 'the server is still running');
      const reports = server.errors().split('\n').filter((line) => line.includes('missing or was replaced'));
      assert.equal(reports.length, 1, 'the loss is reported once');

      await rename(join(parent, 'away'), dataDir);
      await pollUntil('requests to be served again', async () => (await read(session, 'small')).status === 200);
      await assertReadable(session, seeded);
      const body = randomBytes(300 * 1024);
      assert.equal(await put(session, 'after-return', body), 201);
      assert.deepEqual(await read(session, 'after-return'), { status: 200, md5: md5(body) });
      // The log reaches stderr within a flush interval (LOG_FLUSH_MS), maybe after these requests are answered.
      await pollUntil('the return to be logged', async () => server.errors().includes('the data directory is back'));
      assert.deepEqual(unexpectedErrors(server), []);
    } finally {
      await server.stop();
      await removeDir(parent);
    }
  });
});

interface Load {
  /** Stops the clients and returns what they saw: statuses, and the checksum of every acknowledged write. */
  stop(): Promise<{ statuses: Set<number>; acknowledged: Map<string, string> }>;
}

/**
 * Clients writing (small and blob-sized objects) and reading one of `keys`, over and over, until stopped. A write
 * refused before its body was read ends with the connection closed (see TracedResponse): status 0 here.
 */
function startLoad(session: Session, keys: readonly string[], clients = 6): Load {
  const statuses = new Set<number>();
  const acknowledged = new Map<string, string>();
  let stopped = false;
  const client = async (c: number): Promise<void> => {
    for (let i = 0; !stopped; i++) {
      const key = `load-${c}-${i}`;
      const body = randomBytes(i % 3 === 0 ? 300 * 1024 : 3000);
      const status = await put(session, key, body).catch(() => 0);
      statuses.add(status);
      if (status === 201) acknowledged.set(key, md5(body));
      // -1: the connection failed, as when the server has died.
      statuses.add((await read(session, keys[i % keys.length] ?? '').catch(() => ({ status: -1 }))).status);
    }
  };
  const running = Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  return {
    async stop() {
      stopped = true;
      await running;
      return { statuses, acknowledged };
    },
  };
}

async function statusOf(url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

void describe('the PostgreSQL metadata database lost while the server runs', () => {
  void test('requests answer 503 (never a crash or a 500) and everything works again once it is back', { timeout: 60_000 }, async () => {
    const url = await createDatabase();
    const database = pg.escapeIdentifier(databaseName(url));
    const server = await startServer({ env: { ONGGI_METADATA_URL: url } });
    let load: Load | undefined;
    const terminate = (): Promise<unknown> => clusterQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [databaseName(url)]);
    try {
      const session = await login(server.url);
      const seeded = await seed(session);
      load = startLoad(session, [...seeded.keys()]);
      await sleep(500);
      // A restart, as the server sees it: every connection it holds is dropped, in the middle of whatever it does.
      await terminate();
      await sleep(500);
      // Then the database refuses new connections for a while (down, or starting up).
      await clusterQuery(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
      await terminate();
      await pollUntil('requests to be refused', async () => (await read(session, 'small')).status === 503);
      assert.equal(await put(session, 'while-down', randomBytes(10)), 503);
      assert.equal(await statusOf(`${server.url}/readyz`), 503);
      await assert.rejects(login(server.url), /login failed: 503/);
      await clusterQuery(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      await pollUntil('requests to be served again', async () => (await read(session, 'small')).status === 200);
      await sleep(500);
      const { statuses, acknowledged } = await load.stop();
      load = undefined;

      assert.equal(server.process.exitCode, null, 'the server is still running');
      assert.deepEqual([...statuses].filter((s) => ![0, 200, 201, 503].includes(s)), [], `statuses seen: ${[...statuses].join(', ')}`);
      assert.ok(statuses.has(503) && acknowledged.size > 0);
      const fresh = await login(server.url);
      await assertReadable(fresh, seeded);
      await assertReadable(fresh, acknowledged);
      assert.equal(await statusOf(`${server.url}/readyz`), 200);
      assert.deepEqual(unexpectedErrors(server), []);
    } finally {
      await load?.stop().catch(() => undefined);
      await clusterQuery(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      await server.destroy();
    }
  });

  void test('a full disk under the database: writes answer 507 and leave nothing behind; reads go on; writes work again once space returns', { timeout: 120_000 }, async (t) => {
    const mount = await mountTmpfs(t, '24m');
    if (!mount) return;
    // A cluster of its own: when the tablespace is full, any backend of the cluster may fail writing its pages
    // out of the shared buffers, and other test files run meanwhile.
    const cluster = await startPgCluster();
    const tablespace = await createTablespace(mount, cluster);
    const url = await createDatabase({ tablespace, cluster });
    const server = await startServer({ env: { ONGGI_METADATA_URL: url } });
    try {
      let session = await login(server.url);
      const seeded = await seed(session);
      const filler = await fillDisk(mount);

      // Small objects live in the database: a few may still fit in pages it already has.
      const statuses = new Map<string, number>();
      for (let i = 0; i < 40; i++) statuses.set(`full-small-${i}`, await put(session, `full-small-${i}`, randomBytes(60 * 1024)));
      assert.deepEqual([...statuses.values()].filter((s) => s !== 201 && s !== 507), []);
      assert.ok([...statuses.values()].filter((s) => s === 507).length >= 30, `statuses: ${[...statuses.values()].join(', ')}`);
      const acknowledged = [...statuses].filter(([, s]) => s === 201).map(([key]) => key);
      assert.deepEqual((await listNames(session)).sort(), [...seeded.keys(), ...acknowledged].sort());

      session = await login(server.url);
      await assertReadable(session, seeded);

      await rm(filler);
      const small = randomBytes(60 * 1024);
      const large = randomBytes(2 * 1024 * 1024);
      assert.equal(await put(session, 'after-full-small', small), 201);
      assert.equal(await put(session, 'after-full-large', large), 201);
      assert.deepEqual(await read(session, 'after-full-small'), { status: 200, md5: md5(small) });
      assert.deepEqual(await read(session, 'after-full-large'), { status: 200, md5: md5(large) });
      assert.equal(server.process.exitCode, null, 'the server is still running');
      assert.deepEqual(unexpectedErrors(server), []);
    } finally {
      await server.stop();
      await dropDatabaseAndTablespace(url, tablespace, cluster);
      await stopPrivateCluster(cluster);
      await unmount(mount);
    }
  });
});
