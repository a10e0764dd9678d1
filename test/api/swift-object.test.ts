import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import {
  assertTransactionIds,
  auth,
  createContainer,
  header,
  md5Hex,
  putObject,
  raw,
  rawSocket,
  storagePath,
  truncatedPut,
} from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
let base: string;
const C = 'objects';

before(async () => {
  server = await startServer();
  session = await login(server.url);
  await createContainer(session, C);
  base = `${session.storageUrl}/${C}`;
});
after(async () => {
  await server.destroy();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function head(key: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/${key}`, { method: 'HEAD', headers: auth(session, headers) });
}

async function get(key: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/${key}`, { headers: auth(session, headers) });
}

async function containerCount(): Promise<string | null> {
  const res = await fetch(base, { method: 'HEAD', headers: auth(session) });
  return res.headers.get('x-container-object-count');
}

void describe('object basics', () => {
  void test('PUT is 201 with the quoted MD5 as ETag and a Last-Modified', async () => {
    const body = 'hello, onggi';
    const res = await fetch(`${base}/basic.txt`, { method: 'PUT', headers: auth(session, { 'Content-Type': 'text/plain' }), body });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('etag'), md5Hex(body));
    const lastModified = Date.parse(res.headers.get('last-modified') ?? '');
    assert.ok(!Number.isNaN(lastModified));
    assert.ok(Math.abs(lastModified - Date.now()) < 60_000);
    assertTransactionIds(res.headers);
  });

  void test('GET returns body and object headers', async () => {
    const body = 'some bytes for get';
    await putObject(session, C, 'get.bin', body, {
      'Content-Type': 'application/x-custom',
      'X-Object-Meta-Color': 'blue',
      'X-Object-Meta-Two-Words': 'two words',
      'Content-Disposition': 'attachment; filename="g.bin"',
      'Content-Encoding': 'identity',
    });
    const res = await get('get.bin');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), body);
    assert.equal(res.headers.get('content-type'), 'application/x-custom');
    assert.equal(res.headers.get('content-length'), String(body.length));
    assert.equal(res.headers.get('etag'), md5Hex(body));
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.match(res.headers.get('x-timestamp') ?? '', /^\d+\.\d{5}$/);
    assert.ok(!Number.isNaN(Date.parse(res.headers.get('last-modified') ?? '')));
    assert.equal(res.headers.get('x-object-meta-color'), 'blue');
    assert.equal(res.headers.get('x-object-meta-two-words'), 'two words');
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="g.bin"');
    assertTransactionIds(res.headers);
  });

  void test('HEAD returns the same headers and no body', async () => {
    const got = await get('get.bin');
    await got.body?.cancel();
    const res = await raw(server.url, { method: 'HEAD', path: `${storagePath(session)}/${C}/get.bin`, headers: auth(session) });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    for (const name of ['content-type', 'content-length', 'etag', 'last-modified', 'x-timestamp', 'accept-ranges', 'x-object-meta-color']) {
      assert.equal(header(res.headers, name), got.headers.get(name), name);
    }
    assertTransactionIds(res.headers);
  });

  void test('Content-Type is guessed from the name when not given', async () => {
    const res = await fetch(`${base}/guess.json`, { method: 'PUT', headers: auth(session), body: new Uint8Array(Buffer.from('{}')) });
    assert.equal(res.status, 201);
    assert.match((await head('guess.json')).headers.get('content-type') ?? '', /^application\/json/);
  });

  void test('an empty object round-trips', async () => {
    await putObject(session, C, 'empty', '');
    const res = await get('empty');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '0');
    assert.equal(res.headers.get('etag'), md5Hex(''));
    assert.equal(await res.text(), '');
  });

  void test('binary bytes round-trip exactly', async () => {
    const data = randomBytes(300_000);
    await putObject(session, C, 'random.bin', data);
    const res = await get('random.bin');
    assert.equal(res.status, 200);
    const back = Buffer.from(await res.arrayBuffer());
    assert.equal(back.length, data.length);
    assert.ok(back.equals(data));
  });

  void test('POST is 202 and replaces the user metadata', async () => {
    await putObject(session, C, 'post.txt', 'x', { 'X-Object-Meta-Old': 'old', 'X-Object-Meta-Keep': 'keep', 'Content-Type': 'text/plain' });
    const before = await head('post.txt');
    const post = await fetch(`${base}/post.txt`, { method: 'POST', headers: auth(session, { 'X-Object-Meta-New': 'new', 'X-Object-Meta-Keep': 'changed' }) });
    assert.equal(post.status, 202);
    assertTransactionIds(post.headers);
    await post.body?.cancel();
    const after = await head('post.txt');
    assert.equal(after.headers.get('x-object-meta-old'), null);
    assert.equal(after.headers.get('x-object-meta-new'), 'new');
    assert.equal(after.headers.get('x-object-meta-keep'), 'changed');
    assert.equal(after.headers.get('etag'), before.headers.get('etag'));
    assert.equal(after.headers.get('content-type'), 'text/plain');
    assert.equal(await (await get('post.txt')).text(), 'x');

    const withType = await fetch(`${base}/post.txt`, { method: 'POST', headers: auth(session, { 'Content-Type': 'text/csv' }) });
    assert.equal(withType.status, 202);
    const typed = await head('post.txt');
    assert.equal(typed.headers.get('content-type'), 'text/csv');
    assert.equal(typed.headers.get('x-object-meta-new'), null);
  });

  void test('POST on a missing object is 404', async () => {
    const res = await fetch(`${base}/no-such-object`, { method: 'POST', headers: auth(session, { 'X-Object-Meta-A': 'b' }) });
    assert.equal(res.status, 404);
    assertTransactionIds(res.headers);
    await res.body?.cancel();
  });

  void test('DELETE is 204, then 404; GET and HEAD of a deleted object are 404', async () => {
    await putObject(session, C, 'delete-me', 'bye');
    const del = await fetch(`${base}/delete-me`, { method: 'DELETE', headers: auth(session) });
    assert.equal(del.status, 204);
    assertTransactionIds(del.headers);
    const again = await fetch(`${base}/delete-me`, { method: 'DELETE', headers: auth(session) });
    assert.equal(again.status, 404);
    assertTransactionIds(again.headers);
    await again.body?.cancel();
    const res = await get('delete-me');
    assert.equal(res.status, 404);
    assert.equal(await res.text(), '<html><h1>Not Found</h1><p>The resource could not be found.</p></html>');
    assertTransactionIds(res.headers);
    assert.equal((await head('delete-me')).status, 404);
  });

  void test('an object in a missing container is 404', async () => {
    const put = await fetch(`${session.storageUrl}/no-such-container/x`, { method: 'PUT', headers: auth(session), body: 'x' });
    assert.equal(put.status, 404);
    await put.body?.cancel();
    const got = await fetch(`${session.storageUrl}/no-such-container/x`, { headers: auth(session) });
    assert.equal(got.status, 404);
    await got.body?.cancel();
  });

  void test('no token on an object is 401; bad token is 401', async () => {
    const none = await fetch(`${base}/basic.txt`);
    assert.equal(none.status, 401);
    assertTransactionIds(none.headers);
    assert.match(await none.text(), /<h1>Unauthorized<\/h1>/);
    const bad = await fetch(`${base}/basic.txt`, { method: 'PUT', headers: { 'X-Auth-Token': 'garbage' }, body: 'x' });
    assert.equal(bad.status, 401);
    await bad.body?.cancel();
    assert.equal(await (await get('basic.txt')).text(), 'hello, onggi');
  });

  void test('an overwrite replaces content and metadata', async () => {
    await putObject(session, C, 'over', 'first version', { 'X-Object-Meta-V': '1' });
    await putObject(session, C, 'over', 'second', { 'X-Object-Meta-Other': 'o' });
    const res = await get('over');
    assert.equal(await res.text(), 'second');
    assert.equal(res.headers.get('x-object-meta-v'), null);
    assert.equal(res.headers.get('x-object-meta-other'), 'o');
    assert.equal(res.headers.get('etag'), md5Hex('second'));
  });

  void test('concurrent readers see either the old or the new object, never a mix', async () => {
    const a = Buffer.alloc(2 * 1024 * 1024, 'a');
    const b = Buffer.alloc(3 * 1024 * 1024, 'b');
    await putObject(session, C, 'atomic', a);
    const reads = Array.from({ length: 6 }, async (_, i) => {
      await sleep(i * 15);
      const res = await get('atomic');
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      return { body, etag: res.headers.get('etag'), length: res.headers.get('content-length') };
    });
    const write = fetch(`${base}/atomic`, { method: 'PUT', headers: auth(session), body: new Uint8Array(b) });
    const [results, written] = await Promise.all([Promise.all(reads), write]);
    assert.equal(written.status, 201);
    for (const { body, etag, length } of results) {
      const expected = body.equals(a) ? a : b;
      assert.ok(body.equals(expected), 'body is neither version');
      assert.equal(etag, md5Hex(expected));
      assert.equal(length, String(expected.length));
    }
    assert.ok((await get('atomic')).headers.get('etag') === md5Hex(b));
  });
});

