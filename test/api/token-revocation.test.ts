/**
 * Tokens do not outlive what they were issued on: a changed root secret, a role removed and assigned again.
 * And the token endpoint slows down repeated wrong secrets for one key without locking its owner out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount } from '../helpers/accounts.ts';
import { admin, login, ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer } from '../helpers/server.ts';

async function accountStatus(url: string, session: { token: string; storageUrl: string }): Promise<number> {
  return (await fetch(session.storageUrl, { method: 'HEAD', headers: { 'X-Auth-Token': session.token } })).status;
}

async function issue(url: string, id: string, secret: string): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } } }),
  });
  await response.arrayBuffer();
  return { status: response.status, ms: Date.now() - started };
}

describe('tokens issued before a credential changed', () => {
  test("the root secret changed as the README says (new secret, restart): the old secret's tokens stop working", async () => {
    let server = await startServer();
    const dataDir = server.dataDir;
    try {
      const old = await login(server.url);
      assert.equal(await accountStatus(server.url, old), 204);
      await server.stop();
      const changed = `${ROOT_SECRET}-changed`;
      server = await startServer({ dataDir, env: { ONGGI_ROOT_SECRET_ACCESS_KEY: changed } });
      assert.equal((await issue(server.url, ROOT_KEY_ID, ROOT_SECRET)).status, 401);
      assert.equal(await accountStatus(server.url, { ...old, storageUrl: old.storageUrl.replace(/^http:\/\/[^/]+/, server.url) }), 401);
      const fresh = await login(server.url, ROOT_KEY_ID, changed);
      assert.equal(await accountStatus(server.url, fresh), 204);
    } finally {
      await server.destroy();
    }
  });

  describe('a role removed and assigned again', () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer();
    });
    after(async () => {
      await server.destroy();
    });

    test('does not revive the tokens issued before the removal', async () => {
      const account = await createAccount(server.dataDir, 'member');
      const before = await login(server.url, account.keyId, account.secret);
      assert.equal(await accountStatus(server.url, before), 204);
      await admin(server.dataDir, 'role', 'remove', account.projectRef, account.userId);
      await admin(server.dataDir, 'role', 'assign', account.projectRef, account.userId, 'member');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal(await accountStatus(server.url, before), 401, 'a token from before the removal');
      const after = await login(server.url, account.keyId, account.secret);
      assert.equal(await accountStatus(server.url, after), 204, 'a token issued after the new assignment');
    });
  });
});

describe('repeated wrong secrets for one key', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.destroy();
  });

  test('are answered more and more slowly, while the right secret still gets a token at once', async () => {
    const account = await createAccount(server.dataDir, 'reader');
    const first = await issue(server.url, account.keyId, 'wrong');
    assert.equal(first.status, 401);
    const times: number[] = [];
    for (let i = 0; i < 8; i++) {
      const attempt = await issue(server.url, account.keyId, `wrong-${i}`);
      assert.equal(attempt.status, 401);
      times.push(attempt.ms);
    }
    assert.ok((times.at(-1) ?? 0) >= 1000, `the 9th failure answered in ${String(times.at(-1))} ms`);
    assert.ok((times.at(-1) ?? 0) > (times[0] ?? 0), `failures slow down: ${times.join(', ')} ms`);
    const owner = await issue(server.url, account.keyId, account.secret);
    assert.equal(owner.status, 201);
    assert.ok(owner.ms < 1000, `the owner waited ${owner.ms} ms`);
  });
});
