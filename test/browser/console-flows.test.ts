/**
 * The console's own flows, one after another as a user goes through them. Each step checks what the page
 * shows and then what Onggi's API holds afterwards.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { admin, login, removeDir, type Session } from '../helpers/server.ts';
import { type ConsolePage, type ConsoleServer, createBucket, drawJpeg, launchChromium, openConsole, screenshot, signIn, signInKorean, startConsoleServer, stepsInOrder } from './harness.ts';

const BUCKET = 'team-photos';
const OTHER_BUCKET = 'team-backup';
const FOLDER = 'reports';
const IMAGE = 'sunrise.jpg';
const BIG = 'survey-data.bin';
const BIG_SIZE = 50 * 1024 * 1024;
const CANCELLED = 'cancelled-upload.bin';

let server: ConsoleServer;
let browser: Browser;
let api: Session;
let user: ConsolePage;
let page: Page;
let files: string;
let image: Buffer;
let bigMd5: string;

before(async () => {
  [server, browser, files] = await Promise.all([startConsoleServer(), launchChromium(), mkdtemp(join(tmpdir(), 'onggi-console-files-'))]);
  api = await login(server.url);
  user = await openConsole(browser, server.url);
  page = user.page;
  image = await drawJpeg(page);
  const big = randomBytes(BIG_SIZE);
  bigMd5 = createHash('md5').update(big).digest('hex');
  await Promise.all([writeFile(join(files, IMAGE), image), writeFile(join(files, BIG), big), writeFile(join(files, CANCELLED), big.subarray(0, 20 * 1024 * 1024))]);
});
after(async () => {
  await browser.close();
  await server.destroy();
  await removeDir(files);
});

async function apiGet(path: string): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers: { 'X-Auth-Token': api.token } });
}

async function apiHead(bucket: string, key: string): Promise<Response> {
  return fetch(`${api.storageUrl}/${bucket}/${key}`, { method: 'HEAD', headers: { 'X-Auth-Token': api.token } });
}

async function bucketJson(name: string): Promise<{ use_encryption: boolean; acl: { public: string; public_read_allow_ip_list: string[] }; objectCount: number }> {
  const response = await apiGet(`/v1_ext/bucket/${name}`);
  assert.equal(response.status, 200);
  return (await response.json()) as { use_encryption: boolean; acl: { public: string; public_read_allow_ip_list: string[] }; objectCount: number };
}

const step = stepsInOrder();

function dialog(name: string) {
  return page.getByRole('dialog', { name });
}

function row(key: string) {
  return page.locator(`tr[data-key="${key}"]`);
}

step('sign in: a wrong secret is refused in place; the right one shows the project', async () => {
  await screenshot(page, 'sign-in');
  await signInExpectingError();
  await signIn(page);
  const project = page.locator('[data-project-id]');
  assert.equal(await project.getAttribute('data-project-id'), api.projectId);
  assert.equal(await project.innerText(), 'default');
  const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('onggi.session'), local: JSON.stringify(localStorage) }));
  assert.doesNotMatch(stored.local, /token/i, 'the token is never put in local storage');
  const token = (JSON.parse(stored.session ?? '{}') as { token?: string }).token ?? '';
  const validated = await fetch(`${server.url}/identity/v3/auth/tokens`, { headers: { 'X-Auth-Token': api.token, 'X-Subject-Token': token } });
  assert.equal(validated.status, 200, 'the session token is a live IAM token');
});

async function signInExpectingError(): Promise<void> {
  await page.getByLabel('Access key ID').fill('test-root-key-id');
  await page.getByLabel('Secret access key').fill('not-the-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').getByText('The access key ID or secret is wrong').waitFor();
}

step('create an encrypted bucket: the name is checked as it is typed; a taken name is refused with the reason', async () => {
  await createBucket(server.url, api.token, OTHER_BUCKET);
  await page.getByRole('button', { name: 'Create bucket' }).click();
  const create = dialog('Create bucket');
  await create.getByLabel('Bucket name').waitFor();
  await page.keyboard.press('Escape');
  await create.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Create bucket' }).click();
  const name = create.getByLabel('Bucket name');
  await name.fill('Team_Photos');
  await create.getByText('Use only lowercase letters').waitFor();
  assert.equal(await create.getByRole('button', { name: 'Create', exact: true }).isDisabled(), true);
  await name.fill('info');
  await create.getByText('reserved').waitFor();
  await name.fill(OTHER_BUCKET);
  await create.getByRole('button', { name: 'Create', exact: true }).click();
  await create.getByRole('alert').getByText('A bucket with this name already exists').waitFor();

  await name.fill(BUCKET);
  await create.getByLabel('Enabled').check();
  await screenshot(page, 'create-bucket');
  await create.getByRole('button', { name: 'Create', exact: true }).click();
  await create.waitFor({ state: 'detached' });
  const bucketRow = page.locator(`tr[data-bucket="${BUCKET}"]`);
  await bucketRow.waitFor();
  assert.match(await bucketRow.innerText(), /Encrypted[\s\S]*Private/);
  assert.equal((await bucketJson(BUCKET)).use_encryption, true);

  await page.getByLabel('Search buckets by name').fill('photo');
  await page.locator(`tr[data-bucket="${OTHER_BUCKET}"]`).waitFor({ state: 'detached' });
  assert.equal(await page.locator('tr[data-bucket]').count(), 1);
  await page.getByLabel('Search buckets by name').fill('');
  await page.locator(`tr[data-bucket="${OTHER_BUCKET}"]`).waitFor();
});

step('make the bucket public with an IP allow list: bad entries are named before anything is sent', async () => {
  await page.getByRole('link', { name: BUCKET, exact: true }).click();
  await page.getByRole('tab', { name: 'Settings' }).click();
  const access = page.getByRole('form', { name: 'Access', exact: true });
  await access.getByLabel('Public read-only access').check();
  const list = access.getByLabel('IP allow list');
  await list.fill('10.0.0.0/8\n300.1.2.3\n127.0.0.1');
  await access.getByText('Not an IP address or CIDR block: 300.1.2.3').waitFor();
  assert.equal(await access.getByRole('button', { name: 'Save' }).isDisabled(), true);
  await list.fill('10.0.0.0/8\n127.0.0.1\n::1');
  await access.getByRole('button', { name: 'Save' }).click();
  await access.getByText('Saved.').waitFor();
  await page.locator('.badge.public').waitFor();
  await screenshot(page, 'bucket-settings');
  const bucket = await bucketJson(BUCKET);
  assert.equal(bucket.acl.public, 'read-only');
  assert.deepEqual(bucket.acl.public_read_allow_ip_list, ['10.0.0.0/8', '127.0.0.1', '::1']);
});

step('create a folder with metadata (the dialog opened from the keyboard)', async () => {
  await page.getByRole('tab', { name: 'Objects' }).click();
  await page.getByRole('button', { name: 'Create folder' }).focus();
  await page.keyboard.press('Enter');
  const create = dialog('Create folder');
  // The dialog moves the focus into its name field once it is open: type only then.
  await create.waitFor();
  await page.waitForFunction(() => document.activeElement instanceof HTMLInputElement && document.activeElement.closest('dialog, [role="dialog"]') !== null);
  await page.keyboard.type('a/b');
  await create.getByText('cannot contain “/”').waitFor();
  await create.getByLabel('Folder name').fill(FOLDER);
  await create.getByRole('button', { name: 'Add metadata' }).click();
  await create.getByRole('textbox', { name: 'Metadata name' }).fill('Company');
  await create.getByRole('textbox', { name: 'Metadata value' }).fill('kakao enterprise');
  await create.getByRole('button', { name: 'Create', exact: true }).click();
  await create.waitFor({ state: 'detached' });
  await row(`${FOLDER}/`).waitFor();
  const head = await apiHead(BUCKET, `${FOLDER}/`);
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-type'), 'application/directory');
  assert.equal(head.headers.get('x-object-meta-company'), 'kakao enterprise');
});

step('upload an image and a 50 MiB file: per-file and total progress are visible while they go', async () => {
  await row(`${FOLDER}/`).getByRole('link', { name: `${FOLDER}/`, exact: true }).click();
  await page.getByText('This folder is empty').waitFor();
  // Slow the upload link down so the progress can be watched (and photographed) on a fast loopback.
  const cdp = await user.context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 20 * 1024 * 1024 });
  await page.locator('input[data-upload-input]').setInputFiles([join(files, IMAGE), join(files, BIG)]);
  await page.waitForFunction(() => {
    const total = document.querySelector<HTMLProgressElement>('progress[data-total-progress]');
    return total !== null && total.value > 0 && total.value < total.max;
  });
  const bigProgress = page.getByRole('progressbar', { name: `Upload progress of ${FOLDER}/${BIG}` });
  assert.ok(Number(await bigProgress.getAttribute('value')) < BIG_SIZE);
  await screenshot(page, 'upload-progress');
  await page.getByRole('status').getByText('2 of 2 done').waitFor({ timeout: 60_000 });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await row(`${FOLDER}/${BIG}`).waitFor();
  assert.match(await row(`${FOLDER}/${BIG}`).innerText(), /50 MiB/);

  const bigHead = await apiHead(BUCKET, `${FOLDER}/${BIG}`);
  assert.equal(bigHead.status, 200);
  assert.equal(Number(bigHead.headers.get('content-length')), BIG_SIZE);
  assert.equal(bigHead.headers.get('etag'), bigMd5);
  const imageHead = await apiHead(BUCKET, `${FOLDER}/${IMAGE}`);
  assert.equal(imageHead.headers.get('content-type'), 'image/jpeg');
  assert.equal(imageHead.headers.get('etag'), createHash('md5').update(image).digest('hex'));
});

step('cancel an upload on its way; drop a file onto the list to upload it', async () => {
  const cdp = await user.context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * 1024 * 1024 });
  await page.locator('input[data-upload-input]').setInputFiles(join(files, CANCELLED));
  const upload = page.locator(`li[data-upload="${FOLDER}/${CANCELLED}"]`);
  await upload.and(page.locator('[data-state="uploading"]')).waitFor();
  await page.getByRole('button', { name: `Cancel upload of ${FOLDER}/${CANCELLED}` }).click();
  await upload.and(page.locator('[data-state="cancelled"]')).waitFor();
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert.equal((await apiHead(BUCKET, `${FOLDER}/${CANCELLED}`)).status, 404);

  await page.locator('.browser').evaluate((target) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['dropped by drag and drop'], 'dropped.txt', { type: 'text/plain' }));
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await row(`${FOLDER}/dropped.txt`).waitFor();
  const dropped = await fetch(`${api.storageUrl}/${BUCKET}/${FOLDER}/dropped.txt`, { headers: { 'X-Auth-Token': api.token } });
  assert.equal(await dropped.text(), 'dropped by drag and drop');
  assert.equal(dropped.headers.get('content-type'), 'text/plain');
  await page.getByRole('button', { name: 'Clear', exact: true }).click();
});

step('open the information panel and copy the URL: it opens without a token from an allowed address', async () => {
  await row(`${FOLDER}/${IMAGE}`).getByRole('link', { name: IMAGE, exact: true }).click();
  const panel = page.getByRole('complementary', { name: 'Object information' });
  await panel.locator('[data-fact="etag"]').waitFor();
  assert.equal(await panel.locator('[data-fact="etag"]').innerText(), createHash('md5').update(image).digest('hex'));
  assert.equal(await panel.locator('[data-fact="type"]').innerText(), 'image/jpeg');
  await panel.getByText('public for these addresses only').waitFor();
  await panel.getByRole('button', { name: 'Copy URL' }).click();
  await panel.getByText('URL copied').waitFor();
  const url = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(url, `${api.storageUrl}/${BUCKET}/${FOLDER}/${IMAGE}`);
  const anonymous = await fetch(url);
  assert.equal(anonymous.status, 200);
  assert.deepEqual(Buffer.from(await anonymous.arrayBuffer()), image);

  const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Download' }).click()]);
  assert.equal(download.suggestedFilename(), IMAGE);
  const saved = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of saved) chunks.push(chunk as Buffer);
  assert.deepEqual(Buffer.concat(chunks), image);
});

step('edit metadata and content type (a Korean value travels as UTF-8)', async () => {
  const panel = page.getByRole('complementary', { name: 'Object information' });
  await panel.getByRole('button', { name: 'Edit metadata' }).click();
  await panel.getByLabel('Content type').fill('image/jpeg; charset=binary');
  await panel.getByRole('button', { name: 'Add metadata' }).click();
  await panel.getByRole('textbox', { name: 'Metadata name' }).fill('Photographer');
  await panel.getByRole('textbox', { name: 'Metadata value' }).fill('김하늘');
  await panel.getByRole('button', { name: 'Save' }).click();
  await panel.locator('[data-meta="photographer"]').waitFor();
  assert.equal(await panel.locator('[data-meta="photographer"] dd').innerText(), '김하늘');
  await screenshot(page, 'object-information');
  const head = await apiHead(BUCKET, `${FOLDER}/${IMAGE}`);
  assert.equal(head.headers.get('content-type'), 'image/jpeg; charset=binary');
  assert.equal(Buffer.from(head.headers.get('x-object-meta-photographer') ?? '', 'latin1').toString('utf8'), '김하늘');
  await panel.getByRole('button', { name: 'Close' }).click();
});

step('copy the image to another bucket, move the big file to another folder', async () => {
  await row(`${FOLDER}/${IMAGE}`).getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Copy', exact: true }).click();
  const copy = dialog('Copy');
  await copy.getByLabel('To bucket').selectOption(OTHER_BUCKET);
  await copy.getByRole('button', { name: 'Copy' }).click();
  await copy.waitFor({ state: 'detached' });
  const copied = await apiHead(OTHER_BUCKET, `${FOLDER}/${IMAGE}`);
  assert.equal(copied.headers.get('etag'), createHash('md5').update(image).digest('hex'));
  assert.equal(copied.headers.get('content-type'), 'image/jpeg; charset=binary', 'the copy keeps the type');
  assert.equal(Buffer.from(copied.headers.get('x-object-meta-photographer') ?? '', 'latin1').toString('utf8'), '김하늘', 'and the metadata');

  await row(`${FOLDER}/${BIG}`).getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Move', exact: true }).click();
  const move = dialog('Move');
  await move.getByRole('button', { name: 'Move' }).waitFor();
  assert.equal(await move.getByRole('button', { name: 'Move' }).isDisabled(), true, 'moving into the same folder is refused');
  await move.getByLabel('To folder').fill('archive/2026');
  await move.getByRole('button', { name: 'Move' }).click();
  await move.waitFor({ state: 'detached' });
  await row(`${FOLDER}/${BIG}`).waitFor({ state: 'detached' });
  assert.equal((await apiHead(BUCKET, `${FOLDER}/${BIG}`)).status, 404);
  const moved = await apiHead(BUCKET, `archive/2026/${BIG}`);
  assert.equal(moved.status, 200);
  assert.equal(moved.headers.get('etag'), bigMd5);
  assert.equal(moved.headers.get('content-type'), 'application/octet-stream');
});

step('delete a folder with everything in it', async () => {
  await page.getByRole('navigation', { name: 'Folder' }).getByRole('link', { name: BUCKET }).click();
  await row('archive/').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const remove = dialog('Delete objects');
  await remove.getByText('Folders are deleted together with everything in them: 1 object in all.').waitFor();
  await remove.getByRole('button', { name: 'Delete' }).click();
  await remove.waitFor({ state: 'detached' });
  await row('archive/').waitFor({ state: 'detached' });
  const listing = await apiGet(`/v1/${api.projectId}/${BUCKET}?format=json&prefix=archive/`);
  assert.deepEqual(await listing.json(), []);
});

step('a folder of 205 objects: pages of 100, next and previous, and a name-prefix filter', async () => {
  const keys = Array.from({ length: 205 }, (_, i) => `many/obj-${String(i).padStart(3, '0')}.txt`);
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map(async (key) => {
      const response = await fetch(`${api.storageUrl}/${OTHER_BUCKET}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': api.token }, body: key });
      assert.equal(response.status, 201);
    }));
  }
  await page.goto(`${server.url}/console/buckets/${OTHER_BUCKET}?folder=many%2F`);
  const pager = page.getByRole('navigation', { name: 'Pages' });
  const rows = page.locator('tr[data-key^="many/"]');
  await row('many/obj-099.txt').waitFor();
  assert.equal(await rows.count(), 100);
  await pager.getByRole('button', { name: 'Next' }).click();
  await row('many/obj-199.txt').waitFor();
  assert.equal(await rows.count(), 100);
  await pager.getByText('Page 2').waitFor();
  await pager.getByRole('button', { name: 'Next' }).click();
  await row('many/obj-204.txt').waitFor();
  assert.equal(await rows.count(), 5);
  assert.equal(await pager.getByRole('button', { name: 'Next' }).isDisabled(), true);
  await pager.getByRole('button', { name: 'Previous' }).click();
  await row('many/obj-100.txt').waitFor();
  await page.getByLabel('Filter by name prefix').fill('obj-01');
  await row('many/obj-019.txt').waitFor();
  assert.equal(await rows.count(), 10);
  await pager.getByText('Page 1').waitFor();
});

step('a bucket that is not empty is not deleted, says why, and can be emptied first', async () => {
  await page.getByRole('link', { name: 'Buckets', exact: true }).first().click();
  await page.getByRole('button', { name: `Delete bucket ${BUCKET}` }).click();
  const remove = dialog('Delete bucket');
  await remove.getByText('cannot be deleted because it still holds').waitFor();
  await remove.getByRole('button', { name: 'Empty bucket…' }).click();
  const empty = dialog('Empty bucket');
  await empty.getByRole('button', { name: 'Empty bucket' }).waitFor();
  assert.equal(await empty.getByRole('button', { name: 'Empty bucket' }).isDisabled(), true);
  await empty.getByLabel(`Type the bucket name “${BUCKET}” to confirm`).fill(BUCKET);
  await empty.getByRole('button', { name: 'Empty bucket' }).click();
  await empty.waitFor({ state: 'detached' });
  assert.equal((await bucketJson(BUCKET)).objectCount, 0);

  await page.getByRole('button', { name: `Delete bucket ${BUCKET}` }).click();
  await dialog('Delete bucket').getByRole('button', { name: 'Delete bucket' }).click();
  await page.locator(`tr[data-bucket="${BUCKET}"]`).waitFor({ state: 'detached' });
  assert.equal((await apiGet(`/v1_ext/bucket/${BUCKET}`)).status, 404);
});

step('errors in plain words where they happen: no such bucket, server out of reach', async () => {
  await page.goto(`${server.url}/console/buckets/no-such-bucket`);
  await page.getByRole('alert').getByText('There is no bucket with this name in your project.').waitFor();
  await page.getByRole('link', { name: 'Buckets', exact: true }).first().click();
  await page.locator(`tr[data-bucket="${OTHER_BUCKET}"]`).waitFor();
  await user.context.setOffline(true);
  try {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('alert').getByText('The server could not be reached.').waitFor();
  } finally {
    await user.context.setOffline(false);
  }
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByRole('alert').waitFor({ state: 'detached' });
});

step('sign out: the token is forgotten and every screen asks to sign in again', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You have signed out.').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('onggi.session')), null);
  await page.goto(`${server.url}/console/buckets/${OTHER_BUCKET}`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.deepEqual(user.pageErrors, []);
});

step('a revoked access key sends the user back to sign-in with the reason', async () => {
  const key = (await admin(server.dataDir, 'key', 'create', 'default', 'admin', '--name', 'console-revoke')) as { id: string; secret: string };
  const other = await openConsole(browser, server.url);
  try {
    await signIn(other.page, key.id, key.secret);
    await admin(server.dataDir, 'key', 'delete', key.id);
    const refresh = other.page.getByRole('button', { name: 'Refresh' });
    const ended = other.page.getByText('The server no longer accepts your session');
    for (let tries = 0; tries < 20 && !(await ended.isVisible()); tries += 1) {
      if (await refresh.isVisible()) await refresh.click();
      await other.page.waitForTimeout(250);
    }
    await ended.waitFor();
    await other.page.getByRole('button', { name: 'Sign in' }).waitFor();
  } finally {
    await other.context.close();
  }
});

step('Korean by default when the browser asks for it, English one click away', async () => {
  const korean = await openConsole(browser, server.url, { locale: 'ko-KR' });
  try {
    const { page: ko } = korean;
    await ko.getByRole('heading', { name: 'Onggi 콘솔' }).waitFor();
    await signInKorean(ko);
    await ko.getByRole('link', { name: OTHER_BUCKET }).click();
    await ko.getByRole('tab', { name: '객체' }).waitFor();
    await screenshot(ko, 'objects-korean');
    await ko.getByRole('button', { name: '언어 바꾸기' }).click();
    await ko.getByRole('tab', { name: 'Objects' }).waitFor();
    assert.equal(await ko.evaluate(() => document.documentElement.lang), 'en');
  } finally {
    await korean.context.close();
  }
});

step('readable on a narrow (390 px) window: no sideways scrolling', async () => {
  const narrow = await openConsole(browser, server.url, { width: 390, height: 844 });
  try {
    await signIn(narrow.page);
    await narrow.page.locator(`tr[data-bucket="${OTHER_BUCKET}"]`).waitFor();
    assert.ok(await narrow.page.evaluate(() => document.documentElement.scrollWidth <= 390));
    await screenshot(narrow.page, 'narrow-bucket-list');
    await narrow.page.getByRole('link', { name: OTHER_BUCKET }).click();
    await narrow.page.locator(`tr[data-key="${FOLDER}/"]`).waitFor();
    assert.ok(await narrow.page.evaluate(() => document.documentElement.scrollWidth <= 390));
    await screenshot(narrow.page, 'narrow-objects');
    await narrow.page.locator(`tr[data-key="${FOLDER}/"]`).getByRole('link', { name: `${FOLDER}/`, exact: true }).click();
    await narrow.page.getByRole('link', { name: IMAGE, exact: true }).click();
    const panel = narrow.page.getByRole('complementary', { name: 'Object information' });
    await panel.getByText('The bucket is private: this URL works only with a token').waitFor();
    assert.equal(await panel.getByRole('link', { name: 'Open in a new tab' }).count(), 0);
    await screenshot(narrow.page, 'narrow-object-information');
  } finally {
    await narrow.context.close();
  }
});
