/** `onggi admin …` against a live data directory, `bin/onggi.js`, and the first start without a configured key. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asArray, asRecord, request, str } from '../helpers/accounts.ts';
import { admin, adminEnv, login, removeDir, ROOT_SECRET, startServer, type RunningServer } from '../helpers/server.ts';

const projectRoot = join(import.meta.dirname, '..', '..');
const HEX32 = /^[0-9a-f]{32}$/;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI and reports how it ended, instead of throwing like `admin()` does. */
async function runCli(args: readonly string[], options: { viaBin?: boolean } = {}): Promise<CliResult> {
  const entry = options.viaBin ? [join(projectRoot, 'bin', 'onggi.js')] : ['--import', 'tsx', join(projectRoot, 'src', 'main.ts')];
  const dataDir = args[args.indexOf('--data-dir') + 1];
  const env = args.includes('--data-dir') && dataDir !== undefined ? await adminEnv(dataDir) : process.env;
  const child = spawn(process.execPath, [...entry, ...args], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

async function adminFails(dataDir: string, ...args: string[]): Promise<CliResult> {
  const result = await runCli(['admin', '--data-dir', dataDir, '--json', ...args]);
  assert.notEqual(result.code, 0, `onggi admin ${args.join(' ')} should fail; printed ${result.stdout}`);
  assert.ok(result.stderr.trim().length > 0, 'the failure is explained on stderr');
  return result;
}

async function list(dataDir: string, ...args: string[]): Promise<Record<string, unknown>[]> {
  return asArray(await admin(dataDir, ...args), args.join(' ')).map((row) => asRecord(row));
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return entry.isFile() ? [path] : [];
    }),
  );
  return nested.flat();
}

