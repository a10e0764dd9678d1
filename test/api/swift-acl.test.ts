/**
 * Swift container ACLs (X-Container-Read / X-Container-Write) over real HTTP: stored as grants, shown to those
 * who may change them, removable, one with `/v1_ext`'s public flag; referrer rules; a second project's users;
 * cross-account COPY.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, createAccount, request, uniqueName, type Account } from '../helpers/accounts.ts';
import { admin, login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, createContainer, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let root: Session;
/** A second project's admin, and its names. */
let other: Session;
let otherAccount: Account;
let otherProjectName: string;
/** A third project, named by no ACL. */
let stranger: Session;
/** A reader and a member of root's project. */
let reader: Session;
let member: Session;

before(async () => {
  server = await startServer();
  root = await login(server.url);
  otherProjectName = uniqueName('acl-proj');
  await admin(server.dataDir, 'project', 'create', otherProjectName);
  otherAccount = await createAccount(server.dataDir, 'admin', { project: otherProjectName });
  other = await login(server.url, otherAccount.keyId, otherAccount.secret);
  const strangerAccount = await createAccount(server.dataDir, 'admin');
  stranger = await login(server.url, strangerAccount.keyId, strangerAccount.secret);
  const readerAccount = await createAccount(server.dataDir, 'reader', { project: root.projectId });
  reader = await login(server.url, readerAccount.keyId, readerAccount.secret);
  const memberAccount = await createAccount(server.dataDir, 'member', { project: root.projectId });
  member = await login(server.url, memberAccount.keyId, memberAccount.secret);
});
after(async () => {
  await server.destroy();
});

