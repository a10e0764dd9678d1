/**
 * Issue 9 items 4, 8 and 9 over real HTTP: stored header values that are not Latin-1 go back out as the UTF-8
 * bytes they came in as (never a 500), values that are not UTF-8 are refused at the write; names with control
 * characters are refused, and listings stay well-formed in every format; X-Delete-At / X-Delete-After are bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auth, createContainer, encodeKey, putObject, rawSocket, storagePath, type RawResponse } from '../helpers/swift.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { xmlTexts } from '../helpers/xml.ts';

const C = 'hardening';
const KOREAN = 'text/plain; name="보고서.txt"';

let server: RunningServer;
let session: Session;

before(async () => {
  server = await startServer();
  session = await login(server.url);
  await createContainer(session, C);
  const acl = await fetch(`${server.url}/v1_ext/bucket/${C}`, {
    method: 'POST',
    headers: { 'X-Auth-Token': session.token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ acl: { public: 'read-only' } }),
  });
  assert.equal(acl.status, 200);
});
after(async () => {
  await server.destroy();
});

/** One request with header values given as raw bytes (UTF-8 or not), exactly as they go on the wire. */
async function rawRequest(method: string, path: string, headers: Record<string, Buffer | string>, body = ''): Promise<RawResponse> {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: onggi', 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`];
  const head = Buffer.concat([
    Buffer.from(lines.join('\r\n') + '\r\n'),
    ...Object.entries(headers).map(([name, value]) => Buffer.concat([Buffer.from(`${name}: `), Buffer.from(value), Buffer.from('\r\n')])),
    Buffer.from('\r\n'),
  ]);
  return rawSocket(server.url, Buffer.concat([head, Buffer.from(body)]));
}

/** A response header's bytes read as UTF-8. */
function utf8Of(response: RawResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return typeof value === 'string' ? Buffer.from(value, 'latin1').toString('utf8') : undefined;
}

function objectPath(key: string): string {
  return `${storagePath(session)}/${C}/${encodeKey(key)}`;
}

const STORED_HEADERS: [string, string][] = [
  ['Content-Type', KOREAN],
  ['X-Object-Meta-Title', '분기 보고서 — 최종'],
  ['Content-Disposition', 'attachment; filename="보고서.txt"'],
  ['Content-Encoding', '압축'],
  ['Content-Language', '한국어'],
  ['Cache-Control', 'max-age=60, 설명'],
  ['Expires', '내일'],
  ['X-Robots-Tag', '색인 안 함'],
];

