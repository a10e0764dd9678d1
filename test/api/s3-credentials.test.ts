/** S3 key pairs: Keystone's OS-EC2 credentials API, `onggi admin s3-key`, the first start's pair; the secret never stored in clear. */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { admin, login, onPostgres, startServer, type RunningServer, type Session } from '../helpers/server.ts';

let server: RunningServer;
let session: Session;
let userId: string;

before(async () => {
  server = await startServer();
  session = await login(server.url);
  const validated = await fetch(`${server.url}/identity/v3/auth/tokens`, { headers: { 'X-Auth-Token': session.token, 'X-Subject-Token': session.token } });
  userId = ((await validated.json()) as { token: { user: { id: string } } }).token.user.id;
});
after(() => server.destroy());

function ec2(path = '', init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}/identity/v3/users/${userId}/credentials/OS-EC2${path}`, {
    ...init,
    headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
}

describe('OS-EC2 credentials', () => {
  test('the first start prints an S3 key pair beside the access key', () => {
    assert.match(server.output(), /S3 access key ID: +[A-Z2-7]{20}\n/);
    assert.match(server.output(), /S3 secret access key: +\S{40} /);
  });

  test('create shows the secret once; list and get never show it; delete removes it', async () => {
    const created = await ec2('', { method: 'POST', body: JSON.stringify({ tenant_id: session.projectId }) });
    assert.equal(created.status, 201);
    const { credential } = (await created.json()) as { credential: { access: string; secret: string; tenant_id: string; user_id: string } };
    assert.equal(credential.tenant_id, session.projectId);
    assert.equal(credential.user_id, userId);
    assert.match(credential.secret, /^\S{40}$/);

    const listed = (await (await ec2()).json()) as { credentials: Array<Record<string, unknown>> };
    const mine = listed.credentials.find((c) => c.access === credential.access);
    assert.ok(mine);
    assert.equal(mine.secret, undefined);
    const got = await ec2(`/${credential.access}`);
    assert.equal(got.status, 200);
    assert.equal(((await got.json()) as { credential: Record<string, unknown> }).credential.secret, undefined);

    assert.equal((await ec2(`/${credential.access}`, { method: 'DELETE' })).status, 204);
    assert.equal((await ec2(`/${credential.access}`)).status, 404);
  });

  test('another project than the token is scoped to is refused; so is another user', async () => {
    assert.equal((await ec2('', { method: 'POST', body: JSON.stringify({ tenant_id: 'some-other-project' }) })).status, 403);
    const other = await fetch(`${server.url}/identity/v3/users/someone-else/credentials/OS-EC2`, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(other.status, 403);
    const anonymous = await fetch(`${server.url}/identity/v3/users/${userId}/credentials/OS-EC2`);
    assert.equal(anonymous.status, 401);
  });

  test('onggi admin s3-key create, list, delete', async () => {
    const made = (await admin(server.dataDir, 's3-key', 'create', session.projectId, 'admin')) as { access: string; secret: string };
    assert.match(made.access, /^[A-Z2-7]{20}$/);
    const listed = (await admin(server.dataDir, 's3-key', 'list', '--user', 'admin')) as Array<{ access: string; secret?: string }>;
    assert.ok(listed.some((c) => c.access === made.access && c.secret === undefined));
    await admin(server.dataDir, 's3-key', 'delete', made.access);
    const after = (await admin(server.dataDir, 's3-key', 'list')) as Array<{ access: string }>;
    assert.ok(!after.some((c) => c.access === made.access));
  });

  test('the secret is stored sealed, never in clear', { skip: onPostgres ? 'the PostgreSQL pass keeps metadata outside the data directory' : false }, async () => {
    const created = await ec2('', { method: 'POST', body: '{}' });
    const { credential } = (await created.json()) as { credential: { secret: string } };
    await server.stop();
    for (const name of await readdir(server.dataDir)) {
      if (!name.startsWith('meta')) continue;
      const bytes = await readFile(join(server.dataDir, name));
      assert.ok(!bytes.includes(credential.secret), `${name} holds the secret in clear`);
    }
    assert.ok(!server.logs().includes(credential.secret));
  });
});
