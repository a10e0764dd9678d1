/**
 * Issue 22 item 1: a client without credentials cannot hold a connection by trickling a body. The token endpoint
 * reads its JSON before any credential is checked: that body must arrive whole within
 * ONGGI_UNAUTHENTICATED_BODY_TIMEOUT (plus its length at ONGGI_MIN_BODY_RATE), however steadily it moves, and it
 * is small (8 KiB at most). An authenticated upload that keeps moving still succeeds however long it takes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/accounts.ts';
import { login, ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, storagePath } from '../helpers/swift.ts';

interface Conversation {
  socket: Socket;
  received: () => string;
  closed: () => boolean;
}

function open(url: string): Promise<Conversation> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      resolve({ socket, received: () => Buffer.concat(chunks).toString('latin1'), closed: () => closed });
    });
    socket.once('error', reject);
  });
}

/** Sends `body` a piece every `everyMs` until it is all sent or the server closes; how long the connection lasted. */
async function trickle(conversation: Conversation, body: Buffer, piece: number, everyMs: number): Promise<number> {
  const started = Date.now();
  for (let offset = 0; offset < body.length && !conversation.closed(); offset += piece) {
    conversation.socket.write(body.subarray(offset, offset + piece));
    await sleep(everyMs);
  }
  return Date.now() - started;
}

const TOKEN_BODY = JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: ROOT_KEY_ID, secret: ROOT_SECRET } } } });

void describe('bodies of requests without credentials', () => {
  let server: RunningServer;
  let session: Session;
  before(async () => {
    // Inactivity allowed: 2 s. A body without a user: 1 s plus its length at 1 KiB/s.
    server = await startServer({ env: { ONGGI_BODY_TIMEOUT: '2', ONGGI_UNAUTHENTICATED_BODY_TIMEOUT: '1', ONGGI_MIN_BODY_RATE: '1024', ONGGI_LOG_LEVEL: 'info' } });
    session = await login(server.url);
    await createContainer(session, 'slow');
  });
  after(async () => {
    await server.destroy();
  });

  void test('a token request trickled a byte every 200 ms (never idle) is cut after its deadline', async () => {
    const conversation = await open(server.url);
    const body = Buffer.from(TOKEN_BODY);
    conversation.socket.write(`POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: onggi\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    // Deadline: 1 s + ~170 bytes at 1 KiB/s, about 1.2 s; sending it all would take ~34 s.
    const lasted = await trickle(conversation, body, 1, 200);
    assert.ok(conversation.closed(), 'the connection is still open after the whole body was sent');
    assert.ok(lasted < 4000, `the connection lasted ${lasted} ms`);
    assert.doesNotMatch(conversation.received(), /^HTTP\/1\.1 201/);
  });

  void test('a token request that arrives in time is answered', async () => {
    await login(server.url);
  });

  void test('a token request body is small: 8 KiB at most', async () => {
    const padded = JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: ROOT_KEY_ID, secret: ROOT_SECRET } } }, padding: 'x'.repeat(10_000) });
    const res = await fetch(`${server.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: padded });
    await res.arrayBuffer();
    assert.equal(res.status, 413);
  });

  void test('an authenticated upload that keeps moving succeeds, though it takes longer than an unauthenticated body may', async () => {
    // 3 KiB in 12 pieces 400 ms apart (~4.8 s): unauthenticated, its deadline would be 1 s + 3 KiB at 1 KiB/s = 4 s.
    const body = randomBytes(3 * 1024);
    const conversation = await open(server.url);
    conversation.socket.write(`PUT ${storagePath(session)}/slow/steady HTTP/1.1\r\nHost: onggi\r\nX-Auth-Token: ${session.token}\r\nContent-Length: ${body.length}\r\n\r\n`);
    const lasted = await trickle(conversation, body, 256, 400);
    for (let i = 0; i < 50 && !conversation.received().includes('\r\n\r\n'); i++) await sleep(100);
    assert.match(conversation.received(), /^HTTP\/1\.1 201 /);
    assert.ok(lasted > 4000, `the upload took ${lasted} ms, longer than an unauthenticated body's 4 s deadline`);
    conversation.socket.destroy();
    const res = await fetch(`${session.storageUrl}/slow/steady`, { headers: auth(session) });
    assert.equal(createHash('md5').update(Buffer.from(await res.arrayBuffer())).digest('hex'), createHash('md5').update(body).digest('hex'));
  });

  void test('the cut is logged as a client that timed out, at info', async () => {
    const logged = await waitFor(async () => /"level":30[^\n]*client timed out before the response was complete/.test(server.errors()), 5000);
    assert.notEqual(logged, null, server.errors());
  });
});
