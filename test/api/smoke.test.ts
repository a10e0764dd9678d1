import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { login, startServer, type RunningServer } from '../helpers/server.ts';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.destroy();
});

test('a token opens the object API and a written object reads back', async () => {
  const session = await login(server.url);
  const headers = { 'X-Auth-Token': session.token };
  assert.equal((await fetch(`${session.storageUrl}/smoke-bucket`, { method: 'PUT', headers })).status, 201);
  const put = await fetch(`${session.storageUrl}/smoke-bucket/a.txt`, { method: 'PUT', headers, body: 'hello' });
  assert.equal(put.status, 201);
  const got = await fetch(`${session.storageUrl}/smoke-bucket/a.txt`, { headers });
  assert.equal(got.status, 200);
  assert.equal(await got.text(), 'hello');
});
