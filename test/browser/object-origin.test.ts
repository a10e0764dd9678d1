/**
 * Issue 22 item 4 in a real browser: an HTML object in another project's public bucket, opened in a tab where
 * the console is signed in (same origin), cannot read the console's token from session storage. Anonymously it
 * comes as a download (Content-Disposition: attachment); stored with its own `inline` disposition it renders, but
 * sandboxed by `Content-Security-Policy: sandbox` (no script, an opaque origin).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createAccount, request, uniqueName } from '../helpers/accounts.ts';
import { login, type Session } from '../helpers/server.ts';
import { launchChromium, openConsole, signIn, startConsoleServer, type ConsoleServer } from './harness.ts';

let server: ConsoleServer;
let browser: Browser;
let attacker: Session;
let bucket: string;

/** Reads the console's session and, with its token, the victim's buckets: what the review's page did. */
const EVIL = `<!doctype html><title>evil page</title><script>
try {
  const session = JSON.parse(sessionStorage.getItem('onggi.session'));
  document.title = 'LEAK:' + session.token;
  fetch('/v1_ext/bucket', { headers: { 'X-Auth-Token': session.token } }).then((r) => r.text()).then((t) => { document.title = 'LEAK-BUCKETS:' + t; });
} catch (e) { document.title = 'BLOCKED:' + e.name; }
</script>`;

before(async () => {
  [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  const account = await createAccount(server.dataDir, 'admin');
  attacker = await login(server.url, account.keyId, account.secret);
  bucket = uniqueName('evil');
  assert.equal((await request(`${server.url}/v1_ext/bucket`, { method: 'PUT', token: attacker.token, body: { name: bucket, type: 'STANDARD' } })).status, 201);
  const acl = await request(`${server.url}/v1_ext/bucket/${bucket}`, { method: 'POST', token: attacker.token, body: { acl: { public: 'read-only' } } });
  assert.equal(acl.status, 200, acl.text);
  for (const [key, extra] of [['page.html', {}], ['inline.html', { 'Content-Disposition': 'inline' }]] as const) {
    const put = await fetch(`${attacker.storageUrl}/${bucket}/${key}`, { method: 'PUT', headers: { 'X-Auth-Token': attacker.token, 'Content-Type': 'text/html', ...extra }, body: EVIL });
    assert.equal(put.status, 201);
  }
});
after(async () => {
  await browser.close();
  await server.destroy();
});

/** Opens the object in the signed-in console's own tab; what the page's title says once any script had its chance. */
async function openInConsoleTab(page: Page, key: string): Promise<string> {
  const token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('onggi.session') ?? 'null') as { token: string } | null)?.token ?? '');
  assert.ok(token.length > 10, 'the console keeps its token in session storage');
  await page.goto(`${attacker.storageUrl}/${bucket}/${key}`).catch((err: unknown) => {
    // A download instead of a page: the navigation is aborted, and the console stays.
    assert.match(String(err), /Download is starting|net::ERR_ABORTED/);
  });
  await page.waitForTimeout(500);
  const title = await page.title();
  assert.ok(!title.includes(token), `the page read the console's token: ${title.slice(0, 80)}`);
  assert.doesNotMatch(title, /^LEAK/);
  return title;
}

test('an HTML object of a public bucket opened anonymously in the console tab is a download', async () => {
  const { context, page } = await openConsole(browser, `${server.url}/console`);
  try {
    await signIn(page);
    const download = page.waitForEvent('download', { timeout: 5000 }).catch(() => null);
    await openInConsoleTab(page, 'page.html');
    assert.equal((await download)?.suggestedFilename(), 'page.html', 'the page came as a download');
  } finally {
    await context.close();
  }
});

test('stored inline, it renders sandboxed: its script does not run on the console origin', async () => {
  const { context, page } = await openConsole(browser, `${server.url}/console`);
  try {
    await signIn(page);
    const title = await openInConsoleTab(page, 'inline.html');
    assert.equal(title, 'evil page', 'the script never ran');
  } finally {
    await context.close();
  }
});
