/**
 * A write commits against the bucket it was authorized for: a bucket deleted and re-created (by another project,
 * under the same name) meanwhile never receives it. And the two naming profiles.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { auth, bucketName, createContainer, newProject, putObject } from '../helpers/swift.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';

/** Starts a PUT that declares `total` bytes and sends the first half; `finish` sends the rest and returns the status. */
function heldUpload(session: Session, path: string, body: Buffer): { finish: () => Promise<number> } {
  const url = new URL(session.storageUrl);
  let resolveStatus: (status: number) => void = () => undefined;
  const status = new Promise<number>((resolve) => (resolveStatus = resolve));
  const req = httpRequest({
    host: url.hostname,
    port: url.port,
    method: 'PUT',
    path,
    agent: false,
    headers: { 'X-Auth-Token': session.token, 'Content-Length': String(body.length) },
  });
  req.on('response', (res) => {
    res.resume();
    resolveStatus(res.statusCode ?? 0);
  });
  req.on('error', () => {
    resolveStatus(-1);
  });
  req.write(body.subarray(0, body.length / 2));
  return {
    finish: async () => {
      req.end(body.subarray(body.length / 2));
      return status;
    },
  };
}

for (const size of [16 * 1024, 4 * 1024 * 1024]) {
  describe(`a held upload of ${size} bytes across a bucket deleted and re-created by another project`, () => {
    let server: RunningServer;
    let a: Session;
    let b: Session;
    before(async () => {
      server = await startServer();
      a = await login(server.url);
      b = await newProject(server, 'race');
    });
    after(async () => {
      await server.destroy();
    });

    test("the upload fails and B's bucket never holds A's bytes", async () => {
      const name = bucketName('race');
      await createContainer(a, name);
      const secret = Buffer.alloc(size, 'A');
      const held = heldUpload(a, `${new URL(a.storageUrl).pathname}/${name}/from-a`, secret);
      await new Promise((resolve) => setTimeout(resolve, 200));

      assert.equal((await fetch(`${a.storageUrl}/${name}`, { method: 'DELETE', headers: auth(a) })).status, 204);
      const created = await fetch(`${server.url}/v1_ext/bucket`, {
        method: 'PUT',
        headers: auth(b, { 'Content-Type': 'application/json' }),
        body: JSON.stringify({ name, type: 'STANDARD', use_encryption: true, encryption_configuration: { type: 'managed' } }),
      });
      assert.equal(created.status, 201, await created.text());
      await putObject(b, name, 'from-b', 'B owns this bucket now');

      const status = await held.finish();
      assert.ok(status === 404 || status === -1, `the held upload answered ${status}`);
      assert.equal((await fetch(`${b.storageUrl}/${name}/from-a`, { headers: auth(b) })).status, 404);
      const listing = (await (await fetch(`${b.storageUrl}/${name}?format=json`, { headers: auth(b) })).json()) as { name: string }[];
      assert.deepEqual(listing.map((o) => o.name), ['from-b']);
      const head = await fetch(`${b.storageUrl}/${name}`, { method: 'HEAD', headers: auth(b) });
      assert.equal(head.headers.get('x-container-object-count'), '1');
      assert.equal(head.headers.get('x-container-bytes-used'), String('B owns this bucket now'.length));
    });
  });
}

describe('naming profile: kakaocloud (the default)', () => {
  let server: RunningServer;
  let a: Session;
  let b: Session;
  before(async () => {
    server = await startServer();
    a = await login(server.url);
    b = await newProject(server, 'kc');
  });
  after(async () => {
    await server.destroy();
  });

  test('bucket names are unique across the server', async () => {
    const name = bucketName('shared');
    await createContainer(a, name);
    const res = await fetch(`${b.storageUrl}/${name}`, { method: 'PUT', headers: auth(b) });
    assert.equal(res.status, 409);
  });

  test('an invalid name is refused with the rule it broke', async () => {
    const res = await fetch(`${a.storageUrl}/Photos`, { method: 'PUT', headers: auth(a) });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /lowercase letters, digits and "-"/);
  });

  test('`<name>_segments` is accepted as a segment container', async () => {
    const name = bucketName('big');
    await createContainer(a, `${name}_segments`);
    await putObject(a, `${name}_segments`, 'file/1/00000000', 'segment');
  });

  test('object names longer than 432 bytes are refused', async () => {
    const name = bucketName('keys');
    await createContainer(a, name);
    const res = await fetch(`${a.storageUrl}/${name}/${'k'.repeat(433)}`, { method: 'PUT', headers: auth(a), body: 'x' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /longer than 432/);
  });
});

describe('naming profile: swift', () => {
  let server: RunningServer;
  let a: Session;
  let b: Session;
  before(async () => {
    server = await startServer({ env: { ONGGI_BUCKET_NAMES: 'swift' } });
    a = await login(server.url);
    b = await newProject(server, 'sw');
  });
  after(async () => {
    await server.destroy();
  });

  test('two accounts may both have `photos`, each with its own objects', async () => {
    await createContainer(a, 'photos');
    await createContainer(b, 'photos');
    await putObject(a, 'photos', 'x', 'from a');
    await putObject(b, 'photos', 'x', 'from b');
    assert.equal(await (await fetch(`${a.storageUrl}/photos/x`, { headers: auth(a) })).text(), 'from a');
    assert.equal(await (await fetch(`${b.storageUrl}/photos/x`, { headers: auth(b) })).text(), 'from b');
    assert.equal((await fetch(`${a.storageUrl}/photos`, { method: 'DELETE', headers: auth(a) })).status, 409);
    const listed = (await (await fetch(`${b.storageUrl}?format=json`, { headers: auth(b) })).json()) as { name: string; count: number }[];
    assert.deepEqual(listed.map((c) => [c.name, c.count]), [['photos', 1]]);
  });

  test('UTF-8 container names, and the limits of the profile', async () => {
    for (const name of ['사진 모음', 'Photos_2024', 'émoji 😀']) {
      await createContainer(a, encodeURIComponent(name));
      await putObject(a, encodeURIComponent(name), 'k', 'v');
      const listed = (await (await fetch(`${a.storageUrl}?format=json`, { headers: auth(a) })).json()) as { name: string }[];
      assert.ok(listed.some((c) => c.name === name), `${name} listed`);
    }
    assert.equal((await fetch(`${a.storageUrl}/${'x'.repeat(257)}`, { method: 'PUT', headers: auth(a) })).status, 400);
    const name = bucketName('long-keys');
    await createContainer(a, name);
    await putObject(a, name, 'k'.repeat(1024), 'x');
    assert.equal((await fetch(`${a.storageUrl}/${name}/${'k'.repeat(1025)}`, { method: 'PUT', headers: auth(a), body: 'x' })).status, 400);
    const info = (await (await fetch(`${server.url}/info`)).json()) as { swift: { max_object_name_length: number; max_container_name_length: number } };
    assert.equal(info.swift.max_object_name_length, 1024);
    assert.equal(info.swift.max_container_name_length, 256);
  });
});
