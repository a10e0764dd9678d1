/**
 * KakaoCloud's tutorial sends the user to the console three times. Each step here is made through the API
 * exactly as the tutorial makes it, then checked in the console, as the tutorial's reader would.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { login, type Session } from '../helpers/server.ts';
import { drawJpeg, launchChromium, openConsole, screenshot, signIn, startConsoleServer, type ConsolePage, type ConsoleServer } from './harness.ts';

const BUCKET = 'tutorial-images';
const FOLDER = 'company-images';
const FILE = 'kakao-logo.jpg';

let server: ConsoleServer;
let browser: Browser;
let api: Session;
let user: ConsolePage;
let jpeg: Buffer;

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  api = await login(server.url);
  user = await openConsole(browser, server.url);
  jpeg = await drawJpeg(user.page);
});
after(async () => {
  await browser.close();
  await server.destroy();
});

async function tutorialCall(method: string, path: string, headers: Record<string, string>, body?: Uint8Array | string): Promise<number> {
  const response = await fetch(`${server.url}${path}`, { method, headers: { 'X-Auth-Token': api.token, ...headers }, body: typeof body === "string" || body === undefined ? (body ?? null) : new Uint8Array(body) });
  await response.arrayBuffer();
  return response.status;
}

test('1. a bucket created through the API appears in the console bucket list', async () => {
  const created = await tutorialCall('PUT', '/v1_ext/bucket', { 'Content-Type': 'application/json' }, JSON.stringify({
    name: BUCKET,
    type: 'STANDARD',
    use_encryption: true,
    encryption_configuration: { type: 'managed' },
  }));
  assert.equal(created, 201);
  const madePublic = await tutorialCall('POST', `/v1_ext/bucket/${BUCKET}`, { 'Content-Type': 'application/json' }, JSON.stringify({ name: BUCKET, acl: { public: 'read-only' } }));
  assert.equal(madePublic, 200);

  const { page } = user;
  await signIn(page);
  const row = page.locator(`tr[data-bucket="${BUCKET}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /STANDARD[\s\S]*Encrypted[\s\S]*Public/);
  await screenshot(page, 'tutorial-bucket-list');
});

test('2. a folder created through the API shows under Objects with its X-Object-Meta-Company', async () => {
  const status = await tutorialCall('PUT', `/v1/${api.projectId}/${BUCKET}/${FOLDER}/`, {
    'Content-Type': 'application/directory',
    'X-Object-Meta-Company': 'kakao enterprise',
  });
  assert.equal(status, 201);

  const { page } = user;
  await page.getByRole('link', { name: BUCKET, exact: true }).click();
  await page.getByRole('tab', { name: 'Objects', selected: true }).waitFor();
  const folderRow = page.locator(`tr[data-key="${FOLDER}/"]`);
  await folderRow.waitFor();
  assert.match(await folderRow.innerText(), new RegExp(`${FOLDER}/[\\s\\S]*Folder`));
  await folderRow.getByRole('link', { name: `Details of ${FOLDER}/` }).click();
  const panel = page.getByRole('complementary', { name: 'Object information' });
  await panel.locator('[data-meta="company"]').waitFor();
  assert.equal(await panel.locator('[data-meta="company"] dd').innerText(), 'kakao enterprise');
  assert.equal(await panel.locator('[data-fact="type"]').innerText(), 'application/directory');
  await panel.getByRole('button', { name: 'Close' }).click();
  await panel.waitFor({ state: 'detached' });
});

test('3. the uploaded JPEG’s location URL, copied from its information, opens anonymously and shows the image', async () => {
  const status = await tutorialCall('PUT', `/v1/${api.projectId}/${BUCKET}/${FOLDER}/${FILE}`, { 'Content-Type': 'image/jpeg' }, jpeg);
  assert.equal(status, 201);

  const { page } = user;
  await page.locator(`tr[data-key="${FOLDER}/"]`).getByRole('link', { name: `${FOLDER}/`, exact: true }).click();
  const fileRow = page.locator(`tr[data-key="${FOLDER}/${FILE}"]`);
  await fileRow.waitFor();
  assert.match(await fileRow.innerText(), /image\/jpeg/);
  await fileRow.getByRole('link', { name: FILE, exact: true }).click();
  const panel = page.getByRole('complementary', { name: 'Object information' });
  await panel.locator('[data-fact="size"]').waitFor();
  assert.match(await panel.locator('[data-fact="size"]').innerText(), new RegExp(`\\(${jpeg.length.toLocaleString('en-US')} B\\)`));
  await panel.getByRole('img').waitFor();
  await screenshot(page, 'tutorial-file-information');

  await panel.getByRole('button', { name: 'Copy URL' }).click();
  await panel.getByText('URL copied to the clipboard.').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, `${api.storageUrl}/${BUCKET}/${FOLDER}/${FILE}`);

  // A fresh context: no session, no token, nothing shared with the signed-in one.
  const stranger = await browser.newContext();
  try {
    const tab = await stranger.newPage();
    const response = await tab.goto(copied);
    assert.equal(response?.status(), 200);
    assert.equal(response.headers()['content-type'], 'image/jpeg');
    assert.deepEqual(await response.body(), jpeg);
    const width = await tab.evaluate(() => document.querySelector('img')?.naturalWidth ?? 0);
    assert.equal(width, 96);
  } finally {
    await stranger.close();
  }
  assert.deepEqual(user.pageErrors, []);
});
