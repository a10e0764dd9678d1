/**
 * Issue 22 item 6: an overwrite with the same X-Delete-At keeps the object's expiry entry, so the object is reaped
 * once it expires (before, the overwrite removed the entry it had just written: an invisible object that was never
 * reaped, and a container that could never be deleted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/accounts.ts';
import { auth, createContainer, putObject } from '../helpers/swift.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

let server: RunningServer;
let session: Session;
before(async () => {
  server = await startServer({ env: { ONGGI_EXPIRY_INTERVAL_MS: '300' } });
  session = await login(server.url);
});
after(async () => {
  await server.destroy();
});

void describe('overwrite with the same X-Delete-At', () => {
  for (const size of [5, 300_000]) {
    void test(`the object (${size} bytes) is reaped once it expires, and its container can then be deleted`, async () => {
      const container = `same-expiry-${size}`;
      await createContainer(session, container);
      const at = Math.floor(Date.now() / 1000) + 2;
      const header = { 'X-Delete-At': String(at) };
      assert.equal((await putObject(session, container, 'twice', 'a'.repeat(size), header)).status, 201);
      assert.equal((await putObject(session, container, 'twice', 'b'.repeat(size), header)).status, 201);
      const head = await fetch(`${session.storageUrl}/${container}/twice`, { method: 'HEAD', headers: auth(session) });
      assert.equal(head.headers.get('x-delete-at'), String(at), 'both writes carry the same deletion time');
      await sleep(Math.max(0, at * 1000 - Date.now() + 300));
      let status = 0;
      const deleted = await waitFor(async () => {
        const res = await fetch(`${session.storageUrl}/${container}`, { method: 'DELETE', headers: auth(session) });
        await res.body?.cancel();
        status = res.status;
        return status === 204;
      }, 8000, 200);
      assert.notEqual(deleted, null, `the container could not be deleted (${status}): the expired object was never reaped`);
    });
  }
});
