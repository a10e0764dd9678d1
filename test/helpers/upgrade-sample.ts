/**
 * What the upgrade fixtures hold: data an earlier Onggi wrote through its APIs (plain, encrypted and public
 * buckets; small, large, empty, folder, expiring, Korean-named and copied objects; metadata, lifecycle and CORS),
 * and the checks that a newer Onggi still reads all of it and goes on writing. `writeSample` is what
 * scripts/make-upgrade-fixture.ts ran against the earlier server; `checkSample` is what test/api/upgrade.test.ts
 * runs against this one.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { login } from './server.ts';

/** Obviously not a secret: the master key of the fixtures' data directories. */
export const FIXTURE_MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

interface SampleObject {
  bucket: string;
  key: string;
  body: Buffer;
  headers: Record<string, string>;
}

function patterned(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + seed) % 253;
  return bytes;
}

export const SAMPLE_BUCKETS = { plain: 'upgrade-plain', secret: 'upgrade-secret', open: 'upgrade-public' } as const;

export const SAMPLE_OBJECTS: readonly SampleObject[] = [
  { bucket: SAMPLE_BUCKETS.plain, key: 'small.txt', body: Buffer.from('a small object, kept in the metadata store\n'), headers: { 'Content-Type': 'text/plain', 'X-Object-Meta-Color': 'blue' } },
  { bucket: SAMPLE_BUCKETS.plain, key: 'dir/large.bin', body: patterned(100_000, 1), headers: { 'Content-Type': 'application/octet-stream', 'Content-Disposition': 'attachment; filename="large.bin"' } },
  { bucket: SAMPLE_BUCKETS.plain, key: 'empty', body: Buffer.alloc(0), headers: {} },
  { bucket: SAMPLE_BUCKETS.plain, key: 'folder/', body: Buffer.alloc(0), headers: { 'Content-Type': 'application/directory' } },
  { bucket: SAMPLE_BUCKETS.plain, key: 'expiring', body: Buffer.from('until 2100'), headers: { 'X-Delete-At': String(Date.UTC(2100, 0, 1) / 1000) } },
  { bucket: SAMPLE_BUCKETS.plain, key: '한글/파일.txt', body: Buffer.from('한국어 내용'), headers: { 'Content-Type': 'text/plain; charset=utf-8' } },
  { bucket: SAMPLE_BUCKETS.secret, key: 'small-secret', body: Buffer.from('small and encrypted'), headers: {} },
  { bucket: SAMPLE_BUCKETS.secret, key: 'large-secret', body: patterned(80_000, 2), headers: {} },
  { bucket: SAMPLE_BUCKETS.open, key: 'index.html', body: Buffer.from('<p>public</p>'), headers: { 'Content-Type': 'text/html' } },
];

