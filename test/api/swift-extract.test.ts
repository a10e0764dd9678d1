/**
 * Swift's extract-archive over real HTTP: tar, tar.gz and tar.bz2 archives (made by the system's tar) PUT to a
 * container (with a prefix) or to the account (containers made as needed), answered in Swift's bulk format;
 * malformed archives, unsupported formats, names without a container, quotas.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { asRecord } from '../helpers/accounts.ts';
import { login, makeTempDir, removeDir, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, createContainer } from '../helpers/swift.ts';

const run = promisify(execFile);
let server: RunningServer;
let root: Session;
let work: string;

before(async () => {
  server = await startServer();
  root = await login(server.url);
  work = await makeTempDir('onggi-extract-');
});
after(async () => {
  await server.destroy();
  await removeDir(work);
});

let archives = 0;
/** An archive of `files` made by tar (`flags`: '', 'z' or 'j'). */
async function archiveOf(files: Record<string, string>, flags = ''): Promise<Buffer> {
  const dir = join(work, `a${++archives}`);
  for (const [name, body] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), body);
  }
  const { stdout } = await run('/usr/bin/tar', [`-c${flags}f`, '-', '-C', dir, ...Object.keys(files)], { encoding: 'buffer', maxBuffer: 1 << 24 });
  return stdout;
}

async function extract(path: string, kind: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(`${root.storageUrl}${path}?extract-archive=${kind}`, { method: 'PUT', headers: auth(root, headers), body });
  return { status: response.status, text: await response.text() };
}

async function read(path: string): Promise<string> {
  const response = await fetch(`${root.storageUrl}/${path}`, { headers: auth(root) });
  assert.equal(response.status, 200, path);
  return response.text();
}

void describe('extract-archive', () => {
  test('tar into a container and prefix: each file an object; the plain bulk answer', async () => {
    const container = bucketName('ex-tar');
    await createContainer(root, container);
    const tar = await archiveOf({ 'a.txt': 'first', 'dir/b.txt': 'second' });
    const answer = await extract(`/${container}/under`, 'tar', tar);
    assert.equal(answer.status, 200);
    assert.equal(answer.text, 'Number Files Created: 2\nResponse Body: \nResponse Status: 201 Created\nErrors:\n');
    assert.equal(await read(`${container}/under/a.txt`), 'first');
    assert.equal(await read(`${container}/under/dir/b.txt`), 'second');
  });

  test('tar.gz into the account: containers made as needed; JSON by Accept', async () => {
    const one = bucketName('ex-gz1');
    const two = bucketName('ex-gz2');
    const gz = await archiveOf({ [`${one}/x.txt`]: 'x'.repeat(100_000), [`${two}/deep/y.txt`]: 'y', [`${two}/z.txt`]: 'z' }, 'z');
    const answer = await extract('', 'tar.gz', gz, { Accept: 'application/json' });
    assert.deepEqual(JSON.parse(answer.text), { 'Number Files Created': 3, 'Response Body': '', 'Response Status': '201 Created', Errors: [] });
    assert.equal(await read(`${one}/x.txt`), 'x'.repeat(100_000));
    assert.equal(await read(`${two}/deep/y.txt`), 'y');
    assert.equal(await read(`${two}/z.txt`), 'z');
  });

  test('tar.bz2 into a container; XML by Accept', async () => {
    const container = bucketName('ex-bz2');
    await createContainer(root, container);
    const bz2 = await archiveOf({ 'z.txt': 'zipped' }, 'j');
    const answer = await extract(`/${container}`, 'tar.bz2', bz2, { Accept: 'application/xml' });
    assert.match(answer.text, /<extract>\n<number_files_created>1<\/number_files_created>\n<response_body><\/response_body>\n<response_status>201 Created<\/response_status>\n<errors>\n<\/errors>\n<\/extract>/);
    assert.equal(await read(`${container}/z.txt`), 'zipped');
  });

  test('a file with no container (at the account) is listed as 400; the others are stored', async () => {
    const container = bucketName('ex-mixed');
    const tar = await archiveOf({ 'loose.txt': 'no container', [`${container}/ok.txt`]: 'ok' });
    const answer = await extract('', 'tar', tar, { Accept: 'application/json' });
    const body = asRecord(JSON.parse(answer.text));
    assert.equal(body['Number Files Created'], 1);
    assert.equal(body['Response Status'], '400 Bad Request');
    assert.deepEqual(body.Errors, [['/loose.txt', '400 Bad Request']]);
    assert.equal(await read(`${container}/ok.txt`), 'ok');
  });

  test('malformed archives: Invalid Tar File, 400 in the answer, nothing stored', async () => {
    const container = bucketName('ex-bad');
    await createContainer(root, container);
    const garbage = await extract(`/${container}`, 'tar', Buffer.alloc(2048, 'not a tar archive '));
    assert.match(garbage.text, /Response Body: Invalid Tar File: /);
    assert.match(garbage.text, /Response Status: 400 Bad Request/);
    const gz = await archiveOf({ 'whole.txt': 'w'.repeat(50_000) }, 'z');
    const truncated = await extract(`/${container}`, 'tar.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    assert.match(truncated.text, /Invalid Tar File: /);
    const notGzip = await extract(`/${container}`, 'tar.gz', await archiveOf({ 'plain.txt': 'p' }));
    assert.match(notGzip.text, /Invalid Tar File: /);
    const listing = await fetch(`${root.storageUrl}/${container}`, { headers: auth(root) });
    assert.equal(listing.status, 204);
    const empty = await extract(`/${container}`, 'tar', Buffer.alloc(1024));
    assert.match(empty.text, /Invalid Tar File: No Valid Files/);
  });

  test('an unsupported format → 400', async () => {
    const response = await extract('', 'zip', Buffer.from('x'));
    assert.equal(response.status, 400);
    assert.equal(response.text, 'Unsupported archive format');
  });

  test("a container's quota: the file past it is listed 413, the rest stored", async () => {
    const container = bucketName('ex-quota');
    await createContainer(root, container, { 'X-Container-Meta-Quota-Bytes': '10' });
    const tar = await archiveOf({ '1.txt': '123456', '2.txt': '123456789' });
    const body = asRecord(JSON.parse((await extract(`/${container}`, 'tar', tar, { Accept: 'application/json' })).text));
    assert.equal(body['Number Files Created'], 1);
    assert.deepEqual(body.Errors, [[`/${container}/2.txt`, '413 Request Entity Too Large']]);
  });

  test('/info lists bulk_upload with its limits', async () => {
    const info = asRecord(await (await fetch(`${server.url}/info`)).json());
    assert.deepEqual(info.bulk_upload, { max_containers_per_extraction: 10_000, max_failed_extractions: 1000 });
  });
});
