/**
 * "Never lose the user's place": where the focus goes after sign-in and after each dialog or panel, the page and
 * prefix in the URL (reload and Back keep them), the information panel below the top bar, notices after each
 * change, the uploads panel in view while the list scrolls, and a server that stops and comes back: the view
 * and the uploads stay, a failed refresh says so with Retry, an upload it cut can be sent again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { login, removeDir, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { type ConsolePage, type ConsoleServer, createBucket, launchChromium, openConsole, screenshot, signIn, startConsoleServer, stepsInOrder, waitFocusedOn } from './harness.ts';

const BUCKET = 'place-test';
const OTHER = 'place-copies';

let server: ConsoleServer;
let restarted: RunningServer | null = null;
let browser: Browser;
let api: Session;
let user: ConsolePage;
let page: Page;
let files: string;

before(async () => {
  [server, browser, files] = await Promise.all([startConsoleServer(), launchChromium(), mkdtemp(join(tmpdir(), 'onggi-console-place-'))]);
  api = await login(server.url);
  for (const name of [BUCKET, OTHER]) {
    await createBucket(server.url, api.token, name);
  }
  const keys = Array.from({ length: 205 }, (_, i) => `many/obj-${String(i).padStart(3, '0')}.txt`);
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map(async (key) => {
      const response = await fetch(`${api.storageUrl}/${BUCKET}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': api.token }, body: key });
      assert.equal(response.status, 201);
    }));
  }
  await Promise.all([
    writeFile(join(files, 'before.txt'), 'uploaded before the server stopped'),
    writeFile(join(files, 'during.bin'), randomBytes(8 * 1024 * 1024)),
    writeFile(join(files, 'slow.bin'), randomBytes(6 * 1024 * 1024)),
  ]);
  user = await openConsole(browser, server.url);
  page = user.page;
});
after(async () => {
  await browser.close();
  if (restarted) await restarted.destroy();
  else await server.destroy();
  await removeDir(files);
});

const step = stepsInOrder();

const row = (key: string) => page.locator(`tr[data-key="${key}"]`);
const rows = () => page.locator('tr[data-key]');
const dialog = (name: string) => page.getByRole('dialog', { name });
const pager = () => page.getByRole('navigation', { name: 'Pages' });

/** What has the focus, on this test's page unless told. */
async function waitFocused(expected: string, p: Page = page): Promise<void> {
  await waitFocusedOn(p, expected);
}

async function throttleUploads(bytesPerSecond: number): Promise<CDPSession> {
  const cdp = await user.context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
  return cdp;
}

async function unthrottle(cdp: CDPSession): Promise<void> {
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await cdp.detach();
}

step('after sign-in the focus is on the page’s main heading', async () => {
  await signIn(page);
  await waitFocused('h1:Buckets');
});

step('a dialog gives the focus back to the button that opened it; creating a bucket says so', async () => {
  const create = page.getByRole('button', { name: 'Create bucket' });
  await create.focus();
  await page.keyboard.press('Enter');
  await dialog('Create bucket').getByLabel('Bucket name').waitFor();
  await page.keyboard.press('Escape');
  await dialog('Create bucket').waitFor({ state: 'detached' });
  await waitFocused('button:Create bucket');

  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'bucketName');
  await page.keyboard.type('place-notes');
  await page.keyboard.press('Enter');
  await page.getByRole('status').getByText('Bucket “place-notes” created.').waitFor();
  await waitFocused('button:Create bucket');
});

step('the page number and the prefix are in the URL: reload and Back keep them; Previous works from a reloaded page', async () => {
  await page.goto(`${server.url}/console/buckets/${BUCKET}?folder=many%2F`);
  await row('many/obj-099.txt').waitFor();
  await pager().getByRole('button', { name: 'Next' }).click();
  await row('many/obj-100.txt').waitFor();
  await pager().getByText('Page 2').waitFor();
  assert.match(page.url(), /[?&]page=2&after=many%2Fobj-099\.txt/);
  await page.reload();
  await row('many/obj-199.txt').waitFor();
  await pager().getByText('Page 2').waitFor();
  assert.equal(await rows().count(), 100);

  await pager().getByRole('button', { name: 'Next' }).click();
  await row('many/obj-204.txt').waitFor();
  await pager().getByText('Page 3').waitFor();
  await page.goBack();
  await row('many/obj-100.txt').waitFor();
  await pager().getByText('Page 2').waitFor();
  await page.goForward();
  await row('many/obj-200.txt').waitFor();

  // A reloaded page 3 knows nothing of pages 1 and 2: Previous reads the listing backwards.
  await page.reload();
  await row('many/obj-200.txt').waitFor();
  await pager().getByRole('button', { name: 'Previous' }).click();
  await row('many/obj-100.txt').waitFor();
  await pager().getByText('Page 2').waitFor();
  assert.equal(await rows().count(), 100);
  await pager().getByRole('button', { name: 'Previous' }).click();
  await row('many/obj-000.txt').waitFor();
  await pager().getByText('Page 1').waitFor();
  assert.equal(await pager().getByRole('button', { name: 'Previous' }).isDisabled(), true);

  await page.getByLabel('Filter by name prefix').fill('obj-02');
  await row('many/obj-029.txt').waitFor();
  assert.match(page.url(), /[?&]prefix=obj-02/);
  await page.reload();
  await row('many/obj-020.txt').waitFor();
  assert.equal(await page.getByLabel('Filter by name prefix').inputValue(), 'obj-02');
  assert.equal(await rows().count(), 10);
  await page.getByLabel('Filter by name prefix').fill('');
  await row('many/obj-000.txt').waitFor();
  assert.doesNotMatch(page.url(), /prefix=/);
});