void describe('stored header values that are not Latin-1', () => {
  for (const [name, value] of STORED_HEADERS) {
    void test(`${name}: PUT, then GET, HEAD and the public URL give back the same UTF-8 bytes`, async () => {
      const key = `utf8-${name}`;
      const put = await rawRequest('PUT', objectPath(key), { 'X-Auth-Token': session.token, [name]: Buffer.from(value) }, 'body');
      assert.equal(put.status, 201, put.body.toString());
      for (const method of ['GET', 'HEAD']) {
        const read = await rawRequest(method, objectPath(key), { 'X-Auth-Token': session.token });
        assert.equal(read.status, 200, `${method}: ${read.body.toString()}`);
        assert.equal(utf8Of(read, name), value, method);
      }
      const anonymous = await rawRequest('GET', objectPath(key), {});
      assert.equal(anonymous.status, 200);
      assert.equal(utf8Of(anonymous, name), value, 'public GET');
      const ranged = await rawRequest('GET', objectPath(key), { 'X-Auth-Token': session.token, Range: 'bytes=0-0,2-3' });
      assert.equal(ranged.status, 206);
    });

    void test(`${name}: set by POST and carried by COPY`, async () => {
      const key = `utf8-post-${name}`;
      await putObject(session, C, key, 'body');
      const post = await rawRequest('POST', objectPath(key), { 'X-Auth-Token': session.token, [name]: Buffer.from(value) });
      assert.equal(post.status, 202, post.body.toString());
      const copy = await rawRequest('COPY', objectPath(key), { 'X-Auth-Token': session.token, Destination: `${C}/${key}-copy` });
      assert.equal(copy.status, 201, copy.body.toString());
      for (const target of [key, `${key}-copy`]) {
        const read = await rawRequest('GET', objectPath(target), { 'X-Auth-Token': session.token });
        assert.equal(read.status, 200, target);
        assert.equal(utf8Of(read, name), value, target);
      }
    });

    void test(`${name}: a value that is not UTF-8 is refused with 400 at PUT and POST`, async () => {
      const key = `latin1-${name}`;
      const notUtf8 = Buffer.from('caf\xe9', 'latin1');
      const put = await rawRequest('PUT', objectPath(key), { 'X-Auth-Token': session.token, [name]: notUtf8 }, 'body');
      assert.equal(put.status, 400);
      assert.match(put.body.toString(), /UTF-8/);
      await putObject(session, C, key, 'body');
      const post = await rawRequest('POST', objectPath(key), { 'X-Auth-Token': session.token, [name]: notUtf8 });
      assert.equal(post.status, 400);
      const read = await rawRequest('GET', objectPath(key), { 'X-Auth-Token': session.token });
      assert.equal(read.status, 200);
    });
  }

  void test('container and account metadata: UTF-8 goes back out byte for byte, anything else is refused', async () => {
    const value = '우리 팀의 버킷';
    for (const [path, header] of [
      [`${storagePath(session)}/${C}`, 'X-Container-Meta-Note'],
      [storagePath(session), 'X-Account-Meta-Note'],
    ] as const) {
      const post = await rawRequest('POST', path, { 'X-Auth-Token': session.token, [header]: Buffer.from(value) });
      assert.equal(post.status, 204, post.body.toString());
      const head = await rawRequest('HEAD', path, { 'X-Auth-Token': session.token });
      assert.equal(utf8Of(head, header), value, header);
      const bad = await rawRequest('POST', path, { 'X-Auth-Token': session.token, [header]: Buffer.from([0xff, 0xfe]) });
      assert.equal(bad.status, 400, header);
    }
  });

  void test('listings in JSON, XML and plain text carry a UTF-8 content type', async () => {
    const key = 'listed-utf8';
    const put = await rawRequest('PUT', objectPath(key), { 'X-Auth-Token': session.token, 'Content-Type': Buffer.from(KOREAN) }, 'body');
    assert.equal(put.status, 201);
    const query = `prefix=${key}`;
    const json = await fetch(`${session.storageUrl}/${C}?format=json&${query}`, { headers: auth(session) });
    assert.equal(json.status, 200);
    assert.deepEqual(((await json.json()) as { content_type: string }[]).map((e) => e.content_type), [KOREAN]);
    const xml = await fetch(`${session.storageUrl}/${C}?format=xml&${query}`, { headers: auth(session) });
    assert.equal(xml.status, 200);
    assert.deepEqual(xmlTexts(Buffer.from(await xml.arrayBuffer()), 'content_type').content_type, [KOREAN]);
    const plain = await fetch(`${session.storageUrl}/${C}?${query}`, { headers: auth(session) });
    assert.equal(await plain.text(), `${key}\n`);
  });
});

