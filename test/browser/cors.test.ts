/**
 * CORS in a real browser: a page of another origin `fetch`es objects of a bucket whose CORS rules allow it (the
 * browser lets the page read them, preflighted PUTs included) and of one whose rules do not (the browser refuses).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { request, uniqueName } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { launchChromium } from './harness.ts';

let onggi: RunningServer;
let site: Server;
let browser: Browser;
let root: Session;
/** The same page server under two origins: one the bucket's rules name, one they do not. */
let allowedOrigin: string;
let strangerOrigin: string;

before(async () => {
  [onggi, browser] = await Promise.all([startServer(), launchChromium()]);
  root = await login(onggi.url);
  site = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>another site</title>'));
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const { port } = site.address() as AddressInfo;
  allowedOrigin = `http://127.0.0.1:${port}`;
  strangerOrigin = `http://localhost:${port}`;
});
after(async () => {
  await browser.close();
  site.close();
  await onggi.destroy();
});

async function bucketWithCors(): Promise<string> {
  const name = uniqueName('web');
  assert.equal((await request(`${onggi.url}/v1_ext/bucket`, { method: 'PUT', token: root.token, body: { name, type: 'STANDARD' } })).status, 201);
  const put = await fetch(`${root.storageUrl}/${name}/note.txt`, { method: 'PUT', headers: { 'X-Auth-Token': root.token, 'X-Object-Meta-Color': 'blue' }, body: 'from onggi' });
  assert.equal(put.status, 201);
  const rules = [{ allowed_origins: [allowedOrigin], allowed_methods: ['GET', 'PUT'], allowed_headers: ['x-auth-token', 'content-type'], expose_headers: ['X-Object-Meta-Color'], max_age_seconds: 60 }];
  const configured = await request(`${onggi.url}/v1_ext/bucket/${name}/cors`, { method: 'PUT', token: root.token, body: { rules } });
  assert.equal(configured.status, 200, configured.text);
  return name;
}

async function pageAt(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return page;
}

interface FetchOutcome {
  ok: boolean;
  status?: number;
  body?: string;
  color?: string | null;
  error?: string;
}

/** Runs `fetch` inside the page, as the site's own script would. */
async function fetchFrom(page: Page, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<FetchOutcome> {
  return page.evaluate(async ({ url, init }) => {
    try {
      const response = await fetch(url, init);
      return { ok: true, status: response.status, body: await response.text(), color: response.headers.get('X-Object-Meta-Color') };
    } catch (err) {
      return { ok: false, error: String(err) };
    }
  }, { url, init });
}

test("the allowed origin reads an object, sees the exposed header, and writes through a preflight", async () => {
  const bucket = await bucketWithCors();
  const page = await pageAt(allowedOrigin);
  try {
    const read = await fetchFrom(page, `${root.storageUrl}/${bucket}/note.txt`, { headers: { 'X-Auth-Token': root.token } });
    assert.deepEqual(read, { ok: true, status: 200, body: 'from onggi', color: 'blue' });
    const written = await fetchFrom(page, `${root.storageUrl}/${bucket}/from-browser.txt`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': root.token, 'Content-Type': 'text/plain' },
      body: 'written by a page',
    });
    assert.equal(written.ok, true, written.error);
    assert.equal(written.status, 201);
    const stored = await fetch(`${root.storageUrl}/${bucket}/from-browser.txt`, { headers: { 'X-Auth-Token': root.token } });
    assert.equal(await stored.text(), 'written by a page');
  } finally {
    await page.close();
  }
});

test('another origin is refused by the browser: no read, and the preflighted write never happens', async () => {
  const bucket = await bucketWithCors();
  const page = await pageAt(strangerOrigin);
  try {
    const read = await fetchFrom(page, `${root.storageUrl}/${bucket}/note.txt`, { headers: { 'X-Auth-Token': root.token } });
    assert.equal(read.ok, false, 'the browser let a page of another origin read the object');
    assert.match(read.error ?? '', /TypeError/);
    const written = await fetchFrom(page, `${root.storageUrl}/${bucket}/sneaky.txt`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': root.token, 'Content-Type': 'text/plain' },
      body: 'should not land',
    });
    assert.equal(written.ok, false);
    const absent = await fetch(`${root.storageUrl}/${bucket}/sneaky.txt`, { method: 'HEAD', headers: { 'X-Auth-Token': root.token } });
    assert.equal(absent.status, 404, 'the refused preflight still let the PUT through');
  } finally {
    await page.close();
  }
});

test('a bucket without CORS rules is closed to every other origin', async () => {
  const name = uniqueName('plain');
  assert.equal((await request(`${onggi.url}/v1_ext/bucket`, { method: 'PUT', token: root.token, body: { name, type: 'STANDARD' } })).status, 201);
  await fetch(`${root.storageUrl}/${name}/note.txt`, { method: 'PUT', headers: { 'X-Auth-Token': root.token }, body: 'x' });
  const page = await pageAt(allowedOrigin);
  try {
    const read = await fetchFrom(page, `${root.storageUrl}/${name}/note.txt`, { headers: { 'X-Auth-Token': root.token } });
    assert.equal(read.ok, false);
  } finally {
    await page.close();
  }
});
