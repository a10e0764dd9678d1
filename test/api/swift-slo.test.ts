/** Swift static large objects (SLO): manifest PUT/GET/DELETE, reads through segments, Swift's errors. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, md5Hex, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
const C = 'slo-test';
const SEG = 'slo-test_segments';
const parts = [randomBytes(70_000), randomBytes(100), randomBytes(200_000)];
const whole = Buffer.concat(parts);

before(async () => {
  server = await startServer();
  session = await login(server.url);
  await createContainer(session, C);
  await createContainer(session, SEG);
  for (const [i, part] of parts.entries()) assert.equal((await putObject(session, SEG, `big/${i}`, part)).status, 201);
});
after(async () => {
  await server.destroy();
});

const url = (path: string): string => `${session.storageUrl}/${path}`;
const manifestOf = (prefix: string, data: Buffer[]): { path: string; etag: string; size_bytes: number }[] =>
  data.map((part, i) => ({ path: `/${SEG}/${prefix}/${i}`, etag: md5Hex(part), size_bytes: part.length }));
const sloEtag = (etags: string[]): string => createHash('md5').update(etags.join('')).digest('hex');

async function putManifest(name: string, manifest: unknown, headers: Record<string, string> = {}, query = ''): Promise<Response> {
  return fetch(url(`${C}/${name}?multipart-manifest=put${query}`), { method: 'PUT', headers: auth(session, headers), body: JSON.stringify(manifest) });
}

test('a manifest PUT answers 201 with the quoted SLO ETag; GET and HEAD read the segments as one object', async () => {
  const put = await putManifest('whole.bin', manifestOf('big', parts), { 'X-Object-Meta-Color': 'blue' });
  assert.equal(put.status, 201);
  const etag = `"${sloEtag(parts.map((p) => md5Hex(p)))}"`;
  assert.equal(put.headers.get('etag'), etag);
  const got = await fetch(url(`${C}/whole.bin`), { headers: auth(session) });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('etag'), etag);
  assert.equal(got.headers.get('x-static-large-object'), 'True');
  assert.equal(got.headers.get('content-length'), String(whole.length));
  assert.equal(got.headers.get('x-object-meta-color'), 'blue');
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole));
  const listed = (await (await fetch(url(`${C}?format=json&prefix=whole`), { headers: auth(session) })).json()) as Record<string, unknown>[];
  assert.equal(listed[0]?.slo_etag, etag);
  assert.equal(listed[0]?.bytes, whole.length);
  const head = await fetch(url(`${C}/whole.bin`), { method: 'HEAD', headers: auth(session) });
  assert.equal(head.headers.get('x-static-large-object'), 'True');
  assert.equal(head.headers.get('content-length'), String(whole.length));
  assert.equal(head.headers.get('etag'), etag);
});

test('ranges inside one segment, across segments, suffixes and several at once', async () => {
  for (const [range, start, end] of [
    ['bytes=10-20', 10, 20],
    ['bytes=69990-70150', 69_990, 70_150],
    ['bytes=0-', 0, whole.length - 1],
    ['bytes=-5000', whole.length - 5000, whole.length - 1],
    ['bytes=70050-70099', 70_050, 70_099],
  ] as const) {
    const got = await fetch(url(`${C}/whole.bin`), { headers: auth(session, { Range: range }) });
    assert.equal(got.status, 206, range);
    assert.equal(got.headers.get('content-range'), `bytes ${start}-${end}/${whole.length}`);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole.subarray(start, end + 1)), range);
  }
  const multi = await fetch(url(`${C}/whole.bin`), { headers: auth(session, { Range: 'bytes=0-1,70099-70101' }) });
  assert.equal(multi.status, 206);
  const text = Buffer.from(await multi.arrayBuffer()).toString('latin1');
  assert.ok(text.includes(whole.subarray(70_099, 70_102).toString('latin1')));
  const bad = await fetch(url(`${C}/whole.bin`), { headers: auth(session, { Range: `bytes=${whole.length}-` }) });
  assert.equal(bad.status, 416);
  await bad.body?.cancel();
});

test('segments taken by range: the ETag carries each range as Swift computes it', async () => {
  const manifest = [
    { path: `/${SEG}/big/0`, etag: md5Hex(parts[0] ?? ''), range: '1-3' },
    { path: `/${SEG}/big/2`, range: '-4' },
  ];
  const put = await putManifest('ranged.bin', manifest);
  assert.equal(put.status, 201);
  const p0 = parts[0] ?? Buffer.alloc(0);
  const p2 = parts[2] ?? Buffer.alloc(0);
  const expected = Buffer.concat([p0.subarray(1, 4), p2.subarray(p2.length - 4)]);
  const etag = createHash('md5').update(`${md5Hex(p0)}:1-3;${md5Hex(p2)}:${p2.length - 4}-${p2.length - 1};`).digest('hex');
  assert.equal(put.headers.get('etag'), `"${etag}"`);
  const got = await fetch(url(`${C}/ranged.bin`), { headers: auth(session) });
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(expected));
  const listed = (await (await fetch(url(`${C}/ranged.bin?multipart-manifest=get`), { headers: auth(session) })).json()) as Record<string, unknown>[];
  assert.deepEqual(
    listed.map((entry) => entry.range),
    ['1-3', `${p2.length - 4}-${p2.length - 1}`],
  );
});

test('?multipart-manifest=get gives the manifest as stored; &format=raw as a PUT takes it', async () => {
  const got = await fetch(url(`${C}/whole.bin?multipart-manifest=get`), { headers: auth(session) });
  assert.equal(got.status, 200);
  assert.match(got.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(got.headers.get('x-static-large-object'), 'True');
  const text = await got.text();
  assert.equal(got.headers.get('etag'), md5Hex(text));
  // The manifest's own ETag is on every read of the object, as X-Manifest-Etag.
  for (const method of ['GET', 'HEAD']) {
    const read = await fetch(url(`${C}/whole.bin`), { method, headers: auth(session) });
    assert.equal(read.headers.get('x-manifest-etag'), md5Hex(text), method);
    await read.arrayBuffer();
  }
  const listed = JSON.parse(text) as { name: string; bytes: number; hash: string }[];
  assert.deepEqual(
    listed.map(({ name, bytes, hash }) => ({ name, bytes, hash })),
    parts.map((part, i) => ({ name: `/${SEG}/big/${i}`, bytes: part.length, hash: md5Hex(part) })),
  );
  const rawGot = await fetch(url(`${C}/whole.bin?multipart-manifest=get&format=raw`), { headers: auth(session) });
  assert.deepEqual(await rawGot.json(), manifestOf('big', parts));
  // Put back as it came: the same object.
  const again = await putManifest('again.bin', manifestOf('big', parts));
  assert.equal(again.status, 201);
});

test('bad manifests: 400 with each segment problem as Swift lists them, and nothing stored', async () => {
  assert.equal((await putObject(session, SEG, 'empty', '')).status, 201);
  const manifest = [
    { path: `/${SEG}/missing`, etag: null, size_bytes: null },
    { path: `/${SEG}/big/0`, etag: md5Hex('other'), size_bytes: parts[0]?.length },
    { path: `/${SEG}/big/1`, size_bytes: 5 },
    { path: `/${SEG}/empty` },
  ];
  const put = await putManifest('bad.bin', manifest);
  assert.equal(put.status, 400);
  assert.equal(
    await put.text(),
    `Errors:\n/${SEG}/missing, 404 Not Found\n/${SEG}/big/0, Etag Mismatch\n/${SEG}/big/1, Size Mismatch\n/${SEG}/empty, Too small; each segment must be at least 1 byte.\n`,
  );
  const json = await putManifest('bad.bin', manifest.slice(0, 1), { Accept: 'application/json' });
  assert.equal(json.status, 400);
  assert.deepEqual(await json.json(), { Errors: [[`/${SEG}/missing`, '404 Not Found']] });
  assert.equal((await fetch(url(`${C}/bad.bin`), { method: 'HEAD', headers: auth(session) })).status, 404);

  for (const [body, message] of [
    ['not json', /Manifest must be valid JSON/],
    ['{}', /Manifest must be a list/],
    ['[]', /at least one segment/],
    ['[1]', /Index 0: not a JSON object/],
    [JSON.stringify([{ path: `/${SEG}/big/0`, bogus: 1 }]), /Index 0: extraneous keys "bogus"/],
    [JSON.stringify([{ path: 'no-slash' }]), /Index 0: path does not refer to an object/],
    [JSON.stringify([{ path: `/${SEG}/big/0`, size_bytes: 'x' }]), /Index 0: "size_bytes" must be an integer/],
  ] as const) {
    const res = await fetch(url(`${C}/bad.bin?multipart-manifest=put`), { method: 'PUT', headers: auth(session), body });
    assert.equal(res.status, 400, body);
    assert.match(await res.text(), message);
  }
  const unsatisfiable = await putManifest('bad.bin', [{ path: `/${SEG}/big/1`, range: '500-600' }]);
  assert.equal(unsatisfiable.status, 400);
  assert.match(await unsatisfiable.text(), /Unsatisfiable Range/);
  assert.equal((await fetch(url(`${C}/bad.bin`), { method: 'HEAD', headers: auth(session) })).status, 404);
});

test('?heartbeat=on: 202 at once, then the outcome in the body', async () => {
  const ok = await putManifest('beat.bin', manifestOf('big', parts), { Accept: 'application/json' }, '&heartbeat=on');
  assert.equal(ok.status, 202);
  const result = JSON.parse(await ok.text()) as Record<string, unknown>;
  assert.equal(result['Response Status'], '201 Created');
  assert.equal(result.Etag, `"${sloEtag(parts.map((p) => md5Hex(p)))}"`);
  assert.deepEqual(result.Errors, []);
  const bad = await putManifest('beat-bad.bin', [{ path: `/${SEG}/missing` }], {}, '&heartbeat=on');
  assert.equal(bad.status, 202);
  const text = await bad.text();
  assert.match(text, /Response Status: 400 Bad Request/);
  assert.match(text, new RegExp(`/${SEG}/missing, 404 Not Found`));
  assert.equal((await fetch(url(`${C}/beat-bad.bin`), { method: 'HEAD', headers: auth(session) })).status, 404);
});

test('nested manifests read through, and the manifest lists them as sub_slo', async () => {
  const inner = await putManifest('inner.bin', manifestOf('big', parts.slice(0, 2)));
  assert.equal(inner.status, 201);
  const innerEtag = sloEtag(parts.slice(0, 2).map((p) => md5Hex(p)));
  const outer = await fetch(url(`${C}/outer.bin?multipart-manifest=put`), {
    method: 'PUT',
    headers: auth(session),
    body: JSON.stringify([{ path: `/${C}/inner.bin`, etag: innerEtag }, { path: `/${SEG}/big/2` }]),
  });
  assert.equal(outer.status, 201);
  const got = await fetch(url(`${C}/outer.bin`), { headers: auth(session) });
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole));
  const across = await fetch(url(`${C}/outer.bin`), { headers: auth(session, { Range: 'bytes=70095-70105' }) });
  assert.ok(Buffer.from(await across.arrayBuffer()).equals(whole.subarray(70_095, 70_106)));
  const listed = (await (await fetch(url(`${C}/outer.bin?multipart-manifest=get`), { headers: auth(session) })).json()) as Record<string, unknown>[];
  assert.equal(listed[0]?.sub_slo, true);
  assert.equal(listed[1]?.sub_slo, undefined);
});

test('a segment deleted or changed under a manifest: 409 before the first byte, a cut response after it, never other bytes', async () => {
  const data = [randomBytes(1000), randomBytes(1000), randomBytes(1000)];
  for (const [i, part] of data.entries()) await putObject(session, SEG, `fragile/${i}`, part);
  assert.equal((await putManifest('fragile.bin', manifestOf('fragile', data))).status, 201);
  // The first segment changed (same size, other bytes): 409, as Swift answers.
  await putObject(session, SEG, 'fragile/0', randomBytes(1000));
  const first = await fetch(url(`${C}/fragile.bin`), { headers: auth(session) });
  assert.equal(first.status, 409);
  assert.match(await first.text(), /fragile\/0/);
  await putObject(session, SEG, 'fragile/0', data[0] ?? '');
  assert.equal((await fetch(url(`${C}/fragile.bin`), { headers: auth(session) })).status, 200);
  // A later segment deleted: the answer starts and is cut short — after its head reached the client (the body
  // fails), or before (the fetch fails: the head goes out with the first bytes, and the cut may overtake both).
  assert.equal((await fetch(url(`${SEG}/fragile/2`), { method: 'DELETE', headers: auth(session) })).status, 204);
  const cut = await fetch(url(`${C}/fragile.bin`), { headers: auth(session) }).catch(() => null);
  if (cut) {
    assert.equal(cut.status, 200);
    await assert.rejects(cut.arrayBuffer());
  }
  // Several ranges, the first running into the deleted segment while the others open: cut or refused, and the
  // server carries on.
  for (let i = 0; i < 5; i++) {
    // Cut before the head reached the client (the fetch fails), after it (the body fails), or refused: never bytes.
    const multi = await fetch(url(`${C}/fragile.bin`), { headers: auth(session, { Range: 'bytes=0-2999,0-10,1000-1010' }) }).catch(() => null);
    if (multi?.status === 206) await assert.rejects(multi.arrayBuffer());
    else if (multi) assert.equal(multi.status, 409);
  }
  assert.equal((await fetch(url(`${SEG}/fragile/0`), { method: 'HEAD', headers: auth(session) })).status, 200);
  // A range that starts in the deleted segment: 409.
  const tail = await fetch(url(`${C}/fragile.bin`), { headers: auth(session, { Range: 'bytes=2500-' }) });
  assert.equal(tail.status, 409);
  await tail.body?.cancel();
});

test('?multipart-manifest=delete removes the segments and the manifest, answered as a bulk delete', async () => {
  const data = [randomBytes(10), randomBytes(20)];
  for (const [i, part] of data.entries()) await putObject(session, SEG, `gone/${i}`, part);
  assert.equal((await putManifest('gone.bin', manifestOf('gone', data))).status, 201);
  const del = await fetch(url(`${C}/gone.bin?multipart-manifest=delete`), { method: 'DELETE', headers: auth(session) });
  assert.equal(del.status, 200);
  assert.equal(await del.text(), 'Number Deleted: 3\nNumber Not Found: 0\nResponse Body: \nResponse Status: 200 OK\nErrors:\n');
  for (const path of [`${C}/gone.bin`, `${SEG}/gone/0`, `${SEG}/gone/1`]) {
    assert.equal((await fetch(url(path), { method: 'HEAD', headers: auth(session) })).status, 404, path);
  }
  const again = await fetch(url(`${C}/gone.bin?multipart-manifest=delete`), { method: 'DELETE', headers: auth(session, { Accept: 'application/json' }) });
  assert.deepEqual(await again.json(), { 'Number Deleted': 0, 'Number Not Found': 1, 'Response Body': '', 'Response Status': '404 Not Found', Errors: [] });
  await putObject(session, C, 'plain.txt', 'plain');
  const notSlo = await fetch(url(`${C}/plain.txt?multipart-manifest=delete`), { method: 'DELETE', headers: auth(session, { Accept: 'application/json' }) });
  const body = (await notSlo.json()) as Record<string, unknown>;
  assert.equal(body['Response Status'], '400 Bad Request');
  assert.deepEqual(body.Errors, [[`/${C}/plain.txt`, 'Not an SLO manifest']]);
  assert.equal((await fetch(url(`${C}/plain.txt`), { method: 'HEAD', headers: auth(session) })).status, 200);
});

test('a POST keeps the manifest; a plain DELETE removes the manifest only', async () => {
  const post = await fetch(url(`${C}/again.bin`), { method: 'POST', headers: auth(session, { 'X-Object-Meta-Shade': 'dark' }) });
  assert.equal(post.status, 202);
  const head = await fetch(url(`${C}/again.bin`), { method: 'HEAD', headers: auth(session) });
  assert.equal(head.headers.get('x-static-large-object'), 'True');
  assert.equal(head.headers.get('x-object-meta-shade'), 'dark');
  assert.equal((await fetch(url(`${C}/again.bin`), { method: 'DELETE', headers: auth(session) })).status, 204);
  assert.equal((await fetch(url(`${SEG}/big/0`), { method: 'HEAD', headers: auth(session) })).status, 200);
});

test('/info advertises slo with its limits', async () => {
  const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, Record<string, unknown>>;
  assert.equal(info.slo?.max_manifest_segments, 1000);
  assert.equal(info.slo?.max_manifest_size, 8 * 1024 * 1024);
  assert.equal(info.slo?.min_segment_size, 1);
  assert.ok(info.dlo);
});
