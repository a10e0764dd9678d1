/**
 * Bucket access logging over real HTTP: /v1_ext/bucket/{name}/logging, one S3-server-access-log line per request
 * to the bucket delivered as objects into the target bucket, and no line lost across a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord, request, uniqueName, waitFor, type JsonResponse } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

let server: RunningServer;
let root: Session;
let rootUserId: string;

before(async () => {
  server = await startServer({ env: { ONGGI_ACCESS_LOG_DELIVERY_MS: '300' } });
  root = await login(server.url);
  const validated = await request(`${server.url}/identity/v3/auth/tokens`, { token: root.token, headers: { 'X-Subject-Token': root.token } });
  rootUserId = String(asRecord(asRecord(asRecord(validated.json).token).user).id);
});
after(async () => {
  await server.destroy();
});

const loggingUrl = (url: string, bucket: string): string => `${url}/v1_ext/bucket/${bucket}/logging`;

async function newBucket(url: string, session: Session): Promise<string> {
  const name = uniqueName('alog');
  const created = await request(`${url}/v1_ext/bucket`, { method: 'PUT', token: session.token, body: { name, type: 'STANDARD' } });
  assert.equal(created.status, 201, created.text);
  return name;
}

async function enableLogging(url: string, session: Session, source: string, target: string, prefix: string): Promise<JsonResponse> {
  return request(loggingUrl(url, source), { method: 'PUT', token: session.token, body: { target_bucket: target, target_prefix: prefix } });
}

/** Every line delivered under `prefix` in the target bucket. */
async function deliveredLines(session: Session, target: string, prefix: string): Promise<string[]> {
  const listing = await fetch(`${session.storageUrl}/${target}?format=json&prefix=${encodeURIComponent(prefix)}`, { headers: { 'X-Auth-Token': session.token } });
  const objects = (await listing.json()) as Array<{ name: string }>;
  const bodies = await Promise.all(objects.map(async (o) => (await fetch(`${session.storageUrl}/${target}/${o.name}`, { headers: { 'X-Auth-Token': session.token } })).text()));
  return bodies.flatMap((body) => body.split('\n').filter((line) => line !== ''));
}

/** bucket_owner bucket [time] remote_ip requester request_id operation key "request_uri" status error bytes size total turnaround "referer" "agent" version */
const LINE = /^(\S+) (\S+) \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] (\S+) (\S+) (\S+) (\S+) (\S+) "([A-Z]+ \S+ HTTP\/1\.1)" (\d{3}) (\S+) (\S+) (\S+) (\d+) - ("[^"]*"|-) ("[^"]*"|-) -$/;

void describe('access logging configuration', () => {
  void test('put, get, delete; errors 400, 401, 404', async () => {
    const source = await newBucket(server.url, root);
    const target = await newBucket(server.url, root);
    assert.equal((await request(loggingUrl(server.url, source), { token: root.token })).status, 404);
    const put = await enableLogging(server.url, root, source, target, 'logs/');
    assert.equal(put.status, 200, put.text);
    const got = await request(loggingUrl(server.url, source), { token: root.token });
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.json, { target_bucket: target, target_prefix: 'logs/' });
    assert.equal((await enableLogging(server.url, root, source, 'no-such-target-x', '')).status, 404);
    const bad = await request(loggingUrl(server.url, source), { method: 'PUT', token: root.token, body: { target_prefix: 'x' } });
    assert.equal(bad.status, 400);
    assert.match(String(asRecord(bad.json).message), /target_bucket/);
    assert.equal((await request(loggingUrl(server.url, source), { method: 'PUT', body: { target_bucket: target } })).status, 401);
    assert.equal((await request(loggingUrl(server.url, source), { method: 'DELETE', token: root.token })).status, 204);
    assert.equal((await request(loggingUrl(server.url, source), { token: root.token })).status, 404);
    assert.equal((await request(loggingUrl(server.url, source), { method: 'DELETE', token: root.token })).status, 404);
  });
});

