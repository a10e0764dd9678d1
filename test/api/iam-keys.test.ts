/**
 * IAM as KakaoCloud has it, over real HTTP: a user's projects, access keys (Keystone application credentials)
 * managed by their owner, at most two per user per project, expiry dates, and prompt revocation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asArray, asRecord, createAccount, request, str, uniqueName, waitFor, type Account, type JsonResponse } from '../helpers/accounts.ts';
import { admin, login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

let server: RunningServer;
let identity: string;

before(async () => {
  server = await startServer();
  identity = `${server.url}/identity/v3`;
});
after(async () => {
  await server.destroy();
});

function keystoneError(response: JsonResponse, status: number): string {
  assert.equal(response.status, status, response.text);
  const error = asRecord(asRecord(response.json).error);
  assert.equal(error.code, status);
  return str(error, 'message');
}

/** An account, and a second project where the same user is a reader. */
async function userInTwoProjects(): Promise<{ account: Account; session: Session; otherProjectId: string }> {
  const account = await createAccount(server.dataDir, 'member', { unrestricted: true });
  const other = asRecord(await admin(server.dataDir, 'project', 'create', uniqueName('second')));
  await admin(server.dataDir, 'role', 'assign', str(other, 'id'), account.userId, 'reader');
  return { account, session: await login(server.url, account.keyId, account.secret), otherProjectId: str(other, 'id') };
}

function keysUrl(userId: string): string {
  return `${identity}/users/${userId}/application_credentials`;
}

async function createKey(session: Session, userId: string, body: Record<string, unknown>): Promise<JsonResponse> {
  return request(keysUrl(userId), { method: 'POST', token: session.token, body: { application_credential: body } });
}

void describe("a user's projects", () => {
  void test('GET /auth/projects and /users/{self}/projects list every project the user holds a role in', async () => {
    const { account, session, otherProjectId } = await userInTwoProjects();
    for (const url of [`${identity}/auth/projects`, `${identity}/users/${account.userId}/projects`]) {
      const response = await request(url, { token: session.token });
      assert.equal(response.status, 200, response.text);
      const body = asRecord(response.json);
      const projects = asArray(body.projects).map((p) => asRecord(p));
      assert.deepEqual(projects.map((p) => p.id).sort(), [account.projectId, otherProjectId].sort());
      for (const project of projects) {
        assert.equal(typeof project.name, 'string');
        assert.equal(project.domain_id, 'default');
        assert.equal(project.enabled, true);
        assert.match(str(asRecord(project.links), 'self'), /\/identity\/v3\/projects\/[0-9a-f]+$/);
      }
      assert.equal(str(asRecord(body.links), 'self'), url);
    }
  });

  void test("another user's projects → 403; no token or a bad one → 401", async () => {
    const { session } = await userInTwoProjects();
    const stranger = await createAccount(server.dataDir, 'admin');
    keystoneError(await request(`${identity}/users/${stranger.userId}/projects`, { token: session.token }), 403);
    keystoneError(await request(`${identity}/auth/projects`), 401);
    keystoneError(await request(`${identity}/users/${stranger.userId}/projects`, { token: 'nonsense' }), 401);
  });

  void test('a project the role was removed from drops out of the list', async () => {
    const { account, session, otherProjectId } = await userInTwoProjects();
    await admin(server.dataDir, 'role', 'remove', otherProjectId, account.userId);
    const response = await request(`${identity}/auth/projects`, { token: session.token });
    assert.deepEqual(asArray(asRecord(response.json).projects).map((p) => asRecord(p).id), [account.projectId]);
  });
});

