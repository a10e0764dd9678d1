/**
 * Three stateless Onggi nodes on one PostgreSQL database, one blob directory and one master key file: what one
 * node writes, the others read and list at once; a token of one node works on all; a node with another master key
 * is refused; a node SIGKILLed under load loses no acknowledged write.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDatabase } from '../helpers/postgres.ts';
import { admin, login, makeTempDir, removeDir, startServer, type RunningServer, type Session } from '../helpers/server.ts';

const NODES = 3;

function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

describe('three nodes sharing PostgreSQL and a blob directory', { concurrency: false }, () => {
  let shared: string;
  let env: Record<string, string>;
  const nodes: RunningServer[] = [];
  const sessions: Session[] = [];

  const startNode = async (): Promise<RunningServer> => startServer({ env });

  before(async () => {
    shared = await makeTempDir('onggi-shared-');
    const keyFile = join(shared, 'master.key');
    await writeFile(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    env = {
      ONGGI_METADATA_URL: await createDatabase(),
      ONGGI_BLOB_DIR: join(shared, 'blobs'),
      ONGGI_MASTER_KEY_FILE: keyFile,
    };
    // Started together: they bootstrap the same root key once between them.
    nodes.push(...(await Promise.all(Array.from({ length: NODES }, startNode))));
    for (const node of nodes) sessions.push(await login(node.url));
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.destroy()));
    await removeDir(shared);
  });

  const url = (node: number, path: string): string => `${nodes[node]?.url ?? ''}/v1/${sessions[0]?.projectId ?? ''}${path}`;
  const token = (): Record<string, string> => ({ 'X-Auth-Token': sessions[0]?.token ?? '' });

  test('a token issued by one node is valid on every node', async () => {
    for (let node = 0; node < NODES; node++) {
      const res = await fetch(url(node, ''), { method: 'HEAD', headers: token() });
      assert.equal(res.status, 204, `node ${node}`);
    }
  });

  test('a node started with another master key is refused, and the others go on as before', async () => {
    const otherKey = join(shared, 'other.key');
    await writeFile(otherKey, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    // Started, it would replace the root access key with one hashed under its own key: every node's tokens would fail.
    await assert.rejects(startServer({ env: { ...env, ONGGI_MASTER_KEY_FILE: otherKey } }), /ONGGI_MASTER_KEY_FILE \(.*other\.key\) is not the master key that the metadata database/);
    for (let node = 0; node < NODES; node++) {
      const res = await fetch(url(node, ''), { method: 'HEAD', headers: token() });
      assert.equal(res.status, 204, `node ${node}`);
    }
    await login(nodes[1]?.url ?? '');
  });

  test('read-after-write and list-after-write across nodes', async () => {
    assert.equal((await fetch(url(0, '/shared'), { method: 'PUT', headers: token() })).status, 201);
    for (let i = 0; i < 20; i++) {
      const writer = i % NODES;
      const body = randomBytes(i % 2 === 0 ? 1000 : 200_000);
      const key = `k-${i}`;
      assert.equal((await fetch(url(writer, `/shared/${key}`), { method: 'PUT', headers: token(), body })).status, 201);
      for (let reader = 0; reader < NODES; reader++) {
        if (reader === writer) continue;
        const res = await fetch(url(reader, `/shared/${key}`), { headers: token() });
        assert.equal(res.status, 200, `${key} written on ${writer}, read on ${reader}`);
        assert.equal(md5(Buffer.from(await res.arrayBuffer())), md5(body));
        const listed = (await (await fetch(url(reader, `/shared?format=json&prefix=${key}`), { headers: token() })).json()) as { name: string }[];
        assert.ok(listed.some((o) => o.name === key), `${key} listed on ${reader}`);
      }
      // An overwrite on another node is seen at once too (no node serves a cached older version).
      const newer = randomBytes(500);
      assert.equal((await fetch(url((writer + 1) % NODES, `/shared/${key}`), { method: 'PUT', headers: token(), body: newer })).status, 201);
      const again = await fetch(url(writer, `/shared/${key}`), { headers: token() });
      assert.equal(md5(Buffer.from(await again.arrayBuffer())), md5(newer), `${key}: overwrite seen on ${writer}`);
    }
    const head = await fetch(url(2, '/shared'), { method: 'HEAD', headers: token() });
    assert.equal(head.headers.get('x-container-object-count'), '20');
  });

  test('access control changed on one node applies on the others at once', async () => {
    assert.equal((await fetch(url(0, '/public-one'), { method: 'PUT', headers: token() })).status, 201);
    assert.equal((await fetch(url(0, '/public-one/hello.txt'), { method: 'PUT', headers: token(), body: 'hello' })).status, 201);
    assert.equal((await fetch(url(1, '/public-one/hello.txt'))).status, 401);
    const acl = await fetch(`${nodes[2]?.url ?? ''}/v1_ext/bucket/public-one`, {
      method: 'POST',
      headers: { ...token(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ acl: { public: 'read-only' } }),
    });
    assert.equal(acl.status, 200, await acl.text());
    assert.equal(await (await fetch(url(1, '/public-one/hello.txt'))).text(), 'hello');
  });

  test('a deleted access key stops working on every node within a second', async () => {
    const project = (await admin(nodes[0]?.dataDir ?? '', 'project', 'create', 'revoke-test')) as { id: string };
    const user = (await admin(nodes[0]?.dataDir ?? '', 'user', 'create', 'revoke-user')) as { id: string };
    await admin(nodes[0]?.dataDir ?? '', 'role', 'assign', project.id, user.id, 'member');
    const key = (await admin(nodes[0]?.dataDir ?? '', 'key', 'create', project.id, user.id)) as { id: string; secret: string };
    const session = await login(nodes[1]?.url ?? '', key.id, key.secret);
    for (const node of nodes) assert.equal((await fetch(`${node.url}/v1/${session.projectId}`, { method: 'HEAD', headers: { 'X-Auth-Token': session.token } })).status, 204);
    await admin(nodes[0]?.dataDir ?? '', 'key', 'delete', key.id);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (const node of nodes) assert.equal((await fetch(`${node.url}/v1/${session.projectId}`, { method: 'HEAD', headers: { 'X-Auth-Token': session.token } })).status, 401);
  });

  test('a node SIGKILLed under load loses no acknowledged write', { timeout: 120_000 }, async () => {
    assert.equal((await fetch(url(0, '/load'), { method: 'PUT', headers: token() })).status, 201);
    const acked = new Map<string, string>();
    let stop = false;
    const client = async (id: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const node = (id + i) % NODES;
        const body = randomBytes(i % 3 === 0 ? 300_000 : 3000);
        const key = `c${id}-${i}`;
        try {
          const res = await fetch(url(node, `/load/${key}`), { method: 'PUT', headers: token(), body });
          if (res.status === 201) acked.set(key, md5(body));
        } catch {
          // The killed node: this client goes on with the others.
        }
      }
    };
    const clients = Array.from({ length: 12 }, (_, id) => client(id));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await nodes[1]?.kill9();
    const ackedAtKill = acked.size;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stop = true;
    await Promise.all(clients);
    assert.ok(acked.size > ackedAtKill, 'clients went on writing through the surviving nodes');

    const restarted = await startServer({ dataDir: nodes[1]?.dataDir ?? '', env });
    nodes[1] = restarted;
    for (const [key, hash] of acked) {
      for (let node = 0; node < NODES; node++) {
        const res = await fetch(url(node, `/load/${key}`), { headers: token() });
        assert.equal(res.status, 200, `${key} on node ${node}`);
        assert.equal(md5(Buffer.from(await res.arrayBuffer())), hash, `${key} on node ${node}`);
      }
    }
  });
});
