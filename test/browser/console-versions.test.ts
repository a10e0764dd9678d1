/**
 * Versioning in the console: turned on in the Settings tab; an object's versions listed after three overwrites;
 * an old version downloaded byte for byte; one restored (the current one again, as a new version); one deleted
 * after asking; the focus back where each step began; axe-core on the dialog at 1280 px and 390 px.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { login, type Session } from '../helpers/server.ts';
import { check } from './axe.ts';
import { checkNarrow, type ConsolePage, type ConsoleServer, createBucket, launchChromium, openConsole, screenshot, signIn, startConsoleServer, stepsInOrder, waitFocusedOn } from './harness.ts';

const BUCKET = 'kept-versions';
const KEY = 'report.bin';

let server: ConsoleServer;
let browser: Browser;
let api: Session;
let user: ConsolePage;
let page: Page;
/** The bodies written, oldest first, and their version ids. */
const bodies = [randomBytes(70_000), randomBytes(1000), randomBytes(2000), randomBytes(3000)];
const ids: string[] = [];

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  api = await login(server.url);
  await createBucket(server.url, api.token, BUCKET);
  user = await openConsole(browser, server.url);
  page = user.page;
});
after(async () => {
  await browser.close();
  await server.destroy();
});

const step = stepsInOrder();
const panel = () => page.getByRole('complementary', { name: 'Object information' });
const versionsDialog = () => page.getByRole('dialog', { name: `Versions of ${KEY}` });
const versionRow = (id: string) => versionsDialog().locator(`tr[data-version="${id}"]`);

interface Listed {
  version_id: string;
  is_latest: boolean;
  bytes: number;
}

async function listed(): Promise<Listed[]> {
  const response = await fetch(`${api.storageUrl}/${BUCKET}?versions&format=json`, { headers: { 'X-Auth-Token': api.token } });
  return (await response.json()) as Listed[];
}

async function current(): Promise<Buffer> {
  return Buffer.from(await (await fetch(`${api.storageUrl}/${BUCKET}/${KEY}`, { headers: { 'X-Auth-Token': api.token } })).arrayBuffer());
}

step('the Settings tab turns versioning on, and shows it', async () => {
  await signIn(page);
  await page.goto(`${server.url}/console/buckets/${BUCKET}`);
  await page.getByRole('tab', { name: 'Settings' }).click();
  const card = page.locator('[data-settings="versioning"]');
  await card.locator('[data-versioning="off"]').waitFor();
  await card.getByLabel('Keep every version of each object').check();
  await card.getByRole('button', { name: 'Save' }).click();
  await card.getByRole('status').getByText('Saved.').waitFor();
  await card.locator('[data-versioning="enabled"]').waitFor();
  const head = await fetch(`${api.storageUrl}/${BUCKET}`, { method: 'HEAD', headers: { 'X-Auth-Token': api.token } });
  assert.equal(head.headers.get('x-versions-enabled'), 'True');
  await screenshot(page, 'settings-versioning');
});

step('after three overwrites the Versions dialog lists all four, newest first, the newest current', async () => {
  for (const body of bodies) {
    const put = await fetch(`${api.storageUrl}/${BUCKET}/${KEY}`, { method: 'PUT', headers: { 'X-Auth-Token': api.token }, body });
    assert.equal(put.status, 201);
    ids.push(put.headers.get('x-object-version-id') ?? '');
    // A second apart: each version's time is its own.
    await new Promise((resolve) => setTimeout(resolve, 1100));
  }
  await page.goto(`${server.url}/console/buckets/${BUCKET}?info=${KEY}`);
  const open = panel().getByRole('button', { name: 'Versions', exact: true });
  await open.click();
  await versionsDialog().locator('tr[data-version]').nth(3).waitFor();
  const shown = await versionsDialog().locator('tr[data-version]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-version')));
  assert.deepEqual(shown, [...ids].reverse());
  assert.equal(await versionRow(ids[3] ?? '').locator('[data-state]').innerText(), 'Current');
  assert.equal(await versionRow(ids[0] ?? '').locator('[data-state]').innerText(), 'Older');
  assert.equal(await versionRow(ids[3] ?? '').getByRole('button', { name: /^Restore/ }).count(), 0, 'the current version is not restored');
  const found: string[] = [];
  await check(page, 'versions dialog', found);
  assert.deepEqual(found, []);
  await screenshot(page, 'object-versions');
});

