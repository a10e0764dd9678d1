/**
 * Drives the real `rclone` (Debian's package) against Onggi through its Swift backend, authenticating with
 * Keystone v3 application credentials: what a KakaoCloud user configures with an access key ID and secret.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uploadInParts } from '../helpers/s3.ts';
import { makeTempDir, removeDir, ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer } from '../helpers/server.ts';

const RCLONE = '/usr/bin/rclone';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs rclone with a remote named `onggi` configured purely through the environment. */
async function rclone(server: RunningServer, home: string, args: string[], input?: Buffer): Promise<Result> {
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    RCLONE_CONFIG: join(home, 'rclone.conf'),
    RCLONE_CONFIG_ONGGI_TYPE: 'swift',
    RCLONE_CONFIG_ONGGI_AUTH: `${server.url}/identity/v3`,
    RCLONE_CONFIG_ONGGI_AUTH_VERSION: '3',
    RCLONE_CONFIG_ONGGI_APPLICATION_CREDENTIAL_ID: ROOT_KEY_ID,
    RCLONE_CONFIG_ONGGI_APPLICATION_CREDENTIAL_SECRET: ROOT_SECRET,
  };
  const child = spawn(RCLONE, ['--retries', '1', '--low-level-retries', '1', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000, killSignal: 'SIGKILL' });
  child.stdin.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

async function rcloneOk(server: RunningServer, home: string, args: string[], input?: Buffer): Promise<string> {
  const result = await rclone(server, home, args, input);
  assert.equal(result.code, 0, `rclone ${args.join(' ')} exited ${String(result.code)}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

for (const profile of ['kakaocloud', 'swift'] as const) {
  void describe(`rclone (swift backend), ${profile} names`, { concurrency: false }, () => {
    let server: RunningServer;
    let home: string;
    let source: string;
    const files = new Map<string, Buffer>([
      ['docs/readme.txt', Buffer.from('hello from rclone\n')],
      ['docs/한글 이름.txt', Buffer.from('unicode name\n')],
      ['images/photo.bin', randomBytes(300 * 1024)],
    ]);
    const big = randomBytes(3 * 1024 * 1024 + 777);

    before(async () => {
      server = await startServer(profile === 'swift' ? { env: { ONGGI_BUCKET_NAMES: 'swift' } } : {});
      home = await makeTempDir('onggi-rclone-');
      source = join(home, 'src');
      for (const [name, data] of files) {
        await mkdir(join(source, name, '..'), { recursive: true });
        await writeFile(join(source, name), data);
      }
      await writeFile(join(home, 'big.bin'), big);
    });
    after(async () => {
      await server.destroy();
      await removeDir(home);
    });

    test('copy a tree up, list it, read it back, delete it', async () => {
      await rcloneOk(server, home, ['mkdir', 'onggi:rclone-tree']);
      await rcloneOk(server, home, ['copy', source, 'onggi:rclone-tree']);
      const listed = (await rcloneOk(server, home, ['lsf', '-R', '--files-only', 'onggi:rclone-tree'])).split('\n').filter(Boolean).sort();
      assert.deepEqual(listed, [...files.keys()].sort());
      assert.equal(await rcloneOk(server, home, ['cat', 'onggi:rclone-tree/docs/readme.txt']), 'hello from rclone\n');
      const back = join(home, 'back');
      await rcloneOk(server, home, ['copy', 'onggi:rclone-tree', back]);
      for (const [name, data] of files) assert.ok((await readFile(join(back, name))).equals(data), `${name} round trip`);
      await rcloneOk(server, home, ['check', source, 'onggi:rclone-tree']);
      await rcloneOk(server, home, ['purge', 'onggi:rclone-tree']);
      assert.equal((await rcloneOk(server, home, ['lsf', 'onggi:'])).includes('rclone-tree'), false);
    });

    test('--swift-chunk-size: a chunked upload (DLO) reads back byte-identical, check finds 0 differences, delete takes its segments', async () => {
      await rcloneOk(server, home, ['mkdir', 'onggi:rclone-big']);
      const bigDir = join(home, 'big-dir');
      await mkdir(bigDir, { recursive: true });
      await writeFile(join(bigDir, 'big.bin'), big);
      const log = await rclone(server, home, ['-vv', 'copy', bigDir, 'onggi:rclone-big', '--swift-chunk-size', '1M']);
      assert.equal(log.code, 0, log.stderr);
      const segments = log.stderr.match(/Uploading segment file "[^"]+" into "rclone-big_segments"/g) ?? [];
      assert.equal(segments.length, Math.ceil(big.length / (1024 * 1024)), log.stderr);
      const back = join(home, 'big-back.bin');
      await rcloneOk(server, home, ['copyto', 'onggi:rclone-big/big.bin', back]);
      assert.ok((await readFile(back)).equals(big));
      for (const mode of [[], ['--download']]) {
        const check = await rclone(server, home, ['check', bigDir, 'onggi:rclone-big', ...mode]);
        assert.equal(check.code, 0, check.stderr);
        assert.match(check.stderr, /0 differences found/);
      }
      await rcloneOk(server, home, ['deletefile', 'onggi:rclone-big/big.bin']);
      assert.equal((await rcloneOk(server, home, ['lsf', 'onggi:rclone-big_segments'])).trim(), '');
    });

    test('rcat of a stream over 100 KiB (sent as DLO) reads back byte-identical', async () => {
      const streamed = randomBytes(700 * 1024 + 3);
      await rcloneOk(server, home, ['mkdir', 'onggi:rclone-stream']);
      await rcloneOk(server, home, ['rcat', 'onggi:rclone-stream/piped.bin', '--swift-chunk-size', '256k'], streamed);
      const back = join(home, 'piped-back.bin');
      await rcloneOk(server, home, ['copyto', 'onggi:rclone-stream/piped.bin', back]);
      assert.ok((await readFile(back)).equals(streamed));
      const size = JSON.parse(await rcloneOk(server, home, ['size', '--json', 'onggi:rclone-stream'])) as { bytes: number };
      assert.equal(size.bytes, streamed.length);
    });

    test('an object made by an S3 multipart upload (shown as an SLO) reads back, checks and deletes', async () => {
      const parts = [randomBytes(5 * 1024 * 1024), randomBytes(4321)];
      await rcloneOk(server, home, ['mkdir', 'onggi:rclone-mpu']);
      await uploadInParts(server, 'rclone-mpu', 'mpu.bin', parts);
      const local = join(home, 'mpu-local');
      await mkdir(local, { recursive: true });
      await writeFile(join(local, 'mpu.bin'), Buffer.concat(parts));
      const back = join(home, 'mpu-back.bin');
      await rcloneOk(server, home, ['copyto', 'onggi:rclone-mpu/mpu.bin', back]);
      assert.ok((await readFile(back)).equals(Buffer.concat(parts)));
      const check = await rclone(server, home, ['check', local, 'onggi:rclone-mpu', '--download']);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stderr, /0 differences found/);
      await rcloneOk(server, home, ['deletefile', 'onggi:rclone-mpu/mpu.bin']);
      assert.equal((await rcloneOk(server, home, ['lsf', 'onggi:rclone-mpu'])).trim(), '');
    });
  });
}
