/**
 * CORS over real HTTP: /v1_ext/bucket/{name}/cors (put, get, delete, validation), browser-shaped preflights on
 * object URLs (OPTIONS with Origin and Access-Control-Request-Method/-Headers), and the headers of actual
 * cross-origin requests, authenticated and on public URLs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, request, str, uniqueName, type JsonResponse } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

let server: RunningServer;
let root: Session;

before(async () => {
  server = await startServer();
  root = await login(server.url);
});
after(async () => {
  await server.destroy();
});

const corsUrl = (bucket: string): string => `${server.url}/v1_ext/bucket/${bucket}/cors`;

async function newBucket(): Promise<string> {
  const name = uniqueName('cors');
  const created = await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: root.token, body: { name, type: 'STANDARD' } });
  assert.equal(created.status, 201, created.text);
  const put = await fetch(`${root.storageUrl}/${name}/hello.txt`, { method: 'PUT', headers: { 'X-Auth-Token': root.token, 'X-Object-Meta-Color': 'blue' }, body: 'hello' });
  assert.equal(put.status, 201);
  return name;
}

async function putCors(bucket: string, rules: unknown): Promise<JsonResponse> {
  return request(corsUrl(bucket), { method: 'PUT', token: root.token, body: { rules } });
}

/** What a browser sends before a cross-origin request it may not make simply. */
async function preflight(url: string, origin: string | null, method: string | null, headers?: string): Promise<Response> {
  const sent: Record<string, string> = {};
  if (origin !== null) sent.Origin = origin;
  if (method !== null) sent['Access-Control-Request-Method'] = method;
  if (headers !== undefined) sent['Access-Control-Request-Headers'] = headers;
  return fetch(url, { method: 'OPTIONS', headers: sent });
}

const RULES = [
  { allowed_origins: ['https://*.example.com'], allowed_methods: ['GET', 'HEAD'], allowed_headers: ['x-auth-token'], expose_headers: ['ETag', 'X-Object-Meta-Color'], max_age_seconds: 600 },
  { allowed_origins: ['https://app.example.com'], allowed_methods: ['GET', 'PUT'], allowed_headers: ['*'] },
  { allowed_origins: ['https://upload.example.org'], allowed_methods: ['PUT', 'DELETE'], allowed_headers: ['content-type', 'x-auth-token', 'x-object-meta-*'] },
  { allowed_origins: ['*'], allowed_methods: ['GET'] },
];

function apiError(response: JsonResponse, status: number): string {
  assert.equal(response.status, status, response.text);
  return str(asRecord(response.json), 'message');
}

void describe('the CORS configuration API', () => {
  void test('put, get, replace and delete; no configuration → 404', async () => {
    const bucket = await newBucket();
    apiError(await request(corsUrl(bucket), { token: root.token }), 404);
    const put = await putCors(bucket, RULES);
    assert.equal(put.status, 200, put.text);
    const got = await request(corsUrl(bucket), { token: root.token });
    assert.equal(got.status, 200, got.text);
    const rules = (asRecord(got.json).rules as unknown[]).map((r) => asRecord(r));
    assert.equal(rules.length, 4);
    assert.deepEqual(rules[0], RULES[0]);
    assert.deepEqual(rules[3], { allowed_origins: ['*'], allowed_methods: ['GET'], allowed_headers: [], expose_headers: [], max_age_seconds: null });

    assert.equal((await putCors(bucket, [RULES[3]])).status, 200);
    assert.equal(((await request(corsUrl(bucket), { token: root.token })).json as { rules: unknown[] }).rules.length, 1);
    assert.equal((await request(corsUrl(bucket), { method: 'DELETE', token: root.token })).status, 204);
    apiError(await request(corsUrl(bucket), { token: root.token }), 404);
  });

  void test('invalid rules → 400 naming the field; no token → 401; unknown bucket → 404', async () => {
    const bucket = await newBucket();
    const valid = { allowed_origins: ['https://a.example'], allowed_methods: ['GET'] };
    assert.match(apiError(await putCors(bucket, Array.from({ length: 11 }, () => valid)), 400), /rules: at most 10/);
    assert.match(apiError(await putCors(bucket, [valid, { ...valid, allowed_methods: ['PATCH'] }]), 400), /rules\[1\]\.allowed_methods/);
    assert.match(apiError(await putCors(bucket, [{ ...valid, allowed_methods: [] }]), 400), /rules\[0\]\.allowed_methods/);
    assert.match(apiError(await putCors(bucket, [{ ...valid, allowed_origins: ['https://*.*.example'] }]), 400), /rules\[0\]\.allowed_origins/);
    assert.match(apiError(await putCors(bucket, [{ ...valid, allowed_origins: [] }]), 400), /allowed_origins/);
    assert.match(apiError(await putCors(bucket, [{ allowed_methods: ['GET'] }]), 400), /allowed_origins/);
    assert.match(apiError(await putCors(bucket, [{ ...valid, allowed_headers: ['bad header'] }]), 400), /rules\[0\]\.allowed_headers/);
    assert.match(apiError(await putCors(bucket, [{ ...valid, expose_headers: ['x-*'] }]), 400), /rules\[0\]\.expose_headers/);
    assert.match(apiError(await putCors(bucket, [{ ...valid, max_age_seconds: -1 }]), 400), /max_age_seconds/);
    apiError(await request(corsUrl(bucket), { method: 'PUT', body: { rules: [valid] } }), 401);
    apiError(await putCors('no-such-cors-bucket', [valid]), 404);
    // Nothing invalid was stored.
    apiError(await request(corsUrl(bucket), { token: root.token }), 404);
  });
});

