/**
 * Issue 9 item 1: slow or hostile clients cannot hold the server's connections. Header timeout, body-inactivity
 * timeout (a stalled upload leaves nothing), keep-alive idle timeout, connection caps overall and per client
 * address (the excess gets a clean 503), and refusals (401/403/413) that close instead of reading the body.
 * A slow upload that keeps moving still succeeds. Item 10: each client abort is one info line, no stack.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAccount } from '../helpers/accounts.ts';
import { auth, createContainer, storagePath } from '../helpers/swift.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

interface Conversation {
  socket: Socket;
  /** Everything the server sent so far. */
  received: () => string;
  /** Resolves true once the server has closed the connection, false if it is still open after `ms`. */
  closedWithin: (ms: number) => Promise<boolean>;
}

function open(url: string, localAddress = '127.0.0.1'): Promise<Conversation> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    const chunks: Buffer[] = [];
    let closed = false;
    const closing = new Promise<void>((done) => {
      socket.on('close', () => {
        closed = true;
        done();
      });
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      resolve({
        socket,
        received: () => Buffer.concat(chunks).toString('latin1'),
        closedWithin: async (ms) => {
          await Promise.race([closing, sleep(ms)]);
          return closed;
        },
      });
    });
    socket.once('error', reject);
  });
}

async function tempFiles(server: RunningServer): Promise<string[]> {
  return readdir(join(server.dataDir, 'tmp'));
}

async function blobCount(server: RunningServer): Promise<number> {
  const shards = await readdir(join(server.dataDir, 'blobs'));
  const files = await Promise.all(shards.map((shard) => readdir(join(server.dataDir, 'blobs', shard))));
  return files.flat().length;
}

async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

void describe('timeouts', () => {
  let server: RunningServer;
  let session: Session;
  before(async () => {
    server = await startServer({ env: { ONGGI_HEADERS_TIMEOUT: '1', ONGGI_BODY_TIMEOUT: '1', ONGGI_KEEPALIVE_TIMEOUT: '1', ONGGI_LOG_LEVEL: 'info' } });
    session = await login(server.url);
    await createContainer(session, 'slow');
  });
  after(async () => {
    await server.destroy();
  });

  void test('half-sent headers, or none at all, are dropped after the header timeout', async () => {
    const silent = await open(server.url);
    const partial = await open(server.url);
    partial.socket.write('GET /info HTTP/1.1\r\nHost: onggi\r\nX-Slow: ');
    const started = Date.now();
    assert.ok(await partial.closedWithin(4000), 'a connection with half its headers is still open');
    assert.ok(await silent.closedWithin(4000 - (Date.now() - started)), 'a connection that sent nothing is still open');
    const info = await fetch(`${server.url}/info`);
    assert.equal(info.status, 200, 'the server still answers');
  });

  void test('a stalled upload is aborted after the body timeout and leaves no object, no temp file, no blob', async () => {
    const blobsBefore = await blobCount(server);
    const upload = await open(server.url);
    upload.socket.write(`PUT ${storagePath(session)}/slow/stalled HTTP/1.1\r\nHost: onggi\r\nX-Auth-Token: ${session.token}\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`);
    upload.socket.write(randomBytes(512 * 1024));
    await pollUntil('the upload to reach tmp/', async () => (await tempFiles(server)).length > 0);
    assert.ok(await upload.closedWithin(5000), 'the stalled upload is still open');
    const head = await fetch(`${session.storageUrl}/slow/stalled`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.status, 404);
    await pollUntil('the temp file to go', async () => (await tempFiles(server)).length === 0);
    assert.equal(await blobCount(server), blobsBefore);
  });

  void test('a stalled body on the token endpoint is dropped too', async () => {
    const conversation = await open(server.url);
    conversation.socket.write('POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: onggi\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"auth":');
    assert.ok(await conversation.closedWithin(5000));
  });

  void test('an upload that keeps moving succeeds however long it takes (3 MiB over ~4 s, body timeout 1 s)', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const conversation = await open(server.url);
    conversation.socket.write(`PUT ${storagePath(session)}/slow/steady HTTP/1.1\r\nHost: onggi\r\nX-Auth-Token: ${session.token}\r\nContent-Length: ${body.length}\r\n\r\n`);
    const piece = Math.ceil(body.length / 16);
    const started = Date.now();
    for (let offset = 0; offset < body.length; offset += piece) {
      conversation.socket.write(body.subarray(offset, offset + piece));
      await sleep(250);
    }
    await pollUntil('the response', async () => conversation.received().includes('\r\n\r\n'), 10_000);
    assert.match(conversation.received(), /^HTTP\/1\.1 201 /);
    assert.ok(Date.now() - started > 3500, 'the upload took its time');
    conversation.socket.destroy();
    const res = await fetch(`${session.storageUrl}/slow/steady`, { headers: auth(session) });
    assert.equal(createHash('md5').update(Buffer.from(await res.arrayBuffer())).digest('hex'), createHash('md5').update(body).digest('hex'));
  });

  void test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const conversation = await open(server.url);
    conversation.socket.write('GET /info HTTP/1.1\r\nHost: onggi\r\n\r\n');
    await pollUntil('the response', async () => conversation.received().includes('"swift"'));
    assert.doesNotMatch(conversation.received(), /connection: close/i);
    assert.ok(await conversation.closedWithin(3000), 'the idle connection is still open');
  });
});

