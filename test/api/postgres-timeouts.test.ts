/**
 * Issue 22 item 9: on PostgreSQL every statement is bounded by statement_timeout and lock_timeout
 * (ONGGI_METADATA_STATEMENT_TIMEOUT, ONGGI_METADATA_LOCK_TIMEOUT): a request whose table another session holds
 * locked is answered 503 within the timeout, with a log line saying why, instead of hanging for as long as the
 * lock is held. The server runs on PostgreSQL in both passes.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { waitFor } from '../helpers/accounts.ts';
import { createDatabase } from '../helpers/postgres.ts';
import { login, startServer, type RunningServer } from '../helpers/server.ts';
import { auth, createContainer, putObject } from '../helpers/swift.ts';

const servers: RunningServer[] = [];
after(async () => {
  for (const server of servers) await server.destroy();
});

/** Starts a server on a database of its own with the given timeouts; an object `c/o` in it; its URL and token. */
async function serverWithObject(env: Record<string, string>): Promise<{ server: RunningServer; databaseUrl: string; objectUrl: string; token: string }> {
  const databaseUrl = await createDatabase();
  const server = await startServer({ env: { ONGGI_METADATA_URL: databaseUrl, ONGGI_LOG_LEVEL: 'warn', ...env } });
  servers.push(server);
  const session = await login(server.url);
  await createContainer(session, 'locked');
  await putObject(session, 'locked', 'o', 'still here');
  return { server, databaseUrl, objectUrl: `${session.storageUrl}/locked/o`, token: session.token };
}

/** Holds an exclusive lock on the objects table while `work` runs. */
async function withObjectsLocked<T>(databaseUrl: string, work: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE onggi_objects IN ACCESS EXCLUSIVE MODE');
    return await work();
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  }
}

async function getWithin(url: string, token: string, ms: number): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const res = await fetch(url, { headers: { 'X-Auth-Token': token }, signal: AbortSignal.timeout(ms) });
  await res.arrayBuffer();
  return { status: res.status, ms: Date.now() - started };
}

void describe('PostgreSQL statement and lock timeouts', () => {
  void test('a lock held past ONGGI_METADATA_LOCK_TIMEOUT: 503 and a log line naming lock_timeout', async () => {
    const { server, databaseUrl, objectUrl, token } = await serverWithObject({ ONGGI_METADATA_LOCK_TIMEOUT: '0.5' });
    const answer = await withObjectsLocked(databaseUrl, () => getWithin(objectUrl, token, 8000));
    assert.equal(answer.status, 503);
    assert.ok(answer.ms < 5000, `answered after ${answer.ms} ms`);
    const logged = await waitFor(async () => /"level":40[^\n]*"status":503[^\n]*lock_timeout/.test(server.errors()), 5000);
    assert.notEqual(logged, null, `no log line says why: ${server.errors()}`);
    const after = await fetch(objectUrl, { headers: auth({ token, projectId: '', storageUrl: '' }) });
    assert.equal(await after.text(), 'still here', 'served again once the lock is gone');
  });

  void test('a statement that runs past ONGGI_METADATA_STATEMENT_TIMEOUT: 503 and a log line naming statement_timeout', async () => {
    const { server, databaseUrl, objectUrl, token } = await serverWithObject({ ONGGI_METADATA_STATEMENT_TIMEOUT: '0.5', ONGGI_METADATA_LOCK_TIMEOUT: '60' });
    const answer = await withObjectsLocked(databaseUrl, () => getWithin(objectUrl, token, 8000));
    assert.equal(answer.status, 503);
    assert.ok(answer.ms < 5000, `answered after ${answer.ms} ms`);
    const logged = await waitFor(async () => /"level":40[^\n]*"status":503[^\n]*statement_timeout/.test(server.errors()), 5000);
    assert.notEqual(logged, null, `no log line says why: ${server.errors()}`);
  });
});
