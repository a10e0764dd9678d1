/**
 * Debian's `swift` CLI (python3-swiftclient) and curl against Onggi's Swift access features: ACLs set with
 * `swift post -r/-w` and used by a second project's user and anonymously, `swift tempurl` links fetched and
 * written with curl, and v1 auth (`swift -A …/auth/v1.0 -U <project>:<user> -K <secret>`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAccount, type Account } from '../helpers/accounts.ts';
import { login, makeTempDir, removeDir, ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const SWIFT = '/usr/bin/swift';
const CURL = '/usr/bin/curl';
const TIMEOUT_MS = 120_000;

let server: RunningServer;
let root: Session;
let other: Account;
let stranger: Account;
let work: string;

type Credentials = { kind: 'appcred'; id: string; secret: string } | { kind: 'v1'; user: string; key: string } | { kind: 'password'; user: string; password: string; projectId: string };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: work, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' };
  const child = spawn(command, args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

function authArgs(credentials: Credentials): string[] {
  // `--key=…`: a secret may begin with '-'.
  if (credentials.kind === 'v1') return ['-A', `${server.url}/auth/v1.0`, '-U', credentials.user, `--key=${credentials.key}`];
  if (credentials.kind === 'password') {
    return [
      '--os-auth-url',
      `${server.url}/identity/v3`,
      '--auth-version',
      '3',
      '--os-username',
      credentials.user,
      '--os-user-domain-name',
      'Default',
      `--os-password=${credentials.password}`,
      '--os-project-id',
      credentials.projectId,
    ];
  }
  return [
    '--os-auth-url',
    `${server.url}/identity/v3`,
    '--auth-version',
    '3',
    '--os-auth-type',
    'v3applicationcredential',
    '--os-application-credential-id',
    credentials.id,
    `--os-application-credential-secret=${credentials.secret}`,
  ];
}

async function swift(credentials: Credentials, args: string[]): Promise<Result> {
  return run(SWIFT, [...authArgs(credentials), ...args]);
}

async function swiftOk(credentials: Credentials, args: string[]): Promise<string> {
  const result = await swift(credentials, args);
  assert.equal(result.code, 0, `swift ${args.join(' ')} exited ${String(result.code)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result.stdout;
}

/** curl's body and status (`-w` puts the status on a last line of its own). */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const result = await run(CURL, ['-s', '-w', '\n%{http_code}', ...args]);
  assert.equal(result.code, 0, result.stderr);
  const cut = result.stdout.lastIndexOf('\n');
  return { status: Number(result.stdout.slice(cut + 1)), body: result.stdout.slice(0, cut) };
}

function statField(text: string, name: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = /^\s*([^:]+?):\s?(.*)$/.exec(line);
    if (match?.[1]?.trim() === name) return match[2]?.trim();
  }
  return undefined;
}

const rootCredentials = (): Credentials => ({ kind: 'appcred', id: ROOT_KEY_ID, secret: ROOT_SECRET });
const credentialsOf = (account: Account): Credentials => ({ kind: 'appcred', id: account.keyId, secret: account.secret });

before(async () => {
  server = await startServer();
  root = await login(server.url);
  other = await createAccount(server.dataDir, 'admin');
  stranger = await createAccount(server.dataDir, 'admin');
  work = await makeTempDir('onggi-swift-access-');
  await mkdir(join(work, 'files'));
  await writeFile(join(work, 'files', 'shared.txt'), 'shared with the world\n');
});
after(async () => {
  await server.destroy();
  await removeDir(work);
});

