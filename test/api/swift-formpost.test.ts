/** Swift FormPost over real HTTP: signed HTML form uploads, redirects, size/count limits, expiry, signatures. */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { asRecord } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, createContainer, md5Hex } from '../helpers/swift.ts';

const ACCOUNT_KEY = 'formpost-account-key-not-real';
const CONTAINER_KEY = 'formpost-container-key-not-real';

let server: RunningServer;
let root: Session;

before(async () => {
  server = await startServer();
  root = await login(server.url);
  const set = await fetch(root.storageUrl, { method: 'POST', headers: auth(root, { 'X-Account-Meta-Temp-URL-Key': ACCOUNT_KEY }) });
  assert.equal(set.status, 204);
});
after(async () => {
  await server.destroy();
});

interface FormOptions {
  /** The path below the container ('' or 'prefix/'). */
  prefix?: string;
  redirect?: string;
  maxFileSize?: number;
  maxFileCount?: number;
  expires?: number;
  key?: string;
  digest?: 'sha1' | 'sha256' | 'sha512';
  base64?: boolean;
  /** Replaces the signature. */
  signature?: string;
  files: { name: string; body: Buffer | string; type?: string }[];
  extraFields?: Record<string, string>;
}

/** POSTs a form as a browser would: the fields first, then the files. */
async function postForm(container: string, options: FormOptions): Promise<Response> {
  const path = `/v1/${root.projectId}/${container}${options.prefix ? `/${options.prefix}` : ''}`;
  const redirect = options.redirect ?? '';
  const maxFileSize = String(options.maxFileSize ?? 1024);
  const maxFileCount = String(options.maxFileCount ?? 5);
  const expires = String(options.expires ?? Math.floor(Date.now() / 1000) + 600);
  const digest = options.digest ?? 'sha256';
  const mac = createHmac(digest, options.key ?? ACCOUNT_KEY).update([path, redirect, maxFileSize, maxFileCount, expires].join('\n')).digest();
  const form = new FormData();
  form.append('redirect', redirect);
  form.append('max_file_size', maxFileSize);
  form.append('max_file_count', maxFileCount);
  form.append('expires', expires);
  form.append('signature', options.signature ?? (options.base64 ? `${digest}:${mac.toString('base64')}` : mac.toString('hex')));
  for (const [name, value] of Object.entries(options.extraFields ?? {})) form.append(name, value);
  options.files.forEach((file, i) => form.append(`file${i + 1}`, new Blob([file.body], { type: file.type ?? 'application/octet-stream' }), file.name));
  return fetch(`${server.url}${path}`, { method: 'POST', body: form, redirect: 'manual' });
}

async function objectText(container: string, key: string): Promise<{ status: number; text: string; type: string | null }> {
  const response = await fetch(`${root.storageUrl}/${container}/${key}`, { headers: auth(root) });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') };
}

async function names(container: string): Promise<string[]> {
  const response = await fetch(`${root.storageUrl}/${container}`, { headers: auth(root) });
  return (await response.text()).split('\n').filter(Boolean);
}

async function freshContainer(label: string, headers: Record<string, string> = {}): Promise<string> {
  const name = bucketName(label);
  await createContainer(root, name, headers);
  return name;
}

void describe('uploads', () => {
  test('two files → 201, stored under their names with their types', async () => {
    const container = await freshContainer('fp');
    const response = await postForm(container, { files: [{ name: 'a.txt', body: 'first file', type: 'text/plain' }, { name: 'b.json', body: '{"b":1}', type: 'application/json' }] });
    assert.equal(response.status, 201);
    assert.equal(await response.text(), '201 Created');
    assert.deepEqual(await names(container), ['a.txt', 'b.json']);
    const a = await objectText(container, 'a.txt');
    assert.equal(a.text, 'first file');
    assert.equal(a.type, 'text/plain');
    assert.equal((await objectText(container, 'b.json')).type, 'application/json');
  });

  test('to a prefix, with a redirect → 303 to it with status and message', async () => {
    const container = await freshContainer('fp-prefix');
    const response = await postForm(container, { prefix: 'uploads/', redirect: 'https://app.example/done?x=1', files: [{ name: 'c.txt', body: 'into uploads' }] });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), 'https://app.example/done?x=1&status=201&message=');
    assert.match(await response.text(), /Click to continue/);
    assert.equal((await objectText(container, 'uploads/c.txt')).text, 'into uploads');
  });

  test('signatures: sha1, sha512 and <digest>:<base64>; the container key', async () => {
    const container = await freshContainer('fp-sigs', { 'X-Container-Meta-Temp-URL-Key': CONTAINER_KEY });
    for (const [i, options] of ([{ digest: 'sha1' }, { digest: 'sha512' }, { digest: 'sha256', base64: true }, { key: CONTAINER_KEY }] as const).entries()) {
      const response = await postForm(container, { ...options, files: [{ name: `s${i}.txt`, body: 'signed' }] });
      assert.equal(response.status, 201, JSON.stringify(options));
    }
    assert.equal((await names(container)).length, 4);
  });

  test('a 3 MiB file streams through whole', async () => {
    const container = await freshContainer('fp-big');
    const body = randomBytes(3 * 1024 * 1024);
    const response = await postForm(container, { maxFileSize: 4 * 1024 * 1024, files: [{ name: 'big.bin', body }] });
    assert.equal(response.status, 201);
    const stored = await fetch(`${root.storageUrl}/${container}/big.bin`, { headers: auth(root) });
    assert.equal(md5Hex(Buffer.from(await stored.arrayBuffer())), md5Hex(body));
  });
});

