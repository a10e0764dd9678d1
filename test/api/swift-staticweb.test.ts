/**
 * Swift static websites over real HTTP (X-Container-Meta-Web-Index, -Web-Error, -Web-Listings,
 * -Web-Listings-CSS, -Web-Directory-Type): anonymous reads of public containers get index pages, redirects to
 * directories, error pages and HTML listings; tokens get the API unless they send X-Web-Mode: true.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asRecord } from '../helpers/accounts.ts';
import { login, startServer, type RunningServer, type Session } from '../helpers/server.ts';
import { auth, bucketName, createContainer, putObject } from '../helpers/swift.ts';

let server: RunningServer;
let root: Session;

before(async () => {
  server = await startServer();
  root = await login(server.url);
});
after(async () => {
  await server.destroy();
});

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; location: string | null; type: string | null }> {
  const response = await fetch(url, { headers, redirect: 'manual' });
  return { status: response.status, text: await response.text(), location: response.headers.get('location'), type: response.headers.get('content-type') };
}

void describe('index and error pages', () => {
  let site: string;
  let base: string;
  before(async () => {
    site = bucketName('web-site');
    await createContainer(root, site, { 'X-Container-Read': '.r:*', 'X-Container-Meta-Web-Index': 'index.html', 'X-Container-Meta-Web-Error': 'error.html' });
    await putObject(root, site, 'index.html', '<h1>home</h1>', { 'Content-Type': 'text/html' });
    await putObject(root, site, 'about/index.html', '<h1>about</h1>', { 'Content-Type': 'text/html' });
    await putObject(root, site, 'style.css', 'h1 {}', { 'Content-Type': 'text/css' });
    await putObject(root, site, '404error.html', '<h1>not here</h1>', { 'Content-Type': 'text/html' });
    await putObject(root, site, 'folder', '', { 'Content-Type': 'application/directory' });
    await putObject(root, site, 'folder/index.html', '<h1>folder</h1>', { 'Content-Type': 'text/html' });
    base = `${root.storageUrl}/${site}`;
  });

  test('the container redirects to its directory form, which serves the index page', async () => {
    const bare = await get(base);
    assert.equal(bare.status, 301);
    assert.equal(bare.location, `/v1/${root.projectId}/${site}/`);
    const home = await get(`${base}/`);
    assert.equal(home.status, 200);
    assert.equal(home.text, '<h1>home</h1>');
    assert.equal(home.type, 'text/html');
  });

  test('a directory without its slash redirects; with it, its index page', async () => {
    const bare = await get(`${base}/about`);
    assert.equal(bare.status, 301);
    assert.equal(bare.location, `/v1/${root.projectId}/${site}/about/`);
    const page = await get(`${base}/about/`);
    assert.equal(page.status, 200);
    assert.equal(page.text, '<h1>about</h1>');
  });

  test('a directory marker (Web-Directory-Type) redirects to the directory', async () => {
    const marker = await get(`${base}/folder`);
    assert.equal(marker.status, 301);
    assert.equal(marker.location, `/v1/${root.projectId}/${site}/folder/`);
    assert.equal((await get(`${base}/folder/`)).text, '<h1>folder</h1>');
  });

  test('plain objects are served as they are; a missing one gets the 404 error page with 404', async () => {
    assert.equal((await get(`${base}/style.css`)).text, 'h1 {}');
    // Read as any object is: a range is honoured.
    const ranged = await fetch(`${base}/style.css`, { headers: { Range: 'bytes=0-1' } });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), 'h1');
    const missing = await get(`${base}/nothing.html`);
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '<h1>not here</h1>');
    const missingDirectory = await get(`${base}/nowhere/`);
    assert.equal(missingDirectory.status, 404);
    assert.equal(missingDirectory.text, '<h1>not here</h1>');
  });

  test('a token gets the API (a listing), or the site with X-Web-Mode: true', async () => {
    const listing = await get(base, auth(root));
    assert.equal(listing.status, 200);
    assert.match(listing.text, /^404error\.html\n/);
    const webMode = await get(`${base}/`, auth(root, { 'X-Web-Mode': 'true' }));
    assert.equal(webMode.text, '<h1>home</h1>');
  });
});

void describe('listings', () => {
  test('Web-Listings: an HTML listing of each directory, with a parent link and sizes; .rlistings needed', async () => {
    const site = bucketName('web-list');
    await createContainer(root, site, { 'X-Container-Read': '.r:*,.rlistings', 'X-Container-Meta-Web-Listings': 'true' });
    await putObject(root, site, 'top.txt', 'hello');
    await putObject(root, site, 'docs/a.txt', 'x'.repeat(2048));
    await putObject(root, site, 'docs/deeper/b.txt', 'b');
    const top = await get(`${root.storageUrl}/${site}/`);
    assert.equal(top.status, 200);
    assert.equal(top.type, 'text/html; charset=UTF-8');
    assert.match(top.text, new RegExp(`<title>Listing of /v1/${root.projectId}/${site}/</title>`));
    assert.match(top.text, /<a href="docs\/">docs\/<\/a>/);
    assert.match(top.text, /<a href="top.txt">top.txt<\/a>[\s\S]*?<td class="colsize">5<\/td>/);
    assert.doesNotMatch(top.text, /id="parent"/);
    const docs = await get(`${root.storageUrl}/${site}/docs/`);
    assert.match(docs.text, /<tr id="parent">\n {4}<td class="colname"><a href="..\/">..\/<\/a>/);
    assert.match(docs.text, /<a href="a.txt">a.txt<\/a><\/td>\n {4}<td class="colsize">2Ki<\/td>/);
    assert.match(docs.text, /<a href="deeper\/">deeper\/<\/a>/);
    assert.equal((await get(`${root.storageUrl}/${site}/docs`)).status, 301);

    // Without .rlistings, anyone is refused the listing (as the API refuses it).
    const closed = await fetch(`${root.storageUrl}/${site}`, { method: 'POST', headers: auth(root, { 'X-Container-Read': '.r:*' }) });
    assert.equal(closed.status, 204);
    assert.equal((await get(`${root.storageUrl}/${site}/`)).status, 401);
  });

  test('Web-Listings-CSS: a relative sheet is linked from each depth, an absolute one as given', async () => {
    const site = bucketName('web-css');
    await createContainer(root, site, { 'X-Container-Read': '.r:*,.rlistings', 'X-Container-Meta-Web-Listings': 'on', 'X-Container-Meta-Web-Listings-CSS': 'listing.css' });
    await putObject(root, site, 'a/b/c.txt', 'c');
    assert.match((await get(`${root.storageUrl}/${site}/`)).text, /<link rel="stylesheet" type="text\/css" href="listing.css" \/>/);
    assert.match((await get(`${root.storageUrl}/${site}/a/b/`)).text, /href="..\/..\/listing.css"/);
    await fetch(`${root.storageUrl}/${site}`, { method: 'POST', headers: auth(root, { 'X-Container-Meta-Web-Listings-CSS': 'https://cdn.example/l.css' }) });
    assert.match((await get(`${root.storageUrl}/${site}/a/`)).text, /href="https:\/\/cdn.example\/l.css"/);
  });

  test('a private container stays private: 401, and its error page is not readable either', async () => {
    const site = bucketName('web-private');
    await createContainer(root, site, { 'X-Container-Meta-Web-Index': 'index.html', 'X-Container-Meta-Web-Error': 'error.html' });
    await putObject(root, site, 'index.html', 'secret');
    await putObject(root, site, '401error.html', 'secret too');
    const response = await get(`${root.storageUrl}/${site}/`);
    assert.equal(response.status, 401);
    assert.doesNotMatch(response.text, /secret/);
  });

  test('/info lists staticweb', async () => {
    const info = asRecord(await (await fetch(`${server.url}/info`)).json());
    assert.deepEqual(info.staticweb, {});
  });
});
