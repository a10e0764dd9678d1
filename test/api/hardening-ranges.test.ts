/**
 * Issue 9 item 2: hostile Range headers. Overlapping ranges are coalesced (no byte is sent twice), more than 50
 * ranges or 8+ ranges out of order are refused (Swift's limits), and a multi-range GET holds one descriptor of
 * the blob however many ranges it asks for, and however many readers there are — and nothing once its reader is
 * gone, whenever it went.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readlink } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { auth, createContainer, putObject } from '../helpers/swift.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const C = 'ranges';
const ENC = 'ranges-enc';
const SIZE = 4 * 1024 * 1024;
const data = randomBytes(SIZE);
/** Big enough that 50 ranges of it outgrow every socket buffer between the server and a reader that stops. */
const HUGE = 48 * 1024 * 1024;
const huge = randomBytes(HUGE);
/** 50 ranges spread over the huge object, none of them starting on a 16-byte (AES) block. */
const PART = Math.floor(HUGE / 50);
const FIFTY_RANGES = `bytes=${Array.from({ length: 50 }, (_, i) => `${i * PART + 7}-${i * PART + PART - 10}`).join(',')}`;

let server: RunningServer;
let session: Session;

before(async () => {
  server = await startServer();
  session = await login(server.url);
  await createContainer(session, C);
  await putObject(session, C, 'big', data);
  const encrypted = await fetch(`${server.url}/v1_ext/bucket`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: ENC, type: 'STANDARD', use_encryption: true }),
  });
  assert.equal(encrypted.status, 201);
  await putObject(session, ENC, 'big', data);
  await putObject(session, C, 'huge', huge);
  await putObject(session, ENC, 'huge', huge);
});
after(async () => {
  await server.destroy();
});

async function get(container: string, range: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(`${session.storageUrl}/${container}/big`, { headers: auth(session, { Range: range }) });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Descriptors the server process holds open on blob files. */
async function blobDescriptors(): Promise<number> {
  const pid = server.process.pid ?? 0;
  const fds = await readdir(`/proc/${pid}/fd`);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.includes('/blobs/')).length;
}

/** Blob descriptors once the server has let go of what it should: polls until there are none, for up to 5 s. */
async function settledDescriptors(): Promise<number> {
  let open = await blobDescriptors();
  for (let i = 0; i < 50 && open > 0; i++) {
    await sleep(100);
    open = await blobDescriptors();
  }
  return open;
}

function hugeRequest(container: string, range: string | undefined): ClientRequest {
  const url = new URL(`${session.storageUrl}/${container}/huge`);
  const headers = auth(session, range === undefined ? {} : { Range: range });
  return httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers, agent: false });
}

/**
 * Starts a GET of the huge object, reads `readFirst` bytes of the answer and then nothing more: the server's
 * writes stall once the socket buffers are full (mid-range or between two ranges, wherever that falls).
 */
function stalledGet(range: string | undefined, container = C, readFirst = 0): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = hugeRequest(container, range);
    req.on('response', (res) => {
      let seen = 0;
      const stop = (): void => {
        res.pause();
        resolve(req);
      };
      if (readFirst === 0) stop();
      else
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen >= readFirst && !res.isPaused()) stop();
        });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A GET whose client hangs up `afterMs` after sending it: mostly before the first byte of the answer. */
function abandonedGet(range: string | undefined, container: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = hugeRequest(container, range);
    req.on('error', () => undefined);
    req.on('close', () => resolve());
    req.end(() => setTimeout(() => req.destroy(), afterMs));
  });
}

