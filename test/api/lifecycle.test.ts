/**
 * Bucket lifecycle over real HTTP: /v1_ext/bucket/{name}/lifecycle (put, get, delete, S3's validation) and the
 * background worker, judged by a clock the test moves forward (ONGGI_TEST_CLOCK_FILE) instead of waiting.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asRecord, request, str, uniqueName, waitFor, type JsonResponse } from '../helpers/accounts.ts';
import { login, makeTempDir, removeDir, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const DAY_MS = 24 * 3600 * 1000;

let server: RunningServer;
let root: Session;
let clockDir: string;
let clockFile: string;

before(async () => {
  clockDir = await makeTempDir('onggi-clock-');
  clockFile = join(clockDir, 'offset');
  await writeFile(clockFile, '0');
  server = await startServer({ env: { ONGGI_TEST_CLOCK_FILE: clockFile, ONGGI_LIFECYCLE_INTERVAL_MS: '200' } });
  root = await login(server.url);
});
after(async () => {
  await server.destroy();
  await removeDir(clockDir);
});

async function advanceClock(days: number): Promise<void> {
  await writeFile(clockFile, String(days * DAY_MS));
}

const lifecycleUrl = (bucket: string): string => `${server.url}/v1_ext/bucket/${bucket}/lifecycle`;

async function newBucket(keys: readonly string[] = []): Promise<string> {
  const name = uniqueName('life');
  const created = await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: root.token, body: { name, type: 'STANDARD' } });
  assert.equal(created.status, 201, created.text);
  for (const key of keys) {
    const put = await fetch(`${root.storageUrl}/${name}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': root.token }, body: `body of ${key}` });
    assert.equal(put.status, 201);
  }
  return name;
}

async function putLifecycle(bucket: string, rules: unknown): Promise<JsonResponse> {
  return request(lifecycleUrl(bucket), { method: 'PUT', token: root.token, body: { rules } });
}

function apiError(response: JsonResponse, status: number): string {
  assert.equal(response.status, status, response.text);
  return str(asRecord(response.json), 'message');
}

async function exists(bucket: string, key: string): Promise<boolean> {
  const response = await fetch(`${root.storageUrl}/${bucket}/${key}`, { method: 'HEAD', headers: { 'X-Auth-Token': root.token } });
  assert.ok(response.status === 200 || response.status === 404, `HEAD ${key}: ${response.status}`);
  return response.status === 200;
}

async function lifecycleStatus(bucket: string): Promise<unknown> {
  return asRecord((await request(`${server.url}/v1_ext/bucket/${bucket}`, { token: root.token })).json).lifecycle_status;
}

/** Midnight UTC, `days` days from today. */
function midnightIn(days: number): string {
  return new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + days * DAY_MS).toISOString();
}

