/**
 * Debian's `s3cmd` against a real server, signing with SigV4 and, in a second pass, SigV2: mb, put (a multipart
 * upload with 5 MiB chunks too), ls, la, get (--continue too), info, cp, mv, modify, du, signurl, setacl, sync both
 * ways, del, rb.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir, startServer, type RunningServer } from '../helpers/server.ts';
import { printedS3Keys } from '../helpers/s3.ts';

const S3CMD = '/usr/bin/s3cmd';

let server: RunningServer;
let home: string;

before(async () => {
  server = await startServer();
  home = await makeTempDir('onggi-s3cmd-');
});
after(async () => {
  await server.destroy();
  await removeDir(home);
});

/** Runs s3cmd with a config of its own (path-style: `host_bucket` without `%(bucket)s`), one signature version. */
async function s3cmd(signature: 'v2' | 'v4', ...args: string[]): Promise<string> {
  const keys = printedS3Keys(server);
  const host = new URL(server.url).host;
  const config = join(home, `s3cfg-${signature}`);
  await writeFile(
    config,
    [
      '[default]',
      `access_key = ${keys.accessKeyId}`,
      `secret_key = ${keys.secretAccessKey}`,
      `host_base = ${host}`,
      `host_bucket = ${host}`,
      'use_https = False',
      'bucket_location = kr-central-2',
      `signature_v2 = ${signature === 'v2' ? 'True' : 'False'}`,
      'check_ssl_certificate = False',
      'progress_meter = False',
      '',
    ].join('\n'),
  );
  const child = spawn(S3CMD, ['-c', config, ...args], { env: { PATH: '/usr/bin:/bin', HOME: home }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`s3cmd ${args.join(' ')} exited ${String(code)}:\n${stdout}\n${stderr}`);
  return stdout;
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

for (const signature of ['v4', 'v2'] as const) {
  describe(`s3cmd, signature ${signature}`, { concurrency: false }, () => {
    const bucket = `s3cmd-${signature}`;
    const run = (...args: string[]): Promise<string> => s3cmd(signature, ...args);
    const big = randomBytes(11 * 1024 * 1024 + 17);
    let dir: string;

    before(async () => {
      dir = join(home, signature);
      await mkdir(join(dir, 'tree', 'sub'), { recursive: true });
      await writeFile(join(dir, 'big.bin'), big);
      await writeFile(join(dir, 'small.txt'), 'small from s3cmd\n');
      await writeFile(join(dir, 'tree', 'a.txt'), 'a\n');
      await writeFile(join(dir, 'tree', 'sub', 'b.txt'), 'b\n');
    });

    test('mb, put (single and multipart), ls, la, get, info', async () => {
      await run('mb', `s3://${bucket}`);
      assert.match(await run('ls'), new RegExp(`s3://${bucket}`));
      await run('put', '--mime-type=text/plain', join(dir, 'small.txt'), `s3://${bucket}/small.txt`);
      await run('put', '--multipart-chunk-size-mb=5', join(dir, 'big.bin'), `s3://${bucket}/dir/big.bin`);
      const listed = await run('ls', '--recursive', `s3://${bucket}`);
      assert.match(listed, new RegExp(`${big.length} +s3://${bucket}/dir/big\\.bin`));
      assert.match(listed, new RegExp(`17 +s3://${bucket}/small\\.txt`));
      assert.match(await run('ls', `s3://${bucket}`), /DIR +s3:\/\/[^/]+\/dir\//);
      assert.match(await run('la'), new RegExp(`s3://${bucket}/small\\.txt`));

      await run('get', `s3://${bucket}/dir/big.bin`, join(dir, 'big.down'));
      assert.equal(md5(await readFile(join(dir, 'big.down'))), md5(big));
      await run('get', `s3://${bucket}/small.txt`, join(dir, 'small.down'));
      assert.equal(await readFile(join(dir, 'small.down'), 'utf8'), 'small from s3cmd\n');

      const info = await run('info', `s3://${bucket}/dir/big.bin`);
      assert.match(info, new RegExp(`File size: +${big.length}`));
      // s3cmd stores the MD5 of a multipart upload in its own metadata and shows it.
      assert.match(info, new RegExp(`MD5 sum: +${md5(big)}`));
      const smallInfo = await run('info', `s3://${bucket}/small.txt`);
      assert.match(smallInfo, /MIME type: +text\/plain/);
      assert.match(smallInfo, new RegExp(`MD5 sum: +${md5(Buffer.from('small from s3cmd\n'))}`));
      assert.match(await run('info', `s3://${bucket}`), /Location: +\S+/);
    });

    test('cp, mv, modify (server-side copies), du, signurl, get --continue (a ranged GET)', async () => {
      await run('cp', `s3://${bucket}/small.txt`, `s3://${bucket}/copies/copy.txt`);
      await run('mv', `s3://${bucket}/copies/copy.txt`, `s3://${bucket}/copies/moved.txt`);
      await run('modify', '--add-header=x-amz-meta-color:red', '--mime-type=text/x-modified', `s3://${bucket}/copies/moved.txt`);
      const listed = await run('ls', `s3://${bucket}/copies/`);
      assert.doesNotMatch(listed, /copy\.txt/);
      const info = await run('info', `s3://${bucket}/copies/moved.txt`);
      assert.match(info, /x-amz-meta-color: red/);
      assert.match(info, /MIME type: +text\/x-modified/);
      assert.match(await run('du', `s3://${bucket}/copies/`), /^\s*17\s+1 objects/);

      const url = (await run('signurl', `s3://${bucket}/copies/moved.txt`, '+300')).trim();
      const signed = await fetch(url);
      assert.equal(signed.status, 200, url);
      assert.equal(await signed.text(), 'small from s3cmd\n');
      const tampered = await fetch(url.replace(/Expires=([0-9]+)/, (_, expires: string) => `Expires=${String(Number(expires) + 1)}`));
      assert.equal(tampered.status, 403);
      assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);

      await writeFile(join(dir, 'partial.down'), big.subarray(0, 1000));
      await run('get', '--continue', `s3://${bucket}/dir/big.bin`, join(dir, 'partial.down'));
      assert.equal(md5(await readFile(join(dir, 'partial.down'))), md5(big));
    });

    // A bucket's ACL only: objects share their bucket's ACL here (object ACLs are another engineer's work).
    test('setacl --acl-public and --acl-private on the bucket: an anonymous GET follows', async () => {
      const anonymous = (): Promise<number> => fetch(`${server.url}/${bucket}/small.txt`).then(async (res) => (await res.arrayBuffer(), res.status));
      assert.equal(await anonymous(), 403);
      await run('setacl', '--acl-public', `s3://${bucket}`);
      assert.equal(await anonymous(), 200);
      assert.match(await run('info', `s3://${bucket}`), /ACL: +\*anon\*: READ/);
      await run('setacl', '--acl-private', `s3://${bucket}`);
      assert.equal(await anonymous(), 403);
    });

    test('sync up, a change and a removal synced with --delete-removed, sync down', async () => {
      const tree = join(dir, 'tree');
      await run('sync', `${tree}/`, `s3://${bucket}/tree/`);
      assert.match(await run('ls', '--recursive', `s3://${bucket}/tree/`), /tree\/sub\/b\.txt/);
      await writeFile(join(tree, 'a.txt'), 'a, changed\n');
      await writeFile(join(tree, 'c.txt'), 'c\n');
      await rm(join(tree, 'sub', 'b.txt'));
      await run('sync', '--delete-removed', `${tree}/`, `s3://${bucket}/tree/`);
      const listed = await run('ls', '--recursive', `s3://${bucket}/tree/`);
      assert.doesNotMatch(listed, /b\.txt/);
      assert.match(listed, /tree\/c\.txt/);
      const down = join(dir, 'down');
      await run('sync', `s3://${bucket}/tree/`, `${down}/`);
      assert.equal(await readFile(join(down, 'a.txt'), 'utf8'), 'a, changed\n');
      assert.equal(await readFile(join(down, 'c.txt'), 'utf8'), 'c\n');
    });

    test('del, del --recursive, rb', async () => {
      await run('del', `s3://${bucket}/small.txt`);
      assert.doesNotMatch(await run('ls', '--recursive', `s3://${bucket}`), /small\.txt/);
      await run('del', '--recursive', '--force', `s3://${bucket}`);
      assert.equal((await run('ls', '--recursive', `s3://${bucket}`)).trim(), '');
      await run('rb', `s3://${bucket}`);
      assert.doesNotMatch(await run('ls'), new RegExp(`s3://${bucket}\\b`));
    });
  });
}