async function post(session: Session, container: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${session.storageUrl}/${container}`, { method: 'POST', headers: auth(session, headers) });
}

async function setAcl(container: string, headers: Record<string, string>): Promise<void> {
  const response = await post(root, container, headers);
  assert.equal(response.status, 204, await response.text());
}

async function head(session: Session, container: string): Promise<Headers> {
  const response = await fetch(`${session.storageUrl}/${container}`, { method: 'HEAD', headers: auth(session) });
  assert.equal(response.status, 204);
  return response.headers;
}

async function status(url: string, init: RequestInit = {}): Promise<number> {
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return response.status;
}

async function withObject(label: string): Promise<{ container: string; url: string }> {
  const container = bucketName(label);
  await createContainer(root, container);
  await putObject(root, container, 'doc.txt', 'shared bytes');
  return { container, url: `${root.storageUrl}/${container}/doc.txt` };
}

void describe('.r:* and the public flag', () => {
  test('swift post -r .r:* is stored, shown, and makes the container public in /v1_ext', async () => {
    const { container, url } = await withObject('acl-public');
    assert.equal(await status(url), 401);
    await setAcl(container, { 'X-Container-Read': '.r:*' });
    assert.equal((await head(root, container)).get('x-container-read'), '.r:*');
    const anonymous = await fetch(url);
    assert.equal(anonymous.status, 200);
    assert.equal(await anonymous.text(), 'shared bytes');
    const ext = await request(`${server.url}/v1_ext/bucket/${container}`, { token: root.token });
    assert.equal(asRecord(asRecord(ext.json).acl).public, 'read-only');
    // Objects only: no listing without .rlistings.
    assert.equal(await status(`${root.storageUrl}/${container}`), 401);
  });

  test("a second project's valid token reads a public object as an anonymous reader would", async () => {
    const { container, url } = await withObject('acl-public-token');
    assert.equal(await status(url, { headers: auth(other) }), 403);
    await setAcl(container, { 'X-Container-Read': '.r:*' });
    const response = await fetch(url, { headers: auth(other) });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'shared bytes');
    // Served as to anyone: an active type goes out as an attachment, never rendered on the server's origin.
    await putObject(root, container, 'page.html', '<script>alert(1)</script>', { 'Content-Type': 'text/html' });
    const page = await fetch(`${root.storageUrl}/${container}/page.html`, { headers: auth(other) });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-disposition'), 'attachment');
    const own = await fetch(`${root.storageUrl}/${container}/page.html`, { headers: auth(root) });
    assert.equal(own.headers.get('content-disposition'), null);
    // Reading is all it gives: no writes, no listing.
    assert.equal(await status(url, { method: 'PUT', headers: auth(other), body: 'x' }), 403);
    assert.equal(await status(`${root.storageUrl}/${container}`, { headers: auth(other) }), 403);
  });

  test('/v1_ext public shows as .r:* in Swift, and private again removes it', async () => {
    const { container, url } = await withObject('acl-ext');
    const made = await request(`${server.url}/v1_ext/bucket/${container}`, { method: 'POST', token: root.token, body: { acl: { public: 'read-only' } } });
    assert.equal(made.status, 200, made.text);
    assert.equal((await head(root, container)).get('x-container-read'), '.r:*');
    assert.equal(await status(url), 200);
    const undone = await request(`${server.url}/v1_ext/bucket/${container}`, { method: 'POST', token: root.token, body: { acl: { public: 'none' } } });
    assert.equal(undone.status, 200, undone.text);
    assert.equal((await head(root, container)).get('x-container-read'), null);
    assert.equal(await status(url), 401);
  });

  test('.r:*,.rlistings lets anyone list; removing the read ACL (X-Remove-Container-Read, empty value) closes it', async () => {
    const { container, url } = await withObject('acl-listings');
    await setAcl(container, { 'X-Container-Read': '.r:*,.rlistings' });
    assert.equal((await head(root, container)).get('x-container-read'), '.r:*,.rlistings');
    const listing = await fetch(`${root.storageUrl}/${container}`);
    assert.equal(listing.status, 200);
    assert.equal(await listing.text(), 'doc.txt\n');
    await setAcl(container, { 'X-Remove-Container-Read': 'x' });
    assert.equal((await head(root, container)).get('x-container-read'), null);
    assert.equal(await status(`${root.storageUrl}/${container}`), 401);
    assert.equal(await status(url), 401);
    await setAcl(container, { 'X-Container-Read': '.r:*' });
    assert.equal(await status(url), 200);
    await setAcl(container, { 'X-Container-Read': '' });
    assert.equal(await status(url), 401);
    const ext = await request(`${server.url}/v1_ext/bucket/${container}`, { token: root.token });
    assert.equal(asRecord(asRecord(ext.json).acl).public, 'none');
  });

  test('an ACL given with the container PUT is stored with it', async () => {
    const container = bucketName('acl-put');
    await createContainer(root, container, { 'X-Container-Read': '.r:*' });
    assert.equal((await head(root, container)).get('x-container-read'), '.r:*');
  });
});

void describe('referrer rules', () => {
  test('.r:<domain> admits that domain and its subdomains only', async () => {
    const { container, url } = await withObject('acl-ref');
    await setAcl(container, { 'X-Container-Read': '.r:.example.com' });
    assert.equal(await status(url, { headers: { Referer: 'https://www.example.com/page' } }), 200);
    assert.equal(await status(url, { headers: { Referer: 'https://example.com/' } }), 200);
    assert.equal(await status(url, { headers: { Referer: 'https://example.org/' } }), 401);
    assert.equal(await status(url), 401);
  });

  test('.r:-<host> refuses a referrer that .r:* lets in', async () => {
    const { container, url } = await withObject('acl-ref-deny');
    await setAcl(container, { 'X-Container-Read': '.r:*,.r:-evil.example' });
    assert.equal((await head(root, container)).get('x-container-read'), '.r:*,.r:-evil.example');
    assert.equal(await status(url, { headers: { Referer: 'https://evil.example/x' } }), 401);
    assert.equal(await status(url, { headers: { Referer: 'https://good.example/x' } }), 200);
    assert.equal(await status(url), 200);
  });

  test('Swift spellings are cleaned: .referrer:, *.host', async () => {
    const { container } = await withObject('acl-clean');
    await setAcl(container, { 'X-Container-Read': ' .referrer:*.example.com , .ref:-bad.example' });
    assert.equal((await head(root, container)).get('x-container-read'), '.r:.example.com,.r:-bad.example');
  });
});

void describe("a second project's users", () => {
  test('<project>:<user> read: reads and lists, writes nothing; others still refused', async () => {
    const { container, url } = await withObject('acl-user');
    await setAcl(container, { 'X-Container-Read': `${other.projectId}:${otherAccount.userId}` });
    assert.equal((await head(root, container)).get('x-container-read'), `${other.projectId}:${otherAccount.userId}`);
    assert.equal(await status(url, { headers: auth(other) }), 200);
    // The bucket API (and so the console) shows the same grants as data.
    const ext = await request(`${server.url}/v1_ext/bucket/${container}`, { token: root.token });
    assert.deepEqual(asRecord(asRecord(ext.json).acl).grants, [
      { grantee: { kind: 'user', userId: otherAccount.userId, projectId: other.projectId }, permission: 'read-objects' },
      { grantee: { kind: 'user', userId: otherAccount.userId, projectId: other.projectId }, permission: 'list' },
    ]);
    const listing = await fetch(`${root.storageUrl}/${container}`, { headers: auth(other) });
    assert.equal(listing.status, 200);
    assert.equal(await listing.text(), 'doc.txt\n');
    assert.equal(await status(`${root.storageUrl}/${container}/new.txt`, { method: 'PUT', headers: auth(other), body: 'x' }), 403);
    assert.equal(await status(url, { headers: auth(stranger) }), 403);
    assert.equal(await status(url), 401);
    // The ACL is not theirs to see or change.
    const seen = await fetch(`${root.storageUrl}/${container}`, { method: 'HEAD', headers: auth(other) });
    assert.equal(seen.status, 204);
    assert.equal(seen.headers.get('x-container-read'), null);
    assert.equal(await status(`${root.storageUrl}/${container}`, { method: 'POST', headers: auth(other, { 'X-Container-Read': '.r:*' }) }), 403);
  });

  test('names resolve to ids; <project>:* and *:<user> as keystoneauth reads them', async () => {
    const { container, url } = await withObject('acl-names');
    await setAcl(container, { 'X-Container-Read': `${otherProjectName}:${otherAccount.userName}` });
    assert.equal((await head(root, container)).get('x-container-read'), `${other.projectId}:${otherAccount.userId}`);
    assert.equal(await status(url, { headers: auth(other) }), 200);
    await setAcl(container, { 'X-Container-Read': `${other.projectId}:*` });
    assert.equal(await status(url, { headers: auth(other) }), 200);
    assert.equal(await status(url, { headers: auth(stranger) }), 403);
    await setAcl(container, { 'X-Container-Read': `*:${otherAccount.userId}` });
    assert.equal(await status(url, { headers: auth(other) }), 200);
    assert.equal(await status(url, { headers: auth(stranger) }), 403);
    await setAcl(container, { 'X-Container-Read': '*:*' });
    assert.equal(await status(url, { headers: auth(stranger) }), 200);
    assert.equal(await status(url), 401);
  });

  test('write ACL: the grantee creates, changes and deletes objects but reads nothing', async () => {
    const { container, url } = await withObject('acl-write');
    await setAcl(container, { 'X-Container-Write': `${other.projectId}:${otherAccount.userId}` });
    assert.equal((await head(root, container)).get('x-container-write'), `${other.projectId}:${otherAccount.userId}`);
    assert.equal(await status(`${root.storageUrl}/${container}/from-other.txt`, { method: 'PUT', headers: auth(other), body: 'theirs' }), 201);
    assert.equal(await status(url, { headers: auth(other) }), 403);
    assert.equal(await status(url, { method: 'DELETE', headers: auth(other) }), 204);
    const mine = await fetch(`${root.storageUrl}/${container}/from-other.txt`, { headers: auth(root) });
    assert.equal(await mine.text(), 'theirs');
    assert.equal(await status(`${root.storageUrl}/${container}/x`, { method: 'PUT', headers: auth(stranger), body: 'x' }), 403);
    await setAcl(container, { 'X-Remove-Container-Write': '1' });
    assert.equal(await status(`${root.storageUrl}/${container}/again.txt`, { method: 'PUT', headers: auth(other), body: 'x' }), 403);
  });

  test('cross-account COPY and X-Copy-From-Account, where the ACLs allow it', async () => {
    const { container } = await withObject('acl-copy');
    const theirs = bucketName('acl-copy-theirs');
    await createContainer(other, theirs);
    await putObject(other, theirs, 'src.txt', 'from the other project');
    // Not allowed yet: neither way.
    assert.equal(await status(`${other.storageUrl}/${theirs}/src.txt`, { method: 'COPY', headers: auth(other, { Destination: `${container}/copied.txt`, 'Destination-Account': root.projectId }) }), 403);
    await setAcl(container, { 'X-Container-Write': `${other.projectId}:*`, 'X-Container-Read': `${other.projectId}:*` });
    const copied = await fetch(`${other.storageUrl}/${theirs}/src.txt`, {
      method: 'COPY',
      headers: auth(other, { Destination: `${container}/copied.txt`, 'Destination-Account': root.projectId }),
    });
    assert.equal(copied.status, 201, await copied.text());
    assert.equal(copied.headers.get('x-copied-from-account'), other.projectId);
    assert.equal(await (await fetch(`${root.storageUrl}/${container}/copied.txt`, { headers: auth(root) })).text(), 'from the other project');
    const pulled = await fetch(`${other.storageUrl}/${theirs}/pulled.txt`, {
      method: 'PUT',
      headers: auth(other, { 'X-Copy-From': `${container}/doc.txt`, 'X-Copy-From-Account': root.projectId, 'Content-Length': '0' }),
    });
    assert.equal(pulled.status, 201, await pulled.text());
    assert.equal(await (await fetch(`${other.storageUrl}/${theirs}/pulled.txt`, { headers: auth(other) })).text(), 'shared bytes');
    assert.equal(await status(`${other.storageUrl}/${theirs}/x`, { method: 'PUT', headers: auth(stranger, { 'X-Copy-From': `${container}/doc.txt`, 'X-Copy-From-Account': root.projectId, 'Content-Length': '0' }) }), 403);
  });
});

void describe('who may set and see ACLs; bad ACLs', () => {
  test("a member (Storage Editor) may not set an ACL; a reader doesn't see it", async () => {
    const { container, url } = await withObject('acl-roles');
    const refused = await post({ ...member, storageUrl: root.storageUrl }, container, { 'X-Container-Read': '.r:*', 'X-Container-Meta-Color': 'blue' });
    assert.equal(refused.status, 403);
    assert.equal(await status(url), 401);
    // Nothing of the refused request was applied.
    assert.equal((await head(root, container)).get('x-container-meta-color'), null);
    await setAcl(container, { 'X-Container-Read': '.r:*', 'X-Container-Write': `${other.projectId}:*` });
    const seen = await head(reader, container);
    assert.equal(seen.get('x-container-read'), null);
    assert.equal(seen.get('x-container-write'), null);
    assert.equal((await head(member, container)).get('x-container-read'), null);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['a referrer without a host', { 'X-Container-Read': '.r:' }, /No host\/domain value after referrer designation/],
    ['a referrer in the write ACL', { 'X-Container-Write': '.r:*' }, /Referrers not allowed in write ACL/],
    ['an unknown designator', { 'X-Container-Read': '.x:foo' }, /Unknown designator/],
    ['a bare name', { 'X-Container-Read': 'someone' }, /none of <project>:<user>/],
  ];
  for (const [name, headers, message] of bad) {
    test(`${name} → 400, nothing changed`, async () => {
      const { container } = await withObject('acl-bad');
      await setAcl(container, { 'X-Container-Read': '.r:*' });
      const response = await post(root, container, { ...headers, 'X-Container-Meta-Color': 'red' });
      assert.equal(response.status, 400);
      assert.match(await response.text(), message);
      const after = await head(root, container);
      assert.equal(after.get('x-container-read'), '.r:*');
      assert.equal(after.get('x-container-meta-color'), null);
    });
  }
});

void describe('account ACLs (X-Account-Access-Control)', () => {
  /** The account ACL of root's account, set (or removed with undefined) by root. */
  async function setAccountAcl(acl: Record<string, string[]> | undefined, extra: Record<string, string> = {}): Promise<Response> {
    const headers: Record<string, string> = acl === undefined ? { 'X-Remove-Account-Access-Control': 'x' } : { 'X-Account-Access-Control': JSON.stringify(acl) };
    return fetch(root.storageUrl, { method: 'POST', headers: auth(root, { ...headers, ...extra }) });
  }

  async function statusAs(session: Session, path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<number> {
    return status(`${root.storageUrl}${path}`, { ...init, headers: auth(session, init.headers ?? {}) });
  }

  after(async () => {
    await setAccountAcl(undefined);
  });

  test('read-only: a second project lists and reads the whole account, writes nothing, sees no privileged header', async () => {
    const { container } = await withObject('acct-ro');
    await setAcl(container, { 'X-Container-Write': `${stranger.projectId}:*`, 'X-Container-Meta-Temp-URL-Key': 'secret-key' });
    assert.equal(await statusAs(other, ''), 403);
    const made = await setAccountAcl({ 'read-only': [`${otherProjectName}:*`] });
    assert.equal(made.status, 204, await made.text());
    const own = await fetch(root.storageUrl, { method: 'HEAD', headers: auth(root) });
    assert.equal(own.headers.get('x-account-access-control'), JSON.stringify({ 'read-only': [`${other.projectId}:*`] }));

    const listing = await fetch(`${root.storageUrl}?format=json`, { headers: auth(other) });
    assert.equal(listing.status, 200);
    assert.ok((JSON.parse(await listing.text()) as { name: string }[]).some((c) => c.name === container));
    assert.equal(listing.headers.get('x-account-access-control'), null);
    const objects = await fetch(`${root.storageUrl}/${container}`, { headers: auth(other) });
    assert.equal(await objects.text(), 'doc.txt\n');
    const read = await fetch(`${root.storageUrl}/${container}/doc.txt`, { headers: auth(other) });
    assert.equal(await read.text(), 'shared bytes');
    const seenResponse = await fetch(`${root.storageUrl}/${container}`, { method: 'HEAD', headers: auth(other) });
    assert.equal(seenResponse.status, 204);
    const seen = seenResponse.headers;
    assert.equal(seen.get('x-container-write'), null);
    assert.equal(seen.get('x-container-meta-temp-url-key'), null);

    assert.equal(await statusAs(other, `/${container}/new.txt`, { method: 'PUT', body: 'x' }), 403);
    assert.equal(await statusAs(other, `/${container}/doc.txt`, { method: 'DELETE' }), 403);
    assert.equal(await statusAs(other, `/${bucketName('acct-ro-new')}`, { method: 'PUT' }), 403);
    assert.equal(await statusAs(other, '', { method: 'POST', headers: { 'X-Account-Meta-Color': 'red' } }), 403);
    // A third project is named by no grant.
    assert.equal(await statusAs(stranger, ''), 403);
    assert.equal(await statusAs(stranger, `/${container}/doc.txt`), 403);
  });

  test('read-write: containers and objects created, changed and deleted; not the account, not ACLs', async () => {
    const made = await setAccountAcl({ 'read-write': [`${otherProjectName}:${otherAccount.userName}`] });
    assert.equal(made.status, 204, await made.text());
    const container = bucketName('acct-rw');
    assert.equal(await statusAs(other, `/${container}`, { method: 'PUT' }), 201);
    assert.equal(await statusAs(other, `/${container}/a.txt`, { method: 'PUT', body: 'written by a grantee' }), 201);
    assert.equal(await (await fetch(`${root.storageUrl}/${container}/a.txt`, { headers: auth(root) })).text(), 'written by a grantee');
    assert.equal(await statusAs(other, `/${container}`, { method: 'POST', headers: { 'X-Container-Meta-Color': 'blue' } }), 204);
    assert.equal((await head(root, container)).get('x-container-meta-color'), 'blue');
    assert.equal(await statusAs(other, `/${container}`, { method: 'POST', headers: { 'X-Container-Read': '.r:*' } }), 403);
    assert.equal((await head(root, container)).get('x-container-read'), null);
    assert.equal(await statusAs(other, '', { method: 'POST', headers: { 'X-Account-Meta-Color': 'red' } }), 403);
    assert.equal(await statusAs(other, `/${container}/a.txt`, { method: 'DELETE' }), 204);
    assert.equal(await statusAs(other, `/${container}`, { method: 'DELETE' }), 204);
    assert.equal(await statusAs(root, `/${container}`, { method: 'HEAD' }), 404);
  });

  test('admin: the account metadata, its temp URL keys and the account ACL itself; then removal closes the account again', async () => {
    const made = await setAccountAcl({ admin: [other.projectId] });
    assert.equal(made.status, 204, await made.text());
    const { container } = await withObject('acct-admin');
    assert.equal(await statusAs(other, '', { method: 'POST', headers: { 'X-Account-Meta-Temp-URL-Key': 'granted-key' } }), 204);
    const seen = await fetch(root.storageUrl, { method: 'HEAD', headers: auth(other) });
    assert.equal(seen.headers.get('x-account-meta-temp-url-key'), 'granted-key');
    assert.equal(seen.headers.get('x-account-access-control'), JSON.stringify({ admin: [`${other.projectId}:*`] }));
    assert.equal(await statusAs(other, `/${container}`, { method: 'POST', headers: { 'X-Container-Write': `${stranger.projectId}:*` } }), 204);
    assert.equal(await statusAs(stranger, `/${container}/by-stranger`, { method: 'PUT', body: 'x' }), 201);
    // The grantee may widen the ACL: the stranger becomes a reader of the account.
    const widened = await fetch(root.storageUrl, {
      method: 'POST',
      headers: auth(other, { 'X-Account-Access-Control': JSON.stringify({ admin: [other.projectId], 'read-only': [stranger.projectId] }) }),
    });
    assert.equal(widened.status, 204, await widened.text());
    assert.equal(await statusAs(stranger, ''), 200);
    // Removed: both are outsiders again.
    assert.equal((await setAccountAcl(undefined)).status, 204);
    assert.equal((await fetch(root.storageUrl, { method: 'HEAD', headers: auth(root) })).headers.get('x-account-access-control'), null);
    assert.equal(await statusAs(other, ''), 403);
    assert.equal(await statusAs(stranger, ''), 403);
    assert.equal(await statusAs(root, '', { method: 'POST', headers: { 'X-Remove-Account-Meta-Temp-URL-Key': 'x' } }), 204);
  });

  test('an empty value removes the ACL; a grant to one user leaves the rest of their project out', async () => {
    assert.equal((await setAccountAcl({ 'read-only': [`*:${otherAccount.userId}`] })).status, 204);
    assert.equal(await statusAs(other, ''), 200);
    assert.equal(await statusAs(stranger, ''), 403);
    const cleared = await fetch(root.storageUrl, { method: 'POST', headers: auth(root, { 'X-Account-Access-Control': '' }) });
    assert.equal(cleared.status, 204);
    assert.equal(await statusAs(other, ''), 403);
  });

  test('a copy out of an account the caller may read, into their own', async () => {
    const { container } = await withObject('acct-copy');
    assert.equal((await setAccountAcl({ 'read-only': [other.projectId] })).status, 204);
    const target = bucketName('acct-copy-to');
    await createContainer(other, target);
    const copied = await fetch(`${root.storageUrl}/${container}/doc.txt`, {
      method: 'COPY',
      headers: auth(other, { Destination: `${target}/copied.txt`, 'Destination-Account': other.projectId }),
    });
    assert.equal(copied.status, 201, await copied.text());
    assert.equal(await (await fetch(`${other.storageUrl}/${target}/copied.txt`, { headers: auth(other) })).text(), 'shared bytes');
    // Not the other way round: read-only gives no write into root's account.
    const back = await fetch(`${other.storageUrl}/${target}/copied.txt`, {
      method: 'COPY',
      headers: auth(other, { Destination: `${container}/back.txt`, 'Destination-Account': root.projectId }),
    });
    assert.equal(back.status, 403);
    await setAccountAcl(undefined);
  });

  const badAcls: [string, string, RegExp][] = [
    ['not JSON', '{read-only', /Syntax error in input/],
    ['a list, not an object', '["x:*"]', /Syntax error in input/],
    ['an unknown key', '{"write":["x:*"]}', /Key "write" not recognized/],
    ['a value that is no list', '{"admin":"x:*"}', /Value for key "admin" must be a list/],
    ['an element that is no string', '{"read-only":[1]}', /Elements of "read-only" list must be strings/],
  ];
  for (const [name, value, message] of badAcls) {
    test(`an account ACL with ${name} → 400, nothing changed`, async () => {
      assert.equal((await setAccountAcl({ 'read-only': [other.projectId] })).status, 204);
      const response = await fetch(root.storageUrl, { method: 'POST', headers: auth(root, { 'X-Account-Access-Control': value, 'X-Account-Meta-Flag': 'set' }) });
      assert.equal(response.status, 400);
      assert.match(await response.text(), message);
      const account = await fetch(root.storageUrl, { method: 'HEAD', headers: auth(root) });
      assert.equal(account.headers.get('x-account-meta-flag'), null);
      assert.equal(account.headers.get('x-account-access-control'), JSON.stringify({ 'read-only': [`${other.projectId}:*`] }));
      await setAccountAcl(undefined);
    });
  }

  test('/info says account ACLs work (tempauth.account_acls, where Swift puts it)', async () => {
    const info = asRecord(await (await fetch(`${server.url}/info`)).json());
    assert.deepEqual(info.tempauth, { account_acls: true });
  });

  test('only the account admin sets it: a member of the project is refused', async () => {
    const response = await fetch(root.storageUrl, { method: 'POST', headers: auth(member, { 'X-Account-Access-Control': JSON.stringify({ admin: [member.projectId] }) }) });
    assert.equal(response.status, 403);
  });
});