void describe('the lifecycle configuration API', () => {
  void test('put, get and delete; the bucket object reports whether lifecycle is applied', async () => {
    const bucket = await newBucket();
    apiError(await request(lifecycleUrl(bucket), { token: root.token }), 404);
    assert.equal(await lifecycleStatus(bucket), 'not-applied');
    const rules = [
      { id: 'logs', status: 'Enabled', filter: { prefix: 'logs/' }, expiration: { days: 30 } },
      { id: 'campaign', status: 'Disabled', filter: { prefix: '' }, expiration: { date: midnightIn(40).replace('.000Z', 'Z') } },
    ];
    const put = await putLifecycle(bucket, rules);
    assert.equal(put.status, 200, put.text);
    const got = await request(lifecycleUrl(bucket), { token: root.token });
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(asRecord(got.json).rules, rules);
    assert.equal(await lifecycleStatus(bucket), 'applied');

    assert.equal((await putLifecycle(bucket, [rules[1]])).status, 200);
    assert.equal(await lifecycleStatus(bucket), 'not-applied', 'only a disabled rule');
    assert.equal((await request(lifecycleUrl(bucket), { method: 'DELETE', token: root.token })).status, 204);
    apiError(await request(lifecycleUrl(bucket), { token: root.token }), 404);
    apiError(await request(lifecycleUrl(bucket), { method: 'DELETE', token: root.token }), 404);
  });

  void test('every action and the tag filter round-trip', async () => {
    const bucket = await newBucket();
    const rules = [
      {
        id: 'versions',
        status: 'Enabled',
        filter: { prefix: 'docs/', tags: [{ key: 'team', value: 'a' }, { key: 'empty', value: '' }] },
        expiration: { days: 30 },
        noncurrent_version_expiration: { noncurrent_days: 7, newer_noncurrent_versions: 3 },
      },
      { id: 'uploads', status: 'Enabled', filter: { prefix: '' }, abort_incomplete_multipart_upload: { days_after_initiation: 2 } },
      { id: 'old-versions', status: 'Disabled', filter: { prefix: 'x/' }, noncurrent_version_expiration: { noncurrent_days: 1 } },
      { id: 'sized', status: 'Enabled', filter: { prefix: 'media/', object_size_greater_than: 1024, object_size_less_than: 1048576 }, expiration: { days: 3 } },
      { id: 'markers', status: 'Enabled', filter: { prefix: '' }, expiration: { expired_object_delete_marker: true } },
    ];
    const put = await putLifecycle(bucket, rules);
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(asRecord(put.json).rules, rules);
    assert.deepEqual(asRecord((await request(lifecycleUrl(bucket), { token: root.token })).json).rules, rules);
    assert.equal(await lifecycleStatus(bucket), 'applied');
  });

  void test("S3's validation: 400 naming the rule and field", async () => {
    const bucket = await newBucket();
    const rule = { id: 'r', status: 'Enabled', filter: { prefix: 'a/' }, expiration: { days: 1 } };
    assert.match(apiError(await putLifecycle(bucket, [rule, rule]), 400), /rules\[1\]\.id/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, expiration: { days: 0 } }]), 400), /rules\[0\]\.expiration\.days/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, expiration: { days: 1.5 } }]), 400), /expiration\.days/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, expiration: { date: '2030-01-01T12:00:00Z' } }]), 400), /rules\[0\]\.expiration\.date/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, expiration: { date: 'someday' } }]), 400), /expiration\.date/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, expiration: { days: 1, date: midnightIn(3) } }]), 400), /rules\[0\]\.expiration/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, expiration: undefined }]), 400), /rules\[0\]: at least one action/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, status: 'On' }]), 400), /status/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, id: '' }]), 400), /rules\[0\]\.id/);
    assert.match(apiError(await putLifecycle(bucket, []), 400), /rules/);
    const many = Array.from({ length: 1001 }, (_, i) => ({ ...rule, id: `r${i}` }));
    assert.match(apiError(await putLifecycle(bucket, many), 400), /at most 1000/);
    assert.equal((await putLifecycle(bucket, many.slice(0, 1000))).status, 200, '1,000 rules are fine');
    const noncurrent = (given: unknown): unknown => [{ ...rule, noncurrent_version_expiration: given }];
    assert.match(apiError(await putLifecycle(bucket, noncurrent({ noncurrent_days: 0 })), 400), /rules\[0\]\.noncurrent_version_expiration\.noncurrent_days/);
    assert.match(apiError(await putLifecycle(bucket, noncurrent({ noncurrent_days: 1, newer_noncurrent_versions: 101 })), 400), /newer_noncurrent_versions/);
    assert.match(apiError(await putLifecycle(bucket, noncurrent({ newer_noncurrent_versions: 1 })), 400), /noncurrent_days/);
    const abort = { abort_incomplete_multipart_upload: { days_after_initiation: 0 } };
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, ...abort }]), 400), /rules\[0\]\.abort_incomplete_multipart_upload\.days_after_initiation/);
    const tagged = (tags: unknown): unknown => [{ ...rule, filter: { prefix: '', tags } }];
    assert.match(apiError(await putLifecycle(bucket, tagged([{ key: '', value: 'v' }])), 400), /rules\[0\]\.filter\.tags\[0\]\.key/);
    assert.match(apiError(await putLifecycle(bucket, tagged([{ key: 'k'.repeat(129), value: 'v' }])), 400), /filter\.tags\[0\]\.key/);
    assert.match(apiError(await putLifecycle(bucket, tagged([{ key: 'k', value: 'v'.repeat(257) }])), 400), /filter\.tags\[0\]\.value/);
    assert.match(apiError(await putLifecycle(bucket, tagged([{ key: 'k', value: '1' }, { key: 'k', value: '2' }])), 400), /filter\.tags\[1\]\.key/);
    const abortWithTags = [{ ...rule, filter: { prefix: '', tags: [{ key: 'k', value: 'v' }] }, abort_incomplete_multipart_upload: { days_after_initiation: 1 } }];
    assert.match(apiError(await putLifecycle(bucket, abortWithTags), 400), /rules\[0\]\.abort_incomplete_multipart_upload: cannot be used with a tag filter/);
    const sized = (filter: Record<string, unknown>, more: Record<string, unknown> = {}): unknown => [{ ...rule, filter: { prefix: '', ...filter }, ...more }];
    assert.match(apiError(await putLifecycle(bucket, sized({ object_size_greater_than: -1 })), 400), /rules\[0\]\.filter\.object_size_greater_than/);
    assert.match(apiError(await putLifecycle(bucket, sized({ object_size_less_than: 1.5 })), 400), /rules\[0\]\.filter\.object_size_less_than/);
    assert.match(apiError(await putLifecycle(bucket, sized({ object_size_greater_than: 100, object_size_less_than: 101 })), 400), /object_size_less_than must be greater than object_size_greater_than/);
    assert.match(apiError(await putLifecycle(bucket, sized({ object_size_greater_than: 1 }, { abort_incomplete_multipart_upload: { days_after_initiation: 1 } })), 400), /cannot be used with an object size filter/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, expiration: { days: 1, expired_object_delete_marker: true } }]), 400), /rules\[0\]\.expiration: expired_object_delete_marker cannot be given/);
    assert.match(apiError(await putLifecycle(bucket, [{ ...rule, expiration: { expired_object_delete_marker: false } }]), 400), /rules\[0\]: at least one action/);
    apiError(await request(lifecycleUrl(bucket), { method: 'PUT', body: { rules: [rule] } }), 401);
    apiError(await putLifecycle('no-such-life-bucket', [rule]), 404);
  });
});

