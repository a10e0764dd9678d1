/**
 * Swift's details, exactly (issue 19): the headers, statuses and readings of requests where Swift does something
 * particular, each checked against what OpenStack Swift's proxy and object servers do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BUCKET_TYPES, LISTING_LIMIT, MAX_FILE_SIZE, MAX_HEADER_SIZE, MAX_META_COUNT, MAX_META_NAME_LENGTH, MAX_META_OVERALL_SIZE, MAX_META_VALUE_LENGTH } from '../../src/core/constraints.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, createContainer, putObject, raw, rawSocket, storagePath } from '../helpers/swift.ts';

let server: RunningServer;
let session: Session;
const C = 'details';

before(async () => {
  // The reaper stays away, so that only the read path can make expiry exact.
  server = await startServer({ env: { ONGGI_EXPIRY_INTERVAL_MS: '3600000' } });
  session = await login(server.url);
  await createContainer(session, C);
});
after(async () => {
  await server.destroy();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const objectUrl = (key: string, container = C): string => `${session.storageUrl}/${container}/${key}`;

async function headers(url: string, extra: Record<string, string> = {}): Promise<Headers> {
  const res = await fetch(url, { method: 'HEAD', headers: auth(session, extra) });
  return res.headers;
}

async function listing(container: string, query: string): Promise<{ name?: string; subdir?: string; last_modified?: string }[]> {
  const res = await fetch(`${session.storageUrl}/${container}?format=json&${query}`, { headers: auth(session) });
  assert.equal(res.status, 200, query);
  return (await res.json()) as { name?: string; subdir?: string; last_modified?: string }[];
}

void describe('timestamps', () => {
  test("a container's Last-Modified moves on its own PUT and POST, not on an object PUT", async () => {
    await createContainer(session, 'details-lm');
    const created = (await headers(`${session.storageUrl}/details-lm`)).get('last-modified');
    await sleep(1100);
    await putObject(session, 'details-lm', 'o', 'x');
    assert.equal((await headers(`${session.storageUrl}/details-lm`)).get('last-modified'), created);
    await sleep(1100);
    const post = await fetch(`${session.storageUrl}/details-lm`, { method: 'POST', headers: auth(session, { 'X-Container-Meta-A': '1' }) });
    assert.equal(post.status, 204);
    const posted = (await headers(`${session.storageUrl}/details-lm`)).get('last-modified');
    assert.notEqual(posted, created);
    await sleep(1100);
    const put = await fetch(`${session.storageUrl}/details-lm`, { method: 'PUT', headers: auth(session) });
    assert.equal(put.status, 202);
    assert.notEqual((await headers(`${session.storageUrl}/details-lm`)).get('last-modified'), posted);
  });

  test("an object POST moves the object's last_modified in listings, its Last-Modified and X-Timestamp", async () => {
    await putObject(session, C, 'posted', 'x');
    const [before] = await listing(C, 'prefix=posted');
    const stamp = (await headers(objectUrl('posted'))).get('x-timestamp');
    await sleep(1100);
    const post = await fetch(objectUrl('posted'), { method: 'POST', headers: auth(session, { 'X-Object-Meta-A': '1' }) });
    assert.equal(post.status, 202);
    const [after] = await listing(C, 'prefix=posted');
    assert.ok((after?.last_modified ?? '') > (before?.last_modified ?? ''), `${String(after?.last_modified)} after ${String(before?.last_modified)}`);
    assert.ok(Number((await headers(objectUrl('posted'))).get('x-timestamp')) > Number(stamp));
  });
});

void describe('requests as Swift reads them', () => {
  test('Range: bytes=1 - 5 (spaces) is the range 1-5', async () => {
    await putObject(session, C, 'spaced', '0123456789');
    const res = await fetch(objectUrl('spaced'), { headers: auth(session, { Range: 'bytes = 1 - 5, 7 -' }) });
    assert.equal(res.status, 206);
    assert.match(res.headers.get('content-type') ?? '', /^multipart\/byteranges;boundary=/);
    const one = await fetch(objectUrl('spaced'), { headers: auth(session, { Range: 'bytes=1 - 5' }) });
    assert.equal(one.status, 206);
    assert.equal(one.headers.get('content-range'), 'bytes 1-5/10');
    assert.equal(await one.text(), '12345');
    await res.body?.cancel();
  });

  test('PUT /v1 and /v1/ are 412 Bad URL', async () => {
    for (const path of ['/v1', '/v1/']) {
      const res = await raw(server.url, { method: 'PUT', path, headers: { ...auth(session), 'Content-Length': '0' } });
      assert.equal(res.status, 412, path);
      assert.equal(res.body.toString(), 'Bad URL');
      assert.equal(res.headers['content-type'], 'text/html; charset=UTF-8');
    }
  });

  test('raw UTF-8 bytes in X-Copy-From and Destination name the object, as Swift reads them', async () => {
    await putObject(session, C, '한글', 'hangul');
    const path = `${storagePath(session)}/${C}`;
    const name = Buffer.from('한글');
    const copy = await rawSocket(
      server.url,
      Buffer.concat([Buffer.from(`PUT ${path}/from-raw HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${session.token}\r\nX-Copy-From: ${C}/`), name, Buffer.from('\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')]),
    );
    assert.equal(copy.status, 201);
    assert.equal(await (await fetch(objectUrl('from-raw'), { headers: auth(session) })).text(), 'hangul');
    const dest = await rawSocket(
      server.url,
      Buffer.concat([Buffer.from(`COPY ${path}/from-raw HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${session.token}\r\nDestination: ${C}/copy-`), name, Buffer.from('\r\nConnection: close\r\n\r\n')]),
    );
    assert.equal(dest.status, 201);
    assert.equal(await (await fetch(objectUrl(encodeURIComponent('copy-한글')), { headers: auth(session) })).text(), 'hangul');
    const invalid = await rawSocket(
      server.url,
      Buffer.concat([Buffer.from(`PUT ${path}/bad-copy HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${session.token}\r\nX-Copy-From: ${C}/`), Buffer.from([0xff]), Buffer.from('\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')]),
    );
    assert.equal(invalid.status, 412);
  });

  test('COPY and X-Copy-From honour Range', async () => {
    await putObject(session, C, 'ranged-source', '0123456789');
    const copy = await fetch(objectUrl('ranged-source'), { method: 'COPY', headers: auth(session, { Destination: `${C}/ranged-copy`, Range: 'bytes=2-4' }) });
    assert.equal(copy.status, 201);
    assert.equal(await (await fetch(objectUrl('ranged-copy'), { headers: auth(session) })).text(), '234');
    const put = await fetch(objectUrl('ranged-put'), { method: 'PUT', headers: auth(session, { 'X-Copy-From': `${C}/ranged-source`, Range: 'bytes=-3', 'Content-Length': '0' }) });
    assert.equal(put.status, 201);
    const got = await fetch(objectUrl('ranged-put'), { headers: auth(session) });
    assert.equal(got.headers.get('content-length'), '3');
    assert.equal(await got.text(), '789');
    const unsatisfiable = await fetch(objectUrl('ranged-source'), { method: 'COPY', headers: auth(session, { Destination: `${C}/ranged-none`, Range: 'bytes=20-30' }) });
    assert.equal(unsatisfiable.status, 416);
    await unsatisfiable.body?.cancel();
    assert.equal((await fetch(objectUrl('ranged-none'), { method: 'HEAD', headers: auth(session) })).status, 404);
  });

  test('X-If-Delete-At on DELETE: 412 unless it names the X-Delete-At, 400 when not an integer', async () => {
    await putObject(session, C, 'if-delete-at', 'x', { 'X-Delete-At': '9999999999' });
    const wrong = await fetch(objectUrl('if-delete-at'), { method: 'DELETE', headers: auth(session, { 'X-If-Delete-At': '9999999998' }) });
    assert.equal(wrong.status, 412);
    assert.equal(await wrong.text(), 'X-If-Delete-At and X-Delete-At do not match');
    const bad = await fetch(objectUrl('if-delete-at'), { method: 'DELETE', headers: auth(session, { 'X-If-Delete-At': 'soon' }) });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const right = await fetch(objectUrl('if-delete-at'), { method: 'DELETE', headers: auth(session, { 'X-If-Delete-At': '9999999999' }) });
    assert.equal(right.status, 204);
  });

  test('unknown X-Storage-Policy is 400; the policy /info names is taken in any case', async () => {
    const bad = await fetch(`${session.storageUrl}/details-gold`, { method: 'PUT', headers: auth(session, { 'X-Storage-Policy': 'gold' }) });
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), "Invalid X-Storage-Policy 'gold'");
    assert.equal((await fetch(`${session.storageUrl}/details-gold`, { method: 'HEAD', headers: auth(session) })).status, 404);
    const good = await fetch(`${session.storageUrl}/details-std`, { method: 'PUT', headers: auth(session, { 'X-Storage-Policy': 'standard' }) });
    assert.equal(good.status, 201);
  });
});

void describe('metadata', () => {
  test('an empty X-*-Meta-* value removes the item, as X-Remove-* does', async () => {
    await putObject(session, C, 'meta', 'x', { 'X-Object-Meta-Kept': 'k', 'X-Object-Meta-Empty': '' });
    let head = await headers(objectUrl('meta'));
    assert.equal(head.get('x-object-meta-kept'), 'k');
    assert.equal(head.has('x-object-meta-empty'), false);
    await fetch(objectUrl('meta'), { method: 'POST', headers: auth(session, { 'X-Object-Meta-Kept': 'k', 'X-Object-Meta-Gone': '' }) });
    head = await headers(objectUrl('meta'));
    assert.equal(head.has('x-object-meta-gone'), false);

    const container = `${session.storageUrl}/details-meta`;
    await fetch(container, { method: 'PUT', headers: auth(session, { 'X-Container-Meta-A': '1', 'X-Container-Meta-B': '2', 'X-Container-Meta-C': '3' }) });
    await fetch(container, { method: 'POST', headers: auth(session, { 'X-Container-Meta-A': '' }) });
    await fetch(container, { method: 'PUT', headers: auth(session, { 'X-Container-Meta-B': '' }) });
    await fetch(container, { method: 'POST', headers: auth(session, { 'X-Remove-Container-Meta-C': 'x' }) });
    head = await headers(container);
    assert.deepEqual(['a', 'b', 'c'].map((n) => head.has(`x-container-meta-${n}`)), [false, false, false]);

    await fetch(session.storageUrl, { method: 'POST', headers: auth(session, { 'X-Account-Meta-A': '1', 'X-Account-Meta-B': '2' }) });
    await fetch(session.storageUrl, { method: 'POST', headers: auth(session, { 'X-Account-Meta-A': '', 'X-Remove-Account-Meta-B': 'x' }) });
    head = await headers(session.storageUrl);
    assert.equal(head.has('x-account-meta-a'), false);
    assert.equal(head.has('x-account-meta-b'), false);
  });
});

void describe('Content-Type guessed from the name, as Python mimetypes (Swift) guesses it', () => {
  test('the table, compression suffixes, and names without an extension', async () => {
    const expected: Record<string, string> = {
      'a.wav': 'audio/x-wav',
      'a.xml': 'text/xml',
      'a.JPG': 'image/jpeg',
      'a.tar.gz': 'application/x-tar',
      'a.tgz': 'application/x-tar',
      'a.gz': 'application/octet-stream',
      '.bashrc': 'application/octet-stream',
      'noext': 'application/octet-stream',
      'a.webp': 'image/webp',
    };
    for (const [name, type] of Object.entries(expected)) {
      const res = await raw(server.url, { method: 'PUT', path: `${storagePath(session)}/${C}/guess/${name}`, headers: { ...auth(session), 'Content-Length': '1' }, body: 'x' });
      assert.equal(res.status, 201, name);
      assert.equal((await headers(objectUrl(`guess/${name}`))).get('content-type'), type, name);
    }
  });

  test('X-Detect-Content-Type: true guesses over the Content-Type sent', async () => {
    await putObject(session, C, 'detect.wav', 'x', { 'Content-Type': 'foo/bar', 'X-Detect-Content-Type': 'true' });
    assert.equal((await headers(objectUrl('detect.wav'))).get('content-type'), 'audio/x-wav');
    await putObject(session, C, 'nodetect.wav', 'x', { 'Content-Type': 'foo/bar', 'X-Detect-Content-Type': 'false' });
    assert.equal((await headers(objectUrl('nodetect.wav'))).get('content-type'), 'foo/bar');
  });
});

void describe('response headers Swift sends', () => {
  test('a 401 carries WWW-Authenticate naming the account as realm', async () => {
    for (const url of [session.storageUrl, `${session.storageUrl}/${C}`, objectUrl('nothing')]) {
      const res = await fetch(url, { headers: { 'X-Auth-Token': 'not-a-token' } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), `Swift realm="${session.projectId}"`);
      await res.body?.cancel();
    }
    const anonymous = await fetch(`${session.storageUrl}/${C}`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), `Swift realm="${session.projectId}"`);
    await anonymous.body?.cancel();
  });

  test("412 and 416 carry the object's ETag, 304 carries Accept-Ranges", async () => {
    const put = await putObject(session, C, 'conditional', '0123456789');
    const etag = put.headers.get('etag') ?? '';
    const failed = await fetch(objectUrl('conditional'), { headers: auth(session, { 'If-Match': '"other"' }) });
    assert.equal(failed.status, 412);
    assert.equal(failed.headers.get('etag'), etag);
    await failed.body?.cancel();
    const unsatisfiable = await fetch(objectUrl('conditional'), { headers: auth(session, { Range: 'bytes=50-60' }) });
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers.get('etag'), etag);
    await unsatisfiable.body?.cancel();
    const notModified = await fetch(objectUrl('conditional'), { headers: auth(session, { 'If-None-Match': etag }) });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('accept-ranges'), 'bytes');
    assert.equal(notModified.headers.get('etag'), etag);
  });

  test("a DELETE's 204 and a metadata POST's 204 are typed text/html as Swift's", async () => {
    await putObject(session, C, 'typed', 'x');
    const del = await fetch(objectUrl('typed'), { method: 'DELETE', headers: auth(session) });
    assert.equal(del.status, 204);
    assert.equal(del.headers.get('content-type'), 'text/html; charset=UTF-8');
    const post = await fetch(`${session.storageUrl}/${C}`, { method: 'POST', headers: auth(session) });
    assert.equal(post.status, 204);
    assert.equal(post.headers.get('content-type'), 'text/html; charset=UTF-8');
    const missing = await fetch(objectUrl('typed'), { method: 'DELETE', headers: auth(session) });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'text/html; charset=UTF-8');
    await missing.body?.cancel();
  });

  test('X-Backend-* never goes out, X-Newest is taken, X-Timestamp comes back, Content-Disposition and Content-Encoding are kept', async () => {
    await putObject(session, C, 'kept', 'x', { 'X-Backend-Storage-Policy-Index': '7', 'Content-Disposition': 'attachment; filename="k.txt"', 'Content-Encoding': 'gzip' });
    const res = await fetch(objectUrl('kept'), { headers: auth(session, { 'X-Newest': 'true' }) });
    assert.equal(res.status, 200);
    assert.deepEqual([...res.headers.keys()].filter((name) => name.startsWith('x-backend-')), []);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="k.txt"');
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.match(res.headers.get('x-timestamp') ?? '', /^\d{10}\.\d{5}$/);
    await res.body?.cancel();
  });
});

void describe('listings', () => {
  test('path= lists what sits right under the path, with its directory markers, without the path itself', async () => {
    const container = 'details-path';
    await createContainer(session, container);
    for (const key of ['dir/', 'dir/f', 'dir/sub/', 'dir/sub/g', 'dir/tree/h', 'dirt']) {
      await putObject(session, container, key, key.endsWith('/') ? '' : 'x', key.endsWith('/') ? { 'Content-Type': 'application/directory' } : {});
    }
    const names = async (query: string): Promise<(string | undefined)[]> => (await listing(container, query)).map((e) => e.name ?? e.subdir);
    assert.deepEqual(await names('path=dir'), ['dir/f', 'dir/sub/']);
    assert.deepEqual(await names('path=dir/'), ['dir/f', 'dir/sub/']);
    assert.deepEqual(await names('path=dir&reverse=true'), ['dir/sub/', 'dir/f']);
    assert.deepEqual(await names('path='), ['dir/', 'dirt']);
  });

  test('an expired object leaves the listing and the container and account totals at once, before any reaper pass', async () => {
    const container = 'details-expiry';
    await createContainer(session, container);
    await putObject(session, container, 'stays', '12345');
    // X-Delete-After rounds the deadline down to a whole second, so 3 s leaves at least 2 s for the HEADs below.
    await putObject(session, container, 'goes', '1234567890', { 'X-Delete-After': '3' });
    const accountBefore = await headers(session.storageUrl);
    let head = await headers(`${session.storageUrl}/${container}`);
    assert.deepEqual([head.get('x-container-object-count'), head.get('x-container-bytes-used')], ['2', '15']);
    await sleep(3100);
    assert.deepEqual((await listing(container, '')).map((e) => e.name), ['stays']);
    head = await headers(`${session.storageUrl}/${container}`);
    assert.deepEqual([head.get('x-container-object-count'), head.get('x-container-bytes-used')], ['1', '5']);
    const accountAfter = await headers(session.storageUrl);
    assert.equal(Number(accountAfter.get('x-account-object-count')), Number(accountBefore.get('x-account-object-count')) - 1);
    assert.equal(Number(accountAfter.get('x-account-bytes-used')), Number(accountBefore.get('x-account-bytes-used')) - 10);
    const res = await fetch(`${session.storageUrl}?format=json&prefix=${container}`, { headers: auth(session) });
    assert.deepEqual(((await res.json()) as { count: number; bytes: number }[]).map((e) => [e.count, e.bytes]), [[1, 5]]);
  });
});

void describe('/info', () => {
  test('names the limits of the constraints module and its storage policies', async () => {
    const info = (await (await fetch(`${server.url}/info`)).json()) as { swift: Record<string, unknown> };
    assert.deepEqual(
      {
        max_file_size: info.swift.max_file_size,
        max_meta_name_length: info.swift.max_meta_name_length,
        max_meta_value_length: info.swift.max_meta_value_length,
        max_meta_count: info.swift.max_meta_count,
        max_meta_overall_size: info.swift.max_meta_overall_size,
        max_header_size: info.swift.max_header_size,
        container_listing_limit: info.swift.container_listing_limit,
        account_listing_limit: info.swift.account_listing_limit,
        policies: info.swift.policies,
      },
      {
        max_file_size: MAX_FILE_SIZE,
        max_meta_name_length: MAX_META_NAME_LENGTH,
        max_meta_value_length: MAX_META_VALUE_LENGTH,
        max_meta_count: MAX_META_COUNT,
        max_meta_overall_size: MAX_META_OVERALL_SIZE,
        max_header_size: MAX_HEADER_SIZE,
        container_listing_limit: LISTING_LIMIT,
        account_listing_limit: LISTING_LIMIT,
        policies: [...BUCKET_TYPES].map((name, i) => ({ name, default: i === 0 })),
      },
    );
  });

  test('a value one past a limit /info names is refused, one at it accepted', async () => {
    const info = (await (await fetch(`${server.url}/info`)).json()) as { swift: { max_meta_value_length: number; container_listing_limit: number } };
    const at = await fetch(objectUrl('limit'), { method: 'PUT', headers: auth(session, { 'X-Object-Meta-V': 'v'.repeat(info.swift.max_meta_value_length) }), body: 'x' });
    assert.equal(at.status, 201);
    const past = await fetch(objectUrl('limit'), { method: 'PUT', headers: auth(session, { 'X-Object-Meta-V': 'v'.repeat(info.swift.max_meta_value_length + 1) }), body: 'x' });
    assert.equal(past.status, 400);
    await past.body?.cancel();
    const listed = await fetch(`${session.storageUrl}/${C}?limit=${String(info.swift.container_listing_limit + 1)}`, { headers: auth(session) });
    assert.equal(listed.status, 412);
    await listed.body?.cancel();
  });
});