/** Files in the data directory whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const bytes = Buffer.from(needle, 'utf8');
  const found: string[] = [];
  for (const file of await filesUnder(dir)) {
    if ((await readFile(file)).includes(bytes)) found.push(file.slice(dir.length));
  }
  return found;
}

void describe('admin CLI on a running server', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.destroy();
  });

  void test('projects: create, list, refuse a duplicate, delete', async () => {
    const project = asRecord(await admin(server.dataDir, 'project', 'create', 'cli-project'));
    assert.match(str(project, 'id'), HEX32);
    assert.equal(project.name, 'cli-project');
    await adminFails(server.dataDir, 'project', 'create', 'cli-project');

    const projects = await list(server.dataDir, 'project', 'list');
    assert.deepEqual(projects.map((p) => p.name).sort(), ['cli-project', 'default']);
    assert.equal(projects.find((p) => p.name === 'cli-project')?.id, project.id);

    assert.deepEqual(await admin(server.dataDir, 'project', 'delete', 'cli-project'), { deleted: project.id });
    assert.deepEqual((await list(server.dataDir, 'project', 'list')).map((p) => p.name), ['default']);
    await adminFails(server.dataDir, 'project', 'delete', 'cli-project');
  });

  void test('a project that still has buckets is not deleted', async () => {
    const session = await login(server.url);
    const created = await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: session.token, body: { name: 'cli-keeps-project', type: 'STANDARD' } });
    assert.equal(created.status, 201, created.text);
    await adminFails(server.dataDir, 'project', 'delete', 'default');
    assert.ok((await list(server.dataDir, 'project', 'list')).some((p) => p.id === session.projectId));
    assert.equal((await request(`${server.url}/v1_ext/bucket/cli-keeps-project`, { token: session.token })).status, 200);
  });

  void test('users: create, list, refuse a duplicate, delete by name or id', async () => {
    const user = asRecord(await admin(server.dataDir, 'user', 'create', 'cli-user'));
    assert.match(str(user, 'id'), HEX32);
    assert.equal(user.name, 'cli-user');
    await adminFails(server.dataDir, 'user', 'create', 'cli-user');
    const users = await list(server.dataDir, 'user', 'list');
    assert.ok(users.some((u) => u.id === user.id && u.name === 'cli-user'));
    assert.ok(users.some((u) => u.name === 'admin'));

    assert.deepEqual(await admin(server.dataDir, 'user', 'delete', 'cli-user'), { deleted: user.id });
    assert.ok(!(await list(server.dataDir, 'user', 'list')).some((u) => u.id === user.id));
    await adminFails(server.dataDir, 'user', 'delete', 'cli-user');

    const byId = asRecord(await admin(server.dataDir, 'user', 'create', 'cli-user-2'));
    assert.deepEqual(await admin(server.dataDir, 'user', 'delete', str(byId, 'id')), { deleted: byId.id });
  });

  void test('roles: admin, member and reader are assigned, listed, changed and removed; others are refused', async () => {
    const project = asRecord(await admin(server.dataDir, 'project', 'create', 'cli-roles'));
    const names = ['cli-role-admin', 'cli-role-member', 'cli-role-reader'];
    const users = await Promise.all(names.map(async (name) => asRecord(await admin(server.dataDir, 'user', 'create', name))));
    const roles = ['admin', 'member', 'reader'] as const;
    await Promise.all(roles.map((role, index) => admin(server.dataDir, 'role', 'assign', 'cli-roles', names[index] ?? '', role)));
    const assigned = await list(server.dataDir, 'role', 'list', '--project', 'cli-roles');
    assert.deepEqual(
      assigned.map((row) => [row.userId, row.role]).sort(),
      users.map((user, index) => [user.id, roles[index]]).sort(),
    );
    for (const row of assigned) assert.equal(row.projectId, project.id);

    const [invalid] = await Promise.all([
      adminFails(server.dataDir, 'role', 'assign', 'cli-roles', 'cli-role-reader', 'owner'),
      adminFails(server.dataDir, 'role', 'assign', 'cli-roles', 'no-such-user', 'reader'),
      adminFails(server.dataDir, 'role', 'assign', 'no-such-project', 'cli-role-reader', 'reader'),
    ]);
    assert.match(invalid.stderr, /admin.*member.*reader/);

    await admin(server.dataDir, 'role', 'assign', 'cli-roles', 'cli-role-reader', 'member');
    const changed = await list(server.dataDir, 'role', 'list', '--user', 'cli-role-reader');
    assert.deepEqual(changed.map((row) => [row.projectId, row.role]), [[project.id, 'member']]);

    await admin(server.dataDir, 'role', 'remove', 'cli-roles', 'cli-role-reader');
    assert.deepEqual(await list(server.dataDir, 'role', 'list', '--user', 'cli-role-reader'), []);
    await adminFails(server.dataDir, 'role', 'remove', 'cli-roles', 'cli-role-reader');
  });

  void test('access keys: the secret is shown once, lists never show secrets, a created key logs in, a deleted one does not', async () => {
    await admin(server.dataDir, 'user', 'create', 'cli-key-user');
    await adminFails(server.dataDir, 'key', 'create', 'default', 'cli-key-user');
    await admin(server.dataDir, 'role', 'assign', 'default', 'cli-key-user', 'member');

    const key = asRecord(await admin(server.dataDir, 'key', 'create', 'default', 'cli-key-user', '--name', 'laptop'));
    const id = str(key, 'id');
    const secret = str(key, 'secret');
    assert.match(id, HEX32);
    assert.equal(key.name, 'laptop');
    assert.ok(secret.length >= 20, 'a long random secret');
    await Promise.all([
      adminFails(server.dataDir, 'key', 'create', 'default', 'cli-key-user', '--name', 'laptop'),
      adminFails(server.dataDir, 'key', 'create', 'default', 'cli-key-user', '--expires', 'not-a-date'),
    ]);

    const session = await login(server.url, id, secret);
    const root = await login(server.url);
    assert.equal(session.projectId, root.projectId);
    assert.equal((await request(`${server.url}/v1_ext/bucket`, { token: session.token })).status, 200);

    const jsonList = await runCli(['admin', '--data-dir', server.dataDir, '--json', 'key', 'list']);
    assert.equal(jsonList.code, 0, jsonList.stderr);
    const rows = asArray(JSON.parse(jsonList.stdout) as unknown).map((row) => asRecord(row));
    const row = rows.find((r) => r.id === id);
    assert.ok(row, 'the new key is listed');
    assert.equal(row.name, 'laptop');
    for (const listed of rows) {
      assert.ok(!Object.keys(listed).some((field) => /secret|hash/i.test(field)), `no secret fields: ${JSON.stringify(listed)}`);
    }
    assert.ok(!jsonList.stdout.includes(secret));
    assert.ok(!jsonList.stdout.includes(ROOT_SECRET));
    const textList = await runCli(['admin', '--data-dir', server.dataDir, 'key', 'list', '--user', 'cli-key-user']);
    assert.equal(textList.code, 0, textList.stderr);
    assert.ok(textList.stdout.includes(id));
    assert.ok(!textList.stdout.includes(secret));
    assert.ok(!/secret|hash/i.test(textList.stdout), textList.stdout);

    assert.deepEqual(await admin(server.dataDir, 'key', 'delete', id), { deleted: id });
    assert.ok(!(await list(server.dataDir, 'key', 'list')).some((r) => r.id === id));
    await adminFails(server.dataDir, 'key', 'delete', id);
    await assert.rejects(login(server.url, id, secret), /login failed: 401/);
  });

  void test('no secret is stored in the data directory; server.key is 0600', async () => {
    const key = asRecord(await admin(server.dataDir, 'key', 'create', 'default', 'admin', '--name', 'scan-me'));
    assert.deepEqual(await filesContaining(server.dataDir, str(key, 'secret')), []);
    assert.deepEqual(await filesContaining(server.dataDir, ROOT_SECRET), []);
    assert.equal((await stat(join(server.dataDir, 'server.key'))).mode & 0o777, 0o600);
  });

  void test('bin/onggi.js runs the admin CLI', async () => {
    const listed = await runCli(['admin', 'project', 'list', '--data-dir', server.dataDir, '--json'], { viaBin: true });
    assert.equal(listed.code, 0, listed.stderr);
    const projects = asArray(JSON.parse(listed.stdout) as unknown).map((row) => asRecord(row));
    assert.ok(projects.some((p) => p.name === 'default'));

    const [help, keyHelp, unknown] = await Promise.all([
      runCli(['admin', '--help'], { viaBin: true }),
      runCli(['admin', 'key', 'create', '--help'], { viaBin: true }),
      runCli(['admin', 'frobnicate', '--data-dir', server.dataDir], { viaBin: true }),
    ]);
    assert.equal(help.code, 0, help.stderr);
    for (const word of ['project', 'user', 'role', 'key', '--data-dir', '--json']) assert.ok(help.stdout.includes(word), `help mentions ${word}`);
    assert.equal(keyHelp.code, 0, keyHelp.stderr);
    assert.match(keyHelp.stdout, /--name/);
    assert.notEqual(unknown.code, 0);
  });

  void test('a data directory that does not exist is refused, not created', async () => {
    const typo = `${server.dataDir}-typo`;
    const failed = await adminFails(typo, 'key', 'create', 'default', 'admin');
    assert.match(failed.stderr, /no Onggi data directory at .*-typo/);
    assert.equal(failed.stdout, '', 'no key was printed');
    await assert.rejects(stat(typo), { code: 'ENOENT' });
  });
});

void describe('first start without ONGGI_ROOT_*', () => {
  let server: RunningServer | undefined;
  let dataDir: string | undefined;
  after(async () => {
    await server?.stop();
    if (dataDir !== undefined) await removeDir(dataDir);
  });

  void test('prints an access key id and secret that log in; the secret is never stored or shown again', async () => {
    server = await startServer({ noRootKey: true });
    dataDir = server.dataDir;
    const output = server.output();
    const id = /access key ID:\s+(\S+)/.exec(output)?.[1];
    const secret = /secret access key:\s+(\S+)/.exec(output)?.[1];
    assert.ok(id !== undefined && secret !== undefined, `the banner shows a credential:\n${output}`);
    assert.ok(secret.length >= 20);

    const session = await login(server.url, id, secret);
    assert.equal((await request(`${server.url}/v1_ext/bucket`, { token: session.token })).status, 200);

    assert.equal((await stat(join(server.dataDir, 'server.key'))).mode & 0o777, 0o600);
    assert.deepEqual(await filesContaining(server.dataDir, secret), []);

    // A restart keeps the key but does not print the secret again.
    await server.stop();
    server = await startServer({ noRootKey: true, dataDir });
    assert.ok(server.output().includes(id));
    assert.ok(!server.output().includes(secret));
    await login(server.url, id, secret);
    assert.deepEqual(await filesContaining(dataDir, secret), []);
  });
});