void describe('the lifecycle worker', () => {
  void test('as the clock moves on, objects expire by prefix, by date and by days; a disabled rule, a tag filter and actions on versions and uploads remove nothing', async () => {
    const bucket = await newBucket(['logs/a', 'logs/b', 'tmp/x', 'keep/y', 'other/z']);
    const put = await putLifecycle(bucket, [
      { id: 'logs', status: 'Enabled', filter: { prefix: 'logs/' }, expiration: { days: 30 } },
      { id: 'tmp', status: 'Enabled', filter: { prefix: 'tmp/' }, expiration: { date: midnightIn(3) } },
      { id: 'keep', status: 'Disabled', filter: { prefix: 'keep/' }, expiration: { days: 1 } },
      // No object carries tags: a rule filtered by tags matches none. Noncurrent versions and incomplete
      // multipart uploads do not exist in this bucket: those actions remove nothing.
      { id: 'tagged', status: 'Enabled', filter: { prefix: 'other/', tags: [{ key: 'class', value: 'scratch' }] }, expiration: { days: 1 } },
      { id: 'versions', status: 'Enabled', filter: { prefix: '' }, noncurrent_version_expiration: { noncurrent_days: 1 }, abort_incomplete_multipart_upload: { days_after_initiation: 1 } },
    ]);
    assert.equal(put.status, 200, put.text);

    // Ten days on: past the date rule, not yet 30 days. The round that removed tmp/x judged every rule then.
    await advanceClock(10);
    assert.notEqual(await waitFor(async () => !(await exists(bucket, 'tmp/x')), 20_000), null, 'tmp/x did not expire');
    for (const key of ['logs/a', 'logs/b', 'keep/y', 'other/z']) assert.ok(await exists(bucket, key), `${key} expired too early`);

    // 31 days on: the logs expire; the disabled rule's keep/y and other/z (matched by prefix, not by tags) stay.
    await advanceClock(31);
    const gone = await waitFor(async () => !(await exists(bucket, 'logs/a')) && !(await exists(bucket, 'logs/b')), 20_000);
    assert.notEqual(gone, null, 'the logs did not expire');
    assert.ok(await exists(bucket, 'keep/y'), 'a disabled rule removed keep/y');
    assert.ok(await exists(bucket, 'other/z'));
    const listing = await fetch(`${root.storageUrl}/${bucket}`, { headers: { 'X-Auth-Token': root.token } });
    assert.deepEqual((await listing.text()).trim().split('\n'), ['keep/y', 'other/z']);
    await advanceClock(0);
  });

  void test('size filters pick objects by size; delete markers left with no version under them go (ExpiredObjectDeleteMarker at once, an expiration by days once old enough)', async () => {
    const bucket = await newBucket();
    for (const [key, size] of [['sized/small', 10], ['sized/mid', 100], ['sized/big', 1000]] as const) {
      assert.equal((await fetch(`${root.storageUrl}/${bucket}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': root.token }, body: 'x'.repeat(size) })).status, 201);
    }
    const sized = await putLifecycle(bucket, [{ id: 'sized', status: 'Enabled', filter: { prefix: 'sized/', object_size_greater_than: 50, object_size_less_than: 500 }, expiration: { days: 1 } }]);
    assert.equal(sized.status, 200, sized.text);

    const versioned = await newBucket();
    const enable = await fetch(`${root.storageUrl}/${versioned}`, { method: 'POST', headers: { 'X-Auth-Token': root.token, 'X-Versions-Enabled': 'true' } });
    assert.equal(enable.status, 204);
    for (const key of ['lone/one', 'covered', 'aged/alone']) await markDeleted(versioned, key, key !== 'covered');
    const markers = await putLifecycle(versioned, [
      { id: 'markers', status: 'Enabled', filter: { prefix: 'lone/' }, expiration: { expired_object_delete_marker: true } },
      { id: 'covered-too', status: 'Enabled', filter: { prefix: 'covered' }, expiration: { expired_object_delete_marker: true } },
      { id: 'aged', status: 'Enabled', filter: { prefix: 'aged/' }, expiration: { days: 1 } },
    ]);
    assert.equal(markers.status, 200, markers.text);
    assert.notEqual(await waitFor(async () => (await versionsOf(versioned, 'lone/one')).length === 0, 20_000), null, 'the lone delete marker stayed');
    assert.equal((await versionsOf(versioned, 'covered')).length, 2, 'a marker over a version stays');
    assert.equal((await versionsOf(versioned, 'aged/alone')).length, 1, 'an expiration by days waits for the marker to be old enough');

    await advanceClock(2);
    assert.notEqual(await waitFor(async () => !(await exists(bucket, 'sized/mid')), 20_000), null, 'sized/mid did not expire');
    assert.ok(await exists(bucket, 'sized/small'), 'below the size filter');
    assert.ok(await exists(bucket, 'sized/big'), 'above the size filter');
    assert.notEqual(await waitFor(async () => (await versionsOf(versioned, 'aged/alone')).length === 0, 20_000), null, 'the aged delete marker stayed');
    assert.equal((await versionsOf(versioned, 'covered')).length, 2);
    await advanceClock(0);
  });
});

/** Writes `key` and deletes it (a delete marker over it); `alone`: then removes the version, leaving the marker alone. */
async function markDeleted(bucket: string, key: string, alone: boolean): Promise<void> {
  const headers = { 'X-Auth-Token': root.token };
  const put = await fetch(`${root.storageUrl}/${bucket}/${key}`, { method: 'PUT', headers, body: 'v1' });
  assert.equal(put.status, 201);
  assert.equal((await fetch(`${root.storageUrl}/${bucket}/${key}`, { method: 'DELETE', headers })).status, 204);
  if (!alone) return;
  const removed = await fetch(`${root.storageUrl}/${bucket}/${key}?version-id=${put.headers.get('x-object-version-id') ?? ''}`, { method: 'DELETE', headers });
  assert.equal(removed.status, 204);
  assert.equal((await versionsOf(bucket, key)).length, 1, 'the marker alone');
}

async function versionsOf(bucket: string, key: string): Promise<unknown[]> {
  const listing = await fetch(`${root.storageUrl}/${bucket}?versions&format=json&prefix=${encodeURIComponent(key)}`, { headers: { 'X-Auth-Token': root.token } });
  assert.equal(listing.status, 200);
  return ((await listing.json()) as { name: string }[]).filter((entry) => entry.name === key);
}
