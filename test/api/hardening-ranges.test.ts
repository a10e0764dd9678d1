/**
 * Issue 9 item 2: hostile Range headers. Overlapping ranges are coalesced (no byte is sent twice), more than 50
 * ranges or 8+ ranges out of order are refused (Swift's limits), and a multi-range GET holds one descriptor of
 * the blob however many ranges it asks for, and however many readers there are.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { auth, createContainer, putObject } from '../helpers/swift.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const C = 'ranges';
const SIZE = 4 * 1024 * 1024;
const data = randomBytes(SIZE);
/** Big enough that 50 ranges of it outgrow every socket buffer between the server and a reader that stops. */
const HUGE = 48 * 1024 * 1024;

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
    body: JSON.stringify({ name: 'ranges-enc', type: 'STANDARD', use_encryption: true }),
  });
  assert.equal(encrypted.status, 201);
  await putObject(session, 'ranges-enc', 'big', data);
  await putObject(session, C, 'huge', randomBytes(HUGE));
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

/** Starts a GET and reads nothing: the response stalls once the socket buffers are full. */
function stalledGet(range: string): Promise<ClientRequest> {
  const url = new URL(`${session.storageUrl}/${C}/huge`);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: auth(session, { Range: range }), agent: false });
    req.on('response', (res) => {
      res.pause();
      resolve(req);
    });
    req.on('error', reject);
    req.end();
  });
}

void describe('overlapping ranges', () => {
  void test('50 × "0-" is one range of the whole object, not 50 copies', async () => {
    for (const container of [C, 'ranges-enc']) {
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
    await sleep(200);
    assert.equal(await blobDescriptors(), 0, 'no blob is open before');
    const part = Math.floor(HUGE / 50);
    const range = `bytes=${Array.from({ length: 50 }, (_, i) => `${i * part}-${i * part + part - 10}`).join(',')}`;
    const readers: ClientRequest[] = [await stalledGet(range)];
    await sleep(300);
    assert.equal(await blobDescriptors(), 1, 'one reader of 50 ranges');
    for (let i = 0; i < 9; i++) readers.push(await stalledGet(range));
    await sleep(300);
    assert.equal(await blobDescriptors(), 1, 'ten readers of the same object');
    for (const reader of readers) reader.destroy();
    for (let i = 0; i < 150 && (await blobDescriptors()) > 0; i++) await sleep(100);
    assert.equal(await blobDescriptors(), 0, 'closed once the readers are gone');
  });
});
