/** Swift's v1 auth (GET /auth/v1.0, X-Auth-User: <project>:<user>, X-Auth-Key: an access key's secret) over real HTTP. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, createAccount, request, uniqueName, type Account } from '../helpers/accounts.ts';
import { admin, login, startServer, type RunningServer } from '../helpers/server.ts';

let server: RunningServer;
let account: Account;
let projectName: string;
let otherAccount: Account;

before(async () => {
  server = await startServer();
  projectName = uniqueName('v1-proj');
  await admin(server.dataDir, 'project', 'create', projectName);
  account = await createAccount(server.dataDir, 'member', { project: projectName });
  otherAccount = await createAccount(server.dataDir, 'admin');
});
after(async () => {
  await server.destroy();
});

async function authV1(headers: Record<string, string>, path = '/auth/v1.0', method = 'GET'): Promise<Response> {
  return fetch(`${server.url}${path}`, { method, headers });
}

void describe('GET /auth/v1.0', () => {
  test('<project id>:<user name> and the secret: a token and the storage URL that work', async () => {
    const response = await authV1({ 'X-Auth-User': `${account.projectId}:${account.userName}`, 'X-Auth-Key': account.secret });
    assert.equal(response.status, 200, await response.clone().text());
    const storageUrl = response.headers.get('x-storage-url');
    const token = response.headers.get('x-auth-token');
    assert.equal(storageUrl, `${server.url}/v1/${account.projectId}`);
    assert.ok(token);
    assert.equal(response.headers.get('x-storage-token'), token);
    assert.ok(Number(response.headers.get('x-auth-token-expires')) > 0);
    assert.equal(asRecord(asRecord(await response.json()).storage).local, storageUrl);
    const put = await fetch(`${storageUrl}/v1-made`, { method: 'PUT', headers: { 'X-Auth-Token': token } });
    assert.equal(put.status, 201);
    const listing = await fetch(storageUrl, { headers: { 'X-Auth-Token': token } });
    assert.equal(await listing.text(), 'v1-made\n');
  });

  const forms: [string, () => Record<string, string>, string?][] = [
    ['<project name>:<user id>', () => ({ 'X-Auth-User': `${projectName}:${account.userId}`, 'X-Auth-Key': account.secret })],
    ['<project>:<access key id>', () => ({ 'X-Auth-User': `${account.projectId}:${account.keyId}`, 'X-Auth-Key': account.secret })],
    ['X-Storage-User / X-Storage-Pass', () => ({ 'X-Storage-User': `${projectName}:${account.userName}`, 'X-Storage-Pass': account.secret })],
    ['/auth/v1.0/', () => ({ 'X-Auth-User': `${projectName}:${account.userName}`, 'X-Auth-Key': account.secret }), '/auth/v1.0/'],
  ];
  for (const [name, headers, path] of forms) {
    test(name, async () => {
      const response = await authV1(headers(), path);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-storage-url'), `${server.url}/v1/${account.projectId}`);
    });
  }

  const refusals: [string, () => Record<string, string>][] = [
    ['a wrong secret', () => ({ 'X-Auth-User': `${account.projectId}:${account.userName}`, 'X-Auth-Key': 'wrong-secret' })],
    ['an unknown project', () => ({ 'X-Auth-User': `no-such-project:${account.userName}`, 'X-Auth-Key': account.secret })],
    ['a project the user is not in', () => ({ 'X-Auth-User': `${otherAccount.projectId}:${account.userName}`, 'X-Auth-Key': account.secret })],
    ["another user's key id", () => ({ 'X-Auth-User': `${account.projectId}:${otherAccount.keyId}`, 'X-Auth-Key': otherAccount.secret })],
    ['no project part', () => ({ 'X-Auth-User': account.userName, 'X-Auth-Key': account.secret })],
    ['no key', () => ({ 'X-Auth-User': `${account.projectId}:${account.userName}` })],
    ['nothing', () => ({})],
  ];
  for (const [name, headers] of refusals) {
    test(`${name} → 401 with WWW-Authenticate, no token`, async () => {
      const response = await authV1(headers());
      assert.equal(response.status, 401);
      assert.ok(response.headers.get('www-authenticate'));
      assert.equal(response.headers.get('x-auth-token'), null);
    });
  }

  test('other methods and paths', async () => {
    const headers = { 'X-Auth-User': `${account.projectId}:${account.userName}`, 'X-Auth-Key': account.secret };
    assert.equal((await authV1(headers, '/auth/v1.0', 'POST')).status, 405);
    assert.equal((await authV1(headers, '/auth/v2.0')).status, 404);
    assert.equal((await authV1(headers, '/auth')).status, 404);
  });

  test('auth is a reserved name: no bucket may take it', async () => {
    const session = await login(server.url, otherAccount.keyId, otherAccount.secret);
    const made = await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: session.token, body: { name: 'auth', type: 'STANDARD' } });
    assert.equal(made.status, 400, made.text);
  });
});
