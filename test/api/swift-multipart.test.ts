/**
 * KakaoCloud's multipart verbs on the Swift API (docs/swift-multipart.md): initiate, parts, listings, abort,
 * complete, their errors, and one parts model with S3's multipart (an upload begun here completes over S3).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CompleteMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../helpers/s3.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, md5Hex, newProject, rawSocket, storagePath } from '../helpers/swift.ts';

/** The minimum part size the server runs with: parts of a few KiB, not 5 MiB. */
const MIN_PART = 4096;
const C = 'mpu-main';

let server: RunningServer;
let session: Session;
let s3: S3Client;

before(async () => {
  server = await startServer({ env: { ONGGI_TEST_MIN_PART_SIZE: String(MIN_PART) } });
  session = await login(server.url);
  s3 = s3Client(server);
  await createContainer(session, C);
});
after(async () => {
  s3.destroy();
  await server.destroy();
});

const url = (path: string): string => `${session.storageUrl}/${path}`;
const s3Etag = (parts: Buffer[]): string => `${createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(md5Hex(p), 'hex')))).digest('hex')}-${parts.length}`;

async function initiate(name: string, headers: Record<string, string> = {}, container = C, who = session): Promise<string> {
  const res = await fetch(`${who.storageUrl}/${container}/${name}?uploads`, { method: 'POST', headers: auth(who, headers) });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { upload_id: string; container: string; object: string };
  assert.equal(body.container, container);
  assert.equal(body.object, name);
  assert.equal(res.headers.get('x-upload-id'), body.upload_id);
  return body.upload_id;
}

function uploadPart(name: string, uploadId: string, partNumber: number | string, body: Buffer | string, headers: Record<string, string> = {}, container = C): Promise<Response> {
  return fetch(url(`${container}/${name}?uploadId=${uploadId}&partNumber=${partNumber}`), { method: 'PUT', headers: auth(session, headers), body });
}

async function putPart(name: string, uploadId: string, partNumber: number, body: Buffer, container = C): Promise<string> {
  const res = await uploadPart(name, uploadId, partNumber, body, {}, container);
  assert.equal(res.status, 201, await res.clone().text());
  assert.equal(res.headers.get('etag'), md5Hex(body));
  return md5Hex(body);
}

function complete(name: string, uploadId: string, parts: unknown, headers: Record<string, string> = {}, container = C): Promise<Response> {
  const body = typeof parts === 'string' ? parts : JSON.stringify(parts);
  return fetch(url(`${container}/${name}?uploadId=${uploadId}`), { method: 'POST', headers: auth(session, headers), body });
}

async function expectStatus(res: Response, status: number, text?: RegExp): Promise<void> {
  const body = await res.text();
  assert.equal(res.status, status, body);
  if (text) assert.match(body, text);
}