void describe('ACLs with swift post -r / -w', () => {
  test(".r:*,.rlistings: swift stat shows it; anyone reads and lists with curl", async () => {
    await swiftOk(rootCredentials(), ['upload', 'acl-public', 'files/shared.txt']);
    await swiftOk(rootCredentials(), ['post', '-r', '.r:*,.rlistings', 'acl-public']);
    const stat = await swiftOk(rootCredentials(), ['stat', 'acl-public']);
    assert.equal(statField(stat, 'Read ACL'), '.r:*,.rlistings');
    const object = await curl([`${root.storageUrl}/acl-public/files/shared.txt`]);
    assert.equal(object.status, 200);
    assert.equal(object.body, 'shared with the world\n');
    const listing = await curl([`${root.storageUrl}/acl-public`]);
    assert.equal(listing.status, 200);
    assert.equal(listing.body, 'files/shared.txt\n');
  });

  test("<project>:<user> read and write: a second project's user lists, downloads and uploads with --os-storage-url", async () => {
    await swiftOk(rootCredentials(), ['upload', 'acl-shared', 'files/shared.txt']);
    const grantee = `${other.projectId}:${other.userId}`;
    await swiftOk(rootCredentials(), ['post', '-r', grantee, '-w', grantee, 'acl-shared']);
    const stat = await swiftOk(rootCredentials(), ['stat', 'acl-shared']);
    assert.equal(statField(stat, 'Read ACL'), grantee);
    assert.equal(statField(stat, 'Write ACL'), grantee);
    const asOther = ['--os-storage-url', root.storageUrl];
    assert.equal(await swiftOk(credentialsOf(other), [...asOther, 'list', 'acl-shared']), 'files/shared.txt\n');
    assert.equal(await swiftOk(credentialsOf(other), [...asOther, 'download', 'acl-shared', 'files/shared.txt', '-o', '-']), 'shared with the world\n');
    await writeFile(join(work, 'from-other.txt'), 'written by the second project\n');
    await swiftOk(credentialsOf(other), [...asOther, 'upload', 'acl-shared', 'from-other.txt']);
    assert.equal(await swiftOk(rootCredentials(), ['download', 'acl-shared', 'from-other.txt', '-o', '-']), 'written by the second project\n');
    // A third project's user gets nothing, and neither does anyone anonymous.
    const refused = await swift(credentialsOf(stranger), [...asOther, 'list', 'acl-shared']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /403/);
    assert.equal((await curl([`${root.storageUrl}/acl-shared/files/shared.txt`])).status, 401);
  });

  test('swift post -r "" removes the read ACL', async () => {
    await swiftOk(rootCredentials(), ['upload', 'acl-removed', 'files/shared.txt']);
    await swiftOk(rootCredentials(), ['post', '-r', '.r:*', 'acl-removed']);
    assert.equal((await curl([`${root.storageUrl}/acl-removed/files/shared.txt`])).status, 200);
    await swiftOk(rootCredentials(), ['post', '-r', '', 'acl-removed']);
    assert.equal(statField(await swiftOk(rootCredentials(), ['stat', 'acl-removed']), 'Read ACL') ?? '', '');
    assert.equal((await curl([`${root.storageUrl}/acl-removed/files/shared.txt`])).status, 401);
  });
});

void describe('account ACLs (X-Account-Access-Control) with swift post -H', () => {
  test("read-only for a second project: its user lists the account and downloads, cannot upload; removed, nothing", async () => {
    await swiftOk(rootCredentials(), ['upload', 'acct-acl', 'files/shared.txt']);
    const acl = JSON.stringify({ 'read-only': [other.projectId] });
    await swiftOk(rootCredentials(), ['post', '-H', `X-Account-Access-Control:${acl}`]);
    const asOther = ['--os-storage-url', root.storageUrl];
    assert.match(await swiftOk(credentialsOf(other), [...asOther, 'list']), /^acct-acl$/m);
    assert.equal(await swiftOk(credentialsOf(other), [...asOther, 'download', 'acct-acl', 'files/shared.txt', '-o', '-']), 'shared with the world\n');
    await writeFile(join(work, 'denied.txt'), 'not allowed\n');
    const upload = await swift(credentialsOf(other), [...asOther, 'upload', 'acct-acl', 'denied.txt']);
    assert.notEqual(upload.code, 0);
    assert.match(upload.stderr, /403/);
    const strangerList = await swift(credentialsOf(stranger), [...asOther, 'list']);
    assert.notEqual(strangerList.code, 0);
    await swiftOk(rootCredentials(), ['post', '-H', 'X-Remove-Account-Access-Control:x']);
    const after = await swift(credentialsOf(other), [...asOther, 'list']);
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /403/);
  });
});

