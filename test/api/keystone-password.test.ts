/**
 * Keystone v3 `password` auth over real HTTP: a project member's user (id or name) with the secret of one of
 * their access keys as the password, scoped to a project (id or name) or not; its token works on Swift.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, createAccount, uniqueName, type Account } from '../helpers/accounts.ts';
import { admin, startServer, type RunningServer } from '../helpers/server.ts';

let server: RunningServer;
let account: Account;
let projectName: string;

before(async () => {
  server = await startServer();
  projectName = uniqueName('pw-proj');
  await admin(server.dataDir, 'project', 'create', projectName);
  account = await createAccount(server.dataDir, 'member', { project: projectName });
});
after(async () => {
  await server.destroy();
});

async function passwordAuth(user: Record<string, unknown>, scope?: Record<string, unknown>): Promise<Response> {
  const auth: Record<string, unknown> = { identity: { methods: ['password'], password: { user } } };
  if (scope) auth.scope = scope;
  return fetch(`${server.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ auth }) });
}

void describe('POST /identity/v3/auth/tokens with methods ["password"]', () => {
  test('user and project by name (with domains, as clients send them): a token that works on Swift', async () => {
    const response = await passwordAuth(
      { name: account.userName, domain: { name: 'Default' }, password: account.secret },
      { project: { name: projectName, domain: { id: 'default' } } },
    );
    assert.equal(response.status, 201, await response.clone().text());
    const token = response.headers.get('x-subject-token') ?? '';
    const body = asRecord(asRecord(await response.json()).token);
    assert.deepEqual(body.methods, ['password']);
    assert.equal(asRecord(body.project).id, account.projectId);
    const listing = await fetch(`${server.url}/v1/${account.projectId}`, { headers: { 'X-Auth-Token': token } });
    assert.ok(listing.status === 200 || listing.status === 204, String(listing.status));
  });

  test('user and project by id; unscoped: the project of the key the password opens', async () => {
    const byId = await passwordAuth({ id: account.userId, password: account.secret }, { project: { id: account.projectId } });
    assert.equal(byId.status, 201);
    const unscoped = await passwordAuth({ name: account.userName, password: account.secret });
    assert.equal(unscoped.status, 201);
    assert.equal(asRecord(asRecord(asRecord(await unscoped.json()).token).project).id, account.projectId);
  });

  test('a wrong password, an unknown user, another project: 401 alike; no user named: 400', async () => {
    assert.equal((await passwordAuth({ name: account.userName, password: 'wrong-secret' }, { project: { name: projectName } })).status, 401);
    assert.equal((await passwordAuth({ name: 'nobody-here', password: account.secret })).status, 401);
    const other = await createAccount(server.dataDir, 'admin');
    assert.equal((await passwordAuth({ name: account.userName, password: account.secret }, { project: { id: other.projectId } })).status, 401);
    assert.equal((await passwordAuth({ password: account.secret })).status, 400);
  });
});