describe('a whole upload', () => {
  const data = [randomBytes(MIN_PART + 100), randomBytes(MIN_PART * 2), randomBytes(777)];
  const whole = Buffer.concat(data);
  let id = '';

  test('initiate with Swift object headers; parts out of order; a part number uploaded again replaces it', async () => {
    const deleteAt = Math.floor(Date.now() / 1000) + 3600;
    id = await initiate('dir/whole.bin', { 'Content-Type': 'application/x-mpu', 'X-Object-Meta-Color': 'blue', 'X-Delete-At': String(deleteAt), 'Content-Disposition': 'attachment' });
    await putPart('dir/whole.bin', id, 3, data[2] ?? Buffer.alloc(0));
    await putPart('dir/whole.bin', id, 1, randomBytes(MIN_PART));
    await putPart('dir/whole.bin', id, 2, data[1] ?? Buffer.alloc(0));
    await putPart('dir/whole.bin', id, 1, data[0] ?? Buffer.alloc(0));
    const parts = (await (await fetch(url(`${C}/dir/whole.bin?uploadId=${id}`), { headers: auth(session) })).json()) as Record<string, unknown>[];
    assert.deepEqual(
      parts.map((p) => [p.part_number, p.etag, p.bytes]),
      data.map((d, i) => [i + 1, md5Hex(d), d.length]),
    );
    assert.match(String(parts[0]?.last_modified), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  });

  test('the parts listing pages with limit/marker and with S3\'s max-parts/part-number-marker; XML and plain too', async () => {
    const first = await fetch(url(`${C}/dir/whole.bin?uploadId=${id}&limit=2`), { headers: auth(session) });
    assert.equal(first.headers.get('x-listing-truncated'), 'True');
    assert.equal(first.headers.get('x-upload-id'), id);
    assert.deepEqual(((await first.json()) as { part_number: number }[]).map((p) => p.part_number), [1, 2]);
    const second = await fetch(url(`${C}/dir/whole.bin?uploadId=${id}&max-parts=2&part-number-marker=2`), { headers: auth(session) });
    assert.equal(second.headers.get('x-listing-truncated'), 'False');
    assert.deepEqual(((await second.json()) as { part_number: number }[]).map((p) => p.part_number), [3]);
    const plain = await fetch(url(`${C}/dir/whole.bin?uploadId=${id}&format=plain`), { headers: auth(session) });
    assert.equal(plain.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await plain.text(), '1\n2\n3\n');
    const xml = await fetch(url(`${C}/dir/whole.bin?uploadId=${id}`), { headers: auth(session, { Accept: 'application/xml' }) });
    assert.equal(xml.headers.get('content-type'), 'application/xml; charset=utf-8');
    assert.match(await xml.text(), new RegExp(`<parts><part><part_number>1</part_number><etag>${md5Hex(data[0] ?? '')}</etag>`));
    const past = await fetch(url(`${C}/dir/whole.bin?uploadId=${id}&marker=3&format=plain`), { headers: auth(session) });
    assert.equal(past.status, 204);
  });

  test('complete answers 201 with the multipart ETag; the object reads back whole over Swift and S3', async () => {
    const res = await complete('dir/whole.bin', id, data.map((d, i) => ({ part_number: i + 1, etag: `"${md5Hex(d)}"` })));
    assert.equal(res.status, 201, await res.clone().text());
    const etag = s3Etag(data);
    assert.equal(res.headers.get('etag'), etag);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual([body.etag, body.bytes, body.object, body.container, body.content_type], [etag, whole.length, 'dir/whole.bin', C, 'application/x-mpu']);
    const got = await fetch(url(`${C}/dir/whole.bin`), { headers: auth(session) });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('etag'), etag);
    assert.equal(got.headers.get('content-type'), 'application/x-mpu');
    assert.equal(got.headers.get('x-object-meta-color'), 'blue');
    assert.equal(got.headers.get('content-disposition'), 'attachment');
    assert.ok(got.headers.get('x-delete-at'));
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(whole));
    const range = await fetch(url(`${C}/dir/whole.bin`), { headers: auth(session, { Range: `bytes=${MIN_PART}-${MIN_PART + 200}` }) });
    assert.equal(range.status, 206);
    assert.ok(Buffer.from(await range.arrayBuffer()).equals(whole.subarray(MIN_PART, MIN_PART + 201)));
    const head = await fetch(url(`${C}/dir/whole.bin`), { method: 'HEAD', headers: auth(session) });
    assert.equal(head.headers.get('content-length'), String(whole.length));
    const listed = (await (await fetch(url(`${C}?format=json&prefix=dir/whole`), { headers: auth(session) })).json()) as Record<string, unknown>[];
    assert.deepEqual([listed[0]?.hash, listed[0]?.bytes], [etag, whole.length]);
    const viaS3 = await s3.send(new GetObjectCommand({ Bucket: C, Key: 'dir/whole.bin' }));
    assert.equal(viaS3.ETag, `"${etag}"`);
    assert.ok(Buffer.from((await viaS3.Body?.transformToByteArray()) ?? []).equals(whole));
  });

  test('the completed upload is gone: its parts, another completion and an abort are 404', async () => {
    await expectStatus(await fetch(url(`${C}/dir/whole.bin?uploadId=${id}`), { headers: auth(session) }), 404);
    await expectStatus(await complete('dir/whole.bin', id, [{ part_number: 1, etag: md5Hex(data[0] ?? '') }]), 404);
    await expectStatus(await fetch(url(`${C}/dir/whole.bin?uploadId=${id}`), { method: 'DELETE', headers: auth(session) }), 404);
  });

  test('an upload with no Content-Type gets the type its name says, as a Swift PUT', async () => {
    const upload = await initiate('typed.json');
    const etag = await putPart('typed.json', upload, 1, Buffer.from('{}'));
    await expectStatus(await complete('typed.json', upload, [{ part_number: 1, etag }]), 201);
    const got = await fetch(url(`${C}/typed.json`), { method: 'HEAD', headers: auth(session) });
    assert.equal(got.headers.get('content-type'), 'application/json');
  });
});

