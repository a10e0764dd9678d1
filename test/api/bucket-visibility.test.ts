/**
 * Issue 22 item 7: bucket listings (/v1_ext/bucket and the Swift account listing) show only the buckets the caller
 * may read (a bucket whose role was taken from a user is not listed to them, nor its counts or allow list), and
 * members' roles only to those who may manage them (a Storage Admin); anyone else sees their own role alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asArray, asRecord, createAccount, request, str, type Account } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

let server: RunningServer;
let root: Session;
let reader: Session;
let readerAccount: Account;
let editorAccount: Account;
let editor: Session;

const OPEN = ['vis-open-1', 'vis-open-2', 'vis-open-3'];
const CLOSED = ['vis-closed-1', 'vis-closed-2', 'vis-closed-3'];

before(async () => {
  server = await startServer();
  [readerAccount, editorAccount] = await Promise.all([
    createAccount(server.dataDir, 'reader', { project: 'default' }),
    createAccount(server.dataDir, 'member', { project: 'default' }),
  ]);
  [root, reader, editor] = await Promise.all([
    login(server.url),
    login(server.url, readerAccount.keyId, readerAccount.secret),
    login(server.url, editorAccount.keyId, editorAccount.secret),
  ]);
  // Interleaved names, so that a page of the table holds both kinds.
  for (const name of [...OPEN, ...CLOSED].sort()) {
    const created = await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: root.token, body: { name, type: 'STANDARD' } });
    assert.equal(created.status, 201, created.text);
  }
  for (const name of CLOSED) {
    const acl = await request(`${server.url}/v1_ext/bucket/${name}`, { method: 'POST', token: root.token, body: { acl: { public_read_allow_ip_list: ['192.0.2.0/24'] } } });
    assert.equal(acl.status, 200, acl.text);
    for (const account of [readerAccount, editorAccount]) {
      const removed = await request(`${server.url}/v1_ext/bucket/${name}/permissions/${account.userId}`, { method: 'DELETE', token: root.token });
      assert.equal(removed.status, 204, removed.text);
    }
  }
});
after(async () => {
  await server.destroy();
});

async function extNames(session: Session, limit?: number): Promise<string[]> {
  const names: string[] = [];
  let marker = '';
  for (;;) {
    const query = new URLSearchParams({ ...(limit ? { limit: String(limit) } : {}), ...(marker ? { marker } : {}) });
    const page = await request(`${server.url}/v1_ext/bucket?${query.toString()}`, { token: session.token });
    assert.equal(page.status, 200, page.text);
    const body = asRecord(page.json);
    names.push(...asArray(body.items).map((item) => str(asRecord(item), 'name')));
    if (typeof body.next_marker !== 'string') return names.filter((n) => n.startsWith('vis-'));
    marker = body.next_marker;
  }
}

async function swiftNames(session: Session, limit?: number): Promise<string[]> {
  const names: string[] = [];
  let marker = '';
  for (;;) {
    const query = new URLSearchParams({ format: 'json', ...(limit ? { limit: String(limit) } : {}), ...(marker ? { marker } : {}) });
    const res = await fetch(`${session.storageUrl}?${query.toString()}`, { headers: { 'X-Auth-Token': session.token } });
    const page = res.status === 204 ? [] : ((await res.json()) as Array<{ name: string }>);
    if (page.length === 0) return names.filter((n) => n.startsWith('vis-'));
    names.push(...page.map((entry) => entry.name));
    marker = page[page.length - 1]?.name ?? '';
  }
}

void describe('bucket listings', () => {
  void test('the Storage Admin sees every bucket', async () => {
    assert.deepEqual(await extNames(root), [...OPEN, ...CLOSED].sort());
    assert.deepEqual(await swiftNames(root), [...OPEN, ...CLOSED].sort());
  });

  void test('a user whose role on a bucket was taken away does not see it listed, on either API, on any page', async () => {
    for (const session of [reader, editor]) {
      assert.deepEqual(await extNames(session), OPEN);
      assert.deepEqual(await swiftNames(session), OPEN);
      assert.deepEqual(await extNames(session, 1), OPEN, 'pages of one');
      assert.deepEqual(await swiftNames(session, 1), OPEN, 'pages of one');
    }
    const listing = await request(`${server.url}/v1_ext/bucket`, { token: reader.token });
    assert.doesNotMatch(listing.text, /192\.0\.2\.0/, 'no allow list of a bucket the caller may not read');
  });

  void test('members\' roles only to a Storage Admin; others see their own role alone', async () => {
    const all = await request(`${server.url}/v1_ext/bucket/${OPEN[0] ?? ''}/permissions`, { token: root.token });
    assert.ok(asArray(asRecord(all.json).permissions).length >= 3, all.text);
    for (const [session, account, role] of [[reader, readerAccount, 'Storage Viewer'], [editor, editorAccount, 'Storage Editor']] as const) {
      const own = await request(`${server.url}/v1_ext/bucket/${OPEN[0] ?? ''}/permissions`, { token: session.token });
      assert.equal(own.status, 200, own.text);
      assert.deepEqual(asArray(asRecord(own.json).permissions).map((p) => [str(asRecord(p), 'user_id'), str(asRecord(p), 'role')]), [[account.userId, role]]);
      const listed = await request(`${server.url}/v1_ext/bucket`, { token: session.token });
      for (const item of asArray(asRecord(listed.json).items)) {
        const ids = asArray(asRecord(asRecord(item).acl).permissions).map((p) => str(asRecord(p), 'user_id'));
        assert.deepEqual(ids, [account.userId], `roles shown in the listing of ${str(asRecord(item), 'name')}`);
      }
    }
  });
});
