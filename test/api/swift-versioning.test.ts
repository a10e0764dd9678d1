/**
 * Swift object versioning: the new mode (`X-Versions-Enabled`, `?versions`, `?version-id=`, delete markers) and the
 * legacy ones (`X-Versions-Location` stack mode, `X-History-Location` history mode).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;

before(async () => {
  server = await startServer();
  session = await login(server.url);
});
after(async () => {
  await server.destroy();
});

const url = (path: string): string => `${session.storageUrl}/${path}`;
const DELETE_MARKER = 'application/x-deleted;swift_versions_deleted=1';

interface VersionEntry {
  name: string;
  version_id: string;
  is_latest: boolean;
  content_type: string;
  bytes: number;
  hash: string;
}

async function versions(container: string, query = ''): Promise<VersionEntry[]> {
  const res = await fetch(url(`${container}?versions&format=json${query}`), { headers: auth(session) });
  assert.equal(res.status, 200);
  return (await res.json()) as VersionEntry[];
}

async function text(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url(path), { headers: auth(session, headers) });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe('X-Versions-Enabled', { concurrency: false }, () => {
  const C = 'versioned';
  const ids: string[] = [];
  let markerId = '';

  test('enabled on PUT, shown on HEAD; each write has a version id of its own', async () => {
    await createContainer(session, C, { 'X-Versions-Enabled': 'true' });
    const head = await fetch(url(C), { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-versions-enabled'), 'True');
    for (const body of ['one', 'two', 'three']) {
      const put = await putObject(session, C, 'doc.txt', body);
      assert.equal(put.status, 201);
      const id = put.headers.get('x-object-version-id');
      assert.match(id ?? '', /^[0-9a-f]{32}$/);
      ids.push(id ?? '');
    }
    assert.equal(new Set(ids).size, 3);
    const current = await text(`${C}/doc.txt`);
    assert.equal(current.body, 'three');
    assert.equal(current.headers.get('x-object-version-id'), ids[2]);
  });

  test('?version-id= reads and HEADs an older version', async () => {
    const first = await text(`${C}/doc.txt?version-id=${ids[0] ?? ''}`);
    assert.equal(first.status, 200);
    assert.equal(first.body, 'one');
    assert.equal(first.headers.get('x-object-version-id'), ids[0]);
    const head = await fetch(url(`${C}/doc.txt?version-id=${ids[1] ?? ''}`), { method: 'HEAD', headers: auth(session) });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '3');
    assert.equal((await text(`${C}/doc.txt?version-id=not-a-version`)).status, 400);
    assert.equal((await text(`${C}/doc.txt?version-id=${'0'.repeat(32)}`)).status, 404);
  });

  test('?versions lists every version, newest first, with version_id and is_latest; pages with version_marker', async () => {
    const listed = await versions(C);
    assert.deepEqual(
      listed.map((e) => [e.name, e.version_id, e.is_latest, e.bytes]),
      [
        ['doc.txt', ids[2], true, 5],
        ['doc.txt', ids[1], false, 3],
        ['doc.txt', ids[0], false, 3],
      ],
    );
    const page = await versions(C, `&limit=1&marker=doc.txt&version_marker=${ids[2] ?? ''}`);
    assert.deepEqual(
      page.map((e) => e.version_id),
      [ids[1]],
    );
    const plain = await fetch(url(`${C}?versions`), { headers: auth(session) });
    assert.equal(await plain.text(), 'doc.txt\ndoc.txt\ndoc.txt\n');
    // The usual listing shows the current version only.
    const current = (await (await fetch(url(`${C}?format=json`), { headers: auth(session) })).json()) as { name: string }[];
    assert.deepEqual(
      current.map((e) => e.name),
      ['doc.txt'],
    );
  });

  test('DELETE leaves a delete marker (its id in X-Object-Version-Id); deleting the marker brings the object back', async () => {
    const del = await fetch(url(`${C}/doc.txt`), { method: 'DELETE', headers: auth(session) });
    assert.equal(del.status, 204);
    markerId = del.headers.get('x-object-version-id') ?? '';
    assert.match(markerId, /^[0-9a-f]{32}$/);
    assert.equal((await text(`${C}/doc.txt`)).status, 404);
    assert.equal((await text(`${C}/doc.txt?version-id=${markerId}`)).status, 404);
    const listed = await versions(C);
    assert.equal(listed.length, 4);
    assert.deepEqual(listed[0], { ...listed[0], version_id: markerId, is_latest: true, content_type: DELETE_MARKER, bytes: 0, hash: 'd41d8cd98f00b204e9800998ecf8427e' });
    const undelete = await fetch(url(`${C}/doc.txt?version-id=${markerId}`), { method: 'DELETE', headers: auth(session) });
    assert.equal(undelete.status, 204);
    assert.equal(undelete.headers.get('x-object-version-id'), markerId);
    assert.equal((await text(`${C}/doc.txt`)).body, 'three');
  });

  test('DELETE ?version-id= removes one version for good', async () => {
    const del = await fetch(url(`${C}/doc.txt?version-id=${ids[0] ?? ''}`), { method: 'DELETE', headers: auth(session) });
    assert.equal(del.status, 204);
    assert.equal((await text(`${C}/doc.txt?version-id=${ids[0] ?? ''}`)).status, 404);
    assert.deepEqual(
      (await versions(C)).map((e) => e.version_id),
      [ids[2], ids[1]],
    );
    const again = await fetch(url(`${C}/doc.txt?version-id=${ids[0] ?? ''}`), { method: 'DELETE', headers: auth(session) });
    assert.equal(again.status, 404);
    await again.body?.cancel();
  });

  test('X-Versions-Enabled: false suspends: writes replace the null version, older versions stay', async () => {
    assert.equal((await fetch(url(C), { method: 'POST', headers: auth(session, { 'X-Versions-Enabled': 'false' }) })).status, 204);
    const head = await fetch(url(C), { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-versions-enabled'), 'False');
    const put = await putObject(session, C, 'doc.txt', 'four');
    assert.equal(put.headers.get('x-object-version-id'), null);
    await putObject(session, C, 'doc.txt', 'five');
    assert.deepEqual(
      (await versions(C)).map((e) => [e.version_id, e.is_latest]),
      [
        ['null', true],
        [ids[2], false],
        [ids[1], false],
      ],
    );
    assert.equal((await text(`${C}/doc.txt?version-id=null`)).body, 'five');
  });
});

describe('COPY ?version-id= (restoring an older version)', () => {
  test('copies that version over the current one as a new version; the others stay', async () => {
    const C = 'restore';
    await createContainer(session, C, { 'X-Versions-Enabled': 'true' });
    const ids: string[] = [];
    for (const body of ['first', 'second']) ids.push((await putObject(session, C, 'doc.txt', body, { 'X-Object-Meta-Body': body })).headers.get('x-object-version-id') ?? '');
    const copy = await fetch(url(`${C}/doc.txt?version-id=${ids[0] ?? ''}`), { method: 'COPY', headers: auth(session, { Destination: `${C}/doc.txt` }) });
    assert.equal(copy.status, 201);
    const current = await text(`${C}/doc.txt`);
    assert.equal(current.body, 'first');
    assert.equal(current.headers.get('x-object-meta-body'), 'first');
    const listed = await versions(C);
    assert.equal(listed.length, 3);
    assert.deepEqual(listed.slice(1).map((e) => e.version_id), [ids[1], ids[0]]);
    assert.notEqual(listed[0]?.version_id, ids[0]);
    assert.equal((await text(`${C}/doc.txt?version-id=${ids[1] ?? ''}`)).body, 'second');
    const missing = await fetch(url(`${C}/doc.txt?version-id=${'0'.repeat(32)}`), { method: 'COPY', headers: auth(session, { Destination: `${C}/doc.txt` }) });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});

describe('legacy versioned writes', { concurrency: false }, () => {
  async function archiveNames(container: string): Promise<{ name: string; content_type: string }[]> {
    return (await (await fetch(url(`${container}?format=json`), { headers: auth(session) })).json()) as { name: string; content_type: string }[];
  }

  test('X-Versions-Location (stack mode): overwrites are archived, DELETE brings the newest back', async () => {
    await createContainer(session, 'stack-archive');
    await createContainer(session, 'stacked', { 'X-Versions-Location': 'stack-archive' });
    const head = await fetch(url('stacked'), { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('x-versions-location'), 'stack-archive');
    for (const body of ['v1', 'v2', 'v3']) await putObject(session, 'stacked', 'obj', body);
    const archived = await archiveNames('stack-archive');
    assert.equal(archived.length, 2);
    for (const entry of archived) assert.match(entry.name, /^003obj\/\d{10}\.\d{5}$/);
    assert.equal((await text('stacked/obj')).body, 'v3');
    assert.equal(await (await fetch(url(`stack-archive/${archived[0]?.name ?? ''}`), { headers: auth(session) })).text(), 'v1');
    for (const expected of ['v2', 'v1']) {
      assert.equal((await fetch(url('stacked/obj'), { method: 'DELETE', headers: auth(session) })).status, 204);
      assert.equal((await text('stacked/obj')).body, expected);
    }
    assert.deepEqual(await archiveNames('stack-archive'), []);
    assert.equal((await fetch(url('stacked/obj'), { method: 'DELETE', headers: auth(session) })).status, 204);
    assert.equal((await text('stacked/obj')).status, 404);
    assert.equal((await fetch(url('stacked/obj'), { method: 'DELETE', headers: auth(session) })).status, 404);
  });

  test('X-History-Location (history mode): overwrites and the delete are archived, with a delete marker', async () => {
    await createContainer(session, 'history-archive');
    await createContainer(session, 'historic', { 'X-History-Location': 'history-archive' });
    assert.equal((await fetch(url('historic'), { method: 'HEAD', headers: auth(session) })).headers.get('x-history-location'), 'history-archive');
    await putObject(session, 'historic', 'obj', 'h1');
    await putObject(session, 'historic', 'obj', 'h2');
    assert.equal((await fetch(url('historic/obj'), { method: 'DELETE', headers: auth(session) })).status, 204);
    assert.equal((await text('historic/obj')).status, 404);
    const archived = await archiveNames('history-archive');
    assert.deepEqual(
      archived.map((e) => e.content_type === DELETE_MARKER),
      [false, false, true],
    );
    assert.equal(await (await fetch(url(`history-archive/${archived[1]?.name ?? ''}`), { headers: auth(session) })).text(), 'h2');
    assert.equal((await fetch(url('historic/obj'), { method: 'DELETE', headers: auth(session) })).status, 404);
  });

  test('manifests and links are archived and restored as manifests and links, not as their bytes', async () => {
    await putObject(session, 'stack-archive', 'seg/0', 'segment zero ');
    await putObject(session, 'stack-archive', 'seg/1', 'segment one');
    const manifest = [{ path: '/stack-archive/seg/0' }, { path: '/stack-archive/seg/1' }];
    const slo = await fetch(url('stacked/large?multipart-manifest=put'), { method: 'PUT', headers: auth(session), body: JSON.stringify(manifest) });
    assert.equal(slo.status, 201);
    const link = await fetch(url('stacked/large'), { method: 'PUT', headers: auth(session, { 'X-Symlink-Target': 'stack-archive/seg/1' }), body: Buffer.alloc(0) });
    assert.equal(link.status, 201);
    const archived = (await archiveNames('stack-archive')).filter((e) => e.name.startsWith('005large/'));
    assert.equal(archived.length, 1);
    const kept = await fetch(url(`stack-archive/${archived[0]?.name ?? ''}`), { headers: auth(session) });
    assert.equal(kept.headers.get('x-static-large-object'), 'True');
    assert.equal(await kept.text(), 'segment zero segment one');
    await fetch(url('stacked/large'), { method: 'PUT', headers: auth(session), body: 'plain now' });
    assert.equal((await fetch(url('stacked/large'), { method: 'DELETE', headers: auth(session) })).status, 204);
    const restoredLink = await fetch(url('stacked/large?symlink=get'), { method: 'HEAD', headers: auth(session) });
    assert.equal(restoredLink.headers.get('x-symlink-target'), 'stack-archive/seg/1');
    assert.equal((await fetch(url('stacked/large'), { method: 'DELETE', headers: auth(session) })).status, 204);
    const restored = await fetch(url('stacked/large'), { headers: auth(session) });
    assert.equal(restored.headers.get('x-static-large-object'), 'True');
    assert.equal(await restored.text(), 'segment zero segment one');
    assert.equal((await fetch(url('stacked/large'), { method: 'DELETE', headers: auth(session) })).status, 204);
    assert.equal((await fetch(url('stacked/large'), { method: 'HEAD', headers: auth(session) })).status, 404);
  });

  test('a COPY onto an archived name archives it too', async () => {
    await putObject(session, 'stacked', 'src', 'copied in');
    await putObject(session, 'stacked', 'dst', 'before the copy');
    const copy = await fetch(url('stacked/src'), { method: 'COPY', headers: auth(session, { Destination: 'stacked/dst' }) });
    assert.equal(copy.status, 201);
    const archived = (await archiveNames('stack-archive')).filter((e) => e.name.startsWith('003dst/'));
    assert.equal(archived.length, 1);
    assert.equal(await (await fetch(url(`stack-archive/${archived[0]?.name ?? ''}`), { headers: auth(session) })).text(), 'before the copy');
  });

  test('conflicting settings are 400; X-Remove-Versions-Location turns it off; a missing archive is 412', async () => {
    const both = await fetch(url('stacked'), { method: 'POST', headers: auth(session, { 'X-Versions-Location': 'a', 'X-History-Location': 'b' }) });
    assert.equal(both.status, 400);
    const mixed = await fetch(url('stacked'), { method: 'POST', headers: auth(session, { 'X-Versions-Enabled': 'true' }) });
    assert.equal(mixed.status, 400);
    assert.match(await mixed.text(), /legacy versioned writes/);
    await createContainer(session, 'new-style', { 'X-Versions-Enabled': 'true' });
    const legacyOnNew = await fetch(url('new-style'), { method: 'POST', headers: auth(session, { 'X-Versions-Location': 'stack-archive' }) });
    assert.equal(legacyOnNew.status, 400);
    await createContainer(session, 'lost-archive', { 'X-Versions-Location': 'no-such-archive' });
    await putObject(session, 'lost-archive', 'obj', 'first');
    const overwrite = await fetch(url('lost-archive/obj'), { method: 'PUT', headers: auth(session), body: 'second' });
    assert.equal(overwrite.status, 412);
    await overwrite.body?.cancel();
    assert.equal((await text('lost-archive/obj')).body, 'first');
    assert.equal((await fetch(url('lost-archive'), { method: 'POST', headers: auth(session, { 'X-Remove-Versions-Location': 'x' }) })).status, 204);
    assert.equal((await fetch(url('lost-archive'), { method: 'HEAD', headers: auth(session) })).headers.get('x-versions-location'), null);
    assert.equal((await putObject(session, 'lost-archive', 'obj', 'second')).status, 201);
  });
});

test('/info advertises both kinds of versioning', async () => {
  const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, Record<string, unknown>>;
  assert.deepEqual(info.versioned_writes, { allowed_flags: ['x-versions-location', 'x-history-location'] });
  assert.ok(info.object_versioning);
});
