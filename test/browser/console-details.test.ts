/**
 * The console's details: the language button's accessible name holds its visible text, Korean messages without the
 * server's English, one item named rather than counted, a folder's delete saying how many objects go with it,
 * the API's metadata and allow-list limits checked before sending, arrow keys between the tabs.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { login, type Session } from '../helpers/server.ts';
import { type ConsolePage, type ConsoleServer, createBucket, launchChromium, openConsole, signIn, startConsoleServer, stepsInOrder } from './harness.ts';

const BUCKET = 'fine-print';

let server: ConsoleServer;
let browser: Browser;
let api: Session;
let user: ConsolePage;
let page: Page;

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  api = await login(server.url);
  await createBucket(server.url, api.token, BUCKET);
  for (const key of ['memo.txt', 'old/a.txt', 'old/b.txt', 'old/deeper/c.txt']) {
    const response = await fetch(`${api.storageUrl}/${BUCKET}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': api.token }, body: key });
    assert.equal(response.status, 201);
  }
  // Three objects a second apart, their sizes in another order than their names.
  for (const [key, bytes] of [['sizes/big.txt', 100], ['sizes/small.txt', 1], ['sizes/mid.txt', 10]] as const) {
    const response = await fetch(`${api.storageUrl}/${BUCKET}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': api.token }, body: 'x'.repeat(bytes) });
    assert.equal(response.status, 201);
    await new Promise((resolve) => setTimeout(resolve, 1100));
  }
  user = await openConsole(browser, server.url);
  page = user.page;
});
after(async () => {
  await browser.close();
  await server.destroy();
});

const step = stepsInOrder();

const row = (key: string) => page.locator(`tr[data-key="${key}"]`);
const dialog = (name: string) => page.getByRole('dialog', { name });

step('the language button is named by what it shows, then what it does', async () => {
  await page.getByRole('button', { name: '한국어 (Switch language)', exact: true }).waitFor();
  await signIn(page);
  await page.getByRole('button', { name: '한국어 (Switch language)', exact: true }).click();
  await page.getByRole('button', { name: 'English (언어 바꾸기)', exact: true }).waitFor();
});

step('in Korean, a refusal is explained in Korean without the server’s English after it', async () => {
  await page.getByRole('button', { name: '버킷 생성' }).click();
  const create = dialog('버킷 생성');
  await create.getByLabel('버킷 이름').fill(BUCKET);
  await create.getByRole('button', { name: '생성', exact: true }).click();
  const alert = create.getByRole('alert');
  await alert.getByText('같은 이름의 버킷이 이미 있습니다').waitFor();
  assert.equal(await alert.locator('.detail').count(), 0);
  assert.doesNotMatch(await alert.innerText(), /[A-Za-z]{4,}/, 'no English words');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'English (언어 바꾸기)', exact: true }).click();
  // In English the server's own words stay, under the explanation.
  await page.getByRole('button', { name: 'Create bucket' }).click();
  await dialog('Create bucket').getByLabel('Bucket name').fill(BUCKET);
  await dialog('Create bucket').getByRole('button', { name: 'Create', exact: true }).click();
  await dialog('Create bucket').getByRole('alert').locator('.detail').waitFor();
  await page.keyboard.press('Escape');
});

step('arrow keys move between the Objects and Settings tabs', async () => {
  await page.goto(`${server.url}/console/buckets/${BUCKET}`);
  await row('memo.txt').waitFor();
  await page.getByRole('tab', { name: 'Objects' }).focus();
  await page.keyboard.press('ArrowRight');
  await page.locator('[data-settings="cors"]').waitFor();
  assert.match(page.url(), /tab=settings/);
  await page.waitForFunction(() => document.activeElement?.getAttribute('data-tab') === 'settings');
  assert.equal(await page.getByRole('tab', { name: 'Settings' }).getAttribute('aria-selected'), 'true');
  await page.keyboard.press('ArrowLeft');
  await row('memo.txt').waitFor();
  await page.waitForFunction(() => document.activeElement?.getAttribute('data-tab') === 'objects');
  assert.equal(await page.getByRole('tab', { name: 'Settings' }).getAttribute('tabindex'), '-1', 'one tab stop for the tab list');
});

step('an object’s last-modified time is the same second in the list and in its information panel', async () => {
  await page.goto(`${server.url}/console/buckets/${BUCKET}?folder=old%2F&info=old%2Fb.txt`);
  const panel = page.getByRole('complementary', { name: 'Object information' });
  await panel.locator('[data-fact="lastModified"]').waitFor();
  const inList = await row('old/b.txt').locator('td').nth(2).innerText();
  assert.equal(await panel.locator('[data-fact="lastModified"]').innerText(), inList);
  await panel.getByRole('button', { name: 'Close' }).click();
  await page.goto(`${server.url}/console/buckets/${BUCKET}`);
  await row('memo.txt').waitFor();
});

step('one item is named, not counted; a folder’s delete says how many objects go with it', async () => {
  await row('memo.txt').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog('Delete objects').getByText('Delete “memo.txt”? This cannot be undone.').waitFor();
  await page.keyboard.press('Escape');
  await row('memo.txt').getByRole('checkbox').uncheck();
  await row('old/').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog('Delete objects').getByText('Folders are deleted together with everything in them: 3 objects in all.').waitFor();
  await page.keyboard.press('Escape');
});

step('the page sorts by name, size or date, folders first; pressed again, the other way round', async () => {
  await page.goto(`${server.url}/console/buckets/${BUCKET}?folder=sizes%2F`);
  await row('sizes/big.txt').waitFor();
  const order = async (): Promise<string[]> => page.locator('tr[data-key]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key') ?? ''));
  assert.deepEqual(await order(), ['sizes/big.txt', 'sizes/mid.txt', 'sizes/small.txt']);
  const header = (name: string) => page.getByRole('columnheader', { name });
  assert.equal(await header('Name').getAttribute('aria-sort'), 'ascending');
  await header('Size').getByRole('button').click();
  assert.deepEqual(await order(), ['sizes/small.txt', 'sizes/mid.txt', 'sizes/big.txt']);
  assert.equal(await header('Size').getAttribute('aria-sort'), 'ascending');
  assert.equal(await header('Name').getAttribute('aria-sort'), null);
  await header('Size').getByRole('button').press('Enter');
  assert.deepEqual(await order(), ['sizes/big.txt', 'sizes/mid.txt', 'sizes/small.txt']);
  assert.equal(await header('Size').getAttribute('aria-sort'), 'descending');
  await header('Last modified').getByRole('button').click();
  assert.deepEqual(await order(), ['sizes/big.txt', 'sizes/small.txt', 'sizes/mid.txt']);
  await page.goto(`${server.url}/console/buckets/${BUCKET}`);
  await row('memo.txt').waitFor();
  assert.deepEqual((await order()).slice(0, 2), ['old/', 'sizes/'], 'folders first');
});

step('metadata and the IP allow list are held to the API’s limits before anything is sent', async () => {
  await page.getByRole('button', { name: 'Create folder' }).click();
  const create = dialog('Create folder');
  await create.getByLabel('Folder name').fill('limits');
  await create.getByRole('button', { name: 'Add metadata' }).click();
  await create.getByRole('textbox', { name: 'Metadata name' }).fill('Note');
  await create.getByRole('textbox', { name: 'Metadata value' }).fill('가'.repeat(86));
  await create.getByText('A metadata value is at most 256 bytes').waitFor();
  assert.equal(await create.getByRole('button', { name: 'Create', exact: true }).isDisabled(), true);
  await create.getByRole('textbox', { name: 'Metadata value' }).fill('가'.repeat(85));
  assert.equal(await create.getByRole('button', { name: 'Create', exact: true }).isDisabled(), false);
  await create.getByRole('textbox', { name: 'Metadata name' }).fill('x'.repeat(129));
  await create.getByText('A metadata name is at most 128 characters.').waitFor();
  await page.keyboard.press('Escape');

  await page.getByRole('tab', { name: 'Settings' }).click();
  const access = page.getByRole('form', { name: 'Access', exact: true });
  await access.getByLabel('IP allow list').fill(Array.from({ length: 101 }, (_, i) => `10.0.${Math.floor(i / 256)}.${i % 256}`).join('\n'));
  await access.getByText('The allow list holds at most 100 entries (101 now).').waitFor();
  assert.equal(await access.getByRole('button', { name: 'Save' }).isDisabled(), true);
  assert.deepEqual(user.pageErrors, []);
});
