/**
 * axe-core on every page of the console, at 1280 px and 390 px, in English and Korean: the sign-in page, the bucket
 * list, a dialog, a bucket's objects with a folder, the object information panel, the settings tab. Serious and
 * critical violations fail the test; the rest are listed in its output.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { login, ROOT_KEY_ID, ROOT_SECRET } from '../helpers/server.ts';
import { check } from './axe.ts';
import { type ConsoleServer, createBucket, launchChromium, openConsole, startConsoleServer } from './harness.ts';

const BUCKET = 'axe-checked';

let server: ConsoleServer;
let browser: Browser;

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  const api = await login(server.url);
  await createBucket(server.url, api.token, BUCKET);
  for (const key of ['notes.txt', 'photos/cat.jpg']) {
    const response = await fetch(`${api.storageUrl}/${BUCKET}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': api.token }, body: key });
    assert.equal(response.status, 201);
  }
});
after(async () => {
  await browser.close();
  await server.destroy();
});

for (const width of [1280, 390]) {
  for (const locale of ['en-US', 'ko-KR']) {
    void test(`axe finds no serious or critical violation on any page at ${width} px in ${locale}`, async () => {
      const { page, context, pageErrors } = await openConsole(browser, server.url, { width, locale });
      const korean = locale === 'ko-KR';
      const found: string[] = [];
      try {
        await page.getByRole('button', { name: korean ? 'English (언어 바꾸기)' : '한국어 (Switch language)', exact: true }).waitFor();
        await check(page, 'sign-in', found);
        await page.getByLabel(korean ? '액세스 키 ID' : 'Access key ID').fill(ROOT_KEY_ID);
        await page.getByLabel(korean ? '보안 액세스 키' : 'Secret access key').fill(ROOT_SECRET);
        await page.getByRole('button', { name: korean ? '로그인' : 'Sign in' }).click();
        await page.getByRole('heading', { name: korean ? '버킷' : 'Buckets', exact: true }).waitFor();
        await page.getByRole('link', { name: BUCKET }).waitFor();
        await check(page, 'bucket list', found);

        await page.getByRole('button', { name: korean ? '버킷 생성' : 'Create bucket' }).click();
        await page.getByRole('dialog').waitFor();
        await check(page, 'create-bucket dialog', found);
        await page.keyboard.press('Escape');

        await page.goto(`${server.url}/console/buckets/${BUCKET}`);
        await page.locator('tr[data-key="notes.txt"]').waitFor();
        await check(page, 'objects', found);

        await page.locator('tr[data-key="notes.txt"]').getByRole('link', { name: 'notes.txt', exact: true }).click();
        await page.getByRole('complementary').waitFor();
        await check(page, 'object information', found);

        await page.goto(`${server.url}/console/buckets/${BUCKET}`);
        await page.getByRole('tab', { name: korean ? '설정' : 'Settings' }).click();
        for (const name of ['cors', 'lifecycle', 'logging', 'versioning']) await page.locator(`[data-settings="${name}"]`).waitFor();
        await page.locator('[data-settings="roles"] tr[data-member]').first().waitFor();
        await check(page, 'settings', found);
      } finally {
        await context.close();
      }
      assert.deepEqual(found, []);
      assert.deepEqual(pageErrors, []);
    });
  }
}