void describe('refusals close the connection instead of reading the body', () => {
  let server: RunningServer;
  let session: Session;
  /** A reader of the container's project: its writes are forbidden (403). */
  let reader: Session;
  before(async () => {
    server = await startServer();
    session = await login(server.url);
    await createContainer(session, 'guarded');
    const account = await createAccount(server.dataDir, 'reader', { project: session.projectId });
    reader = await login(server.url, account.keyId, account.secret);
  });
  after(async () => {
    await server.destroy();
  });

  const declared = 100 * 1024 * 1024;
  const cases: [string, () => string, RegExp][] = [
    ['401 (no token)', () => `PUT ${storagePath(session)}/guarded/x HTTP/1.1\r\nHost: onggi\r\nContent-Length: ${declared}\r\n\r\n`, /^HTTP\/1\.1 401 /],
    ['401 (bad token)', () => `PUT ${storagePath(session)}/guarded/x HTTP/1.1\r\nHost: onggi\r\nX-Auth-Token: nope\r\nContent-Length: ${declared}\r\n\r\n`, /^HTTP\/1\.1 401 /],
    ['403 (a reader writes)', () => `PUT ${storagePath(reader)}/guarded/x HTTP/1.1\r\nHost: onggi\r\nX-Auth-Token: ${reader.token}\r\nContent-Length: ${declared}\r\n\r\n`, /^HTTP\/1\.1 403 /],
    ['413 (declared too large)', () => `PUT ${storagePath(session)}/guarded/x HTTP/1.1\r\nHost: onggi\r\nX-Auth-Token: ${session.token}\r\nContent-Length: ${6 * 1024 ** 3}\r\n\r\n`, /^HTTP\/1\.1 413 /],
    ['413 (token request too large)', () => `POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: onggi\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`, /^HTTP\/1\.1 413 /],
    ['401 (chunked, no token)', () => `PUT ${storagePath(session)}/guarded/x HTTP/1.1\r\nHost: onggi\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n`, /^HTTP\/1\.1 401 /],
  ];
  for (const [label, head, status] of cases) {
    void test(`${label}: answered with Connection: close, and closed while the client is still sending`, async () => {
      const conversation = await open(server.url);
      conversation.socket.write(head());
      conversation.socket.write(randomBytes(64 * 1024));
      await pollUntil('the response', async () => conversation.received().includes('\r\n\r\n'));
      assert.match(conversation.received(), status);
      assert.match(conversation.received(), /\r\nconnection: close\r\n/i);
      assert.ok(await conversation.closedWithin(2000), 'the server kept reading the body');
    });
  }

  void test('a bodiless request answered 401 keeps its connection', async () => {
    const conversation = await open(server.url);
    conversation.socket.write(`GET ${storagePath(session)}/guarded HTTP/1.1\r\nHost: onggi\r\n\r\n`);
    await pollUntil('the response', async () => conversation.received().includes('\r\n\r\n'));
    assert.match(conversation.received(), /^HTTP\/1\.1 401 /);
    assert.doesNotMatch(conversation.received(), /connection: close/i);
    conversation.socket.destroy();
  });
});

