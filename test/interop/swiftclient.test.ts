/**
 * Drives the real OpenStack `swift` CLI (Debian's python3-swiftclient + keystoneauth1) against Onggi, with Keystone v3
 * application-credential auth: exactly what a KakaoCloud user gets with the access key ID and secret.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uploadInParts } from '../helpers/s3.ts';
import { login, makeTempDir, removeDir, ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer, type Session } from '../helpers/server.ts';

/** Debian's CLI; a `swift` earlier on PATH (pyenv, venv) may be another version or missing keystoneauth. */
const SWIFT = '/usr/bin/swift';
const CLI_TIMEOUT_MS = 120_000;

const CONTAINER = 'cli-photos';
const COPIES = 'cli-copies';
const SPACED_NAME = '파일 with space é.txt';

let server: RunningServer;
let session: Session;
let work: string;
let home: string;
/** Local source tree, uploaded with cwd = work so object names are the relative paths. */
let files: Map<string, Buffer>;

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with a clean environment (no OS_* / ST_* leftovers from the caller), a UTF-8 locale and a timeout. */
async function swift(args: string[], options: { authUrl?: string; cwd?: string; server?: RunningServer; input?: Buffer } = {}): Promise<CliResult> {
  const auth = [
    '--os-auth-url',
    options.authUrl ?? `${(options.server ?? server).url}/identity/v3`,
    '--auth-version',
    '3',
    '--os-auth-type',
    'v3applicationcredential',
    '--os-application-credential-id',
    ROOT_KEY_ID,
    '--os-application-credential-secret',
    ROOT_SECRET,
  ];
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' };
  const child = spawn(SWIFT, [...auth, ...args], {
    cwd: options.cwd ?? work,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: CLI_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  child.stdin.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

/** Runs the CLI with `input` on its standard input. */
async function swiftStdin(args: string[], input: Buffer, server?: RunningServer): Promise<CliResult> {
  return swift(args, server ? { server, input } : { input });
}

/** Runs the CLI and asserts a clean exit; returns stdout. */
async function swiftOk(args: string[], options: { authUrl?: string; cwd?: string; server?: RunningServer } = {}): Promise<string> {
  const result = await swift(args, options);
  assert.equal(
    result.code,
    0,
    `swift ${args.join(' ')} exited ${String(result.code)} (signal ${String(result.signal)})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
  return result.stdout;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

/** `swift stat` prints right-aligned "Key: value" lines. */
function parseStat(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of lines(text)) {
    const match = /^\s*([^:]+?):\s?(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) fields.set(match[1].trim(), match[2].trim());
  }
  return fields;
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, '$1');
}

/** Every regular file under dir, keyed by its path relative to dir with '/' separators. */
async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) found.set(relative(dir, path).split(sep).join('/'), await readFile(path));
    }
  };
  await walk(dir);
  return found;
}

function assertSameFiles(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, data] of expected) {
    const got = actual.get(name);
    assert.ok(got, `${name} missing`);
    assert.equal(got.length, data.length, `${name}: length`);
    assert.ok(got.equals(data), `${name}: bytes differ`);
  }
}

interface ListedObject {
  name: string;
  bytes: number;
  hash: string;
  content_type: string;
}

async function listJson(container: string, ...extra: string[]): Promise<ListedObject[]> {
  return JSON.parse(await swiftOk(['list', container, '--json', ...extra])) as ListedObject[];
}

before(async () => {
  server = await startServer();
  session = await login(server.url);
  work = await makeTempDir('onggi-swiftcli-');
  home = join(work, 'home');
  await mkdir(home);
  files = new Map<string, Buffer>([
    ['single.txt', Buffer.from('a single file for the swift CLI\n')],
    ['tree/top.txt', Buffer.from('top of the tree\n')],
    ['tree/a/notes.md', Buffer.from('# notes\n\nnested one level\n')],
    ['tree/a/big.bin', randomBytes(3 * 1024 * 1024 + 12345)],
    [`tree/a/b/${SPACED_NAME}`, Buffer.from('spaces and non-ASCII in the name\n')],
    ['tree/a/b/c/deep.json', Buffer.from(JSON.stringify({ deep: true }))],
  ]);
  for (const [name, data] of files) {
    await mkdir(join(work, ...name.split('/').slice(0, -1)), { recursive: true });
    await writeFile(join(work, ...name.split('/')), data);
  }
  await mkdir(join(work, 'tree', 'empty'));
});

after(async () => {
  await server.destroy();
  await removeDir(work);
});

void describe('swift CLI with Keystone v3 application credentials', { concurrency: false }, () => {
  void test('auth returns the storage URL of the project and a token', async () => {
    const out = await swiftOk(['auth']);
    assert.match(out, new RegExp(`OS_STORAGE_URL=${session.storageUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`));
    assert.match(out, /OS_AUTH_TOKEN=\S+/);
    // An auth URL without the version goes through Keystone version discovery first.
    const discovered = await swiftOk(['auth'], { authUrl: `${server.url}/identity` });
    assert.match(discovered, /OS_STORAGE_URL=\S+/);
    assert.ok(discovered.includes(session.storageUrl), discovered);
    // Discovery clients probe the version documents with GET or HEAD.
    for (const [path, status] of [['/identity', 300], ['/identity/v3', 200]] as const) {
      const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
      assert.equal(head.status, status, `HEAD ${path}`);
      assert.equal(await head.text(), '');
      assert.equal((await fetch(`${server.url}${path}`)).status, status, `GET ${path}`);
    }
  });

  void test('stat on a fresh account', async () => {
    const fields = parseStat(await swiftOk(['stat']));
    assert.equal(fields.get('Account'), session.projectId);
    assert.equal(fields.get('Containers'), '0');
    assert.equal(fields.get('Objects'), '0');
    assert.equal(fields.get('Bytes'), '0');
  });

  void test('post creates a container with metadata', async () => {
    await swiftOk(['post', '-m', 'Owner:onggi', '-m', 'Team:storage', CONTAINER]);
    const fields = parseStat(await swiftOk(['stat', CONTAINER]));
    assert.equal(fields.get('Container'), CONTAINER);
    assert.equal(fields.get('Objects'), '0');
    assert.equal(fields.get('Meta Owner'), 'onggi');
    assert.equal(fields.get('Meta Team'), 'storage');
    assert.deepEqual(lines(await swiftOk(['list'])), [CONTAINER]);
    // post again updates the metadata of the existing container
    await swiftOk(['post', '-m', 'Team:objects', CONTAINER]);
    assert.equal(parseStat(await swiftOk(['stat', CONTAINER])).get('Meta Team'), 'objects');
  });

  void test('upload a single file with metadata and a content type', async () => {
    const out = await swiftOk(['upload', CONTAINER, 'single.txt', '-m', 'Color:Blue', '-H', 'Content-Type: text/x-onggi']);
    assert.deepEqual(lines(out), ['single.txt']);
    const fields = parseStat(await swiftOk(['stat', CONTAINER, 'single.txt']));
    const data = files.get('single.txt') ?? Buffer.alloc(0);
    assert.equal(fields.get('Object'), 'single.txt');
    assert.equal(fields.get('Content Type'), 'text/x-onggi');
    assert.equal(fields.get('Content Length'), String(data.length));
    assert.equal(unquote(fields.get('ETag')), md5(data));
    assert.equal(fields.get('Meta Color'), 'Blue');
    assert.ok(fields.has('Meta Mtime'), 'the CLI stores the file mtime as X-Object-Meta-Mtime');
  });

  void test('upload a directory tree (nested dirs, a 3 MB file, spaces and non-ASCII names, an empty dir)', async () => {
    const out = await swiftOk(['upload', CONTAINER, 'tree']);
    const expected = [...files.keys()].filter((name) => name.startsWith('tree/')).concat('tree/empty');
    assert.deepEqual(lines(out).sort(), expected.sort());

    const listed = await listJson(CONTAINER);
    assert.deepEqual(
      listed.map((entry) => entry.name),
      [...files.keys(), 'tree/empty'].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    for (const entry of listed) {
      const data = files.get(entry.name);
      if (entry.name === 'tree/empty') {
        assert.equal(entry.bytes, 0);
        assert.equal(entry.content_type, 'application/directory');
        continue;
      }
      assert.ok(data, entry.name);
      assert.equal(entry.bytes, data.length, entry.name);
      assert.equal(entry.hash, md5(data), entry.name);
    }
    const big = parseStat(await swiftOk(['stat', CONTAINER, 'tree/a/big.bin']));
    assert.equal(big.get('Content Length'), String(files.get('tree/a/big.bin')?.length));
  });

  void test('list an account and a container with --prefix and --delimiter', async () => {
    assert.deepEqual(lines(await swiftOk(['list', '--prefix', 'cli-'])), [CONTAINER]);
    assert.deepEqual(lines(await swiftOk(['list', '--prefix', 'nothing-'])), []);
    assert.deepEqual(lines(await swiftOk(['list', CONTAINER, '--delimiter', '/'])), ['single.txt', 'tree/']);
    assert.deepEqual(lines(await swiftOk(['list', CONTAINER, '--prefix', 'tree/', '--delimiter', '/'])), ['tree/a/', 'tree/empty', 'tree/top.txt']);
    assert.deepEqual(lines(await swiftOk(['list', CONTAINER, '--prefix', 'tree/a/b/', '--delimiter', '/'])), [
      'tree/a/b/c/',
      `tree/a/b/${SPACED_NAME}`,
    ]);
    // A prefix is a plain string prefix, not a path segment.
    assert.deepEqual(lines(await swiftOk(['list', CONTAINER, '--prefix', 'tree/a/b'])), [
      'tree/a/b/c/deep.json',
      `tree/a/b/${SPACED_NAME}`,
      'tree/a/big.bin',
    ]);
    const long = lines(await swiftOk(['list', CONTAINER, '--long', '--prefix', 'tree/a/big']));
    assert.equal(long.length, 2, long.join('\n'));
    assert.match(long[0] ?? '', new RegExp(`^\\s*${files.get('tree/a/big.bin')?.length}\\s.*tree/a/big\\.bin$`));
  });

  void test('download a single object, including one with spaces and non-ASCII in its name', async () => {
    const out = join(work, 'download-single');
    await mkdir(out);
    await swiftOk(['download', CONTAINER, 'tree/a/big.bin', '-o', join(out, 'big.bin')]);
    assert.ok((await readFile(join(out, 'big.bin'))).equals(files.get('tree/a/big.bin') ?? Buffer.alloc(0)));
    await swiftOk(['download', CONTAINER, `tree/a/b/${SPACED_NAME}`, '-o', join(out, 'spaced.txt')]);
    assert.ok((await readFile(join(out, 'spaced.txt'))).equals(files.get(`tree/a/b/${SPACED_NAME}`) ?? Buffer.alloc(0)));
    const piped = await swift(['download', CONTAINER, 'single.txt', '-o', '-']);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, files.get('single.txt')?.toString('utf8'));
  });

  void test('download a whole container and a prefix to a directory', async () => {
    const out = join(work, 'download-all');
    await swiftOk(['download', CONTAINER, '-D', out]);
    assertSameFiles(await readTree(out), files);
    assert.ok((await stat(join(out, 'tree', 'empty'))).isDirectory(), 'the directory marker comes back as a directory');

    const partial = join(work, 'download-prefix');
    await swiftOk(['download', CONTAINER, '--prefix', 'tree/a/b/', '--remove-prefix', '-D', partial]);
    const expected = new Map([...files].filter(([name]) => name.startsWith('tree/a/b/')).map(([name, data]) => [name.slice('tree/a/b/'.length), data]));
    assertSameFiles(await readTree(partial), expected);
  });

  void test('post replaces object metadata', async () => {
    await swiftOk(['post', CONTAINER, 'single.txt', '-m', 'Color:Red', '-m', 'Shape:Round']);
    const fields = parseStat(await swiftOk(['stat', CONTAINER, 'single.txt']));
    assert.equal(fields.get('Meta Color'), 'Red');
    assert.equal(fields.get('Meta Shape'), 'Round');
    assert.equal(fields.has('Meta Mtime'), false, 'POST replaces the whole set of user metadata');
    assert.equal(fields.get('Content Type'), 'text/x-onggi', 'POST without Content-Type keeps it');
  });

  void test('copy within a container, to another container, and with fresh metadata', async () => {
    const copied = await swiftOk(['copy', CONTAINER, 'single.txt', '--destination', `/${CONTAINER}/single-copy.txt`, '-m', 'Extra:yes']);
    assert.match(copied, /copied to/);
    const same = parseStat(await swiftOk(['stat', CONTAINER, 'single-copy.txt']));
    assert.equal(same.get('Meta Color'), 'Red');
    assert.equal(same.get('Meta Extra'), 'yes');
    assert.equal(same.get('Content Type'), 'text/x-onggi');
    assert.equal(unquote(same.get('ETag')), md5(files.get('single.txt') ?? Buffer.alloc(0)));

    // The CLI creates the destination container when it is missing.
    await swiftOk(['copy', CONTAINER, 'tree/a/big.bin', '--destination', `/${COPIES}/big-copy.bin`]);
    const out = join(work, 'download-copy');
    await mkdir(out);
    await swiftOk(['download', COPIES, 'big-copy.bin', '-o', join(out, 'big-copy.bin')]);
    assert.ok((await readFile(join(out, 'big-copy.bin'))).equals(files.get('tree/a/big.bin') ?? Buffer.alloc(0)));

    await swiftOk(['copy', CONTAINER, 'single.txt', '--destination', `/${COPIES}/fresh.txt`, '--fresh-metadata', '-m', 'Only:this']);
    const fresh = parseStat(await swiftOk(['stat', COPIES, 'fresh.txt']));
    assert.equal(fresh.get('Meta Only'), 'this');
    assert.equal(fresh.has('Meta Color'), false, '--fresh-metadata drops the source metadata');
  });

  void test('stat of the account counts containers, objects and bytes', async () => {
    const fields = parseStat(await swiftOk(['stat']));
    const photos = await listJson(CONTAINER);
    const copies = await listJson(COPIES);
    const all = [...photos, ...copies];
    assert.equal(fields.get('Containers'), '2');
    assert.equal(fields.get('Objects'), String(all.length));
    assert.equal(fields.get('Bytes'), String(all.reduce((sum, entry) => sum + entry.bytes, 0)));
    const container = parseStat(await swiftOk(['stat', CONTAINER]));
    assert.equal(container.get('Objects'), String(photos.length));
    assert.equal(container.get('Bytes'), String(photos.reduce((sum, entry) => sum + entry.bytes, 0)));
  });

  void test('delete an object, then whole containers', async () => {
    assert.deepEqual(lines(await swiftOk(['delete', CONTAINER, 'single-copy.txt'])), ['single-copy.txt']);
    assert.equal((await listJson(CONTAINER)).some((entry) => entry.name === 'single-copy.txt'), false);
    const stale = await swift(['stat', CONTAINER, 'single-copy.txt']);
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /404|not found/i);
    const missing = await swift(['delete', CONTAINER, 'never-there.txt']);
    assert.notEqual(missing.code, 0, 'deleting a missing object is an error');

    // `swift delete CONTAINER` deletes every object, then the container.
    await swiftOk(['delete', COPIES]);
    await swiftOk(['delete', CONTAINER]);
    assert.deepEqual(lines(await swiftOk(['list'])), []);
    const gone = await swift(['stat', CONTAINER]);
    assert.notEqual(gone.code, 0);
    const fields = parseStat(await swiftOk(['stat']));
    assert.equal(fields.get('Containers'), '0');
    assert.equal(fields.get('Objects'), '0');
  });
});

/**
 * Segmented uploads (`--segment-size`) as the CLI makes them: segments in `<container>_segments`, then an SLO
 * manifest (`--use-slo`) or a DLO one (`X-Object-Manifest`); downloaded byte-identical, deleted with their segments
 * (in both naming profiles).
 */
for (const profile of ['kakaocloud', 'swift'] as const) {
  void describe(`swift CLI segmented uploads, ${profile} names`, { concurrency: false }, () => {
    const large = 'cli-large';
    let own: RunningServer | null = null;
    before(async () => {
      if (profile === 'swift') own = await startServer({ env: { ONGGI_BUCKET_NAMES: 'swift' } });
      await swiftOk(['post', large], { server: own ?? server });
    });
    after(async () => {
      await own?.destroy();
    });

    for (const [kind, flags] of [
      ['DLO (X-Object-Manifest)', []],
      ['SLO (multipart-manifest=put)', ['--use-slo']],
    ] as const) {
      void test(`--segment-size as ${kind}: upload, stat, download byte-identical, delete with its segments`, async () => {
        const target = own ?? server;
        const name = `segmented-${flags.length}.bin`;
        const data = files.get('tree/a/big.bin') ?? Buffer.alloc(0);
        await swiftOk(['upload', large, 'tree/a/big.bin', '--object-name', name, '--segment-size', String(1024 * 1024), ...flags], { server: target });
        const segments = lines(await swiftOk(['list', `${large}_segments`, '--prefix', `${name}/`], { server: target }));
        assert.equal(segments.length, Math.ceil(data.length / (1024 * 1024)), `segments of ${name}`);
        const stat = parseStat(await swiftOk(['stat', large, name], { server: target }));
        assert.equal(stat.get('Content Length'), String(data.length));
        if (flags.length > 0) assert.equal(stat.get('Manifest'), undefined);
        else assert.match(stat.get('Manifest') ?? '', new RegExp(`^${large}_segments/${name}/`));
        const out = join(work, `download-${profile}-${flags.length}`);
        await swiftOk(['download', large, name, '-o', out], { server: target });
        assert.ok((await readFile(out)).equals(data), 'downloaded bytes');
        // Uploading the same file again replaces the manifest; the old segments go (the CLI deletes them itself).
        await swiftOk(['upload', large, 'tree/a/big.bin', '--object-name', name, '--segment-size', String(2 * 1024 * 1024), ...flags], { server: target });
        await swiftOk(['download', large, name, '-o', out], { server: target });
        assert.ok((await readFile(out)).equals(data), 'downloaded bytes after the re-upload');
        assert.equal(lines(await swiftOk(['list', `${large}_segments`, '--prefix', `${name}/`], { server: target })).length, Math.ceil(data.length / (2 * 1024 * 1024)));
        await swiftOk(['delete', large, name], { server: target });
        assert.deepEqual(lines(await swiftOk(['list', `${large}_segments`, '--prefix', `${name}/`], { server: target })), []);
        const gone = await swift(['stat', large, name], { server: target });
        assert.notEqual(gone.code, 0, 'the manifest is gone');
      });
    }

    void test('upload from stdin (an SLO of streamed segments) downloads byte-identical', async () => {
      const target = own ?? server;
      const data = files.get('tree/a/big.bin') ?? Buffer.alloc(0);
      const piped = await swiftStdin(['upload', large, '-', '--object-name', 'streamed.bin', '--segment-size', String(1024 * 1024)], data, target);
      assert.equal(piped.code, 0, piped.stderr);
      const out = join(work, `streamed-${profile}`);
      await swiftOk(['download', large, 'streamed.bin', '-o', out], { server: target });
      assert.ok((await readFile(out)).equals(data));
    });
  });
}

void describe('swift CLI with versioned containers', { concurrency: false }, () => {
  const versioned = 'cli-versioned';
  const readBack = async (args: string[]): Promise<string> => {
    const out = join(work, 'version-read');
    await swiftOk(['download', ...args, '-o', out]);
    return readFile(out, 'utf8');
  };

  void test('X-Versions-Enabled: list --versions, download and delete by --version-id, delete markers', async () => {
    await swiftOk(['post', '-H', 'X-Versions-Enabled: true', versioned]);
    for (const body of ['first version\n', 'second version\n']) {
      await writeFile(join(work, 'versioned.txt'), body);
      await swiftOk(['upload', versioned, 'versioned.txt']);
    }
    const listed = (await listJson(versioned, '--versions')) as (ListedObject & { version_id: string })[];
    assert.equal(listed.length, 2);
    const [newest, oldest] = listed;
    assert.ok(newest && oldest);
    assert.notEqual(newest.version_id, oldest.version_id);
    assert.equal(await readBack([versioned, 'versioned.txt', '--version-id', oldest.version_id]), 'first version\n');
    assert.equal(await readBack([versioned, 'versioned.txt']), 'second version\n');
    const plain = lines(await swiftOk(['list', versioned, '--versions']));
    assert.ok(plain.some((line) => line.includes(oldest.version_id) && line.endsWith('versioned.txt')), plain.join('\n'));
    await swiftOk(['delete', versioned, 'versioned.txt']);
    const afterDelete = (await listJson(versioned, '--versions')) as (ListedObject & { version_id: string })[];
    assert.equal(afterDelete.length, 3);
    assert.equal(afterDelete[0]?.content_type, 'application/x-deleted;swift_versions_deleted=1');
    assert.notEqual((await swift(['stat', versioned, 'versioned.txt'])).code, 0, 'hidden by the delete marker');
    assert.equal(await readBack([versioned, 'versioned.txt', '--version-id', newest.version_id]), 'second version\n');
    await swiftOk(['delete', versioned, 'versioned.txt', '--version-id', oldest.version_id]);
    assert.equal((await listJson(versioned, '--versions')).length, 2);
    // --versions deletes every version and marker, then the container.
    await swiftOk(['delete', versioned, '--versions']);
    assert.equal(lines(await swiftOk(['list'])).includes(versioned), false);
  });

  void test('X-Versions-Location: overwrites are kept in the archive, delete restores the previous one', async () => {
    await swiftOk(['post', 'cli-archive']);
    await swiftOk(['post', '-H', 'X-Versions-Location: cli-archive', 'cli-stacked']);
    for (const body of ['kept\n', 'latest\n']) {
      await writeFile(join(work, 'stacked.txt'), body);
      await swiftOk(['upload', 'cli-stacked', 'stacked.txt']);
    }
    assert.equal(lines(await swiftOk(['list', 'cli-archive'])).length, 1);
    await swiftOk(['delete', 'cli-stacked', 'stacked.txt']);
    assert.equal(await readBack(['cli-stacked', 'stacked.txt']), 'kept\n');
    assert.deepEqual(lines(await swiftOk(['list', 'cli-archive'])), []);
  });
});

/**
 * An object made by a multipart upload (S3's, or the Swift-side verbs: one parts model) shows as an SLO, as Swift's
 * S3 layer stores one: the CLI then downloads it without comparing its `<md5 of md5s>-N` ETag with the bytes' MD5,
 * and deletes it with `?multipart-manifest=delete`.
 */
void describe('swift CLI on an object made by a multipart upload', () => {
  test('S3 multipart upload: stat, download byte-identical, delete', async () => {
    const container = 'cli-multipart';
    await swiftOk(['post', container]);
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1000)];
    await uploadInParts(server, container, 'mpu.bin', parts);
    const stat = parseStat(await swiftOk(['stat', container, 'mpu.bin']));
    assert.equal(stat.get('Content Length'), String(Buffer.concat(parts).length));
    assert.match(stat.get('ETag') ?? '', /^[0-9a-f]{32}-2$/);
    const out = join(work, 'multipart-download');
    await swiftOk(['download', container, 'mpu.bin', '-o', out]);
    assert.ok((await readFile(out)).equals(Buffer.concat(parts)), 'downloaded bytes');
    await swiftOk(['delete', container, 'mpu.bin']);
    assert.notEqual((await swift(['stat', container, 'mpu.bin'])).code, 0, 'deleted');
    await swiftOk(['delete', container]);
  });
});
