/**
 * Debian's `rclone` through its S3 backend (provider Other, path style, configured only through the environment)
 * against a real server: copy and sync of a tree with a file over the multipart cutoff, listings, ranged reads,
 * `check`, server-side copy, `rcat` of a stream, touch and settier, link, cleanup, versions, delete and purge.
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

const RCLONE = '/usr/bin/rclone';

let server: RunningServer;
let home: string;
let source: string;
const files = new Map<string, Buffer>([
  ['docs/readme.txt', Buffer.from('hello from rclone over S3\n')],
  ['docs/한글 이름 + spaces.txt', Buffer.from('unicode name\n')],
  ['images/photo.bin', randomBytes(300 * 1024)],
  // Over the 5 MiB cutoff set below: uploaded in 5 MiB chunks (three parts).
  ['big/large.bin', randomBytes(12 * 1024 * 1024 + 333)],
]);

before(async () => {
  server = await startServer();
  home = await makeTempDir('onggi-rclone-s3-');
  source = join(home, 'src');
  for (const [name, data] of files) {
    await mkdir(join(source, name, '..'), { recursive: true });
    await writeFile(join(source, name), data);
  }
});
after(async () => {
  await server.destroy();
  await removeDir(home);
});

interface Result {
  code: number | null;
  out: Buffer;
  stdout: string;
  stderr: string;
}

function rcloneEnv(): NodeJS.ProcessEnv {
  const keys = printedS3Keys(server);
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    RCLONE_CONFIG: join(home, 'rclone.conf'),
    RCLONE_CONFIG_ONGGI_TYPE: 's3',
    RCLONE_CONFIG_ONGGI_PROVIDER: 'Other',
    RCLONE_CONFIG_ONGGI_ENDPOINT: server.url,
    RCLONE_CONFIG_ONGGI_ACCESS_KEY_ID: keys.accessKeyId,
    RCLONE_CONFIG_ONGGI_SECRET_ACCESS_KEY: keys.secretAccessKey,
    RCLONE_CONFIG_ONGGI_REGION: 'kr-central-2',
    RCLONE_CONFIG_ONGGI_FORCE_PATH_STYLE: 'true',
    // Small, so a 12 MiB file and a 7 MiB stream go up in parts.
    RCLONE_S3_UPLOAD_CUTOFF: '5M',
    RCLONE_S3_CHUNK_SIZE: '5M',
  };
}

async function rclone(args: string[], input?: Buffer): Promise<Result> {
  const child = spawn(RCLONE, ['--retries', '1', '--low-level-retries', '1', ...args], { env: rcloneEnv(), stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000, killSignal: 'SIGKILL' });
  child.stdin.end(input);
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  const out = Buffer.concat(chunks);
  return { code, out, stdout: out.toString('utf8'), stderr };
}

async function rcloneOk(args: string[], input?: Buffer): Promise<string> {
  return (await rcloneAsBytes(args, input)).toString('utf8');
}

async function rcloneAsBytes(args: string[], input?: Buffer): Promise<Buffer> {
  const result = await rclone(args, input);
  assert.equal(result.code, 0, `rclone ${args.join(' ')} exited ${String(result.code)}\n${result.stdout}\n${result.stderr}`);
  return result.out;
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

interface Listed {
  Path: string;
  Size: number;
  IsDir: boolean;
  Hashes?: Record<string, string>;
}

describe('rclone (s3 backend)', { concurrency: false }, () => {
  test('mkdir, copy a tree up (a multipart file too), ls and lsjson, check with 0 differences, read back', async () => {
    await rcloneOk(['mkdir', 'onggi:rclone-s3']);
    await rcloneOk(['copy', source, 'onggi:rclone-s3']);
    const ls = (await rcloneOk(['ls', 'onggi:rclone-s3'])).trim().split('\n').map((line) => line.trim().split(/ +/).slice(1).join(' ')).sort();
    assert.deepEqual(ls, [...files.keys()].sort());
    const listed = JSON.parse(await rcloneOk(['lsjson', '-R', '--files-only', '--hash', 'onggi:rclone-s3'])) as Listed[];
    for (const entry of listed) {
      const data = files.get(entry.Path);
      assert.ok(data, entry.Path);
      assert.equal(entry.Size, data.length);
      // rclone keeps a multipart file's MD5 in its metadata; a single-part ETag is the MD5 itself.
      assert.equal(entry.Hashes?.md5, md5(data), entry.Path);
    }
    const dirs = JSON.parse(await rcloneOk(['lsjson', '--dirs-only', 'onggi:rclone-s3'])) as Listed[];
    assert.deepEqual(dirs.map((d) => d.Path).sort(), ['big', 'docs', 'images']);

    const check = await rclone(['check', source, 'onggi:rclone-s3']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /0 differences found/);
    const back = join(home, 'back');
    await rcloneOk(['copy', 'onggi:rclone-s3', back]);
    for (const [name, data] of files) assert.equal(md5(await readFile(join(back, name))), md5(data), name);
  });

  test('cat with offsets and counts (ranged GETs), a whole file too', async () => {
    const big = files.get('big/large.bin');
    assert.ok(big);
    const whole = await rcloneOk(['cat', 'onggi:rclone-s3/docs/readme.txt']);
    assert.equal(whole, 'hello from rclone over S3\n');
    const middle = await rcloneOk(['cat', '--offset', '6', '--count', '4', 'onggi:rclone-s3/docs/readme.txt']);
    assert.equal(middle, 'from');
    const tail = await rcloneOk(['cat', '--tail', '3', 'onggi:rclone-s3/docs/readme.txt']);
    assert.equal(tail, 'S3\n');
    // A range across a part boundary of the multipart object.
    const across = await rcloneAsBytes(['cat', '--offset', String(5 * 1024 * 1024 - 10), '--count', '20', 'onggi:rclone-s3/big/large.bin']);
    assert.ok(across.equals(big.subarray(5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 10)));
  });

  test('sync: changes go up, a file gone locally goes remotely, and back down', async () => {
    const tree = join(home, 'sync');
    await mkdir(join(tree, 'a'), { recursive: true });
    await writeFile(join(tree, 'a', 'one.txt'), 'one\n');
    await writeFile(join(tree, 'two.txt'), 'two\n');
    await rcloneOk(['sync', tree, 'onggi:rclone-sync/tree']);
    await writeFile(join(tree, 'two.txt'), 'two, changed\n');
    await writeFile(join(tree, 'three.txt'), 'three\n');
    await rm(join(tree, 'a', 'one.txt'));
    await rcloneOk(['sync', tree, 'onggi:rclone-sync/tree']);
    const listed = (await rcloneOk(['lsf', '-R', '--files-only', 'onggi:rclone-sync/tree'])).trim().split('\n').sort();
    assert.deepEqual(listed, ['three.txt', 'two.txt']);
    assert.equal(await rcloneOk(['cat', 'onggi:rclone-sync/tree/two.txt']), 'two, changed\n');
    const down = join(home, 'sync-down');
    await rcloneOk(['sync', 'onggi:rclone-sync/tree', down]);
    assert.equal(await readFile(join(down, 'three.txt'), 'utf8'), 'three\n');
    const check = await rclone(['check', tree, 'onggi:rclone-sync/tree']);
    assert.equal(check.code, 0, check.stderr);
  });

  test('server-side copy and move (a multipart object too), rcat of a stream', async () => {
    const big = files.get('big/large.bin');
    assert.ok(big);
    await rcloneOk(['mkdir', 'onggi:rclone-copies']);
    const copied = await rclone(['-v', 'copyto', 'onggi:rclone-s3/big/large.bin', 'onggi:rclone-copies/large-copy.bin']);
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(copied.stderr, /Copied \(server-side copy\)/);
    assert.equal(md5(await rcloneAsBytes(['cat', 'onggi:rclone-copies/large-copy.bin'])), md5(big));
    await rcloneOk(['copyto', 'onggi:rclone-s3/docs/readme.txt', 'onggi:rclone-copies/readme-copy.txt']);
    await rcloneOk(['moveto', 'onggi:rclone-copies/readme-copy.txt', 'onggi:rclone-copies/moved.txt']);
    assert.deepEqual((await rcloneOk(['lsf', 'onggi:rclone-copies'])).trim().split('\n').sort(), ['large-copy.bin', 'moved.txt']);

    // A stream of unknown length over the cutoff: rcat uploads it in parts.
    const streamed = randomBytes(7 * 1024 * 1024 + 5);
    await rcloneOk(['rcat', 'onggi:rclone-copies/streamed.bin'], streamed);
    const small = Buffer.from('a small stream\n');
    await rcloneOk(['rcat', 'onggi:rclone-copies/small-stream.txt'], small);
    assert.equal(md5(await rcloneAsBytes(['cat', 'onggi:rclone-copies/streamed.bin'])), md5(streamed));
    assert.equal(await rcloneOk(['cat', 'onggi:rclone-copies/small-stream.txt']), small.toString());
  });

  test('touch and settier (copies onto itself), md5sum, size, --fast-list, v1 listings, link (presigned), cleanup', async () => {
    const readme = files.get('docs/readme.txt');
    assert.ok(readme);
    await rcloneOk(['touch', '--timestamp', '2020-01-02T03:04:05', 'onggi:rclone-s3/docs/readme.txt']);
    const [touched] = JSON.parse(await rcloneOk(['lsjson', 'onggi:rclone-s3/docs/readme.txt'])) as Array<Listed & { ModTime: string }>;
    assert.equal(touched?.ModTime.slice(0, 19), '2020-01-02T03:04:05');
    assert.equal(await rcloneOk(['cat', 'onggi:rclone-s3/docs/readme.txt']), readme.toString());
    await rcloneOk(['settier', 'STANDARD', 'onggi:rclone-s3/docs/readme.txt']);

    const sums = await rcloneOk(['md5sum', 'onggi:rclone-s3/docs']);
    assert.match(sums, new RegExp(`${md5(readme)}  readme\\.txt`));
    const size = JSON.parse(await rcloneOk(['size', '--json', 'onggi:rclone-s3'])) as { count: number; bytes: number };
    assert.equal(size.count, files.size);
    assert.equal(size.bytes, [...files.values()].reduce((sum, data) => sum + data.length, 0));
    const fast = (await rcloneOk(['lsf', '-R', '--fast-list', '--files-only', 'onggi:rclone-s3'])).trim().split('\n').sort();
    assert.deepEqual(fast, [...files.keys()].sort());
    const v1 = (await rcloneOk(['lsf', '-R', '--s3-list-version', '1', '--s3-list-chunk', '2', '--files-only', 'onggi:rclone-s3'])).trim().split('\n').sort();
    assert.deepEqual(v1, [...files.keys()].sort());

    const link = (await rcloneOk(['link', '--expire', '5m', 'onggi:rclone-s3/docs/readme.txt'])).trim();
    const shared = await fetch(link);
    assert.equal(shared.status, 200);
    assert.equal(await shared.text(), readme.toString());
    await rcloneOk(['cleanup', 'onggi:rclone-s3']);
  });

  test('versions: backend versioning, --s3-versions, --s3-version-at, cleanup-hidden', async () => {
    await rcloneOk(['mkdir', 'onggi:rclone-versions']);
    assert.match(await rcloneOk(['backend', 'versioning', 'onggi:rclone-versions', 'Enabled']), /Enabled/);
    await rcloneOk(['rcat', 'onggi:rclone-versions/f.txt'], Buffer.from('one\n'));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await rcloneOk(['rcat', 'onggi:rclone-versions/f.txt'], Buffer.from('two\n'));
    const listed = (await rcloneOk(['lsf', '--s3-versions', 'onggi:rclone-versions'])).trim().split('\n');
    assert.equal(listed.length, 2);
    assert.ok(listed.includes('f.txt'));
    assert.match(listed.find((name) => name !== 'f.txt') ?? '', /^f-v\d{4}-\d\d-\d\d-\d{6}-\d{3}\.txt$/);
    assert.equal(await rcloneOk(['cat', '--s3-version-at', between, 'onggi:rclone-versions/f.txt']), 'one\n');
    assert.equal(await rcloneOk(['cat', 'onggi:rclone-versions/f.txt']), 'two\n');
    await rcloneOk(['delete', 'onggi:rclone-versions']);
    assert.equal((await rcloneOk(['lsf', 'onggi:rclone-versions'])).trim(), '');
    assert.equal((await rcloneOk(['lsf', '--s3-versions', 'onggi:rclone-versions'])).trim().split('\n').length, 2);
    await rcloneOk(['backend', 'cleanup-hidden', 'onggi:rclone-versions']);
    assert.equal((await rcloneOk(['lsf', '--s3-versions', 'onggi:rclone-versions'])).trim(), '');
  });

  test('delete, rmdir, purge', async () => {
    await rcloneOk(['delete', '--include', '*.txt', 'onggi:rclone-s3/docs']);
    assert.equal((await rcloneOk(['lsf', 'onggi:rclone-s3/docs'])).trim(), '');
    await rcloneOk(['deletefile', 'onggi:rclone-s3/images/photo.bin']);
    await rcloneOk(['purge', 'onggi:rclone-s3']);
    await rcloneOk(['purge', 'onggi:rclone-copies']);
    const buckets = (await rcloneOk(['lsd', 'onggi:'])).trim();
    assert.doesNotMatch(buckets, /rclone-s3|rclone-copies/);
    assert.match(buckets, /rclone-sync/);
  });
});