void describe('folders and metadata prefixes', () => {
  void test('a folder is a zero-byte application/directory object whose key ends in /', async () => {
    const res = await fetch(`${base}/images/small/`, { method: 'PUT', headers: auth(session, { 'Content-Type': 'application/directory' }) });
    assert.equal(res.status, 201);
    const h = await head('images/small/');
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-type'), 'application/directory');
    assert.equal(h.headers.get('content-length'), '0');
    const list = await fetch(`${base}?format=json&prefix=images/`, { headers: auth(session) });
    const entries = (await list.json()) as { name: string; content_type: string; bytes: number }[];
    assert.deepEqual(entries, [{ ...entries[0], name: 'images/small/', content_type: 'application/directory', bytes: 0 }]);
  });

  void test('a folder without the trailing slash is also a directory object', async () => {
    const res = await fetch(`${base}/docs`, { method: 'PUT', headers: auth(session, { 'Content-Type': 'application/directory' }) });
    assert.equal(res.status, 201);
    assert.equal((await head('docs')).headers.get('content-type'), 'application/directory');
  });

  void test('an empty metadata name is 400', async () => {
    const res = await raw(server.url, { method: 'PUT', path: `${storagePath(session)}/${C}/empty-meta-name`, headers: { ...auth(session), 'Content-Length': '1', 'X-Object-Meta-': 'v' }, body: Buffer.from('x') });
    assert.equal(res.status, 400);
    assert.equal((await head('empty-meta-name')).status, 404);
  });

  void test('POST replaces stored headers and expiry too (Swift semantics)', async () => {
    await putObject(session, C, 'post-clears', 'x', { 'Content-Disposition': 'attachment', 'X-Delete-After': '600' });
    let h = await head('post-clears');
    assert.equal(h.headers.get('content-disposition'), 'attachment');
    assert.match(h.headers.get('x-delete-at') ?? '', /^\d+$/);
    const post = await fetch(`${base}/post-clears`, { method: 'POST', headers: auth(session, { 'X-Object-Meta-A': 'b' }) });
    assert.equal(post.status, 202);
    h = await head('post-clears');
    assert.equal(h.headers.get('content-disposition'), null);
    assert.equal(h.headers.get('x-delete-at'), null);
    assert.equal(h.headers.get('x-object-meta-a'), 'b');
  });

  void test('X-Amz-Meta-* is accepted as user metadata', async () => {
    await putObject(session, C, 'amz.txt', 'a', { 'X-Amz-Meta-Company': 'kakao enterprise', 'X-Object-Meta-Swift': 'yes' });
    const h = await head('amz.txt');
    assert.equal(h.headers.get('x-object-meta-company'), 'kakao enterprise');
    assert.equal(h.headers.get('x-object-meta-swift'), 'yes');
  });

  void test('UTF-8 metadata values round-trip', async () => {
    const value = '김치 항아리';
    const res = await raw(server.url, {
      method: 'PUT',
      path: `${storagePath(session)}/${C}/utf8meta`,
      headers: { ...auth(session), 'Content-Length': '1', 'X-Object-Meta-Word': Buffer.from(value, 'utf8').toString('latin1') },
      // A Buffer body: with a string body Node would re-encode the latin1 header block as UTF-8.
      body: Buffer.from('x'),
    });
    assert.equal(res.status, 201);
    const h = await raw(server.url, { method: 'HEAD', path: `${storagePath(session)}/${C}/utf8meta`, headers: auth(session) });
    assert.equal(Buffer.from(header(h.headers, 'x-object-meta-word') ?? '', 'latin1').toString('utf8'), value);
  });
});

