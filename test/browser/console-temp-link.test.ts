/**
 * Temporary links in the console: for an object of a private bucket, a link with the expiry the user picks, signed
 * by the server (the bucket's key made only with the user's consent); it reads the object without a token until
 * it expires and not after; a reader without the right to make the key is told whom to ask; focus and axe-core
 * on the dialog at 1280 px and 390 px.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createAccount } from '../helpers/accounts.ts';
import { login, type Session } from '../helpers/server.ts';
import { check } from './axe.ts';
import { checkNarrow, type ConsolePage, type ConsoleServer, createBucket, launchChromium, openConsole, screenshot, signIn, signInKorean, startConsoleServer, stepsInOrder, waitFocusedOn } from './harness.ts';

const BUCKET = 'private-links';
const KEYLESS = 'private-keyless';
const KEY = 'plans/site plan.bin';
const BYTES = randomBytes(50_000);

let server: ConsoleServer;
let browser: Browser;
let api: Session;
let user: ConsolePage;
let page: Page;

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  api = await login(server.url);
  for (const name of [BUCKET, KEYLESS]) {
    await createBucket(server.url, api.token, name);
    const put = await fetch(`${api.storageUrl}/${name}/${KEY.split('/').map(encodeURIComponent).join('/')}`, { method: 'PUT', headers: { 'X-Auth-Token': api.token }, body: BYTES });
    assert.equal(put.status, 201);
  }
  user = await openConsole(browser, server.url);
  page = user.page;
});
after(async () => {
  await browser.close();
  await server.destroy();
});

const step = stepsInOrder();
const infoUrl = (bucket: string): string => `${server.url}/console/buckets/${bucket}?folder=plans%2F&info=${encodeURIComponent(KEY)}`;
const linkDialog = (p: Page = page) => p.getByRole('dialog', { name: 'Temporary link' });

async function openLinkDialog(p: Page, bucket: string): Promise<void> {
  await p.goto(infoUrl(bucket));
  const panel = p.getByRole('complementary', { name: 'Object information' });
  await panel.locator('[data-fact="etag"]').waitFor();
  await panel.getByRole('button', { name: 'Temporary link' }).click();
  await linkDialog(p).getByRole('radio', { name: '1 hour' }).waitFor();
}

async function fetchAnonymously(url: string): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

step('a private object’s link, with the user’s consent to the bucket’s key, works without a token until it expires', async () => {
  await signIn(page);
  assert.equal((await fetchAnonymously(`${api.storageUrl}/${BUCKET}/plans/site%20plan.bin`)).status, 401, 'the bucket is private');
  await openLinkDialog(page, BUCKET);
  const found: string[] = [];
  await check(page, 'temporary link dialog', found);
  const dialog = linkDialog();
  await dialog.getByRole('radio', { name: 'Custom' }).check();
  await dialog.getByLabel('How long').fill('4');
  await dialog.getByLabel('Unit').selectOption('seconds');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  // No key yet: nothing is made without asking.
  await dialog.locator('[data-no-key]').waitFor();
  const head = await fetch(`${api.storageUrl}/${BUCKET}`, { method: 'HEAD', headers: { 'X-Auth-Token': api.token } });
  assert.equal(head.headers.get('x-container-meta-temp-url-key'), null);
  await check(page, 'temporary link dialog asking for a key', found);
  await dialog.getByRole('button', { name: 'Create key and link' }).click();
  const url = dialog.locator('[data-temp-link-url]');
  await url.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.hasAttribute('data-temp-link-url')), true, 'the focus is on the link');
  const link = await url.inputValue();
  assert.ok(link.startsWith(`${api.storageUrl}/${BUCKET}/plans/site%20plan.bin?temp_url_sig=`), link);
  const before = await fetchAnonymously(link);
  assert.equal(before.status, 200);
  assert.ok(before.body.equals(BYTES), 'the object’s bytes');
  await page.waitForTimeout(5500);
  assert.equal((await fetchAnonymously(link)).status, 401, 'refused once expired');
  assert.deepEqual(found, []);
});

step('a one-hour link shows when it ends and copies; Escape returns the focus to the opener', async () => {
  const dialog = linkDialog();
  await dialog.getByRole('radio', { name: '1 hour' }).check();
  await dialog.locator('[data-temp-link-url]').waitFor({ state: 'detached' });
  const asked = Date.now();
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const url = dialog.locator('[data-temp-link-url]');
  await url.waitFor();
  const expiresAt = Date.parse((await dialog.locator('[data-expires-at]').getAttribute('data-expires-at')) ?? '');
  assert.ok(Math.abs(expiresAt - (asked + 3600_000)) < 10_000, `expires an hour on: ${new Date(expiresAt).toISOString()}`);
  await dialog.getByRole('button', { name: 'Copy URL' }).click();
  await dialog.getByRole('status').getByText('URL copied').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await url.inputValue());
  assert.equal((await fetchAnonymously(await url.inputValue())).status, 200);
  await screenshot(page, 'temp-link');
  const found: string[] = [];
  await check(page, 'temporary link dialog with a link', found);
  assert.deepEqual(found, []);
  await page.keyboard.press('Escape');
  await linkDialog().waitFor({ state: 'detached' });
  await page.getByRole('complementary', { name: 'Object information' }).waitFor();
  await waitFocusedOn(page, 'button:Temporary link');
  assert.deepEqual(user.pageErrors, []);
});

step('a reader is told whom to ask when the bucket has no key, and gets links where it has one', async () => {
  const account = await createAccount(server.dataDir, 'reader', { project: api.projectId });
  const reader = await openConsole(browser, server.url);
  try {
    await signIn(reader.page, account.keyId, account.secret);
    await openLinkDialog(reader.page, KEYLESS);
    await linkDialog(reader.page).getByRole('button', { name: 'Create link' }).click();
    await linkDialog(reader.page).locator('[data-no-key]').getByText('Ask one of them').waitFor();
    assert.equal(await linkDialog(reader.page).getByRole('button', { name: 'Create key and link' }).count(), 0);
    await reader.page.keyboard.press('Escape');
    await openLinkDialog(reader.page, BUCKET);
    await linkDialog(reader.page).getByRole('button', { name: 'Create link' }).click();
    const link = await linkDialog(reader.page).locator('[data-temp-link-url]').inputValue();
    assert.ok((await fetchAnonymously(link)).body.equals(BYTES));
    assert.deepEqual(reader.pageErrors, []);
  } finally {
    await reader.context.close();
  }
});

step('no link for a caller who may not read the object (API)', async () => {
  const account = await createAccount(server.dataDir, 'admin');
  const stranger = await login(server.url, account.keyId, account.secret);
  for (const token of [stranger.token, null]) {
    const response = await fetch(`${server.url}/v1_ext/bucket/${BUCKET}/temp_url`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token === null ? {} : { 'X-Auth-Token': token }) },
      body: JSON.stringify({ object: KEY, expires_in: 60 }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, token === null ? 401 : 404);
    assert.equal(body.query, undefined);
  }
});

step('at 390 px in Korean the dialog fits, and axe finds nothing serious in it', async () => {
  const narrow = await openConsole(browser, server.url, { width: 390, height: 844, locale: 'ko-KR' });
  try {
    await signInKorean(narrow.page);
    await narrow.page.goto(infoUrl(BUCKET));
    await narrow.page.getByRole('complementary').getByRole('button', { name: '임시 링크' }).click();
    const dialog = narrow.page.getByRole('dialog', { name: '임시 링크' });
    await dialog.getByRole('radio', { name: '1일' }).check();
    await dialog.getByRole('button', { name: '링크 만들기' }).click();
    await dialog.locator('[data-temp-link-url]').waitFor();
    await checkNarrow(narrow, dialog, 'temporary link dialog in Korean', 'narrow-temp-link');
  } finally {
    await narrow.context.close();
  }
});
