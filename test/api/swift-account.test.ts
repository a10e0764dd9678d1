import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { assertTransactionIds, auth, createContainer, newProject, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
let other: Session;

before(async () => {
  server = await startServer();
  session = await login(server.url);
  other = await newProject(server, 'acct');
});
after(async () => {
  await server.destroy();
});

interface ContainerEntry {
  name: string;
  count: number;
  bytes: number;
  last_modified: string;
}

void describe('empty account', () => {
  void test('HEAD reports zero counts', async () => {
    const res = await fetch(other.storageUrl, { method: 'HEAD', headers: auth(other) });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('x-account-container-count'), '0');
    assert.equal(res.headers.get('x-account-object-count'), '0');
    assert.equal(res.headers.get('x-account-bytes-used'), '0');
    assert.match(res.headers.get('x-timestamp') ?? '', /^\d+\.\d{5}$/);
    assertTransactionIds(res.headers);
  });

  void test('plain listing is 204 with no body, json is []', async () => {
    const plain = await fetch(other.storageUrl, { headers: auth(other) });
    assert.equal(plain.status, 204);
    assert.equal(await plain.text(), '');
    const json = await fetch(`${other.storageUrl}?format=json`, { headers: auth(other) });
    assert.equal(json.status, 200);
    assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await json.json(), []);
  });
});