void describe('names with control characters', () => {
  const refused: [string, string][] = [
    ['LF', 'line1\nforged-entry.exe'],
    ['CR', 'line1\rforged'],
    ['TAB', 'a\tb'],
    ['SOH', 'a\u0001b'],
    ['ESC', 'a\u001bb'],
    ['DEL', 'a\u007fb'],
    ['U+FFFE', 'a\ufffeb'],
    ['U+FFFF', 'a\uffffb'],
  ];
  for (const [label, key] of refused) {
    void test(`${label} in an object name is refused with 400 naming the rule`, async () => {
      const res = await fetch(`${session.storageUrl}/${C}/${encodeKey(key)}`, { method: 'PUT', headers: auth(session), body: 'x' });
      assert.equal(res.status, 400);
      assert.match(await res.text(), /names may not hold control characters/);
    });
  }

  void test('the forged-line name of the review cannot be created by COPY either', async () => {
    await putObject(session, C, 'copy-source', 'x');
    const res = await fetch(`${session.storageUrl}/${C}/copy-source`, {
      method: 'COPY',
      headers: auth(session, { Destination: `${C}/line1%0Aforged-entry.exe` }),
    });
    assert.equal(res.status, 400);
    await res.arrayBuffer();
  });

  void test('unusual but harmless names are kept, and every listing format stays well-formed', async () => {
    const names = ['odd/<tag>&"quote\'', 'odd/nel\u0085here', 'odd/line\u2028separator', 'odd/emoji-🫙', 'odd/c1-\u009b'];
    for (const name of names) await putObject(session, C, name, 'x');
    const plain = await fetch(`${session.storageUrl}/${C}?prefix=odd/`, { headers: auth(session) });
    const lines = (await plain.text()).split('\n');
    assert.deepEqual(lines, [...[...names].sort(), '']);
    const json = await fetch(`${session.storageUrl}/${C}?prefix=odd/&format=json`, { headers: auth(session) });
    assert.deepEqual(((await json.json()) as { name: string }[]).map((e) => e.name), [...names].sort());
    const xml = await fetch(`${session.storageUrl}/${C}?prefix=odd/&format=xml`, { headers: auth(session) });
    assert.deepEqual(xmlTexts(Buffer.from(await xml.arrayBuffer()), 'name').name, [...names].sort());
    const delimited = await fetch(`${session.storageUrl}/${C}?prefix=odd/&delimiter=%3C&format=xml`, { headers: auth(session) });
    assert.equal(xmlTexts(Buffer.from(await delimited.arrayBuffer()), 'name').name?.length, names.length);
  });
});

void describe('X-Delete-At and X-Delete-After', () => {
  const absurd = '9'.repeat(400);

  // Swift fails these with a 500 (a float overflow) or refuses them (not Python integers).
  for (const [header, value] of [
    ['X-Delete-At', absurd],
    ['X-Delete-At', '1e30'],
    ['X-Delete-At', '12.5'],
    ['X-Delete-After', absurd],
    ['X-Delete-After', '-1'],
  ] as const) {
    void test(`${header}: ${value.length > 12 ? `${value.length} nines` : value} is refused with 400 at PUT and POST`, async () => {
      const key = `expiry-${header}-${value.length}`;
      const put = await fetch(`${session.storageUrl}/${C}/${key}`, { method: 'PUT', headers: auth(session, { [header]: value }), body: 'x' });
      assert.equal(put.status, 400);
      await put.arrayBuffer();
      await putObject(session, C, key, 'x');
      const post = await fetch(`${session.storageUrl}/${C}/${key}`, { method: 'POST', headers: auth(session, { [header]: value }) });
      assert.equal(post.status, 400);
      await post.arrayBuffer();
      const head = await fetch(`${session.storageUrl}/${C}/${key}`, { method: 'HEAD', headers: auth(session) });
      assert.equal(head.headers.get('x-delete-at'), null);
    });
  }

  void test("Swift's latest date, 9999999999, is accepted and reported as sent", async () => {
    await putObject(session, C, 'expiry-max', 'x', { 'X-Delete-At': '9999999999' });
    const head = await fetch(`${session.storageUrl}/${C}/expiry-max`, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('x-delete-at'), '9999999999');
  });

  void test('later dates are clamped to 9999999999, as Swift normalises them', async () => {
    for (const [header, value] of [
      ['X-Delete-At', '10000000000'],
      ['X-Delete-At', ' 99999999999 '],
      ['X-Delete-After', '9999999999'],
    ] as const) {
      await putObject(session, C, 'expiry-clamped', 'x', { [header]: value });
      const head = await fetch(`${session.storageUrl}/${C}/expiry-clamped`, { method: 'HEAD', headers: auth(session) });
      assert.equal(head.headers.get('x-delete-at'), '9999999999', `${header}: ${value}`);
    }
  });
});