/** A copy sharing its source's blob. */
export const SAMPLE_COPY = { bucket: SAMPLE_BUCKETS.plain, key: 'dir/large-copy.bin', from: 'dir/large.bin' } as const;

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');
const objectPath = (account: string, bucket: string, key: string): string => `/v1/${account}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

export async function writeSample(url: string): Promise<void> {
  const session = await login(url);
  const auth = { 'X-Auth-Token': session.token };
  const json = { ...auth, 'Content-Type': 'application/json' };
  const must = async (response: Promise<Response>, status: number): Promise<void> => {
    const answer = await response;
    if (answer.status !== status) throw new Error(`${answer.url}: ${answer.status} ${await answer.text()}`);
  };
  await must(fetch(`${url}/v1_ext/bucket`, { method: 'PUT', headers: json, body: JSON.stringify({ name: SAMPLE_BUCKETS.plain, type: 'STANDARD' }) }), 201);
  await must(fetch(`${url}/v1_ext/bucket`, { method: 'PUT', headers: json, body: JSON.stringify({ name: SAMPLE_BUCKETS.secret, type: 'STANDARD', use_encryption: true, encryption_configuration: { type: 'managed' } }) }), 201);
  await must(fetch(`${url}/v1_ext/bucket`, { method: 'PUT', headers: json, body: JSON.stringify({ name: SAMPLE_BUCKETS.open, type: 'STANDARD' }) }), 201);
  await must(fetch(`${url}/v1_ext/bucket/${SAMPLE_BUCKETS.open}`, { method: 'POST', headers: json, body: JSON.stringify({ acl: { public: 'read-only' } }) }), 200);
  await must(fetch(`${url}/v1/${session.projectId}/${SAMPLE_BUCKETS.plain}`, { method: 'POST', headers: { ...auth, 'X-Container-Meta-Owner': 'upgrade test' } }), 204);
  for (const object of SAMPLE_OBJECTS) {
    await must(fetch(`${url}${objectPath(session.projectId, object.bucket, object.key)}`, { method: 'PUT', headers: { ...auth, ...object.headers }, body: object.body }), 201);
  }
  await must(
    fetch(`${url}${objectPath(session.projectId, SAMPLE_COPY.bucket, SAMPLE_COPY.from)}`, { method: 'COPY', headers: { ...auth, Destination: `${SAMPLE_COPY.bucket}/${SAMPLE_COPY.key}` } }),
    201,
  );
  await must(fetch(`${url}/v1_ext/bucket/${SAMPLE_BUCKETS.plain}/lifecycle`, { method: 'PUT', headers: json, body: JSON.stringify({ rules: [{ id: 'tmp', status: 'Enabled', prefix: 'tmp/', expiration: { days: 7 } }] }) }), 200);
  await must(fetch(`${url}/v1_ext/bucket/${SAMPLE_BUCKETS.plain}/cors`, { method: 'PUT', headers: json, body: JSON.stringify({ rules: [{ allowed_origins: ['https://app.example'], allowed_methods: ['GET'] }] }) }), 200);
}

/** Every object reads back as written (bytes and metadata), settings are there, and writing goes on. */
export async function checkSample(url: string): Promise<void> {
  const session = await login(url);
  const auth = { 'X-Auth-Token': session.token };
  for (const object of [...SAMPLE_OBJECTS, { ...SAMPLE_COPY, body: SAMPLE_OBJECTS[1]?.body ?? Buffer.alloc(0), headers: {} }]) {
    const response = await fetch(`${url}${objectPath(session.projectId, object.bucket, object.key)}`, { headers: auth });
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(response.status, 200, `${object.bucket}/${object.key}`);
    assert.equal(md5(body), md5(object.body), `${object.bucket}/${object.key}: bytes`);
    assert.equal(response.headers.get('etag'), md5(object.body), `${object.bucket}/${object.key}: ETag`);
    for (const [name, value] of Object.entries(object.headers)) {
      if (name === 'X-Delete-At') assert.equal(response.headers.get(name), value);
      else assert.equal(response.headers.get(name), value, `${object.bucket}/${object.key}: ${name}`);
    }
  }
  const ranged = await fetch(`${url}${objectPath(session.projectId, SAMPLE_BUCKETS.secret, 'large-secret')}`, { headers: { ...auth, Range: 'bytes=70000-70009' } });
  assert.equal(ranged.status, 206);
  assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), SAMPLE_OBJECTS[7]?.body.subarray(70_000, 70_010));

  const listing = await fetch(`${url}/v1/${session.projectId}/${SAMPLE_BUCKETS.plain}?format=json`, { headers: auth });
  const names = ((await listing.json()) as { name: string }[]).map((entry) => entry.name);
  assert.deepEqual(names, ['dir/large-copy.bin', 'dir/large.bin', 'empty', 'expiring', 'folder/', 'small.txt', '한글/파일.txt']);
  assert.equal(listing.headers.get('x-container-object-count'), '7');
  assert.equal(listing.headers.get('x-container-meta-owner'), 'upgrade test');

  const secret = (await (await fetch(`${url}/v1_ext/bucket/${SAMPLE_BUCKETS.secret}`, { headers: auth })).json()) as { use_encryption: boolean };
  assert.equal(secret.use_encryption, true);
  const open = await fetch(`${url}${objectPath(session.projectId, SAMPLE_BUCKETS.open, 'index.html')}`);
  assert.equal(open.status, 200, 'the public bucket is still public');
  const lifecycle = (await (await fetch(`${url}/v1_ext/bucket/${SAMPLE_BUCKETS.plain}/lifecycle`, { headers: auth })).json()) as { rules: { id: string }[] };
  assert.deepEqual(lifecycle.rules.map((rule) => rule.id), ['tmp']);
  const cors = await fetch(`${url}/v1_ext/bucket/${SAMPLE_BUCKETS.plain}/cors`, { headers: auth });
  assert.equal(cors.status, 200);

  // Writing goes on: an overwrite, a delete of a blob two objects share, a new object in the encrypted bucket.
  const small = objectPath(session.projectId, SAMPLE_BUCKETS.plain, 'small.txt');
  assert.equal((await fetch(`${url}${small}`, { method: 'PUT', headers: auth, body: 'new bytes' })).status, 201);
  assert.equal(await (await fetch(`${url}${small}`, { headers: auth })).text(), 'new bytes');
  assert.equal((await fetch(`${url}${objectPath(session.projectId, SAMPLE_BUCKETS.plain, 'dir/large.bin')}`, { method: 'DELETE', headers: auth })).status, 204);
  const copy = await fetch(`${url}${objectPath(session.projectId, SAMPLE_COPY.bucket, SAMPLE_COPY.key)}`, { headers: auth });
  assert.equal(md5(Buffer.from(await copy.arrayBuffer())), md5(SAMPLE_OBJECTS[1]?.body ?? Buffer.alloc(0)), 'the copy keeps the shared blob');
  const fresh = objectPath(session.projectId, SAMPLE_BUCKETS.secret, 'fresh');
  assert.equal((await fetch(`${url}${fresh}`, { method: 'PUT', headers: auth, body: 'written after the upgrade' })).status, 201);
  assert.equal(await (await fetch(`${url}${fresh}`, { headers: auth })).text(), 'written after the upgrade');
}
