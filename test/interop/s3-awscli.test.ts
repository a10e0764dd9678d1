/** Debian's awscli against a real server: `aws s3 cp/sync/ls/rm` (multipart for large files) and `aws s3api` calls. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir, startServer, type RunningServer } from '../helpers/server.ts';
import { runAwsCli } from '../helpers/s3.ts';

let server: RunningServer;
let home: string;

before(async () => {
  server = await startServer();
  home = await makeTempDir('onggi-awscli-');
});
after(async () => {
  await server.destroy();
  await removeDir(home);
});

function aws(...args: string[]): Promise<string> {
  return runAwsCli(server, home, args);
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

describe('awscli (Debian)', () => {
  test('aws s3 mb, cp up and down (a multipart upload too), ls, sync, rm', async () => {
    await aws('s3', 'mb', 's3://awscli-bucket');
    const local = join(home, 'up');
    await mkdir(join(local, 'sub'), { recursive: true });
    const big = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    await writeFile(join(local, 'big.bin'), big);
    await writeFile(join(local, 'small.txt'), 'small file\n');
    await writeFile(join(local, 'sub', 'nested.txt'), 'nested\n');

    await aws('s3', 'cp', join(local, 'big.bin'), 's3://awscli-bucket/big.bin');
    await aws('s3', 'cp', 's3://awscli-bucket/big.bin', join(home, 'big.down'));
    assert.equal(md5(await readFile(join(home, 'big.down'))), md5(big));

    await aws('s3', 'sync', local, 's3://awscli-bucket/synced/');
    const listing = await aws('s3', 'ls', '--recursive', 's3://awscli-bucket/synced/');
    assert.match(listing, /synced\/small\.txt/);
    assert.match(listing, /synced\/sub\/nested\.txt/);
    const top = await aws('s3', 'ls', 's3://awscli-bucket/synced/');
    assert.match(top, /PRE sub\//);
    const back = join(home, 'back');
    await aws('s3', 'sync', 's3://awscli-bucket/synced/', back);
    assert.equal(await readFile(join(back, 'sub', 'nested.txt'), 'utf8'), 'nested\n');
    assert.equal(md5(await readFile(join(back, 'big.bin'))), md5(big));

    await aws('s3', 'rm', '--recursive', 's3://awscli-bucket/synced/');
    assert.equal((await aws('s3', 'ls', '--recursive', 's3://awscli-bucket/synced/').catch(() => '')).trim(), '');
  });

  test('aws s3api calls', async () => {
    await aws('s3api', 'create-bucket', '--bucket', 'awscli-api');
    await aws('s3api', 'put-object', '--bucket', 'awscli-api', '--key', 'k', '--body', join(home, 'up', 'small.txt'), '--metadata', 'color=red');
    const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', 'awscli-api', '--key', 'k')) as { ContentLength: number; Metadata: Record<string, string> };
    assert.equal(head.ContentLength, 11);
    assert.deepEqual(head.Metadata, { color: 'red' });
    const listed = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', 'awscli-api')) as { Contents: Array<{ Key: string }> };
    assert.deepEqual(listed.Contents.map((c) => c.Key), ['k']);
    await aws('s3api', 'put-bucket-versioning', '--bucket', 'awscli-api', '--versioning-configuration', 'Status=Enabled');
    const versioning = JSON.parse(await aws('s3api', 'get-bucket-versioning', '--bucket', 'awscli-api')) as { Status: string };
    assert.equal(versioning.Status, 'Enabled');
    await aws('s3api', 'delete-object', '--bucket', 'awscli-api', '--key', 'k');
    const versions = JSON.parse(await aws('s3api', 'list-object-versions', '--bucket', 'awscli-api')) as { Versions: unknown[]; DeleteMarkers: unknown[] };
    assert.equal(versions.Versions.length, 1);
    assert.equal(versions.DeleteMarkers.length, 1);
  });
});