void describe('metadata limits', () => {
  const cases: [string, Record<string, string>][] = [
    ['a name longer than 128', { [`X-Object-Meta-${'n'.repeat(129)}`]: 'v' }],
    ['a value longer than 256', { 'X-Object-Meta-Long': 'v'.repeat(257) }],
    ['more than 90 items', Object.fromEntries(Array.from({ length: 91 }, (_, i) => [`X-Object-Meta-K${String(i)}`, 'v']))],
    ['more than 4096 bytes in total', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`X-Object-Meta-Big${String(i).padStart(2, '0')}`, 'v'.repeat(250)]))],
  ];
  for (const [label, headers] of cases) {
    void test(`PUT with ${label} is 400 and stores nothing`, async () => {
      const key = `meta-limit-${label.replace(/\W+/g, '-')}`;
      const res = await fetch(`${base}/${key}`, { method: 'PUT', headers: auth(session, headers), body: 'x' });
      assert.equal(res.status, 400);
      assertTransactionIds(res.headers);
      await res.body?.cancel();
      assert.equal((await head(key)).status, 404);
    });
    void test(`POST with ${label} is 400`, async () => {
      await putObject(session, C, 'meta-limit-post', 'x', { 'X-Object-Meta-Orig': 'o' });
      const res = await fetch(`${base}/meta-limit-post`, { method: 'POST', headers: auth(session, headers) });
      assert.equal(res.status, 400);
      await res.body?.cancel();
      assert.equal((await head('meta-limit-post')).headers.get('x-object-meta-orig'), 'o');
    });
  }

  void test('exactly at the limits is accepted', async () => {
    const headers = {
      [`X-Object-Meta-${'n'.repeat(128)}`]: 'v',
      'X-Object-Meta-Long': 'v'.repeat(256),
    };
    const res = await fetch(`${base}/meta-at-limit`, { method: 'PUT', headers: auth(session, headers), body: 'x' });
    assert.equal(res.status, 201);
    const ninety = Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`X-Object-Meta-K${String(i)}`, 'v']));
    const many = await fetch(`${base}/meta-ninety`, { method: 'PUT', headers: auth(session, ninety), body: 'x' });
    assert.equal(many.status, 201);
  });
});