void describe('access keys managed by their owner', () => {
  void test('list, create (secret shown once), log in with the new key, get, delete', async () => {
    const account = await createAccount(server.dataDir, 'member', { unrestricted: true });
    const session = await login(server.url, account.keyId, account.secret);
    const listed = await request(keysUrl(account.userId), { token: session.token });
    assert.equal(listed.status, 200, listed.text);
    const before = asArray(asRecord(listed.json).application_credentials).map((k) => asRecord(k));
    assert.deepEqual(before.map((k) => k.id), [account.keyId]);
    assert.equal(before[0]?.secret, undefined, 'a listing never shows a secret');
    assert.equal(before[0]?.project_id, account.projectId);

    const created = await createKey(session, account.userId, { name: 'laptop' });
    assert.equal(created.status, 201, created.text);
    const key = asRecord(asRecord(created.json).application_credential);
    assert.equal(key.name, 'laptop');
    assert.equal(key.expires_at, null);
    assert.equal(key.project_id, account.projectId);
    const secondSession = await login(server.url, str(key, 'id'), str(key, 'secret'));
    assert.equal(secondSession.projectId, account.projectId);

    const got = await request(`${keysUrl(account.userId)}/${str(key, 'id')}`, { token: session.token });
    assert.equal(got.status, 200, got.text);
    assert.equal(asRecord(asRecord(got.json).application_credential).secret, undefined);

    const deleted = await request(`${keysUrl(account.userId)}/${str(key, 'id')}`, { method: 'DELETE', token: session.token });
    assert.equal(deleted.status, 204, deleted.text);
    // Deleted on this node: its tokens stop at once, not after a cache expiry.
    assert.equal((await request(`${server.url}/v1_ext/bucket`, { token: secondSession.token })).status, 401);
    keystoneError(await request(`${keysUrl(account.userId)}/${str(key, 'id')}`, { token: session.token }), 404);
  });

  void test("a restricted key (the default) cannot create or delete keys: Keystone's rule, so a leaked key cannot mint another", async () => {
    const account = await createAccount(server.dataDir, 'admin');
    const session = await login(server.url, account.keyId, account.secret);
    assert.equal((await request(keysUrl(account.userId), { token: session.token })).status, 200, 'listing stays allowed');
    assert.match(keystoneError(await createKey(session, account.userId, { name: 'minted' }), 403), /restricted/);
    keystoneError(await request(`${keysUrl(account.userId)}/${account.keyId}`, { method: 'DELETE', token: session.token }), 403);

    const owner = await createAccount(server.dataDir, 'member', { unrestricted: true });
    const ownerSession = await login(server.url, owner.keyId, owner.secret);
    const made = asRecord(asRecord((await createKey(ownerSession, owner.userId, { name: 'child' })).json).application_credential);
    assert.equal(made.unrestricted, false);
    const childSession = await login(server.url, str(made, 'id'), str(made, 'secret'));
    keystoneError(await createKey(childSession, owner.userId, { name: 'grandchild' }), 403);
    const listed = asArray(asRecord((await request(keysUrl(owner.userId), { token: ownerSession.token })).json).application_credentials);
    assert.deepEqual(listed.map((k) => asRecord(k).unrestricted).sort(), [false, true]);
  });

  void test('a third key in one project → 409 with the reason; keys in another project count apart', async () => {
    const { account, session, otherProjectId } = await userInTwoProjects();
    assert.equal((await createKey(session, account.userId, { name: 'second' })).status, 201);
    const third = await createKey(session, account.userId, { name: 'third' });
    assert.match(keystoneError(third, 409), /access keys in this project, the most allowed \(2\)/);
    // The admin CLI is held to the same rule.
    await assert.rejects(admin(server.dataDir, 'key', 'create', account.projectId, account.userId, '--name', 'cli-third'), /the most allowed \(2\)/);
    // The other project has its own two.
    for (const name of ['other-1', 'other-2']) await admin(server.dataDir, 'key', 'create', otherProjectId, account.userId, '--name', name);
    await assert.rejects(admin(server.dataDir, 'key', 'create', otherProjectId, account.userId, '--name', 'other-3'), /the most allowed/);
    // Deleting one frees a place.
    const keys = asArray(asRecord((await request(keysUrl(account.userId), { token: session.token })).json).application_credentials);
    const spare = keys.map((k) => asRecord(k)).find((k) => k.name === 'second');
    assert.equal((await request(`${keysUrl(account.userId)}/${str(spare ?? {}, 'id')}`, { method: 'DELETE', token: session.token })).status, 204);
    assert.equal((await createKey(session, account.userId, { name: 'third' })).status, 201);
  });

  void test('bad bodies → 400 naming the field; a duplicate name → 409', async () => {
    const account = await createAccount(server.dataDir, 'member', { unrestricted: true });
    const session = await login(server.url, account.keyId, account.secret);
    assert.match(keystoneError(await createKey(session, account.userId, {}), 400), /name/);
    assert.match(keystoneError(await createKey(session, account.userId, { name: 'x', expires_at: 'soon' }), 400), /expires_at/);
    const past = new Date(Date.now() - 60_000).toISOString();
    assert.match(keystoneError(await createKey(session, account.userId, { name: 'x', expires_at: past }), 400), /expires_at/);
    assert.match(keystoneError(await createKey(session, account.userId, { name: 'x', secret: 'short' }), 400), /secret/);
    const raw = await request(keysUrl(account.userId), { method: 'POST', token: session.token, body: 'not json' });
    assert.equal(raw.status, 400);
    keystoneError(await createKey(session, account.userId, { name: account.keyName }), 409);
  });

  void test("another user's keys: 403 by their path, 404 for their key under one's own path", async () => {
    const account = await createAccount(server.dataDir, 'admin', { unrestricted: true });
    const session = await login(server.url, account.keyId, account.secret);
    const other = await createAccount(server.dataDir, 'member', { project: account.projectId, unrestricted: true });
    keystoneError(await request(keysUrl(other.userId), { token: session.token }), 403);
    keystoneError(await createKey(session, other.userId, { name: 'sneaky' }), 403);
    keystoneError(await request(`${keysUrl(other.userId)}/${other.keyId}`, { method: 'DELETE', token: session.token }), 403);
    keystoneError(await request(`${keysUrl(account.userId)}/${other.keyId}`, { method: 'DELETE', token: session.token }), 404);
    keystoneError(await request(keysUrl(account.userId)), 401);
    // The other user's key still works.
    await login(server.url, other.keyId, other.secret);
  });

  void test('an expiring key: its token ends with the key; once expired it cannot log in', async () => {
    const account = await createAccount(server.dataDir, 'member', { unrestricted: true });
    const session = await login(server.url, account.keyId, account.secret);
    const expiresAt = new Date(Date.now() + 2000);
    const created = await createKey(session, account.userId, { name: 'brief', expires_at: expiresAt.toISOString() });
    assert.equal(created.status, 201, created.text);
    const key = asRecord(asRecord(created.json).application_credential);
    assert.ok(Math.abs(Date.parse(str(key, 'expires_at')) - expiresAt.getTime()) < 1000);

    const issued = await request(`${identity}/auth/tokens`, {
      method: 'POST',
      body: { auth: { identity: { methods: ['application_credential'], application_credential: { id: str(key, 'id'), secret: str(key, 'secret') } } } },
    });
    assert.equal(issued.status, 201, issued.text);
    const token = issued.headers.get('x-subject-token') ?? '';
    assert.ok(Date.parse(str(asRecord(asRecord(issued.json).token), 'expires_at')) <= expiresAt.getTime() + 1);
    assert.equal((await request(`${server.url}/v1_ext/bucket`, { token })).status, 200);

    const ended = await waitFor(async () => (await request(`${server.url}/v1_ext/bucket`, { token })).status === 401, 6000);
    assert.notEqual(ended, null, 'the token outlived its key');
    await assert.rejects(login(server.url, str(key, 'id'), str(key, 'secret')), /401/);
  });
});