void describe('account with containers', () => {
  before(async () => {
    await createContainer(session, 'acct-alpha');
    await createContainer(session, 'acct-beta');
    await createContainer(session, 'acct-gamma');
    await putObject(session, 'acct-alpha', 'one.txt', 'hello');
    await putObject(session, 'acct-alpha', 'two.txt', 'world!!');
    await putObject(session, 'acct-beta', 'three.bin', Buffer.alloc(100, 7));
  });

  void test('HEAD counts containers, objects and bytes', async () => {
    const res = await fetch(session.storageUrl, { method: 'HEAD', headers: auth(session) });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('x-account-container-count'), '3');
    assert.equal(res.headers.get('x-account-object-count'), '3');
    assert.equal(res.headers.get('x-account-bytes-used'), String(5 + 7 + 100));
  });

  void test('GET lists containers as plain text by default', async () => {
    const res = await fetch(session.storageUrl, { headers: auth(session) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await res.text(), 'acct-alpha\nacct-beta\nacct-gamma\n');
    assert.equal(res.headers.get('x-account-container-count'), '3');
    assertTransactionIds(res.headers);
  });

  void test('GET ?format=json gives name, count, bytes, last_modified', async () => {
    const res = await fetch(`${session.storageUrl}?format=json`, { headers: auth(session) });
    assert.equal(res.status, 200);
    const entries = (await res.json()) as ContainerEntry[];
    assert.deepEqual(
      entries.map((e) => [e.name, e.count, e.bytes]),
      [
        ['acct-alpha', 2, 12],
        ['acct-beta', 1, 100],
        ['acct-gamma', 0, 0],
      ],
    );
    for (const e of entries) assert.match(e.last_modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  });

  void test('Accept: application/json selects json', async () => {
    const res = await fetch(session.storageUrl, { headers: auth(session, { Accept: 'application/json' }) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const entries = (await res.json()) as ContainerEntry[];
    assert.equal(entries.length, 3);
  });

  void test('GET ?format=xml gives an <account> document', async () => {
    const res = await fetch(`${session.storageUrl}?format=xml`, { headers: auth(session) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/xml/);
    const text = await res.text();
    assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
    assert.ok(text.includes(`<account name="${session.projectId}">`), text);
    assert.match(text, /<container><name>acct-alpha<\/name><count>2<\/count><bytes>12<\/bytes><last_modified>[^<]+<\/last_modified><\/container>/);
    assert.equal(text.match(/<container>/g)?.length, 3);
  });

  void test('prefix, marker, end_marker, limit and reverse', async () => {
    const list = async (query: string): Promise<string> => {
      const res = await fetch(`${session.storageUrl}?${query}`, { headers: auth(session) });
      return res.status === 204 ? '' : res.text();
    };
    assert.equal(await list('prefix=acct-b'), 'acct-beta\n');
    assert.equal(await list('marker=acct-alpha'), 'acct-beta\nacct-gamma\n');
    assert.equal(await list('end_marker=acct-gamma'), 'acct-alpha\nacct-beta\n');
    assert.equal(await list('limit=1'), 'acct-alpha\n');
    assert.equal(await list('reverse=true'), 'acct-gamma\nacct-beta\nacct-alpha\n');
    assert.equal(await list('prefix=nothing'), '');
  });

  void test('limit over 10000 is 412', async () => {
    const res = await fetch(`${session.storageUrl}?limit=10001`, { headers: auth(session) });
    assert.equal(res.status, 412);
  });
});

void describe('account metadata', () => {
  void test('POST sets and removes X-Account-Meta-*', async () => {
    const post = await fetch(session.storageUrl, {
      method: 'POST',
      headers: auth(session, { 'X-Account-Meta-Color': 'blue', 'X-Account-Meta-Shape': 'round' }),
    });
    assert.equal(post.status, 204);
    assertTransactionIds(post.headers);
    let head = await fetch(session.storageUrl, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-account-meta-color'), 'blue');
    assert.equal(head.headers.get('x-account-meta-shape'), 'round');

    const remove = await fetch(session.storageUrl, { method: 'POST', headers: auth(session, { 'X-Remove-Account-Meta-Color': 'x' }) });
    assert.equal(remove.status, 204);
    head = await fetch(session.storageUrl, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-account-meta-color'), null);
    assert.equal(head.headers.get('x-account-meta-shape'), 'round');

    const get = await fetch(session.storageUrl, { headers: auth(session) });
    assert.equal(get.headers.get('x-account-meta-shape'), 'round');
    await get.body?.cancel();
  });

  void test('too-large account metadata value is 400', async () => {
    const res = await fetch(session.storageUrl, { method: 'POST', headers: auth(session, { 'X-Account-Meta-Big': 'v'.repeat(257) }) });
    assert.equal(res.status, 400);
  });
});

void describe('authentication and cross-account access', () => {
  void test('no token is 401 with the Swift HTML body', async () => {
    for (const method of ['GET', 'HEAD', 'POST']) {
      const res = await fetch(session.storageUrl, { method });
      assert.equal(res.status, 401, method);
      assertTransactionIds(res.headers);
      if (method !== 'HEAD') {
        assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
        assert.equal(
          await res.text(),
          '<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized to access the document you requested.</p></html>',
        );
      }
    }
  });

  void test('a bad token is 401', async () => {
    const res = await fetch(session.storageUrl, { headers: { 'X-Auth-Token': 'not-a-real-token' } });
    assert.equal(res.status, 401);
    assertTransactionIds(res.headers);
    assert.match(await res.text(), /Unauthorized/);
    const tampered = await fetch(session.storageUrl, { headers: { 'X-Auth-Token': `${session.token.slice(0, -2)}xx` } });
    assert.equal(tampered.status, 401);
  });

  void test('X-Storage-Token is accepted like X-Auth-Token', async () => {
    const res = await fetch(session.storageUrl, { method: 'HEAD', headers: { 'X-Storage-Token': session.token } });
    assert.equal(res.status, 204);
  });

  void test("a token of project A on project B's account is 403", async () => {
    const head = await fetch(other.storageUrl, { method: 'HEAD', headers: auth(session) });
    assert.equal(head.status, 403);
    const list = await fetch(other.storageUrl, { headers: auth(session) });
    assert.equal(list.status, 403);
    assertTransactionIds(list.headers);
    const post = await fetch(other.storageUrl, { method: 'POST', headers: auth(session, { 'X-Account-Meta-X': 'y' }) });
    assert.equal(post.status, 403);
    const reverse = await fetch(session.storageUrl, { headers: auth(other) });
    assert.equal(reverse.status, 403);
    await reverse.body?.cancel();
  });

  void test("project A cannot touch project B's containers or objects through B's account", async () => {
    await createContainer(other, 'acct-private-b');
    await putObject(other, 'acct-private-b', 'secret.txt', 'top secret');
    const target = `${other.storageUrl}/acct-private-b`;
    for (const [method, url] of [
      ['HEAD', target],
      ['GET', target],
      ['PUT', target],
      ['DELETE', target],
      ['GET', `${target}/secret.txt`],
      ['HEAD', `${target}/secret.txt`],
      ['DELETE', `${target}/secret.txt`],
    ] as const) {
      const res = await fetch(url, { method, headers: auth(session) });
      assert.equal(res.status, 403, `${method} ${url}`);
      const text = method === 'HEAD' ? '' : await res.text();
      assert.ok(!text.includes('top secret'));
    }
    const stillThere = await fetch(`${target}/secret.txt`, { headers: auth(other) });
    assert.equal(await stillThere.text(), 'top secret');
  });

  void test('unknown account is 403 for a token of another project', async () => {
    const res = await fetch(`${server.url}/v1/ffffffffffffffffffffffffffffffff`, { headers: auth(session) });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  });

  void test('unsupported method on the account is 405', async () => {
    const res = await fetch(session.storageUrl, { method: 'DELETE', headers: auth(session) });
    assert.equal(res.status, 405);
    assertTransactionIds(res.headers);
    await res.body?.cancel();
  });
});