void describe('connection caps', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ env: { ONGGI_MAX_CONNECTIONS: '30', ONGGI_MAX_CONNECTIONS_PER_CLIENT: '12' } });
  });
  after(async () => {
    await server.destroy();
  });

  async function heldFrom(address: string, count: number): Promise<Conversation[]> {
    const held: Conversation[] = [];
    for (let i = 0; i < count; i++) held.push(await open(server.url, address));
    return held;
  }

  async function refusedFrom(address: string): Promise<void> {
    const extra = await open(server.url, address);
    extra.socket.write('GET /info HTTP/1.1\r\nHost: onggi\r\n\r\n');
    assert.ok(await extra.closedWithin(3000), `the refused connection from ${address} was not closed`);
    assert.match(extra.received(), /^HTTP\/1\.1 503 /);
    assert.match(extra.received(), /\r\nConnection: close\r\n/);
  }

  async function servedFrom(address: string): Promise<void> {
    const conversation = await open(server.url, address);
    conversation.socket.write('GET /info HTTP/1.1\r\nHost: onggi\r\nConnection: close\r\n\r\n');
    assert.ok(await conversation.closedWithin(3000));
    assert.match(conversation.received(), /^HTTP\/1\.1 200 /, `from ${address}`);
  }

  void test('one address may hold its share, the next connection from it gets a clean 503; others are still served', async () => {
    const held = await heldFrom('127.0.0.2', 12);
    await sleep(100);
    await refusedFrom('127.0.0.2');
    await servedFrom('127.0.0.3');
    held.forEach((c) => c.socket.destroy());
    await sleep(200);
    await servedFrom('127.0.0.2');
  });

  void test('past the overall cap every new connection is refused until some close', async () => {
    const held = [...(await heldFrom('127.0.0.4', 12)), ...(await heldFrom('127.0.0.5', 12)), ...(await heldFrom('127.0.0.6', 6))];
    await sleep(100);
    await refusedFrom('127.0.0.7');
    held.slice(0, 6).forEach((c) => c.socket.destroy());
    await sleep(200);
    await servedFrom('127.0.0.7');
    held.forEach((c) => c.socket.destroy());
  });
});

void describe('client aborts are logged once, at info, without a stack', () => {
  let server: RunningServer;
  let session: Session;
  before(async () => {
    server = await startServer({ env: { ONGGI_LOG_LEVEL: 'debug' } });
    session = await login(server.url);
    await createContainer(session, 'aborts');
    const res = await fetch(`${session.storageUrl}/aborts/big`, { method: 'PUT', headers: auth(session), body: randomBytes(32 * 1024 * 1024) });
    assert.equal(res.status, 201);
  });
  after(async () => {
    await server.destroy();
  });

  void test('five cut uploads and five cut downloads make ten info lines and nothing at warn or above', async () => {
    const before = server.errors().length;
    for (let i = 0; i < 5; i++) {
      const upload = await open(server.url);
      upload.socket.write(`PUT ${storagePath(session)}/aborts/cut-${i} HTTP/1.1\r\nHost: onggi\r\nX-Auth-Token: ${session.token}\r\nContent-Length: 10000000\r\n\r\n`);
      upload.socket.write(randomBytes(300 * 1024));
      await pollUntil('the upload to start', async () => (await tempFiles(server)).length > 0);
      upload.socket.destroy();
      const download = await open(server.url);
      // Reading no more after the first bytes: the server cannot finish (it would, 32 MiB in some 50 ms, before the cut).
      download.socket.once('data', () => download.socket.pause());
      download.socket.write(`GET ${storagePath(session)}/aborts/big HTTP/1.1\r\nHost: onggi\r\nX-Auth-Token: ${session.token}\r\n\r\n`);
      await pollUntil('the download to start', async () => download.received().length > 0);
      download.socket.destroy();
      await pollUntil('the temp file to go', async () => (await tempFiles(server)).length === 0);
    }
    await sleep(500);
    const lines = server
      .errors()
      .slice(before)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown });
    assert.deepEqual(lines.filter((l) => l.level >= 40), [], 'nothing at warn or above');
    assert.equal(lines.filter((l) => 'err' in l || JSON.stringify(l).includes('stack')).length, 0, 'no error object, no stack');
    const aborts = lines.filter((l) => /client went away/.test(l.msg));
    assert.equal(aborts.length, 10, JSON.stringify(lines));
    assert.ok(aborts.every((l) => l.level === 30));
  });
});