void describe('access log lines', () => {
  void test('one line per request to the bucket, in the documented format, delivered into the target', async () => {
    const source = await newBucket(server.url, root);
    const target = await newBucket(server.url, root);
    // Requests are logged from the first one after logging is on.
    assert.equal((await enableLogging(server.url, root, source, target, 'access/')).status, 200);
    const auth = { 'X-Auth-Token': root.token };
    const base = `${root.storageUrl}/${source}`;
    const sent: Array<{ id: string; status: number; operation: string; key: string; requester: string }> = [];
    const track = async (response: Response, operation: string, key: string, requester = rootUserId): Promise<void> => {
      await response.arrayBuffer();
      sent.push({ id: response.headers.get('x-trans-id') ?? '', status: response.status, operation, key, requester });
    };
    await track(await fetch(`${base}/photos/cat.jpg`, { method: 'PUT', headers: auth, body: 'meow' }), 'SWIFT.PUT.OBJECT', 'photos%2Fcat.jpg');
    await track(await fetch(`${base}/photos/cat.jpg`, { headers: { ...auth, 'User-Agent': 'log-test/1.0' } }), 'SWIFT.GET.OBJECT', 'photos%2Fcat.jpg');
    await track(await fetch(`${base}/photos/cat.jpg`, { method: 'HEAD', headers: auth }), 'SWIFT.HEAD.OBJECT', 'photos%2Fcat.jpg');
    await track(await fetch(`${base}/missing`, { headers: auth }), 'SWIFT.GET.OBJECT', 'missing');
    await track(await fetch(`${base}/photos/cat.jpg`), 'SWIFT.GET.OBJECT', 'photos%2Fcat.jpg', '-');
    await track(await fetch(`${base}?format=json`, { headers: auth }), 'SWIFT.GET.BUCKET', '-');
    await track(await fetch(`${server.url}/v1_ext/bucket/${source}`, { headers: auth }), 'EXT.GET.BUCKET', '-');
    // Requests to the target bucket are not the source's.
    await (await fetch(`${root.storageUrl}/${target}?format=json`, { headers: auth })).arrayBuffer();

    let lines: string[] = [];
    const delivered = await waitFor(async () => {
      lines = await deliveredLines(root, target, 'access/');
      return lines.length >= sent.length;
    }, 30_000);
    assert.notEqual(delivered, null, `only ${lines.length} of ${sent.length} lines delivered`);
    assert.equal(lines.length, sent.length, lines.join('\n'));
    for (const expected of sent) {
      const line = lines.find((l) => l.split(' ')[6] === expected.id);
      assert.ok(line, `no line for request ${expected.id}`);
      const fields = LINE.exec(line);
      assert.ok(fields, `malformed line: ${line}`);
      assert.equal(fields[1], root.projectId);
      assert.equal(fields[2], source);
      assert.ok(Math.abs(Date.now() - Date.parse(fields[3]?.replace(':', ' ') ?? '')) < 120_000, `time ${fields[3] ?? ''}`);
      assert.equal(fields[4], '127.0.0.1');
      assert.equal(fields[5], expected.requester);
      assert.equal(fields[7], expected.operation);
      assert.equal(fields[8], expected.key);
      assert.equal(Number(fields[10]), expected.status);
      assert.equal(fields[11], expected.status >= 400 ? String(expected.status) : '-');
    }
    const get = lines.find((l) => l.includes('"log-test/1.0"'));
    assert.ok(get, 'the user agent is logged');
    assert.match(get, / 200 - 4 4 \d+ - /, 'bytes sent and object size of the GET');
  });
});

void describe('durability', () => {
  void test('lines of requests made just before a restart are delivered after it', async () => {
    const slow = await startServer({ env: { ONGGI_ACCESS_LOG_DELIVERY_MS: '3600000' } });
    try {
      const session = await login(slow.url);
      const source = await newBucket(slow.url, session);
      const target = await newBucket(slow.url, session);
      assert.equal((await enableLogging(slow.url, session, source, target, '')).status, 200);
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${session.storageUrl}/${source}/object-${i}`, { method: 'PUT', headers: { 'X-Auth-Token': session.token }, body: `${i}` });
        assert.equal(response.status, 201);
      }
      await slow.stop();
      const restarted = await startServer({ dataDir: slow.dataDir, env: { ONGGI_ACCESS_LOG_DELIVERY_MS: '300' } });
      try {
        const again = await login(restarted.url);
        let lines: string[] = [];
        const delivered = await waitFor(async () => {
          lines = (await deliveredLines(again, target, '')).filter((l) => l.includes(' SWIFT.PUT.OBJECT '));
          return lines.length >= 5;
        }, 30_000);
        assert.notEqual(delivered, null, `${lines.length} of 5 lines after the restart`);
        assert.deepEqual(lines.map((l) => l.split(' ')[8]).sort(), ['object-0', 'object-1', 'object-2', 'object-3', 'object-4']);
        assert.equal((await deliveredLines(again, target, '')).length, 5);
      } finally {
        await restarted.destroy();
      }
    } finally {
      await slow.destroy();
    }
  });
});