void describe('browser preflights on object URLs', () => {
  void test('an allowed preflight → 200 with the rule\'s headers', async () => {
    const bucket = await newBucket();
    assert.equal((await putCors(bucket, RULES)).status, 200);
    const response = await preflight(`${root.storageUrl}/${bucket}/hello.txt`, 'https://www.example.com', 'GET', 'X-Auth-Token');
    assert.equal(response.status, 200, await response.text());
    assert.equal(response.headers.get('access-control-allow-origin'), 'https://www.example.com');
    assert.equal(response.headers.get('access-control-allow-methods'), 'GET, HEAD');
    assert.equal(response.headers.get('access-control-allow-headers'), 'x-auth-token');
    assert.equal(response.headers.get('access-control-expose-headers'), 'ETag, X-Object-Meta-Color');
    assert.equal(response.headers.get('access-control-max-age'), '600');
    assert.match(response.headers.get('vary') ?? '', /Origin/);

    const upload = await preflight(`${root.storageUrl}/${bucket}/new.txt`, 'https://upload.example.org', 'PUT', 'content-type, x-auth-token, x-object-meta-color');
    assert.equal(upload.status, 200);
    assert.equal(upload.headers.get('access-control-allow-headers'), 'content-type, x-auth-token, x-object-meta-color');
    assert.equal(upload.headers.get('access-control-max-age'), null);

    const anyone = await preflight(`${root.storageUrl}/${bucket}/hello.txt`, 'https://elsewhere.net', 'GET');
    assert.equal(anyone.status, 200);
    assert.equal(anyone.headers.get('access-control-allow-origin'), '*');
  });

  void test('the first rule whose origin matches decides; a method or header it does not allow → 403', async () => {
    const bucket = await newBucket();
    assert.equal((await putCors(bucket, RULES)).status, 200);
    const url = `${root.storageUrl}/${bucket}/hello.txt`;
    // app.example.com matches rule 0 (https://*.example.com) first: rule 1's PUT does not apply.
    assert.equal((await preflight(url, 'https://app.example.com', 'PUT')).status, 403);
    assert.equal((await preflight(url, 'https://app.example.com', 'GET', 'x-auth-token')).status, 200);
    assert.equal((await preflight(url, 'https://www.example.com', 'GET', 'x-custom')).status, 403, 'a header rule 0 does not allow');
    assert.equal((await preflight(url, 'https://upload.example.org', 'DELETE', 'x-other')).status, 403);
    assert.equal((await preflight(url, 'https://elsewhere.net', 'PUT')).status, 403);
    assert.equal((await preflight(url, 'http://www.example.com', 'GET')).status, 200, 'falls through to the * rule');
    assert.equal((await preflight(url, 'https://WWW.EXAMPLE.COM', 'HEAD')).status, 403, 'origins are case-sensitive');
  });

  void test('no configuration, an unknown bucket, or a missing header → refused alike', async () => {
    const bucket = await newBucket();
    const bare = await preflight(`${root.storageUrl}/${bucket}/hello.txt`, 'https://www.example.com', 'GET');
    const missing = await preflight(`${root.storageUrl}/no-such-bucket-x/hello.txt`, 'https://www.example.com', 'GET');
    const otherAccount = await preflight(`${server.url}/v1/0123456789abcdef0123456789abcdef/${bucket}/hello.txt`, 'https://www.example.com', 'GET');
    for (const response of [bare, missing, otherAccount]) {
      assert.equal(response.status, 403);
      assert.equal(response.headers.get('access-control-allow-origin'), null);
      assert.equal(await response.text(), 'This CORS request is not allowed.');
    }
    assert.equal((await preflight(`${root.storageUrl}/${bucket}/hello.txt`, 'https://www.example.com', null)).status, 400);
    assert.equal((await preflight(`${root.storageUrl}/${bucket}/hello.txt`, null, 'GET')).status, 400);
  });

  void test('a configuration applies at once, and stops applying once deleted', async () => {
    const bucket = await newBucket();
    const url = `${root.storageUrl}/${bucket}/hello.txt`;
    assert.equal((await preflight(url, 'https://www.example.com', 'GET')).status, 403);
    assert.equal((await putCors(bucket, RULES)).status, 200);
    assert.equal((await preflight(url, 'https://www.example.com', 'GET')).status, 200);
    assert.equal((await request(corsUrl(bucket), { method: 'DELETE', token: root.token })).status, 204);
    assert.equal((await preflight(url, 'https://www.example.com', 'GET')).status, 403);
  });
});