void describe('overlapping ranges', () => {
  void test('50 × "0-" is one range of the whole object, not 50 copies', async () => {
    for (const container of [C, ENC]) {
      const res = await get(container, `bytes=${Array.from({ length: 50 }, () => '0-').join(',')}`);
      assert.equal(res.status, 206, container);
      assert.equal(res.headers.get('content-range'), `bytes 0-${SIZE - 1}/${SIZE}`);
      assert.equal(res.body.length, SIZE);
      assert.ok(res.body.equals(data), `${container}: the bytes`);
    }
  });

  void test('partly overlapping ranges are merged; the response is never longer than the object', async () => {
    const res = await get(C, 'bytes=0-999,500-1999,100-200,3000-3999,3500-');
    assert.equal(res.status, 206);
    const type = res.headers.get('content-type') ?? '';
    assert.match(type, /^multipart\/byteranges/);
    const text = res.body.toString('latin1');
    assert.deepEqual([...text.matchAll(/Content-Range: (bytes \S+)/g)].map((m) => m[1]), ['bytes 0-1999/4194304', `bytes 3000-${SIZE - 1}/4194304`]);
    assert.ok(res.body.length < SIZE, `${res.body.length} bytes`);
  });

  void test('more than 50 ranges, or 8 out of order, are refused with 416 as Swift does', async () => {
    const many = await get(C, `bytes=${Array.from({ length: 51 }, (_, i) => `${i * 10}-${i * 10}`).join(',')}`);
    assert.equal(many.status, 416);
    assert.equal(many.headers.get('content-range'), `bytes */${SIZE}`);
    const reversed = await get(C, `bytes=${Array.from({ length: 8 }, (_, i) => `${(8 - i) * 10}-${(8 - i) * 10}`).join(',')}`);
    assert.equal(reversed.status, 416);
  });
});

void describe('descriptors', () => {
  void test('a stalled 50-range reader holds one blob descriptor, and so do ten of them', async () => {
    assert.equal(await settledDescriptors(), 0, 'no blob is open before');
    const readers: ClientRequest[] = [await stalledGet(FIFTY_RANGES)];
    await sleep(300);
    assert.equal(await blobDescriptors(), 1, 'one reader of 50 ranges');
    for (let i = 0; i < 9; i++) readers.push(await stalledGet(FIFTY_RANGES));
    await sleep(300);
    assert.equal(await blobDescriptors(), 1, 'ten readers of the same object');
    for (const reader of readers) reader.destroy();
    assert.equal(await settledDescriptors(), 0, 'closed once the readers are gone');
  });

  void test('a reader that goes away holds nothing: before the first byte, mid-range or between ranges', async () => {
    // Each way of reading, plain and encrypted: hang-ups a few milliseconds after the request (before the server
    // has answered, or while it opens the ranges or writes the first part's head), then readers that take
    // different amounts of the answer before they stop and hang up.
    const shapes: [string, string | undefined][] = [
      ['the whole object', undefined],
      ['one range', 'bytes=1001-'],
      ['50 ranges', FIFTY_RANGES],
    ];
    const hangUps = [0, 1, 2, 3, 5, 8, 13, 21];
    const readFirst = [0, 1, 300 * 1024, 1024 * 1024, 3 * 1024 * 1024];
    assert.equal(await settledDescriptors(), 0, 'no blob is open before');
    for (const container of [C, ENC]) {
      for (const [shape, range] of shapes) {
        const label = `${container}, ${shape}`;
        await Promise.all(hangUps.map((ms) => abandonedGet(range, container, ms)));
        assert.equal(await settledDescriptors(), 0, `${label}: clients that hung up before reading`);
        const readers = await Promise.all(readFirst.map((bytes) => stalledGet(range, container, bytes)));
        await sleep(300);
        assert.equal(await blobDescriptors(), 1, `${label}: stalled readers share one descriptor`);
        for (const reader of readers) reader.destroy();
        assert.equal(await settledDescriptors(), 0, `${label}: stalled readers that hung up`);
      }
    }
  });

  void test('GETs queued behind a stalled one on a pipelined connection hold nothing once it drops', async () => {
    assert.equal(await settledDescriptors(), 0, 'no blob is open before');
    const url = new URL(session.storageUrl);
    const get = (container: string, range?: string): string =>
      `GET ${url.pathname}/${container}/huge HTTP/1.1\r\nHost: ${url.host}\r\nX-Auth-Token: ${session.token}\r\n${range ? `Range: ${range}\r\n` : ''}\r\n`;
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.pause();
    socket.write(get(C) + get(C, FIFTY_RANGES) + get(ENC, FIFTY_RANGES) + get(ENC, 'bytes=1001-'));
    await sleep(300);
    assert.equal(await blobDescriptors(), 2, 'the stalled GET and those queued behind it: one descriptor per object');
    socket.destroy();
    assert.equal(await settledDescriptors(), 0, 'closed once the connection is gone');
  });
});