/** The panel's top edge is at or below the top bar's bottom, and Sign out and the language switch take clicks. */
async function assertPanelBelowTopBar(p: Page): Promise<void> {
  const panel = p.getByRole('complementary', { name: 'Object information' });
  await panel.locator('[data-fact="etag"]').waitFor();
  const bar = await p.locator('header.topbar').boundingBox();
  const box = await panel.boundingBox();
  assert.ok(bar && box && box.y >= bar.y + bar.height - 1, `panel ${JSON.stringify(box)} under top bar ${JSON.stringify(bar)}`);
  for (const name of ['Sign out', 'Switch language']) {
    const hit = await p.getByRole('button', { name }).evaluate((button) => {
      const rect = button.getBoundingClientRect();
      return button.contains(document.elementFromPoint(rect.x + rect.width / 2, rect.y + rect.height / 2));
    });
    assert.ok(hit, `${name} is not covered`);
  }
}

step('the information panel sits below the top bar (1280 and 390 px); closing it gives the focus back to the link that opened it', async () => {
  await row('many/obj-003.txt').getByRole('link', { name: 'Details of obj-003.txt' }).click();
  await assertPanelBelowTopBar(page);
  await page.keyboard.press('Escape');
  await page.getByRole('complementary', { name: 'Object information' }).waitFor({ state: 'detached' });
  await waitFocused('a:Details of obj-003.txt');
  assert.doesNotMatch(page.url(), /info=/);

  // Opened from a link (no opener in this tab): the focus goes to the object's row.
  await page.goto(`${server.url}/console/buckets/${BUCKET}?folder=many%2F&info=many%2Fobj-004.txt`);
  await assertPanelBelowTopBar(page);
  await page.getByRole('complementary', { name: 'Object information' }).getByRole('button', { name: 'Close' }).click();
  await waitFocused('a:obj-004.txt');

  const narrow = await openConsole(browser, server.url, { width: 390, height: 844 });
  try {
    await signIn(narrow.page);
    await narrow.page.goto(`${server.url}/console/buckets/${BUCKET}?folder=many%2F&info=many%2Fobj-004.txt`);
    await assertPanelBelowTopBar(narrow.page);
    assert.ok(await narrow.page.evaluate(() => document.documentElement.scrollWidth <= 390));
    await screenshot(narrow.page, 'narrow-panel-below-top-bar');
  } finally {
    await narrow.context.close();
  }
});

step('with the keyboard alone: Enter on a row’s Details opens the panel with the focus in it, Escape closes it and the focus is back', async () => {
  await page.goto(`${server.url}/console/buckets/${BUCKET}?folder=many%2F`);
  await row('many/obj-006.txt').waitFor();
  await row('many/obj-006.txt').getByRole('link', { name: 'obj-006.txt', exact: true }).focus();
  await page.keyboard.press('Tab');
  await waitFocused('a:Details of obj-006.txt');
  await page.keyboard.press('Enter');
  const panel = page.getByRole('complementary', { name: 'Object information' });
  await panel.locator('[data-fact="etag"]').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.closest('.info-panel') !== null), true, 'the focus is in the panel');
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
  await waitFocused('a:Details of obj-006.txt');
  await page.keyboard.press('Enter');
  await panel.locator('[data-fact="etag"]').waitFor();
  await page.keyboard.press('Escape');
  await waitFocused('a:Details of obj-006.txt');
});

