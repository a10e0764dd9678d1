/**
 * Object Lock in the console's Settings tab: enabled after a confirmation that says it cannot be undone (turning
 * versioning on with it), a compliance default retention checked as the API checks it and saved, read back after a
 * reload; a version written under it is kept when the console deletes it (in plain words) or its object; a Storage
 * Viewer sees the card read-only; the focus back after the dialog; axe at 1280 px and, in Korean, at 390 px.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createAccount, type Account } from '../helpers/accounts.ts';
import { login, type Session } from '../helpers/server.ts';
import { check } from './axe.ts';
import { checkNarrow, type ConsolePage, type ConsoleServer, createBucket, launchChromium, openConsole, screenshot, signIn, signInKorean, startConsoleServer, stepsInOrder, waitFocusedOn } from './harness.ts';

const BUCKET = 'locked-records';
const KEY = 'ledger.csv';

let server: ConsoleServer;
let browser: Browser;
let api: Session;
let user: ConsolePage;
let page: Page;
let viewer: Account;
let versionId = '';

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  api = await login(server.url);
  viewer = await createAccount(server.dataDir, 'reader', { project: 'default' });
  await createBucket(server.url, api.token, BUCKET);
  user = await openConsole(browser, server.url);
  page = user.page;
  await signIn(page);
});
after(async () => {
  await browser.close();
  await server.destroy();
});

const step = stepsInOrder();
const card = () => page.locator('[data-settings="object-lock"]');
const confirmDialog = () => page.getByRole('dialog', { name: 'Enable Object Lock?' });

async function lockJson(): Promise<unknown> {
  const response = await fetch(`${server.url}/v1_ext/bucket/${BUCKET}/object_lock`, { headers: { 'X-Auth-Token': api.token } });
  assert.equal(response.status, 200);
  return response.json();
}

interface Listed {
  name: string;
  version_id: string;
  content_type?: string;
}

async function versionsListed(): Promise<Listed[]> {
  const response = await fetch(`${api.storageUrl}/${BUCKET}?versions&format=json`, { headers: { 'X-Auth-Token': api.token } });
  return (await response.json()) as Listed[];
}

async function openSettings(target: Page = page): Promise<void> {
  await target.goto(`${server.url}/console/buckets/${BUCKET}?tab=settings`);
  await target.locator('[data-settings="object-lock"] [data-object-lock]').waitFor();
}

step('the card says Object Lock is off; Cancel in the confirmation changes nothing and returns the focus', async () => {
  await openSettings();
  await card().locator('[data-object-lock="off"]').waitFor();
  await card().getByRole('button', { name: 'Enable Object Lock…' }).click();
  await confirmDialog().getByText('Once enabled, Object Lock cannot be turned off, and versioning stays on for good.').waitFor();
  await confirmDialog().locator('[data-versioning-needed="true"]').getByText('which is off for this bucket: it will be turned on first').waitFor();
  await waitFocusedOn(page, 'button:Cancel');
  const found: string[] = [];
  await check(page, 'Object Lock confirmation', found);
  assert.deepEqual(found, []);
  await page.keyboard.press('Enter');
  await confirmDialog().waitFor({ state: 'detached' });
  await waitFocusedOn(page, 'button:Enable Object Lock…');
  assert.deepEqual(await lockJson(), { enabled: false, default_retention: null });
  const head = await fetch(`${api.storageUrl}/${BUCKET}`, { method: 'HEAD', headers: { 'X-Auth-Token': api.token } });
  assert.equal(head.headers.get('x-versions-enabled'), null, 'versioning untouched');
});

step('confirming turns versioning on and enables Object Lock; the Versioning card then stays on', async () => {
  await card().getByRole('button', { name: 'Enable Object Lock…' }).click();
  await confirmDialog().getByRole('button', { name: 'Turn on versioning and enable Object Lock' }).click();
  await confirmDialog().waitFor({ state: 'detached' });
  await card().locator('[data-object-lock="on"]').waitFor();
  await card().getByText('Object Lock is on. You can now set a default retention.').waitFor();
  await waitFocusedOn(page, 'h2:Object Lock');
  assert.deepEqual(await lockJson(), { enabled: true, default_retention: null });
  const head = await fetch(`${api.storageUrl}/${BUCKET}`, { method: 'HEAD', headers: { 'X-Auth-Token': api.token } });
  assert.equal(head.headers.get('x-versions-enabled'), 'True');
  const versioning = page.locator('[data-settings="versioning"]');
  await versioning.locator('[data-versioning="enabled"]').waitFor();
  await versioning.locator('[data-versioning-locked]').waitFor();
  assert.equal(await versioning.getByLabel('Keep every version of each object').isDisabled(), true);
});

step('the default retention is checked as the API checks it, saved, and read back after a reload', async () => {
  const save = card().getByRole('button', { name: 'Save' });
  await card().getByLabel('Lock new versions with a default retention').check();
  await card().getByLabel('Retention mode').selectOption('COMPLIANCE');
  await card().getByText('Compliance: nobody, not even a Storage Admin').waitFor();
  const period = card().getByLabel('Retention period');
  await period.fill('36501');
  await card().getByText('Enter a whole number of days from 1 to 36,500.').waitFor();
  assert.equal(await save.isDisabled(), true);
  assert.equal(await period.getAttribute('aria-invalid'), 'true');
  await card().getByLabel('Unit').selectOption('years');
  await card().getByText('Enter a whole number of years from 1 to 100.').waitFor();
  await period.fill('1.5');
  await card().getByText('Enter a whole number of years from 1 to 100.').waitFor();
  await period.fill('1');
  await card().getByLabel('Unit').selectOption('days');
  assert.equal(await save.isDisabled(), false);
  await save.click();
  await card().getByRole('status').getByText('Saved.').waitFor();
  assert.deepEqual(await lockJson(), { enabled: true, default_retention: { mode: 'COMPLIANCE', days: 1 } });

  await openSettings();
  await card().locator('[data-object-lock="on"]').waitFor();
  assert.equal(await card().getByLabel('Lock new versions with a default retention').isChecked(), true);
  assert.equal(await card().getByLabel('Retention mode').inputValue(), 'COMPLIANCE');
  assert.equal(await card().getByLabel('Retention period').inputValue(), '1');
  assert.equal(await card().getByLabel('Unit').inputValue(), 'days');
  assert.equal(await card().getByRole('button', { name: 'Enable Object Lock…' }).count(), 0);
  const found: string[] = [];
  await check(page, 'settings with Object Lock at 1280 px', found);
  assert.deepEqual(found, []);
  await card().scrollIntoViewIfNeeded();
  await screenshot(page, 'settings-object-lock');
});

step('a version written under the compliance retention: deleting it in the console is refused in plain words, and it stays', async () => {
  const put = await fetch(`${api.storageUrl}/${BUCKET}/${KEY}`, { method: 'PUT', headers: { 'X-Auth-Token': api.token, 'Content-Type': 'text/csv' }, body: 'date,amount\n2026-12-07,100\n' });
  assert.equal(put.status, 201);
  versionId = put.headers.get('x-object-version-id') ?? '';
  assert.notEqual(versionId, '');

  await page.goto(`${server.url}/console/buckets/${BUCKET}?info=${KEY}`);
  const panel = page.getByRole('complementary', { name: 'Object information' });
  await panel.getByRole('button', { name: 'Versions', exact: true }).click();
  const versions = page.getByRole('dialog', { name: `Versions of ${KEY}` });
  const row = versions.locator(`tr[data-version="${versionId}"]`);
  await row.getByRole('button', { name: /^Delete/ }).click();
  await versions.locator('[data-confirm-version]').getByRole('button', { name: 'Delete version' }).click();
  await versions.getByRole('alert').getByText('Object Lock protects this version: it cannot be deleted or changed until its retention ends').waitFor();
  await row.waitFor();
  assert.deepEqual((await versionsListed()).map((v) => v.version_id), [versionId]);
  await page.keyboard.press('Escape');
  await versions.waitFor({ state: 'detached' });
});

step('deleting the object in the console hides it behind a delete marker; the locked version is kept', async () => {
  await page.goto(`${server.url}/console/buckets/${BUCKET}`);
  const row = page.locator(`tr[data-key="${KEY}"]`);
  await row.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const remove = page.getByRole('dialog', { name: 'Delete objects' });
  await remove.getByRole('button', { name: 'Delete' }).click();
  await remove.waitFor({ state: 'detached' });
  await row.waitFor({ state: 'detached' });
  const listed = await versionsListed();
  assert.equal(listed.length, 2, JSON.stringify(listed));
  assert.ok(listed.some((v) => v.version_id === versionId), 'the locked version is kept');
  const kept = await fetch(`${api.storageUrl}/${BUCKET}/${KEY}?version-id=${versionId}`, { headers: { 'X-Auth-Token': api.token } });
  assert.equal(await kept.text(), 'date,amount\n2026-12-07,100\n');
  assert.deepEqual(user.pageErrors, []);
});

step('a Storage Viewer sees Object Lock and its default retention read-only', async () => {
  const other = await openConsole(browser, server.url);
  try {
    await signIn(other.page, viewer.keyId, viewer.secret);
    await openSettings(other.page);
    const readOnly = other.page.locator('[data-settings="object-lock"]');
    assert.equal(await readOnly.getAttribute('data-readonly'), 'true');
    await readOnly.locator('[data-object-lock="on"]').waitFor();
    assert.equal(await readOnly.locator('[data-default-retention]').innerText(), 'Default retention: Compliance, 1 day.');
    await readOnly.getByText('Only a Storage Admin can change Object Lock.').waitFor();
    assert.equal(await readOnly.locator('input, select, button').count(), 0);
    assert.deepEqual(other.pageErrors, []);
  } finally {
    await other.context.close();
  }
});

step('at 390 px in Korean the card fits, and axe finds nothing serious on the page', async () => {
  const narrow = await openConsole(browser, server.url, { width: 390, height: 844, locale: 'ko-KR' });
  try {
    await signInKorean(narrow.page);
    await openSettings(narrow.page);
    const lock = narrow.page.locator('[data-settings="object-lock"]');
    await lock.getByRole('heading', { name: '객체 잠금' }).waitFor();
    assert.equal(await lock.getByLabel('보존 모드').inputValue(), 'COMPLIANCE');
    await lock.getByLabel('보존 기간', { exact: true }).fill('0');
    await lock.getByText('일 수를 1에서 36,500 사이의 정수로 입력하세요.').waitFor();
    await lock.scrollIntoViewIfNeeded();
    await checkNarrow(narrow, lock, 'settings with Object Lock in Korean', 'narrow-settings-object-lock');
  } finally {
    await narrow.context.close();
  }
});