void describe('object names', () => {
  const p = (): string => `${storagePath(session)}/${C}`;

  void test('a 432-byte key is accepted and a 433-byte key is 400', async () => {
    const ok = await fetch(`${base}/${'k'.repeat(432)}`, { method: 'PUT', headers: auth(session), body: 'x' });
    assert.equal(ok.status, 201);
    const tooLong = await fetch(`${base}/${'k'.repeat(433)}`, { method: 'PUT', headers: auth(session), body: 'x' });
    assert.equal(tooLong.status, 400);
    assertTransactionIds(tooLong.headers);
    await tooLong.body?.cancel();
    // The limit is in bytes: 145 three-byte characters are 435 bytes.
    const multiByte = await fetch(`${base}/${encodeURIComponent('가'.repeat(145))}`, { method: 'PUT', headers: auth(session), body: 'x' });
    assert.equal(multiByte.status, 400);
    await multiByte.body?.cancel();
  });

  void test('%2F in the object part is decoded as /', async () => {
    const put = await raw(server.url, { method: 'PUT', path: `${p()}/docs%2Fbin%2FLinux%20x86_64%2064Bit%2Ftool`, headers: { ...auth(session), 'Content-Length': '4' }, body: 'tool' });
    assert.equal(put.status, 201);
    const plain = await raw(server.url, { method: 'GET', path: `${p()}/docs/bin/Linux%20x86_64%2064Bit/tool`, headers: auth(session) });
    assert.equal(plain.status, 200);
    assert.equal(plain.body.toString(), 'tool');
    const mixed = await raw(server.url, { method: 'GET', path: `${p()}/docs%2fbin/Linux%20x86_64%2064Bit%2Ftool`, headers: auth(session) });
    assert.equal(mixed.status, 200);
    const list = await fetch(`${base}?prefix=docs/bin/`, { headers: auth(session) });
    assert.equal(await list.text(), 'docs/bin/Linux x86_64 64Bit/tool\n');
  });

  void test("NUL in the path is 412 with Swift's text", async () => {
    const res = await raw(server.url, { method: 'PUT', path: `${p()}/bad%00name`, headers: { ...auth(session), 'Content-Length': '1' }, body: 'x' });
    assert.equal(res.status, 412);
    assert.equal(res.body.toString(), 'Invalid UTF8 or contains NULL');
    assert.equal(res.headers['content-type'], 'text/html; charset=UTF-8');
    assertTransactionIds(res.headers);
    const inContainer = await raw(server.url, { method: 'GET', path: `${storagePath(session)}/obj%00ects/x`, headers: auth(session) });
    assert.equal(inContainer.status, 412);
  });

  void test("invalid UTF-8 is 412 with Swift's text; a % that starts no escape is part of the name, as Python's unquote leaves it", async () => {
    for (const name of ['bad%FFname', 'bad%C3%28', 'lone%ED%A0%80', 'half%E2%82']) {
      const res = await raw(server.url, { method: 'PUT', path: `${p()}/${name}`, headers: { ...auth(session), 'Content-Length': '1' }, body: 'x' });
      assert.equal(res.status, 412, name);
      assert.equal(res.body.toString(), 'Invalid UTF8 or contains NULL');
      assertTransactionIds(res.headers);
    }
    const literal = await raw(server.url, { method: 'PUT', path: `${p()}/broken%zz`, headers: { ...auth(session), 'Content-Length': '1' }, body: 'x' });
    assert.equal(literal.status, 201);
    const listed = await fetch(`${base}?prefix=broken`, { headers: auth(session) });
    assert.equal(await listed.text(), 'broken%zz\n');
  });

  void test('. and .. segments are 400', async () => {
    for (const name of ['a/../b', 'a/./b', '..', '.', 'a/..', './a', '%2E%2E/x', 'a%2F..%2Fb']) {
      const res = await raw(server.url, { method: 'PUT', path: `${p()}/${name}`, headers: { ...auth(session), 'Content-Length': '1' }, body: 'x' });
      assert.equal(res.status, 400, name);
    }
    const list = await fetch(`${base}?prefix=a/`, { headers: auth(session) });
    assert.equal(list.status, 204);
  });

  void test('escaped ?, #, + and spaces are part of the name', async () => {
    const cases: [string, string][] = [
      ['q%3Fmark', 'q?mark'],
      ['hash%23tag', 'hash#tag'],
      ['plus+sign', 'plus+sign'],
      ['two%20words', 'two words'],
      ['%ED%95%9C%EA%B8%80', '한글'],
    ];
    for (const [wire, key] of cases) {
      const res = await raw(server.url, { method: 'PUT', path: `${p()}/names/${wire}`, headers: { ...auth(session), 'Content-Length': String(Buffer.byteLength(key)) }, body: Buffer.from(key) });
      assert.equal(res.status, 201, wire);
    }
    const list = await fetch(`${base}?prefix=names/&format=json`, { headers: auth(session) });
    const names = ((await list.json()) as { name: string }[]).map((e) => e.name);
    assert.deepEqual(names, cases.map(([, key]) => `names/${key}`).sort());
    const back = await fetch(`${base}/names/${encodeURIComponent('q?mark')}`, { headers: auth(session) });
    assert.equal(await back.text(), 'q?mark');
  });

  void test('a trailing slash on the container path is the container itself', async () => {
    const res = await raw(server.url, { method: 'HEAD', path: `${p()}/`, headers: auth(session) });
    assert.equal(res.status, 204);
    assert.ok(header(res.headers, 'x-container-object-count') !== undefined);
  });

  void test('names with dots that are not whole segments are fine', async () => {
    for (const name of ['a..b', '.hidden', 'dir/.config', '...']) {
      const res = await raw(server.url, { method: 'PUT', path: `${p()}/${name}`, headers: { ...auth(session), 'Content-Length': '1' }, body: 'x' });
      assert.equal(res.status, 201, name);
    }
  });
});

