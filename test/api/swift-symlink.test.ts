/** Swift symlinks: `X-Symlink-Target` (`-Account`, `-Etag`), `?symlink=get`, following, loops, the target authorized as the caller. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, md5Hex, newProject, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
const C = 'link-test';

before(async () => {
  server = await startServer();
  session = await login(server.url);
  await createContainer(session, C);
  await putObject(session, C, 'target.txt', 'the target body', { 'Content-Type': 'text/x-target', 'X-Object-Meta-Who': 'target' });
});
after(async () => {
  await server.destroy();
});

const url = (path: string): string => `${session.storageUrl}/${path}`;

async function putLink(name: string, headers: Record<string, string>, body = ''): Promise<Response> {
  // A Buffer: fetch gives a string body a Content-Type of its own.
  return fetch(url(`${C}/${name}`), { method: 'PUT', headers: auth(session, headers), body: Buffer.from(body) });
}

test('a link reads as its target, with Content-Location naming it; ?symlink=get gives the link itself', async () => {
  const put = await putLink('link', { 'X-Symlink-Target': `${C}/target.txt` });
  assert.equal(put.status, 201);
  const got = await fetch(url(`${C}/link`), { headers: auth(session) });
  assert.equal(got.status, 200);
  assert.equal(await got.text(), 'the target body');
  assert.equal(got.headers.get('content-location'), `/v1/${session.projectId}/${C}/target.txt`);
  assert.equal(got.headers.get('content-type'), 'text/x-target');
  assert.equal(got.headers.get('etag'), md5Hex('the target body'));
  const head = await fetch(url(`${C}/link`), { method: 'HEAD', headers: auth(session) });
  assert.equal(head.headers.get('content-length'), String('the target body'.length));
  assert.equal(head.headers.get('content-location'), `/v1/${session.projectId}/${C}/target.txt`);
  const range = await fetch(url(`${C}/link`), { headers: auth(session, { Range: 'bytes=4-9' }) });
  assert.equal(range.status, 206);
  assert.equal(await range.text(), 'target');
  for (const method of ['GET', 'HEAD']) {
    const itself = await fetch(url(`${C}/link?symlink=get`), { method, headers: auth(session) });
    assert.equal(itself.status, 200);
    assert.equal(itself.headers.get('x-symlink-target'), `${C}/target.txt`);
    assert.equal(itself.headers.get('content-type'), 'application/symlink');
    assert.equal(itself.headers.get('content-length'), '0');
    assert.equal(itself.headers.get('x-symlink-target-account'), null);
    assert.equal(await itself.text(), '');
  }
  const listed = (await (await fetch(url(`${C}?format=json&prefix=link`), { headers: auth(session) })).json()) as Record<string, unknown>[];
  assert.equal(listed[0]?.symlink_path, `/v1/${session.projectId}/${C}/target.txt`);
  // ?symlink=get of an object that is no link reads the object.
  assert.equal(await (await fetch(url(`${C}/target.txt?symlink=get`), { headers: auth(session) })).text(), 'the target body');
});

test('a link to a name not there yet is written; reading it is 404 until the target exists', async () => {
  assert.equal((await putLink('early', { 'X-Symlink-Target': `${C}/later.txt` })).status, 201);
  assert.equal((await fetch(url(`${C}/early`), { headers: auth(session) })).status, 404);
  await putObject(session, C, 'later.txt', 'now here');
  assert.equal(await (await fetch(url(`${C}/early`), { headers: auth(session) })).text(), 'now here');
});

test('bad links: a body (400), a target not of the form container/object (412)', async () => {
  const withBody = await putLink('bad', { 'X-Symlink-Target': `${C}/target.txt` }, 'data');
  assert.equal(withBody.status, 400);
  assert.match(await withBody.text(), /Symlink requests require a zero byte body/);
  const badForm = await putLink('bad', { 'X-Symlink-Target': 'just-a-name' });
  assert.equal(badForm.status, 412);
  await badForm.body?.cancel();
  assert.equal((await fetch(url(`${C}/bad?symlink=get`), { method: 'HEAD', headers: auth(session) })).status, 404);
});

test('static links: pinned to the ETag; a target changed since, or another ETag, is 409', async () => {
  const etag = md5Hex('the target body');
  const put = await putLink('static', { 'X-Symlink-Target': `${C}/target.txt`, 'X-Symlink-Target-Etag': etag });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('x-symlink-target-etag'), etag);
  assert.equal(await (await fetch(url(`${C}/static`), { headers: auth(session) })).text(), 'the target body');
  const itself = await fetch(url(`${C}/static?symlink=get`), { method: 'HEAD', headers: auth(session) });
  assert.equal(itself.headers.get('x-symlink-target-etag'), etag);
  const wrong = await putLink('static-wrong', { 'X-Symlink-Target': `${C}/target.txt`, 'X-Symlink-Target-Etag': md5Hex('other') });
  assert.equal(wrong.status, 409);
  await wrong.body?.cancel();
  const absent = await putLink('static-absent', { 'X-Symlink-Target': `${C}/absent.txt`, 'X-Symlink-Target-Etag': etag });
  assert.equal(absent.status, 409);
  assert.match(await absent.text(), /X-Symlink-Target does not exist/);
  await putObject(session, C, 'pinned.txt', 'first');
  assert.equal((await putLink('pinned-link', { 'X-Symlink-Target': `${C}/pinned.txt`, 'X-Symlink-Target-Etag': md5Hex('first') })).status, 201);
  await putObject(session, C, 'pinned.txt', 'second');
  const changed = await fetch(url(`${C}/pinned-link`), { headers: auth(session) });
  assert.equal(changed.status, 409);
  assert.match(await changed.text(), /does not match/);
});

test('loops and chains longer than two links: 409', async () => {
  assert.equal((await putLink('loop-a', { 'X-Symlink-Target': `${C}/loop-b` })).status, 201);
  assert.equal((await putLink('loop-b', { 'X-Symlink-Target': `${C}/loop-a` })).status, 201);
  for (const method of ['GET', 'HEAD']) {
    const looped = await fetch(url(`${C}/loop-a`), { method, headers: auth(session) });
    assert.equal(looped.status, 409, method);
    if (method === 'GET') assert.match(await looped.text(), /Too many levels of symbolic links, maximum allowed is 2/);
  }
  assert.equal((await putLink('self', { 'X-Symlink-Target': `${C}/self` })).status, 201);
  assert.equal((await fetch(url(`${C}/self`), { headers: auth(session) })).status, 409);
  // Two hops are followed; a third is not.
  assert.equal((await putLink('hop1', { 'X-Symlink-Target': `${C}/link` })).status, 201);
  assert.equal(await (await fetch(url(`${C}/hop1`), { headers: auth(session) })).text(), 'the target body');
  assert.equal((await putLink('hop2', { 'X-Symlink-Target': `${C}/hop1` })).status, 201);
  assert.equal((await fetch(url(`${C}/hop2`), { headers: auth(session) })).status, 409);
});

test('the target is read as the caller: a link into another project gives nothing it could not read itself', async () => {
  const other = await newProject(server, 'link-other');
  await createContainer(other, 'private-stuff');
  await putObject(other, 'private-stuff', 'secret.txt', 'not yours');
  const put = await putLink('cross', { 'X-Symlink-Target': 'private-stuff/secret.txt', 'X-Symlink-Target-Account': other.projectId });
  assert.equal(put.status, 201);
  const got = await fetch(url(`${C}/cross`), { headers: auth(session) });
  assert.equal(got.status, 403);
  assert.doesNotMatch(await got.text(), /not yours/);
  const itself = await fetch(url(`${C}/cross?symlink=get`), { method: 'HEAD', headers: auth(session) });
  assert.equal(itself.headers.get('x-symlink-target-account'), other.projectId);
  // Its owner reads it through the same link only with access to the link's container: none here.
  const theirs = await fetch(`${other.storageUrl.replace(other.projectId, session.projectId)}/${C}/cross`, { headers: auth(other) });
  assert.ok([403, 404].includes(theirs.status), String(theirs.status));
  assert.doesNotMatch(await theirs.text(), /not yours/);
});

test('an anonymous reader of a link in a public container still needs the target to be readable', async () => {
  await createContainer(session, 'link-public');
  const acl = await fetch(`${server.url}/v1_ext/bucket/link-public`, {
    method: 'POST',
    headers: auth(session, { 'Content-Type': 'application/json' }),
    body: JSON.stringify({ acl: { public: 'read-only' } }),
  });
  assert.equal(acl.status, 200);
  await putObject(session, 'link-public', 'shown.txt', 'public bytes');
  await fetch(`${session.storageUrl}/link-public/to-private`, { method: 'PUT', headers: auth(session, { 'X-Symlink-Target': `${C}/target.txt` }), body: Buffer.alloc(0) });
  await fetch(`${session.storageUrl}/link-public/to-public`, { method: 'PUT', headers: auth(session, { 'X-Symlink-Target': 'link-public/shown.txt' }), body: Buffer.alloc(0) });
  assert.equal(await (await fetch(`${session.storageUrl}/link-public/to-public`)).text(), 'public bytes');
  const refused = await fetch(`${session.storageUrl}/link-public/to-private`);
  assert.equal(refused.status, 401);
  assert.doesNotMatch(await refused.text(), /the target body/);
});

test('a POST cannot make an object a link', async () => {
  const post = await fetch(url(`${C}/target.txt`), { method: 'POST', headers: auth(session, { 'X-Symlink-Target': `${C}/link` }) });
  assert.equal(post.status, 400);
  assert.match(await post.text(), /A PUT request is required to set a symlink target/);
});

test('/info advertises symlinks with the hop limit', async () => {
  const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, Record<string, unknown>>;
  assert.deepEqual(info.symlink, { symloop_max: 2, static_links: true });
});
