/** Operations over real HTTP: the access log, /healthz, /readyz and /metrics. */
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request, waitFor } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, putObject, storagePath, truncatedPut } from '../helpers/swift.ts';

interface AccessLine {
  msg: string;
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  ms: number;
  txId: string;
  account: string;
  op: string;
  clientIp: string;
}

function accessLines(server: RunningServer): AccessLine[] {
  return server
    .logs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as AccessLine)
    .filter((line) => line.msg === 'access');
}

/** The access-log lines of one request (the log is written asynchronously, just after the response). */
async function linesOf(server: RunningServer, txId: string | null): Promise<AccessLine[]> {
  assert.ok(txId, 'the response carries a transaction id');
  await waitFor(async () => accessLines(server).some((line) => line.txId === txId), 5_000, 20);
  return accessLines(server).filter((line) => line.txId === txId);
}

async function lineOf(server: RunningServer, response: { headers: Headers }): Promise<AccessLine> {
  const lines = await linesOf(server, response.headers.get('x-trans-id'));
  assert.equal(lines.length, 1, `exactly one access line per request: ${JSON.stringify(lines)}`);
  return lines[0] as AccessLine;
}

async function metricsText(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one sample line, e.g. `onggi_http_requests_total{op="GetObject",status="200"}`; 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

void describe('access log and metrics', () => {
  let server: RunningServer;
  let session: Session;
  let bucket: string;
  before(async () => {
    server = await startServer({ env: { ONGGI_LOG_LEVEL: 'info' } });
    session = await login(server.url);
    bucket = bucketName('ops');
    assert.equal((await fetch(`${session.storageUrl}/${bucket}`, { method: 'PUT', headers: auth(session) })).status, 201);
  });
  after(async () => {
    await server.destroy();
  });

  void test('one line per request: method, path, status, bytes, duration, request id, account, operation, client ip', async () => {
    const body = Buffer.alloc(5000, 'x');
    const put = await putObject(session, bucket, 'five-k', body);
    const putLine = await lineOf(server, put);
    assert.equal(putLine.method, 'PUT');
    assert.equal(putLine.path, `${storagePath(session)}/${bucket}/five-k`);
    assert.equal(putLine.status, 201);
    assert.equal(putLine.op, 'PutObject');
    assert.equal(putLine.account, session.projectId);
    assert.equal(putLine.clientIp, '127.0.0.1');
    assert.ok(putLine.bytesIn >= 5000 && putLine.bytesIn < 5000 + 4096, `bytes in counts the body and the headers: ${putLine.bytesIn}`);
    assert.ok(putLine.bytesOut > 0 && putLine.bytesOut < 4096, `bytes out: ${putLine.bytesOut}`);
    assert.ok(typeof putLine.ms === 'number' && putLine.ms >= 0, `duration: ${putLine.ms}`);

    const get = await fetch(`${session.storageUrl}/${bucket}/five-k`, { headers: auth(session) });
    assert.equal((await get.arrayBuffer()).byteLength, 5000);
    const getLine = await lineOf(server, get);
    assert.equal(getLine.op, 'GetObject');
    assert.equal(getLine.status, 200);
    assert.ok(getLine.bytesOut >= 5000 && getLine.bytesOut < 5000 + 4096, `bytes out counts the body and the headers: ${getLine.bytesOut}`);
    assert.ok(getLine.bytesIn > 0 && getLine.bytesIn < 4096, `bytes in: ${getLine.bytesIn}`);
  });

  void test('every front end names its operation and account; unknown paths are logged too', async () => {
    const token = await fetch(`${server.url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: 'nobody', secret: 'wrong' } } } }),
    });
    assert.equal(token.status, 401);
    const tokenLine = await lineOf(server, token);
    assert.deepEqual([tokenLine.op, tokenLine.status, tokenLine.account], ['IssueToken', 401, '']);

    const buckets = await request(`${server.url}/v1_ext/bucket`, { token: session.token });
    assert.equal(buckets.status, 200);
    const bucketsLine = await lineOf(server, buckets);
    assert.deepEqual([bucketsLine.op, bucketsLine.account], ['ListBuckets', session.projectId]);

    const head = await fetch(`${session.storageUrl}/${bucket}`, { method: 'HEAD', headers: auth(session) });
    const headLine = await lineOf(server, head);
    assert.deepEqual([headLine.method, headLine.op, headLine.status], ['HEAD', 'HeadContainer', 204]);

    // Every path outside the routes' names is S3's (path-style); under a route's name, a path it does not serve is nobody's.
    const missing = await fetch(`${server.url}/info/no/such/api`);
    assert.equal(missing.status, 404);
    const missingLine = await lineOf(server, missing);
    assert.deepEqual([missingLine.op, missingLine.status, missingLine.path], ['NotFound', 404, '/info/no/such/api']);
  });

  void test('secrets in the query string are redacted; the rest of the query is kept', async () => {
    const secrets = {
      temp_url_sig: 'sig-value-1111',
      'X-Amz-Signature': 'sig-value-2222',
      'X-Amz-Credential': 'cred-value-3333',
      'X-Amz-Security-Token': 'token-value-4444',
      signature: 'sig-value-5555',
      Signature: 'sig-value-6666',
      AWSAccessKeyId: 'key-value-7777',
      auth_token: 'token-value-8888',
    };
    const query = new URLSearchParams({ ...secrets, temp_url_expires: '1700000000', prefix: 'kept-prefix' });
    const response = await fetch(`${session.storageUrl}/${bucket}/five-k?${query.toString()}`);
    const line = await lineOf(server, response);
    assert.ok(line.path.startsWith(`${storagePath(session)}/${bucket}/five-k?`), line.path);
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(line.path.includes(`${name}=REDACTED`), `${name} is redacted in ${line.path}`);
      assert.ok(!server.logs().includes(value), `${value} never reaches the log`);
    }
    assert.ok(line.path.includes('temp_url_expires=1700000000') && line.path.includes('prefix=kept-prefix'), line.path);
  });

  void test('a request whose client goes away is logged and counted with status 499', async () => {
    const before = sample(await metricsText(server.url), 'onggi_http_requests_total{op="PutObject",status="499"}');
    const key = `${bucket}/cut-short`;
    await truncatedPut(server.url, `${storagePath(session)}/${key}`, session.token, 100_000, Buffer.alloc(1000, 'y'));
    const found = await waitFor(async () => accessLines(server).some((line) => line.path.endsWith(key)), 5_000, 20);
    assert.notEqual(found, null, 'the cut-off request is logged');
    const lines = accessLines(server).filter((line) => line.path.endsWith(key));
    assert.equal(lines.length, 1);
    assert.deepEqual([lines[0]?.op, lines[0]?.status], ['PutObject', 499]);
    const after = sample(await metricsText(server.url), 'onggi_http_requests_total{op="PutObject",status="499"}');
    assert.equal(after, before + 1);
  });

  void test('/metrics counts requests by operation and status, their latency and bytes, and the store series', async () => {
    const before = await metricsText(server.url);
    await putObject(session, bucket, 'counted', 'abc');
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${session.storageUrl}/${bucket}/counted`, { headers: auth(session) });
      assert.equal(await response.text(), 'abc');
    }
    const text = await metricsText(server.url);
    const delta = (series: string): number => sample(text, series) - sample(before, series);
    assert.equal(delta('onggi_http_requests_total{op="GetObject",status="200"}'), 3);
    assert.equal(delta('onggi_http_requests_total{op="PutObject",status="201"}'), 1);
    assert.equal(delta('onggi_http_request_duration_seconds_count{op="GetObject"}'), 3);
    assert.ok(delta('onggi_http_request_duration_seconds_sum{op="GetObject"}') > 0);
    assert.equal(sample(text, 'onggi_http_request_duration_seconds_bucket{le="+Inf",op="GetObject"}'), sample(text, 'onggi_http_request_duration_seconds_count{op="GetObject"}'));
    assert.ok(delta('onggi_http_sent_bytes_total{op="GetObject"}') >= 3 * 3, 'bytes out');
    assert.ok(delta('onggi_http_received_bytes_total{op="PutObject"}') >= 3, 'bytes in');
    assert.match(text, /^onggi_store_transaction_retries_total \d+$/m);
    assert.match(text, /^onggi_store_group_commit_transactions_count \d+$/m);
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });

  void test('/healthz and /readyz answer 200; /readyz answers 503 while the blob directory is gone', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${server.url}/healthz`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${server.url}/healthz`, { method: 'POST' })).status, 405);
    const blobs = join(server.dataDir, 'blobs');
    await rename(blobs, `${blobs}.away`);
    try {
      const notReady = await fetch(`${server.url}/readyz`);
      assert.equal(notReady.status, 503);
      assert.ok(!(await notReady.text()).includes(server.dataDir), 'no server path in the answer');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the process is still up');
    } finally {
      await rename(`${blobs}.away`, blobs);
    }
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    const line = await lineOf(server, await fetch(`${server.url}/readyz`));
    assert.deepEqual([line.op, line.status], ['Readyz', 200]);
  });
});

void describe('ONGGI_ACCESS_LOG=off', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ env: { ONGGI_LOG_LEVEL: 'info', ONGGI_ACCESS_LOG: 'off' } });
  });
  after(async () => {
    await server.destroy();
  });

  void test('writes no access lines, and still counts requests in /metrics', async () => {
    const session = await login(server.url);
    const list = await fetch(session.storageUrl, { headers: auth(session) });
    assert.ok(list.status === 200 || list.status === 204);
    const text = await metricsText(server.url);
    assert.equal(sample(text, 'onggi_http_requests_total{op="IssueToken",status="201"}'), 1);
    assert.equal(sample(text, `onggi_http_requests_total{op="ListContainers",status="${list.status}"}`), 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(accessLines(server), []);
    assert.notEqual(await waitFor(async () => server.logs().includes('"msg":"swept leftovers'), 5_000, 20), null, 'other info lines are still written');
  });
});
