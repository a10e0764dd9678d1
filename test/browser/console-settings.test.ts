/**
 * The bucket Settings tab against the /v1_ext API: CORS, lifecycle, access logging and bucket roles, each set in
 * the browser, checked as the API checks it before anything is sent, then read back from the API and from a
 * reloaded page (a round trip both ways), in English and in Korean, at 1280 and 390 px.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createAccount, type Account } from '../helpers/accounts.ts';
import { login, type Session } from '../helpers/server.ts';
import { type ConsolePage, type ConsoleServer, createBucket, docsDir, launchChromium, openConsole, screenshot, signIn, signInKorean, startConsoleServer, stepsInOrder } from './harness.ts';

const BUCKET = 'site-assets';
const LOGS = 'access-logs';

let server: ConsoleServer;
let browser: Browser;
let api: Session;
let user: ConsolePage;
let page: Page;
let member: Account;

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  api = await login(server.url);
  member = await createAccount(server.dataDir, 'member', { project: 'default' });
  for (const name of [BUCKET, LOGS]) {
    await createBucket(server.url, api.token, name);
  }
  user = await openConsole(browser, server.url);
  page = user.page;
  await signIn(page);
});
after(async () => {
  await browser.close();
  await server.destroy();
});

const step = stepsInOrder();

async function apiJson(resource: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}/v1_ext/bucket/${BUCKET}/${resource}`, { headers: { 'X-Auth-Token': api.token } });
  return { status: response.status, body: response.status === 200 ? await response.json() : null };
}

const card = (name: string) => page.locator(`[data-settings="${name}"]`);

async function openSettings(): Promise<void> {
  await page.goto(`${server.url}/console/buckets/${BUCKET}?tab=settings`);
  await card('cors').waitFor();
  await card('lifecycle').waitFor();
  await card('logging').waitFor();
  await card('roles').locator('tr[data-member]').first().waitFor();
}

step('CORS: rules are checked as the API checks them, saved, read back after a reload, and removed', async () => {
  await openSettings();
  const cors = card('cors');
  await cors.getByText('No CORS rules').waitFor();
  await cors.getByRole('button', { name: 'Add rule' }).click();
  const rule = cors.locator('[data-rule="0"]');
  const save = cors.getByRole('button', { name: 'Save' });
  await rule.getByText('Enter at least one origin').waitFor();
  assert.equal(await save.isDisabled(), true);
  await rule.getByLabel('Allowed origins').fill('https://*.example.*');
  await rule.getByText('has more than one “*”').waitFor();
  await rule.getByLabel('Allowed origins').fill('https://app.example.com\nhttps://*.example.org');
  await rule.getByRole('checkbox', { name: 'PUT' }).check();
  await rule.getByLabel('Allowed request headers').fill('Content-Type, X-Auth-Token, X(bad)');
  await rule.getByText('“X(bad)” is not a header name').waitFor();
  await rule.getByLabel('Allowed request headers').fill('Content-Type, X-Auth-Token, X-Object-Meta-*');
  await rule.getByLabel('Headers scripts may read').fill('ETag, X-*');
  await rule.getByText('“X-*” is not a header name (no “*” here)').waitFor();
  await rule.getByLabel('Headers scripts may read').fill('ETag');
  await rule.getByLabel('Preflight cache (seconds)').fill('1.5');
  await rule.getByText('whole number of seconds').waitFor();
  await rule.getByLabel('Preflight cache (seconds)').fill('600');
  await rule.getByRole('checkbox', { name: 'GET' }).uncheck();
  await rule.getByRole('checkbox', { name: 'PUT' }).uncheck();
  await rule.getByText('Choose at least one method.').waitFor();
  await rule.getByRole('checkbox', { name: 'GET' }).check();
  await rule.getByRole('checkbox', { name: 'PUT' }).check();
  await save.click();
  await cors.getByRole('status').getByText('Saved.').waitFor();
  assert.deepEqual((await apiJson('cors')).body, {
    rules: [{
      allowed_origins: ['https://app.example.com', 'https://*.example.org'],
      allowed_methods: ['GET', 'PUT'],
      allowed_headers: ['Content-Type', 'X-Auth-Token', 'X-Object-Meta-*'],
      expose_headers: ['ETag'],
      max_age_seconds: 600,
    }],
  });
  // The rule works: a preflight from an allowed origin is answered.
  const preflight = await fetch(`${api.storageUrl}/${BUCKET}/x`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'PUT' },
  });
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');

  await page.reload();
  await card('cors').locator('[data-rule="0"]').waitFor();
  assert.equal(await card('cors').getByLabel('Allowed origins').inputValue(), 'https://app.example.com\nhttps://*.example.org');
  assert.equal(await card('cors').getByLabel('Preflight cache (seconds)').inputValue(), '600');
  assert.equal(await card('cors').getByRole('checkbox', { name: 'PUT' }).isChecked(), true);
  await screenshot(page, 'settings-cors');

  await card('cors').getByRole('button', { name: 'Remove rule 1' }).click();
  await card('cors').getByRole('button', { name: 'Save' }).click();
  await card('cors').getByRole('status').getByText('Saved.').waitFor();
  const removed = await apiJson('cors');
  assert.ok(removed.status === 404 || JSON.stringify(removed.body) === '{"rules":[]}', JSON.stringify(removed));
});

step('lifecycle: days and a date, names unique, a rule must act; round trip; fields the console does not edit survive', async () => {
  // A rule made through the API with a tag filter and an abort action the console shows but does not edit.
  const put = await fetch(`${server.url}/v1_ext/bucket/${BUCKET}/lifecycle`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': api.token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ rules: [{ id: 'old-uploads', status: 'Enabled', filter: { prefix: 'tmp/' }, abort_incomplete_multipart_upload: { days_after_initiation: 3 } }] }),
  });
  assert.equal(put.status, 200);
  await openSettings();
  const lifecycle = card('lifecycle');
  const first = lifecycle.locator('[data-rule="0"]');
  await first.getByText('unfinished uploads are stopped after 3 days').waitFor();
  assert.equal(await first.getByRole('radio', { name: /^never/ }).isChecked(), true);

  await lifecycle.getByRole('button', { name: 'Add rule' }).click();
  const second = lifecycle.locator('[data-rule="1"]');
  await second.getByLabel('Rule name').fill('old-uploads');
  await second.getByText('Another rule has this name').waitFor();
  const save = lifecycle.getByRole('button', { name: 'Save' });
  assert.equal(await save.isDisabled(), true);
  await second.getByLabel('Rule name').fill('expire-logs');
  await second.getByLabel('Objects whose names start with').fill('logs/');
  await second.getByLabel('Days after last modified').fill('0');
  await second.getByText('1 or more').waitFor();
  await second.getByLabel('Days after last modified').fill('30');

  await lifecycle.getByRole('button', { name: 'Add rule' }).click();
  const third = lifecycle.locator('[data-rule="2"]');
  await third.getByLabel('Rule name').fill('campaign-end');
  await third.getByRole('radio', { name: 'On a date' }).check();
  await third.getByText('Choose a date.').waitFor();
  await third.getByLabel('Date (UTC)').fill('2027-03-01');
  await third.getByRole('radio', { name: /^never/ }).check();
  await third.getByText('A rule has to do something').waitFor();
  await third.getByRole('radio', { name: 'On a date' }).check();
  await third.getByLabel('Rule enabled').uncheck();
  await save.click();
  await lifecycle.getByRole('status').getByText('Saved.').waitFor();
  assert.deepEqual((await apiJson('lifecycle')).body, {
    rules: [
      { id: 'old-uploads', status: 'Enabled', filter: { prefix: 'tmp/' }, abort_incomplete_multipart_upload: { days_after_initiation: 3 } },
      { id: 'expire-logs', status: 'Enabled', filter: { prefix: 'logs/' }, expiration: { days: 30 } },
      { id: 'campaign-end', status: 'Disabled', filter: { prefix: '' }, expiration: { date: '2027-03-01T00:00:00Z' } },
    ],
  });

  await page.reload();
  await card('lifecycle').locator('[data-rule="2"]').waitFor();
  assert.equal(await card('lifecycle').locator('[data-rule="1"]').getByLabel('Days after last modified').inputValue(), '30');
  assert.equal(await card('lifecycle').locator('[data-rule="2"]').getByLabel('Date (UTC)').inputValue(), '2027-03-01');
  assert.equal(await card('lifecycle').locator('[data-rule="2"]').getByLabel('Rule enabled').isChecked(), false);
  await card('lifecycle').screenshot({ path: `${docsDir}/settings-lifecycle.png` });

  for (let i = 3; i >= 1; i -= 1) await card('lifecycle').getByRole('button', { name: `Remove rule ${i}` }).click();
  await card('lifecycle').getByText('No lifecycle rules').waitFor();
  await card('lifecycle').getByRole('button', { name: 'Save' }).click();
  await card('lifecycle').getByRole('status').getByText('Saved.').waitFor();
  assert.equal((await apiJson('lifecycle')).status, 404, 'no rules left: the configuration is deleted');
});

step('access logging: on into another bucket with a prefix, read back, then off', async () => {
  await openSettings();
  const logging = card('logging');
  await logging.getByLabel('Record access logs').check();
  await logging.getByText('Choose the bucket that receives the logs.').waitFor();
  assert.equal(await logging.getByRole('button', { name: 'Save' }).isDisabled(), true);
  await logging.getByLabel('Target bucket').selectOption(LOGS);
  await logging.getByLabel('Name prefix of the log objects').fill('x'.repeat(257));
  await logging.getByText('at most 256 characters').waitFor();
  await logging.getByLabel('Name prefix of the log objects').fill('site/');
  await logging.getByRole('button', { name: 'Save' }).click();
  await logging.getByRole('status').getByText('Saved.').waitFor();
  assert.deepEqual((await apiJson('logging')).body, { target_bucket: LOGS, target_prefix: 'site/' });

  await page.reload();
  await card('logging').getByLabel('Record access logs').waitFor();
  assert.equal(await card('logging').getByLabel('Record access logs').isChecked(), true);
  assert.equal(await card('logging').getByLabel('Target bucket').inputValue(), LOGS);
  assert.equal(await card('logging').getByLabel('Name prefix of the log objects').inputValue(), 'site/');

  await card('logging').getByLabel('Record access logs').uncheck();
  await card('logging').getByRole('button', { name: 'Save' }).click();
  await card('logging').getByRole('status').getByText('Saved.').waitFor();
  assert.equal((await apiJson('logging')).status, 404);
});

step('bucket roles: a member made Viewer, then Admin; an unknown user ID and taking away the last Admin are refused in plain words', async () => {
  await openSettings();
  const roles = card('roles');
  const memberRow = roles.locator(`tr[data-member="${member.userId}"]`);
  await memberRow.getByText('from the project role').waitFor();
  assert.equal(await memberRow.getByRole('combobox').inputValue(), 'Storage Editor');

  await roles.getByRole('button', { name: 'Assign role' }).click();
  await roles.getByText('Enter the user ID of a member of this project.').waitFor();
  await roles.getByLabel('User ID of a project member').fill('no-such-user-id');
  await roles.getByRole('button', { name: 'Assign role' }).click();
  await roles.getByRole('alert').getByText('No member of this project has this user ID').waitFor();

  await memberRow.getByRole('combobox').selectOption('Storage Viewer');
  await roles.getByRole('status').getByText('Saved.').waitFor();
  await memberRow.getByText('set on this bucket').waitFor();
  const permissions = async (): Promise<{ user_id: string; role: string; from: string }[]> =>
    ((await apiJson('permissions')).body as { permissions: { user_id: string; role: string; from: string }[] }).permissions;
  assert.deepEqual((await permissions()).find((p) => p.user_id === member.userId), { user_id: member.userId, user_name: member.userName, role: 'Storage Viewer', from: 'bucket' });

  // The only Storage Admin cannot be taken away: the console says why without asking the server.
  const adminRow = roles.locator('tr[data-member]').filter({ has: page.locator('strong', { hasText: /^admin$/ }) });
  await adminRow.getByRole('button', { name: /Remove the role of/ }).click();
  await roles.getByText('A bucket keeps at least one Storage Admin').waitFor();

  await memberRow.getByRole('combobox').selectOption('Storage Admin');
  await roles.getByRole('status').getByText('Saved.').waitFor();
  await page.reload();
  await card('roles').locator(`tr[data-member="${member.userId}"]`).waitFor();
  assert.equal(await card('roles').locator(`tr[data-member="${member.userId}"]`).getByRole('combobox').inputValue(), 'Storage Admin');
  await card('roles').screenshot({ path: `${docsDir}/settings-roles.png` });

  await card('roles').locator(`tr[data-member="${member.userId}"]`).getByRole('button', { name: /Remove the role of/ }).click();
  await card('roles').getByRole('status').getByText('Saved.').waitFor();
  await card('roles').locator(`tr[data-member="${member.userId}"]`).waitFor({ state: 'detached' });
  assert.equal((await permissions()).some((p) => p.user_id === member.userId), false);

  // Given back by user ID.
  await card('roles').getByLabel('User ID of a project member').fill(member.userId);
  await card('roles').getByRole('button', { name: 'Assign role' }).click();
  await card('roles').locator(`tr[data-member="${member.userId}"]`).waitFor();
  assert.equal((await permissions()).find((p) => p.user_id === member.userId)?.role, 'Storage Viewer');
});

step('a member without Storage Admin sees the settings and is told plainly that only an Admin may change them', async () => {
  const other = await openConsole(browser, server.url);
  try {
    await signIn(other.page, member.keyId, member.secret);
    await other.page.goto(`${server.url}/console/buckets/${BUCKET}?tab=settings`);
    const cors = other.page.locator('[data-settings="cors"]');
    await cors.getByRole('button', { name: 'Add rule' }).click();
    await cors.getByLabel('Allowed origins').fill('*');
    await cors.getByRole('button', { name: 'Save' }).click();
    await cors.getByRole('alert').getByText('Only a Storage Admin of the bucket may change this').waitFor();
  } finally {
    await other.context.close();
  }
});

step('in Korean and at 390 px: the same forms, their checks in Korean, no sideways scrolling', async () => {
  const korean = await openConsole(browser, server.url, { locale: 'ko-KR', width: 390, height: 844 });
  try {
    const ko = korean.page;
    await signInKorean(ko);
    await ko.goto(`${server.url}/console/buckets/${BUCKET}?tab=settings`);
    const cors = ko.locator('[data-settings="cors"]');
    await cors.getByRole('heading', { name: 'CORS' }).waitFor();
    await cors.getByRole('button', { name: '규칙 추가' }).click();
    await cors.getByText('오리진을 하나 이상 입력하세요').waitFor();
    const lifecycle = ko.locator('[data-settings="lifecycle"]');
    await lifecycle.getByRole('heading', { name: '수명 주기' }).waitFor();
    await ko.locator('[data-settings="roles"]').getByRole('heading', { name: '버킷 역할' }).waitFor();
    await ko.locator('[data-settings="logging"]').getByRole('heading', { name: '접근 로그' }).waitFor();
    assert.ok(await ko.evaluate(() => document.documentElement.scrollWidth <= 390), 'no sideways scrolling at 390 px');
    await screenshot(ko, 'narrow-settings-korean');
  } finally {
    await korean.context.close();
  }
  assert.deepEqual(user.pageErrors, []);
});
