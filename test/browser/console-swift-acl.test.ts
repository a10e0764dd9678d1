/**
 * The console shows the effective access of a bucket whose ACLs were set through Swift: `.r:*` as the public
 * flag, and the other grants (a second project's write access, a refused referrer) listed beside it; removing the
 * public flag in the console shows in Swift.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { login, type Session } from '../helpers/server.ts';
import { launchChromium, openConsole, screenshot, signIn, startConsoleServer, stepsInOrder, type ConsoleServer } from './harness.ts';

const BUCKET = 'shared-site';
const OTHER_PROJECT = 'partner-project-id';

let server: ConsoleServer;
let browser: Browser;
let api: Session;
let page: Page;

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  api = await login(server.url);
  const created = await fetch(`${api.storageUrl}/${BUCKET}`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': api.token, 'X-Container-Read': '.r:*,.rlistings,.r:-evil.example', 'X-Container-Write': `${OTHER_PROJECT}:*` },
  });
  assert.equal(created.status, 201);
  page = (await openConsole(browser, server.url)).page;
  await signIn(page);
});
after(async () => {
  await browser.close();
  await server.destroy();
});

const step = stepsInOrder();

step('Settings shows .r:* as public read-only access and lists the other grants', async () => {
  await page.goto(`${server.url}/console/buckets/${BUCKET}?tab=settings`);
  const access = page.getByRole('form', { name: 'Access', exact: true });
  await access.getByText('Also shared (Swift ACLs)').waitFor();
  assert.equal(await access.getByLabel('Public read-only access').isChecked(), true);
  const items = await access.locator('ul.grants li').allTextContents();
  assert.deepEqual(items.sort(), [`Every user of project ${OTHER_PROJECT}: writes and deletes objects`, 'Anyone: lists objects', 'Refused: pages on evil.example'].sort());
  await screenshot(page, 'bucket-settings-swift-acl');
});

step('turning public access off in the console shows in Swift, and the listing grant goes with it', async () => {
  const access = page.getByRole('form', { name: 'Access', exact: true });
  await access.getByLabel('Public read-only access').uncheck();
  await access.getByRole('button', { name: 'Save' }).click();
  await access.getByText('Saved.').waitFor();
  const head = await fetch(`${api.storageUrl}/${BUCKET}`, { method: 'HEAD', headers: { 'X-Auth-Token': api.token } });
  assert.equal(head.headers.get('x-container-read'), '.r:-evil.example');
  assert.equal(head.headers.get('x-container-write'), `${OTHER_PROJECT}:*`);
});