step('copy, move, delete and create each end with a notice; the focus comes back to the toolbar or the heading', async () => {
  await page.goto(`${server.url}/console/buckets/${BUCKET}?folder=many%2F`);
  await row('many/obj-000.txt').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Copy', exact: true }).click();
  await dialog('Copy').getByLabel('To bucket').selectOption(OTHER);
  await dialog('Copy').getByRole('button', { name: 'Copy' }).click();
  await page.getByRole('status').getByText(`“obj-000.txt” copied to ${OTHER}/many/.`).waitFor();
  // The selection was cleared with the copy, so Copy is disabled: the focus goes to the heading.
  await waitFocused(`h1:${BUCKET}`);

  await row('many/obj-001.txt').getByRole('checkbox').check();
  await row('many/obj-002.txt').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Move', exact: true }).click();
  await dialog('Move').getByLabel('To folder').fill('moved');
  await dialog('Move').getByRole('button', { name: 'Move' }).click();
  await page.getByRole('status').getByText(`2 items moved to ${BUCKET}/moved/.`).waitFor();
  await row('many/obj-001.txt').waitFor({ state: 'detached' });

  await row('many/obj-005.txt').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog('Delete objects').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('status').getByText('“obj-005.txt” deleted.').waitFor();
  await row('many/obj-005.txt').waitFor({ state: 'detached' });

  await page.getByRole('button', { name: 'Create folder' }).click();
  await dialog('Create folder').getByLabel('Folder name').fill('drafts');
  await dialog('Create folder').getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('status').getByText('Folder “drafts/” created.').waitFor();
  await waitFocused('button:Create folder');
  await row('many/drafts/').waitFor();
});

step('an upload in progress stays in view while a long list scrolls', async () => {
  const cdp = await throttleUploads(2 * 1024 * 1024);
  try {
    await page.locator('input[data-upload-input]').setInputFiles(join(files, 'slow.bin'));
    const uploads = page.getByRole('region', { name: 'Uploads' });
    await uploads.locator('li[data-upload="many/slow.bin"][data-state="uploading"]').waitFor();
    for (const to of ['bottom', 'top', 'middle'] as const) {
      await page.evaluate((where) => {
        window.scrollTo(0, where === 'top' ? 0 : where === 'bottom' ? document.body.scrollHeight : document.body.scrollHeight / 2);
      }, to);
      await page.waitForTimeout(100);
      const box = await uploads.boundingBox();
      assert.ok(box && box.y >= 0 && box.y + box.height <= 800, `uploads panel in view when scrolled to the ${to}: ${JSON.stringify(box)}`);
    }
    await page.evaluate(() => {
      window.scrollTo(0, document.body.scrollHeight / 2);
    });
    await screenshot(page, 'upload-in-view');
  } finally {
    await unthrottle(cdp);
  }
  await page.locator('li[data-upload="many/slow.bin"][data-state="done"]').waitFor();
});

step('the server stops: a failed refresh keeps the list and the uploads with Retry; once it is back, Retry and the cut upload succeed', async () => {
  await page.getByRole('region', { name: 'Uploads' }).getByRole('button', { name: 'Clear' }).click();
  await page.locator('input[data-upload-input]').setInputFiles(join(files, 'before.txt'));
  await page.locator('li[data-upload="many/before.txt"][data-state="done"]').waitFor();
  await row('many/before.txt').waitFor();

  const cdp = await throttleUploads(1024 * 1024);
  await page.locator('input[data-upload-input]').setInputFiles(join(files, 'during.bin'));
  await page.locator('li[data-upload="many/during.bin"][data-state="uploading"]').waitFor();
  await page.waitForFunction(() => Number(document.querySelector('li[data-upload="many/during.bin"] progress')?.getAttribute('value') ?? 0) > 0);
  const address = new URL(server.url).host;
  await server.kill9();
  await page.locator('li[data-upload="many/during.bin"][data-state="failed"]').waitFor();
  await unthrottle(cdp);

  await page.getByRole('button', { name: 'Refresh' }).click();
  const alert = page.locator('.browser').getByRole('alert').filter({ hasText: 'The server could not be reached.' });
  await alert.waitFor();
  assert.ok((await rows().count()) > 90, 'the list is still there');
  await row('many/before.txt').waitFor();
  await page.locator('li[data-upload="many/before.txt"][data-state="done"]').waitFor();
  await page.getByRole('tab', { name: 'Objects' }).waitFor();
  assert.equal(await page.getByRole('alert').count(), 2, 'one for the list, one for the cut upload');
  await screenshot(page, 'refresh-failed');

  restarted = await startServer({ dataDir: server.dataDir, env: { ONGGI_CONSOLE_DIR: server.consoleDir, ONGGI_LISTEN: address } });
  await alert.getByRole('button', { name: 'Retry' }).click();
  await alert.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Retry upload of many/during.bin' }).click();
  await page.locator('li[data-upload="many/during.bin"][data-state="done"]').waitFor();
  await row('many/during.bin').waitFor();
  const head = await fetch(`${api.storageUrl}/${BUCKET}/many/during.bin`, { method: 'HEAD', headers: { 'X-Auth-Token': api.token } });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(8 * 1024 * 1024));
  assert.deepEqual(user.pageErrors, []);
});
