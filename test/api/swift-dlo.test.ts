/** Swift dynamic large objects (DLO): `X-Object-Manifest`, read from a listing of the segments at GET time. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, md5Hex, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
const C = 'dlo-test';
const SEG = 'dlo-test_segments';
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

before(async () => {
  server = await startServer();
  session = await login(server.url);
  await createContainer(session, C);
  await createContainer(session, SEG);
});
after(async () => {
  await server.destroy();
});

const url = (path: string): string => `${session.storageUrl}/${path}`;
const dloEtag = (parts: Buffer[]): string => `"${createHash('md5').update(parts.map((p) => md5Hex(p)).join('')).digest('hex')}"`;

async function putSegments(prefix: string, parts: Buffer[]): Promise<void> {
  for (const [i, part] of parts.entries()) assert.equal((await putObject(session, SEG, `${prefix}${String(i).padStart(4, '0')}`, part)).status, 201);
}

async function putDlo(name: string, manifest: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url(`${C}/${name}`), { method: 'PUT', headers: auth(session, { 'X-Object-Manifest': manifest, ...headers }), body: '' });
}

test('a DLO reads as its segments in name order, with the quoted MD5 of their ETags; HEAD shows the manifest', async () => {
  const parts = [randomBytes(80_000), randomBytes(10), randomBytes(5000)];
  await putSegments('file/', parts);
  const put = await putDlo('file.bin', `${SEG}/file/`, { 'X-Object-Meta-Kind': 'dlo' });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('etag'), EMPTY_MD5);
  const got = await fetch(url(`${C}/file.bin`), { headers: auth(session) });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('x-object-manifest'), `${SEG}/file/`);
  assert.equal(got.headers.get('etag'), dloEtag(parts));
  assert.equal(got.headers.get('x-object-meta-kind'), 'dlo');
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(Buffer.concat(parts)));
  const head = await fetch(url(`${C}/file.bin`), { method: 'HEAD', headers: auth(session) });
  assert.equal(head.headers.get('content-length'), String(80_000 + 10 + 5000));
  assert.equal(head.headers.get('x-object-manifest'), `${SEG}/file/`);
  assert.equal(head.headers.get('etag'), dloEtag(parts));
  const range = await fetch(url(`${C}/file.bin`), { headers: auth(session, { Range: 'bytes=79995-80012' }) });
  assert.equal(range.status, 206);
  assert.ok(Buffer.from(await range.arrayBuffer()).equals(Buffer.concat(parts).subarray(79_995, 80_013)));
});

test('the listing decides: a segment added or deleted later changes what the DLO reads', async () => {
  const parts = [randomBytes(100), randomBytes(200)];
  await putSegments('grow/', parts);
  assert.equal((await putDlo('grow.bin', `${SEG}/grow/`)).status, 201);
  const extra = randomBytes(300);
  await putObject(session, SEG, 'grow/0002', extra);
  let got = await fetch(url(`${C}/grow.bin`), { headers: auth(session) });
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(Buffer.concat([...parts, extra])));
  assert.equal((await fetch(url(`${SEG}/grow/0000`), { method: 'DELETE', headers: auth(session) })).status, 204);
  got = await fetch(url(`${C}/grow.bin`), { headers: auth(session) });
  assert.equal(got.headers.get('etag'), dloEtag([parts[1] ?? Buffer.alloc(0), extra]));
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(Buffer.concat([parts[1] ?? Buffer.alloc(0), extra])));
});

test('a DLO with no segments reads as zero bytes', async () => {
  assert.equal((await putDlo('nothing.bin', `${SEG}/nothing-here/`)).status, 201);
  const got = await fetch(url(`${C}/nothing.bin`), { headers: auth(session) });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('etag'), `"${EMPTY_MD5}"`);
  assert.equal((await got.arrayBuffer()).byteLength, 0);
});

test('names in X-Object-Manifest are URL-quoted, as clients send them, and shown so', async () => {
  const parts = [Buffer.from('한글 '), Buffer.from('segments')];
  await putSegments('이름 with space/', parts);
  const quoted = `${SEG}/${encodeURIComponent('이름 with space')}/`;
  assert.equal((await putDlo('unicode.bin', quoted)).status, 201);
  const got = await fetch(url(`${C}/unicode.bin`), { headers: auth(session) });
  assert.equal(got.headers.get('x-object-manifest'), quoted);
  assert.equal(await got.text(), '한글 segments');
});

test('POST keeps the manifest; a POST with X-Object-Manifest points it elsewhere', async () => {
  const parts = [randomBytes(50)];
  await putSegments('other/', parts);
  const post = await fetch(url(`${C}/file.bin`), { method: 'POST', headers: auth(session, { 'X-Object-Meta-Kind': 'changed' }) });
  assert.equal(post.status, 202);
  let head = await fetch(url(`${C}/file.bin`), { method: 'HEAD', headers: auth(session) });
  assert.equal(head.headers.get('x-object-manifest'), `${SEG}/file/`);
  assert.equal(head.headers.get('x-object-meta-kind'), 'changed');
  const moved = await fetch(url(`${C}/file.bin`), { method: 'POST', headers: auth(session, { 'X-Object-Manifest': `${SEG}/other/` }) });
  assert.equal(moved.status, 202);
  head = await fetch(url(`${C}/file.bin`), { method: 'HEAD', headers: auth(session) });
  assert.equal(head.headers.get('x-object-manifest'), `${SEG}/other/`);
  assert.equal(head.headers.get('content-length'), '50');
  const missing = await fetch(url(`${C}/no-such.bin`), { method: 'POST', headers: auth(session, { 'X-Object-Manifest': `${SEG}/other/` }) });
  assert.equal(missing.status, 404);
});

test('?multipart-manifest=get gives the manifest object itself', async () => {
  const got = await fetch(url(`${C}/grow.bin?multipart-manifest=get`), { headers: auth(session) });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('x-object-manifest'), `${SEG}/grow/`);
  assert.equal(got.headers.get('content-length'), '0');
  assert.equal(await got.text(), '');
});

test('a malformed X-Object-Manifest is 400 and stores nothing', async () => {
  const bad = await putDlo('bad.bin', 'no-slash');
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /X-Object-Manifest must be in the format container\/prefix/);
  assert.equal((await fetch(url(`${C}/bad.bin`), { method: 'HEAD', headers: auth(session) })).status, 404);
});

test('a DLO whose segment container does not exist reads as 404, as Swift answers', async () => {
  const missing = await putDlo('elsewhere.bin', 'no-such-container/x/');
  assert.equal(missing.status, 201);
  const got = await fetch(url(`${C}/elsewhere.bin`), { headers: auth(session) });
  assert.equal(got.status, 404);
  await got.body?.cancel();
});