describe('listing uploads in progress', () => {
  const container = 'mpu-list';
  const ids: Record<string, string> = {};

  before(async () => {
    await createContainer(session, container);
    for (const name of ['a/1', 'a/2', 'b', 'b', 'c']) {
      const id = await initiate(name, {}, container);
      ids[name in ids ? `${name}#2` : name] = id;
    }
  });

  const list = async (query: string): Promise<Record<string, unknown>[]> => {
    const res = await fetch(url(`${container}?uploads&${query}`), { headers: auth(session) });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>[];
  };

  test('by name, then by when they began, with prefix, delimiter, limit and markers', async () => {
    const all = await list('');
    assert.deepEqual(
      all.map((u) => [u.name, u.upload_id]),
      [
        ['a/1', ids['a/1']],
        ['a/2', ids['a/2']],
        ['b', ids.b],
        ['b', ids['b#2']],
        ['c', ids.c],
      ],
    );
    assert.match(String(all[0]?.initiated), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual((await list('prefix=a/')).map((u) => u.name), ['a/1', 'a/2']);
    assert.deepEqual(await list('delimiter=/&limit=2'), [{ subdir: 'a/' }, { ...all[2] }]);
    assert.deepEqual((await list(`marker=b&upload_id_marker=${ids.b ?? ''}`)).map((u) => u.upload_id), [ids['b#2'], ids.c]);
    assert.deepEqual((await list('key-marker=a/2')).map((u) => u.name), ['b', 'b', 'c']);
    const page = await fetch(url(`${container}?uploads&limit=1`), { headers: auth(session) });
    assert.equal(page.headers.get('x-listing-truncated'), 'True');
    const plain = await fetch(url(`${container}?uploads&format=plain&prefix=c`), { headers: auth(session) });
    assert.equal(await plain.text(), `c\t${ids.c ?? ''}\n`);
  });

  test('abort takes the upload and its parts away', async () => {
    const id = ids.c ?? '';
    await putPart('c', id, 1, randomBytes(10), container);
    const res = await fetch(url(`${container}/c?uploadId=${id}`), { method: 'DELETE', headers: auth(session) });
    assert.equal(res.status, 204);
    assert.deepEqual((await list('prefix=c')).length, 0);
    await expectStatus(await fetch(url(`${container}/c?uploadId=${id}`), { headers: auth(session) }), 404);
    await expectStatus(await uploadPart('c', id, 2, 'late', {}, container), 404);
    await expectStatus(await fetch(url(`${container}/c?uploadId=${id}`), { method: 'DELETE', headers: auth(session) }), 404);
    await expectStatus(await fetch(url(`${container}/c`), { headers: auth(session) }), 404);
  });
});

describe('errors', () => {
  let id = '';
  let big = '';
  let small = '';
  before(async () => {
    id = await initiate('err.bin');
    big = await putPart('err.bin', id, 1, randomBytes(MIN_PART));
    small = await putPart('err.bin', id, 2, randomBytes(10));
    await putPart('err.bin', id, 3, randomBytes(10));
  });

  test('an unknown upload id is 404 for every verb', async () => {
    for (const [method, query] of [
      ['GET', ''],
      ['DELETE', ''],
      ['PUT', '&partNumber=1'],
      ['POST', ''],
    ] as const) {
      const res = await fetch(url(`${C}/err.bin?uploadId=nope${query}`), {
        method,
        headers: auth(session),
        ...(method === 'PUT' ? { body: 'x' } : method === 'POST' ? { body: JSON.stringify([{ part_number: 1, etag: big }]) } : {}),
      });
      await expectStatus(res, 404);
    }
    await expectStatus(await fetch(url(`${C}/other.bin?uploadId=${id}`), { headers: auth(session) }), 404);
  });

  test('bad part lists are 400 with a text saying what is wrong, and the upload stays', async () => {
    await expectStatus(await complete('err.bin', id, 'not json'), 400, /not valid JSON/);
    await expectStatus(await complete('err.bin', id, []), 400, /empty/);
    await expectStatus(await complete('err.bin', id, { part_number: 1 }), 400, /array/);
    await expectStatus(await complete('err.bin', id, [{ part_number: 'one', etag: big }]), 400, /part_number/);
    await expectStatus(await complete('err.bin', id, [{ part_number: 1, etag: md5Hex('other') }]), 400, /could not be found.*\(part 1\)/);
    await expectStatus(await complete('err.bin', id, [{ part_number: 9, etag: big }]), 400, /\(part 9\)/);
    await expectStatus(await complete('err.bin', id, [{ part_number: 2, etag: small }, { part_number: 1, etag: big }]), 400, /ascending order/);
    await expectStatus(await complete('err.bin', id, [{ part_number: 1, etag: big }, { part_number: 3, etag: md5Hex('x') }]), 400, /\(part 3\)/);
    const tooSmall = await complete('err.bin', id, [{ part_number: 1, etag: big }, { part_number: 2, etag: small }, { part_number: 3, etag: (await partEtags(id))[2] ?? '' }]);
    await expectStatus(tooSmall, 400, /smaller than the minimum allowed size \(part 2\)/);
    assert.equal((await partEtags(id)).length, 3, 'the upload and its parts are still there');
    await expectStatus(await fetch(url(`${C}/err.bin`), { headers: auth(session) }), 404);
  });

  test('bad part numbers, a wrong ETag header and a missing length are refused', async () => {
    await expectStatus(await uploadPart('err.bin', id, 0, 'x'), 400, /partNumber/);
    await expectStatus(await uploadPart('err.bin', id, 10_001, 'x'), 400, /partNumber/);
    await expectStatus(await uploadPart('err.bin', id, 'x', 'x'), 400, /partNumber/);
    await expectStatus(await uploadPart('err.bin', id, 4, 'data', { ETag: md5Hex('other') }), 422);
    await expectStatus(await uploadPart('err.bin', id, 4, 'x', { 'X-Copy-From': `${C}/dir/whole.bin` }), 400, /X-Copy-From/);
    await expectStatus(await fetch(url(`${C}/err.bin?uploadId=${id}&limit=x`), { headers: auth(session) }), 400);
    await expectStatus(await fetch(url(`${C}/err.bin?uploadId=${id}&limit=10001`), { headers: auth(session) }), 412);
    await expectStatus(await fetch(url(`${C}?uploads&limit=10001`), { headers: auth(session) }), 412);
    const partPath = `${storagePath(session)}/${C}/err.bin?uploadId=${id}&partNumber=4`;
    const noLength = await rawSocket(server.url, `PUT ${partPath} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${session.token}\r\nConnection: close\r\n\r\n`);
    assert.equal(noLength.status, 411);
    assert.equal((await partEtags(id)).length, 3);
  });

  test('no token is 401; another project\'s token is 403 and learns nothing of the upload', async () => {
    await expectStatus(await fetch(url(`${C}/err.bin?uploads`), { method: 'POST' }), 401);
    await expectStatus(await fetch(url(`${C}/err.bin?uploadId=${id}`)), 401);
    await expectStatus(await fetch(url(`${C}?uploads`)), 401);
    const other = await newProject(server, 'mpu');
    const foreign = (path: string, method = 'GET', body?: string): Promise<Response> => fetch(url(path), { method, headers: auth(other), ...(body === undefined ? {} : { body }) });
    const known = await foreign(`${C}/err.bin?uploadId=${id}`);
    const unknown = await foreign(`${C}/err.bin?uploadId=nope`);
    assert.equal(known.status, 403);
    assert.equal(unknown.status, known.status);
    assert.equal(await known.text(), await unknown.text());
    await expectStatus(await foreign(`${C}/x?uploads`, 'POST'), 403);
    await expectStatus(await foreign(`${C}?uploads`), 403);
    await expectStatus(await foreign(`${C}/err.bin?uploadId=${id}&partNumber=5`, 'PUT', 'x'), 403);
    await expectStatus(await foreign(`${C}/err.bin?uploadId=${id}`, 'POST', JSON.stringify([{ part_number: 1, etag: big }])), 403);
    await expectStatus(await foreign(`${C}/err.bin?uploadId=${id}`, 'DELETE'), 403);
    assert.equal((await partEtags(id)).length, 3);
  });
});

async function partEtags(uploadId: string, name = 'err.bin'): Promise<string[]> {
  const res = await fetch(url(`${C}/${name}?uploadId=${uploadId}`), { headers: auth(session) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { etag: string }[]).map((p) => p.etag);
}

describe('completion writes as a Swift PUT does', () => {
  test('a container quota refuses a completion past it with 413 and keeps the upload', async () => {
    await createContainer(session, 'mpu-quota', { 'X-Container-Meta-Quota-Bytes': String(MIN_PART * 2) });
    const id = await initiate('q.bin', {}, 'mpu-quota');
    const parts = [randomBytes(MIN_PART), randomBytes(MIN_PART + 1)];
    const listed = [];
    for (const [i, part] of parts.entries()) listed.push({ part_number: i + 1, etag: await putPart('q.bin', id, i + 1, part, 'mpu-quota') });
    await expectStatus(await complete('q.bin', id, listed, {}, 'mpu-quota'), 413, /Upload exceeds quota/);
    await expectStatus(await fetch(url('mpu-quota/q.bin'), { headers: auth(session) }), 404);
    await expectStatus(await uploadPart('q.bin', id, 3, randomBytes(MIN_PART * 2 + 1), {}, 'mpu-quota'), 413);
    await expectStatus(await complete('q.bin', id, listed.slice(0, 1), {}, 'mpu-quota'), 201);
  });

  test('in a versioned container the completion is a new version; If-None-Match: * holds', async () => {
    await createContainer(session, 'mpu-versioned', { 'X-Versions-Enabled': 'true' });
    const first = await fetch(url('mpu-versioned/v.bin'), { method: 'PUT', headers: auth(session), body: 'first' });
    assert.equal(first.status, 201);
    const id = await initiate('v.bin', {}, 'mpu-versioned');
    const etag = await putPart('v.bin', id, 1, Buffer.from('second'), 'mpu-versioned');
    await expectStatus(await complete('v.bin', id, [{ part_number: 1, etag }], { 'If-None-Match': '*' }, 'mpu-versioned'), 412);
    const done = await complete('v.bin', id, [{ part_number: 1, etag }], {}, 'mpu-versioned');
    assert.equal(done.status, 201);
    const versionId = done.headers.get('x-object-version-id');
    assert.ok(versionId && versionId !== first.headers.get('x-object-version-id'));
    const versions = (await (await fetch(url('mpu-versioned?versions&format=json'), { headers: auth(session) })).json()) as Record<string, unknown>[];
    assert.equal(versions.length, 2);
    assert.equal(await (await fetch(url(`mpu-versioned/v.bin?version-id=${first.headers.get('x-object-version-id') ?? ''}`), { headers: auth(session) })).text(), 'first');
    assert.equal(await (await fetch(url('mpu-versioned/v.bin'), { headers: auth(session) })).text(), 'second');
  });

  test('with X-Versions-Location, the version replaced goes to the archive', async () => {
    await createContainer(session, 'mpu-archive');
    await createContainer(session, 'mpu-stack', { 'X-Versions-Location': 'mpu-archive' });
    assert.equal((await fetch(url('mpu-stack/s.txt'), { method: 'PUT', headers: auth(session), body: 'old' })).status, 201);
    const id = await initiate('s.txt', {}, 'mpu-stack');
    const etag = await putPart('s.txt', id, 1, Buffer.from('new'), 'mpu-stack');
    await expectStatus(await complete('s.txt', id, [{ part_number: 1, etag }], {}, 'mpu-stack'), 201);
    const archived = (await (await fetch(url('mpu-archive?format=json'), { headers: auth(session) })).json()) as { name: string }[];
    assert.equal(archived.length, 1);
    assert.equal(await (await fetch(url(`mpu-archive/${archived[0]?.name ?? ''}`), { headers: auth(session) })).text(), 'old');
    assert.equal(await (await fetch(url('mpu-stack/s.txt'), { headers: auth(session) })).text(), 'new');
  });
});

describe('one parts model with S3', () => {
  test('begun over Swift, listed and completed over S3; S3\'s XML part list is taken over Swift too', async () => {
    const data = [randomBytes(MIN_PART), randomBytes(33)];
    const id = await initiate('shared.bin', { 'X-Object-Meta-From': 'swift' });
    const etags = [await putPart('shared.bin', id, 1, data[0] ?? Buffer.alloc(0)), await putPart('shared.bin', id, 2, data[1] ?? Buffer.alloc(0))];
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: C, Prefix: 'shared' }));
    assert.deepEqual(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [['shared.bin', id]]);
    const parts = await s3.send(new ListPartsCommand({ Bucket: C, Key: 'shared.bin', UploadId: id }));
    assert.deepEqual(parts.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]), etags.map((e, i) => [i + 1, `"${e}"`, data[i]?.length]));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: C, Key: 'shared.bin', UploadId: id, MultipartUpload: { Parts: etags.map((e, i) => ({ PartNumber: i + 1, ETag: `"${e}"` })) } }));
    assert.equal(done.ETag, `"${s3Etag(data)}"`);
    const got = await fetch(url(`${C}/shared.bin`), { headers: auth(session) });
    assert.equal(got.headers.get('x-object-meta-from'), 'swift');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(Buffer.concat(data)));

    const second = await initiate('shared-xml.bin');
    const etag = await putPart('shared-xml.bin', second, 1, Buffer.from('xml'));
    const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"${etag}"</ETag></Part></CompleteMultipartUpload>`;
    const res = await complete('shared-xml.bin', second, xml, { Accept: 'text/plain' });
    assert.equal(res.status, 201);
    assert.equal(await res.text(), `${s3Etag([Buffer.from('xml')])}\n`);
  });
});

test('/info names the multipart verbs and their limits', async () => {
  const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, unknown>;
  assert.deepEqual(info.multipart_upload, { max_parts: 10_000, min_part_size: MIN_PART, max_part_size: 5 * 1024 ** 3, max_parts_listing: 10_000, max_uploads_listing: 10_000 });
});