step('an old version downloads byte for byte', async () => {
  const oldest = versionRow(ids[0] ?? '');
  const [download] = await Promise.all([page.waitForEvent('download'), oldest.getByRole('button', { name: /^Download/ }).click()]);
  assert.equal(download.suggestedFilename(), KEY);
  assert.ok(readFileSync(await download.path()).equals(bodies[0] ?? Buffer.alloc(0)), 'the oldest version’s bytes');
});

step('restoring a version makes it current again, as a new version; the focus stays on its button', async () => {
  const restore = versionRow(ids[1] ?? '').getByRole('button', { name: /^Restore/ });
  await restore.click();
  await versionsDialog().locator('[data-notice]').waitFor();
  await versionsDialog().locator('tr[data-version]').nth(4).waitFor();
  assert.ok((await current()).equals(bodies[1] ?? Buffer.alloc(0)), 'the restored bytes are current');
  const versions = await listed();
  assert.equal(versions.length, 5);
  assert.equal(versions[0]?.is_latest, true);
  assert.ok(!ids.includes(versions[0]?.version_id ?? ''), 'a new version');
  assert.equal(await versionsDialog().locator('tr[data-latest="true"]').getAttribute('data-version'), versions[0]?.version_id);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'restore');
  // The panel behind shows the restored size.
  await panel().locator('[data-fact="size"]').getByText(`(${(bodies[1]?.length ?? 0).toLocaleString('en')} B)`).waitFor();
});

step('deleting a version asks first: Cancel returns to its button, Delete removes it for good', async () => {
  const doomed = ids[2] ?? '';
  await versionRow(doomed).getByRole('button', { name: /^Delete/ }).click();
  const confirm = versionsDialog().locator('[data-confirm-version]');
  await confirm.waitFor();
  await waitFocusedOn(page, 'button:Cancel');
  await page.keyboard.press('Enter');
  await confirm.waitFor({ state: 'detached' });
  // The focus moves back one tick after the confirmation leaves.
  await page.waitForFunction((id) => document.activeElement?.closest('tr')?.getAttribute('data-version') === id, doomed, { timeout: 2000 }).catch(() => undefined);
  assert.equal(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-version')), doomed);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'delete');
  assert.equal((await listed()).length, 5, 'nothing deleted on Cancel');

  await versionRow(doomed).getByRole('button', { name: /^Delete/ }).click();
  await confirm.getByRole('button', { name: 'Delete version' }).click();
  await versionRow(doomed).waitFor({ state: 'detached' });
  const versions = await listed();
  assert.equal(versions.length, 4);
  assert.ok(!versions.some((version) => version.version_id === doomed));
  const gone = await fetch(`${api.storageUrl}/${BUCKET}/${KEY}?version-id=${doomed}`, { headers: { 'X-Auth-Token': api.token } });
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
  await waitFocusedOn(page, 'h3:Versions: 4');
});

step('Escape closes the dialog, not the panel, and the focus returns to the Versions button', async () => {
  await page.keyboard.press('Escape');
  await versionsDialog().waitFor({ state: 'detached' });
  await panel().waitFor();
  await waitFocusedOn(page, 'button:Versions');
  assert.deepEqual(user.pageErrors, []);
});

step('at 390 px the dialog fits, and axe finds nothing serious in it', async () => {
  const narrow = await openConsole(browser, server.url, { width: 390, height: 844 });
  try {
    await signIn(narrow.page);
    await narrow.page.goto(`${server.url}/console/buckets/${BUCKET}?info=${KEY}`);
    await narrow.page.getByRole('complementary', { name: 'Object information' }).getByRole('button', { name: 'Versions', exact: true }).click();
    const dialog = narrow.page.getByRole('dialog', { name: `Versions of ${KEY}` });
    await dialog.locator('tr[data-version]').nth(3).waitFor();
    await checkNarrow(narrow, dialog, 'versions dialog', 'narrow-object-versions');
  } finally {
    await narrow.context.close();
  }
});