void describe('limits and refusals', () => {
  test('a file over max_file_size → 400, and nothing of it stored', async () => {
    const container = await freshContainer('fp-size');
    const response = await postForm(container, { maxFileSize: 100, files: [{ name: 'big.txt', body: 'x'.repeat(101) }] });
    assert.equal(response.status, 400);
    assert.equal(await response.text(), 'FormPost: max_file_size exceeded');
    assert.deepEqual(await names(container), []);
    const large = await postForm(container, { maxFileSize: 1024 * 1024, files: [{ name: 'large.bin', body: randomBytes(3 * 1024 * 1024) }] });
    assert.equal(large.status, 400);
    assert.deepEqual(await names(container), []);
  });

  test('more files than max_file_count → 400 (the files within the count are stored, as Swift does)', async () => {
    const container = await freshContainer('fp-count');
    const files = ['1.txt', '2.txt', '3.txt'].map((name) => ({ name, body: name }));
    const response = await postForm(container, { maxFileCount: 2, files });
    assert.equal(response.status, 400);
    assert.equal(await response.text(), '400 Bad Request\r\nFormPost: Max File Count Exceeded');
    assert.deepEqual(await names(container), ['1.txt', '2.txt']);
    const redirected = await postForm(container, { maxFileCount: 0, redirect: 'https://app.example/r', files: [{ name: '4.txt', body: '4' }] });
    assert.equal(redirected.status, 303);
    assert.equal(redirected.headers.get('location'), 'https://app.example/r?status=400&message=max%20file%20count%20exceeded');
    assert.deepEqual(await names(container), ['1.txt', '2.txt']);
  });

  test('expired → 401 Form Expired, nothing stored', async () => {
    const container = await freshContainer('fp-expired');
    const response = await postForm(container, { expires: Math.floor(Date.now() / 1000) - 5, files: [{ name: 'late.txt', body: 'late' }] });
    assert.equal(response.status, 401);
    assert.equal(await response.text(), 'FormPost: Form Expired');
    assert.deepEqual(await names(container), []);
  });

  test('wrongly signed → 401 Invalid Signature, nothing stored', async () => {
    const container = await freshContainer('fp-sig');
    for (const options of [{ key: 'wrong-key' }, { signature: 'deadbeef' }, { signature: '' }]) {
      const response = await postForm(container, { ...options, files: [{ name: 'x.txt', body: 'x' }] });
      assert.equal(response.status, 401, JSON.stringify(options));
      assert.equal(await response.text(), 'FormPost: Invalid Signature');
    }
    // A form signed for one prefix, posted to another path.
    const form = await postForm(container, { prefix: 'a/', files: [{ name: 'x.txt', body: 'x' }] });
    assert.equal(form.status, 201);
    assert.deepEqual(await names(container), ['a/x.txt']);
  });

  test('fields that are not integers → 400; no files → 400', async () => {
    const container = await freshContainer('fp-fields');
    const notInteger = await postForm(container, { signature: 'x', extraFields: { max_file_count: 'many' }, files: [{ name: 'x.txt', body: 'x' }] });
    assert.equal(notInteger.status, 400);
    assert.equal(await notInteger.text(), 'FormPost: max_file_count not an integer');
    const none = await postForm(container, { files: [] });
    assert.equal(none.status, 400);
    assert.equal(await none.text(), '400 Bad Request\r\nFormPost: No Files To Process');
    assert.deepEqual(await names(container), []);
  });

  test('a malformed form → 400, and the server goes on', async () => {
    const container = await freshContainer('fp-malformed');
    const response = await fetch(`${server.url}/v1/${root.projectId}/${container}`, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=xyz' },
      body: 'no parts here at all',
    });
    assert.equal(response.status, 400);
    assert.equal(await response.text(), 'FormPost: invalid starting boundary');
    assert.deepEqual(await names(container), []);
  });

  test('/info advertises formpost', async () => {
    const info = asRecord(await (await fetch(`${server.url}/info`)).json());
    assert.deepEqual(asRecord(info.formpost).allowed_digests, ['sha1', 'sha256', 'sha512']);
  });
});