void describe('upload framing', () => {
  const p = (): string => `${storagePath(session)}/${C}`;

  void test('PUT with neither Content-Length nor chunked is 411', async () => {
    const res = await rawSocket(
      server.url,
      `PUT ${p()}/no-length HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${session.token}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(res.status, 411);
    assertTransactionIds(res.headers);
    assert.equal((await head('no-length')).status, 404);
  });

  void test('a chunked upload is 201 and the bytes are intact', async () => {
    const chunks = Array.from({ length: 20 }, () => randomBytes(37_000));
    const whole = Buffer.concat(chunks);
    const res = await raw(server.url, { method: 'PUT', path: `${p()}/chunked.bin`, headers: auth(session), chunks });
    assert.equal(res.status, 201);
    assert.equal(header(res.headers, 'etag'), md5Hex(whole));
    const back = await get('chunked.bin');
    assert.equal(back.headers.get('content-length'), String(whole.length));
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(whole));
  });

  void test('a chunked upload sent over a raw socket is 201', async () => {
    const body = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const res = await rawSocket(
      server.url,
      `PUT ${p()}/chunked-raw HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${session.token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(res.status, 201);
    assert.equal(await (await get('chunked-raw')).text(), 'hello world');
  });

  void test('a request ETag that does not match is 422 and nothing is stored', async () => {
    const res = await fetch(`${base}/etag-bad`, { method: 'PUT', headers: auth(session, { ETag: md5Hex('something else') }), body: 'data' });
    assert.equal(res.status, 422);
    assertTransactionIds(res.headers);
    await res.body?.cancel();
    assert.equal((await head('etag-bad')).status, 404);

    await putObject(session, C, 'etag-keep', 'original');
    const over = await fetch(`${base}/etag-keep`, { method: 'PUT', headers: auth(session, { ETag: `"${md5Hex('nope')}"` }), body: 'replacement' });
    assert.equal(over.status, 422);
    await over.body?.cancel();
    assert.equal(await (await get('etag-keep')).text(), 'original');
  });

  void test('a matching request ETag, quoted or not, is accepted', async () => {
    const plain = await fetch(`${base}/etag-good`, { method: 'PUT', headers: auth(session, { ETag: md5Hex('data') }), body: 'data' });
    assert.equal(plain.status, 201);
    const quoted = await fetch(`${base}/etag-good2`, { method: 'PUT', headers: auth(session, { ETag: `"${md5Hex('data')}"` }), body: 'data' });
    assert.equal(quoted.status, 201);
  });

  void test('If-None-Match: * on PUT is 412 when the object exists, 201 when not', async () => {
    const first = await fetch(`${base}/inm`, { method: 'PUT', headers: auth(session, { 'If-None-Match': '*' }), body: 'one' });
    assert.equal(first.status, 201);
    const second = await fetch(`${base}/inm`, { method: 'PUT', headers: auth(session, { 'If-None-Match': '*' }), body: 'two' });
    assert.equal(second.status, 412);
    assertTransactionIds(second.headers);
    await second.body?.cancel();
    assert.equal(await (await get('inm')).text(), 'one');
    const notStar = await fetch(`${base}/inm`, { method: 'PUT', headers: auth(session, { 'If-None-Match': '"abc"' }), body: 'three' });
    assert.equal(notStar.status, 400);
    await notStar.body?.cancel();
    assert.equal(await (await get('inm')).text(), 'one');
  });

  void test('a truncated upload leaves no object', async () => {
    const before = await containerCount();
    await truncatedPut(server.url, `${p()}/truncated`, session.token, 1000, randomBytes(500));
    await sleep(300);
    assert.equal((await head('truncated')).status, 404);
    assert.equal(await containerCount(), before);
  });

  void test('a chunked upload cut off before its last chunk leaves no object', async () => {
    const before = await containerCount();
    const url = new URL(server.url);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`PUT ${p()}/chunked-cut HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${session.token}\r\nTransfer-Encoding: chunked\r\n\r\n`);
        socket.write('400\r\n' + 'z'.repeat(0x400) + '\r\n', () => {
          setTimeout(() => socket.destroy(), 100);
        });
      });
      socket.on('close', () => {
        resolve();
      });
      socket.on('error', () => undefined);
    });
    await sleep(300);
    assert.equal((await head('chunked-cut')).status, 404);
    assert.equal(await containerCount(), before);
  });

  void test('a truncated overwrite keeps the previous object', async () => {
    await putObject(session, C, 'truncated-over', 'the old bytes');
    await truncatedPut(server.url, `${p()}/truncated-over`, session.token, 1000, randomBytes(500));
    await sleep(300);
    const res = await get('truncated-over');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'the old bytes');
  });
});