void describe('swift tempurl links used with curl', () => {
  const key = 'interop-temp-url-key-not-real';
  before(async () => {
    await swiftOk(rootCredentials(), ['post', '-m', `Temp-URL-Key:${key}`]);
    await swiftOk(rootCredentials(), ['upload', 'tempurl', 'files/shared.txt']);
  });

  for (const digest of ['sha1', 'sha256', 'sha512']) {
    test(`GET with --digest ${digest}`, async () => {
      const path = (await swiftOk(rootCredentials(), ['tempurl', '--digest', digest, 'GET', '3600', `/v1/${root.projectId}/tempurl/files/shared.txt`, key])).trim();
      const fetched = await curl([`${server.url}${path}`]);
      assert.equal(fetched.status, 200);
      assert.equal(fetched.body, 'shared with the world\n');
    });
  }

  test('--iso8601, --prefix-based and --ip-range', async () => {
    const objectPath = `/v1/${root.projectId}/tempurl/files/shared.txt`;
    const iso = (await swiftOk(rootCredentials(), ['tempurl', '--iso8601', 'GET', '1h', objectPath, key])).trim();
    assert.match(iso, /temp_url_expires=\d{4}-\d{2}-\d{2}T/);
    assert.equal((await curl([`${server.url}${iso}`])).status, 200);
    const prefixed = (await swiftOk(rootCredentials(), ['tempurl', '--prefix-based', 'GET', '3600', `/v1/${root.projectId}/tempurl/files/`, key])).trim();
    const [prefixPath = '', prefixQuery = ''] = prefixed.split('?');
    assert.equal((await curl([`${server.url}${prefixPath}shared.txt?${prefixQuery}`])).status, 200);
    const local = (await swiftOk(rootCredentials(), ['tempurl', '--ip-range', '127.0.0.1', 'GET', '3600', objectPath, key])).trim();
    assert.equal((await curl([`${server.url}${local}`])).status, 200);
    const elsewhere = (await swiftOk(rootCredentials(), ['tempurl', '--ip-range', '192.0.2.0/24', 'GET', '3600', objectPath, key])).trim();
    const refused = await curl([`${server.url}${elsewhere}`]);
    assert.equal(refused.status, 401);
    assert.equal(refused.body, '401 Unauthorized: Temp URL invalid\n');
  });

  test('PUT with curl -T through a PUT link; an expired link is refused', async () => {
    const path = (await swiftOk(rootCredentials(), ['tempurl', 'PUT', '600', `/v1/${root.projectId}/tempurl/put-by-curl.txt`, key])).trim();
    await writeFile(join(work, 'put.txt'), 'uploaded by curl\n');
    const put = await curl(['-T', join(work, 'put.txt'), `${server.url}${path}`]);
    assert.equal(put.status, 201);
    assert.equal(await swiftOk(rootCredentials(), ['download', 'tempurl', 'put-by-curl.txt', '-o', '-']), 'uploaded by curl\n');
    const expired = (await swiftOk(rootCredentials(), ['tempurl', '--absolute', 'GET', String(Math.floor(Date.now() / 1000) - 60), `/v1/${root.projectId}/tempurl/files/shared.txt`, key])).trim();
    assert.equal((await curl([`${server.url}${expired}`])).status, 401);
  });
});

void describe('Keystone v3 password auth', () => {
  test('swift --os-username … --os-password <a key secret> --os-project-id …: upload, list, download', async () => {
    const password: Credentials = { kind: 'password', user: stranger.userName, password: stranger.secret, projectId: stranger.projectId };
    await writeFile(join(work, 'pw.txt'), 'through password auth\n');
    await swiftOk(password, ['upload', 'pw-container', 'pw.txt']);
    assert.equal(await swiftOk(password, ['list', 'pw-container']), 'pw.txt\n');
    assert.equal(await swiftOk(password, ['download', 'pw-container', 'pw.txt', '-o', '-']), 'through password auth\n');
    const bad = await swift({ ...password, password: 'wrong-password-not-real' }, ['list']);
    assert.notEqual(bad.code, 0);
  });
});

void describe('v1 auth', () => {
  test('swift -A …/auth/v1.0 -U <project>:<user> -K <secret>: list, upload, download', async () => {
    const v1: Credentials = { kind: 'v1', user: `${other.projectId}:${other.userName}`, key: other.secret };
    await writeFile(join(work, 'v1.txt'), 'through v1 auth\n');
    await swiftOk(v1, ['upload', 'v1-container', 'v1.txt']);
    assert.equal(await swiftOk(v1, ['list']), 'v1-container\n');
    assert.equal(await swiftOk(v1, ['list', 'v1-container']), 'v1.txt\n');
    assert.equal(await swiftOk(v1, ['download', 'v1-container', 'v1.txt', '-o', '-']), await readFile(join(work, 'v1.txt'), 'utf8'));
    const bad = await swift({ kind: 'v1', user: `${other.projectId}:${other.userName}`, key: 'wrong' }, ['list']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /401|Unauthorized/i);
  });
});