void describe('actual cross-origin requests', () => {
  void test('an allowed origin gets Access-Control-Allow-Origin and the exposed headers; another gets none', async () => {
    const bucket = await newBucket();
    assert.equal((await putCors(bucket, RULES)).status, 200);
    const url = `${root.storageUrl}/${bucket}/hello.txt`;
    const allowed = await fetch(url, { headers: { 'X-Auth-Token': root.token, Origin: 'https://www.example.com' } });
    assert.equal(allowed.status, 200);
    assert.equal(await allowed.text(), 'hello');
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://www.example.com');
    assert.equal(allowed.headers.get('access-control-expose-headers'), 'ETag, X-Object-Meta-Color');
    assert.equal(allowed.headers.get('access-control-allow-methods'), null, 'methods are for preflights only');

    const refused = await fetch(url, { method: 'PUT', headers: { 'X-Auth-Token': root.token, Origin: 'https://app.example.com' }, body: 'x' });
    assert.equal(refused.headers.get('access-control-allow-origin'), null, 'rule 0 matches the origin but not PUT');
    const errorResponse = await fetch(`${root.storageUrl}/${bucket}/missing`, { headers: { 'X-Auth-Token': root.token, Origin: 'https://www.example.com' } });
    assert.equal(errorResponse.status, 404);
    assert.equal(errorResponse.headers.get('access-control-allow-origin'), 'https://www.example.com', 'errors carry the headers too, so the page can read them');
  });

  void test('on a public URL, anonymous cross-origin reads get the headers', async () => {
    const bucket = await newBucket();
    assert.equal((await request(`${server.url}/v1_ext/bucket/${bucket}`, { method: 'POST', token: root.token, body: { acl: { public: 'read-only' } } })).status, 200);
    assert.equal((await putCors(bucket, [{ allowed_origins: ['https://site.example'], allowed_methods: ['GET'] }])).status, 200);
    const url = `${root.storageUrl}/${bucket}/hello.txt`;
    const pre = await preflight(url, 'https://site.example', 'GET');
    assert.equal(pre.status, 200);
    const read = await fetch(url, { headers: { Origin: 'https://site.example' } });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('access-control-allow-origin'), 'https://site.example');
    const stranger = await fetch(url, { headers: { Origin: 'https://evil.example' } });
    assert.equal(stranger.status, 200, 'CORS does not hide a public object; the browser withholds it');
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
  });
});