void describe('ranges', () => {
  const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
  before(async () => {
    await putObject(session, C, 'range.txt', data, { 'Content-Type': 'text/plain' });
  });

  void test('a single range is 206 with Content-Range', async () => {
    const res = await get('range.txt', { Range: 'bytes=2-5' });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes 2-5/${String(data.length)}`);
    assert.equal(res.headers.get('content-length'), '4');
    assert.equal(await res.text(), '2345');
    assertTransactionIds(res.headers);
  });

  void test('open-ended, suffix and oversized ranges', async () => {
    let res = await get('range.txt', { Range: 'bytes=30-' });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 30-35/36');
    assert.equal(await res.text(), 'uvwxyz');

    res = await get('range.txt', { Range: 'bytes=-4' });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 32-35/36');
    assert.equal(await res.text(), 'wxyz');

    res = await get('range.txt', { Range: 'bytes=-100' });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 0-35/36');
    assert.equal(await res.text(), data.toString());

    res = await get('range.txt', { Range: 'bytes=34-1000' });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 34-35/36');
    assert.equal(await res.text(), 'yz');
  });

  void test('several ranges give multipart/byteranges', async () => {
    const res = await get('range.txt', { Range: 'bytes=0-1,10-12,-2' });
    assert.equal(res.status, 206);
    const type = res.headers.get('content-type') ?? '';
    const boundary = /^multipart\/byteranges;\s*boundary=(\S+)$/.exec(type)?.[1];
    assert.ok(boundary, type);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('content-length'), String(body.length));
    const parts = parseMultipart(body.toString('latin1'), boundary);
    assert.deepEqual(parts, [
      { contentType: 'text/plain', contentRange: 'bytes 0-1/36', body: '01' },
      { contentType: 'text/plain', contentRange: 'bytes 10-12/36', body: 'abc' },
      { contentType: 'text/plain', contentRange: 'bytes 34-35/36', body: 'yz' },
    ]);
  });

  void test('an unsatisfiable range is 416 with Content-Range: bytes */size', async () => {
    const res = await get('range.txt', { Range: 'bytes=36-40' });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), 'bytes */36');
    assertTransactionIds(res.headers);
    await res.body?.cancel();
    const multi = await get('range.txt', { Range: 'bytes=100-200,300-' });
    assert.equal(multi.status, 416);
    assert.equal(multi.headers.get('content-range'), 'bytes */36');
    await multi.body?.cancel();
  });

  void test('a malformed Range header is ignored: 200 with the whole object', async () => {
    for (const range of ['bytes=5-2', 'items=0-3', 'bytes=abc']) {
      const res = await get('range.txt', { Range: range });
      assert.equal(res.status, 200, range);
      assert.equal(await res.text(), data.toString());
    }
  });

  void test('HEAD with a Range still reports the whole object', async () => {
    const res = await head('range.txt', { Range: 'bytes=0-3' });
    assert.ok(res.status === 200 || res.status === 206);
    assert.equal(res.headers.get('etag'), md5Hex(data));
  });
});

void describe('conditional requests', () => {
  let etag: string;
  let lastModified: string;
  before(async () => {
    const res = await putObject(session, C, 'cond.txt', 'conditional');
    etag = res.headers.get('etag') ?? '';
    lastModified = res.headers.get('last-modified') ?? '';
  });

  const past = (): string => new Date(Date.parse(lastModified) - 3_600_000).toUTCString();
  const future = (): string => new Date(Date.parse(lastModified) + 3_600_000).toUTCString();

  void test('If-Match: 200 on match (quoted, bare, *, in a list), 412 otherwise', async () => {
    for (const value of [`"${etag}"`, etag, '*', `"nope", "${etag}"`]) {
      const res = await get('cond.txt', { 'If-Match': value });
      assert.equal(res.status, 200, value);
      assert.equal(await res.text(), 'conditional');
    }
    const res = await get('cond.txt', { 'If-Match': '"0123456789abcdef0123456789abcdef"' });
    assert.equal(res.status, 412);
    assertTransactionIds(res.headers);
    await res.body?.cancel();
    assert.equal((await head('cond.txt', { 'If-Match': '"nope"' })).status, 412);
  });

  void test('If-None-Match: 304 with ETag on match, 200 otherwise', async () => {
    const res = await get('cond.txt', { 'If-None-Match': etag });
    assert.equal(res.status, 304);
    assert.equal(res.headers.get('etag'), etag);
    assertTransactionIds(res.headers);
    assert.equal(await res.text(), '');
    assert.equal((await get('cond.txt', { 'If-None-Match': '*' })).status, 304);
    assert.equal((await head('cond.txt', { 'If-None-Match': etag })).status, 304);
    const miss = await get('cond.txt', { 'If-None-Match': '"other"' });
    assert.equal(miss.status, 200);
    assert.equal(await miss.text(), 'conditional');
  });

  void test('If-Modified-Since: 304 when not modified since, 200 when modified', async () => {
    const notModified = await get('cond.txt', { 'If-Modified-Since': lastModified });
    assert.equal(notModified.status, 304);
    await notModified.body?.cancel();
    assert.equal((await get('cond.txt', { 'If-Modified-Since': future() })).status, 304);
    const modified = await get('cond.txt', { 'If-Modified-Since': past() });
    assert.equal(modified.status, 200);
    assert.equal(await modified.text(), 'conditional');
  });

  void test('If-Unmodified-Since: 200 when unmodified, 412 when modified', async () => {
    const ok = await get('cond.txt', { 'If-Unmodified-Since': lastModified });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    assert.equal((await get('cond.txt', { 'If-Unmodified-Since': future() })).status, 200);
    const failed = await get('cond.txt', { 'If-Unmodified-Since': past() });
    assert.equal(failed.status, 412);
    await failed.body?.cancel();
  });

  void test('If-None-Match wins over If-Modified-Since; If-Match wins over If-Unmodified-Since', async () => {
    const a = await get('cond.txt', { 'If-None-Match': '"other"', 'If-Modified-Since': future() });
    assert.equal(a.status, 200);
    await a.body?.cancel();
    const b = await get('cond.txt', { 'If-Match': etag, 'If-Unmodified-Since': past() });
    assert.equal(b.status, 200);
    await b.body?.cancel();
  });

  void test('conditions are checked before ranges', async () => {
    const res = await get('cond.txt', { 'If-Match': '"nope"', Range: 'bytes=100-' });
    assert.equal(res.status, 412);
    await res.body?.cancel();
  });
});

void describe('expiry', () => {
  void test('X-Delete-After hides the object once it passes', async () => {
    // The deadline is rounded down to a whole second: 3 s leaves at least 2 s for the first GET.
    await putObject(session, C, 'expire-after', 'short-lived', { 'X-Delete-After': '3' });
    const now = await get('expire-after');
    assert.equal(now.status, 200);
    assert.match(now.headers.get('x-delete-at') ?? '', /^\d+$/);
    assert.equal(await now.text(), 'short-lived');
    await sleep(3100);
    assert.equal((await get('expire-after')).status, 404);
    assert.equal((await head('expire-after')).status, 404);
    const del = await fetch(`${base}/expire-after`, { method: 'DELETE', headers: auth(session) });
    assert.equal(del.status, 404);
    await del.body?.cancel();
    const list = await fetch(`${base}?prefix=expire-after`, { headers: auth(session) });
    assert.equal(list.status, 204);
  });

  void test('X-Delete-At hides the object once it passes', async () => {
    const at = Math.floor(Date.now() / 1000) + 2;
    await putObject(session, C, 'expire-at', 'short-lived', { 'X-Delete-At': String(at) });
    const now = await head('expire-at');
    assert.equal(now.status, 200);
    assert.equal(now.headers.get('x-delete-at'), String(at));
    await sleep(at * 1000 - Date.now() + 500);
    assert.equal((await get('expire-at')).status, 404);
  });

  void test('X-Delete-At set by POST is honoured', async () => {
    await putObject(session, C, 'expire-post', 'x');
    const at = Math.floor(Date.now() / 1000) + 2;
    const post = await fetch(`${base}/expire-post`, { method: 'POST', headers: auth(session, { 'X-Delete-At': String(at) }) });
    assert.equal(post.status, 202);
    await post.body?.cancel();
    assert.equal((await head('expire-post')).headers.get('x-delete-at'), String(at));
    await sleep(at * 1000 - Date.now() + 500);
    assert.equal((await head('expire-post')).status, 404);
  });

  void test('an expired object can be written again', async () => {
    await putObject(session, C, 'expire-again', 'old', { 'X-Delete-After': '1' });
    await sleep(1300);
    const res = await fetch(`${base}/expire-again`, { method: 'PUT', headers: auth(session, { 'If-None-Match': '*' }), body: 'new' });
    assert.equal(res.status, 201);
    assert.equal(await (await get('expire-again')).text(), 'new');
  });

  void test('X-Delete-At in the past and non-integer values are 400', async () => {
    const past = Math.floor(Date.now() / 1000) - 10;
    for (const headers of [{ 'X-Delete-At': String(past) }, { 'X-Delete-At': 'soon' }, { 'X-Delete-After': '-5' }, { 'X-Delete-After': 'x' }] as Record<string, string>[]) {
      const res = await fetch(`${base}/expire-bad`, { method: 'PUT', headers: auth(session, headers), body: 'x' });
      assert.equal(res.status, 400, JSON.stringify(headers));
      assertTransactionIds(res.headers);
      await res.body?.cancel();
    }
    assert.equal((await head('expire-bad')).status, 404);
    await putObject(session, C, 'expire-bad-post', 'x');
    const post = await fetch(`${base}/expire-bad-post`, { method: 'POST', headers: auth(session, { 'X-Delete-At': String(past) }) });
    assert.equal(post.status, 400);
    await post.body?.cancel();
    assert.equal((await head('expire-bad-post')).status, 200);
  });
});

function parseMultipart(body: string, boundary: string): { contentType: string; contentRange: string; body: string }[] {
  const sections = body.split(`--${boundary}`);
  assert.equal(sections[sections.length - 1]?.trim(), '--');
  return sections.slice(1, -1).map((section) => {
    const [headText = '', content = ''] = section.replace(/^\r\n/, '').split('\r\n\r\n');
    const headers = Object.fromEntries(
      headText.split('\r\n').map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    return { contentType: headers['content-type'] ?? '', contentRange: headers['content-range'] ?? '', body: content.replace(/\r\n$/, '') };
  });
}
