/** What the console's tests share: a fresh console build, an Onggi serving it, Debian's chromium. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { build } from 'vite';
import { removeDir, ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer } from '../helpers/server.ts';
import { check } from './axe.ts';

const projectRoot = join(import.meta.dirname, '..', '..');
const webDir = join(projectRoot, 'web');
export const docsDir = join(projectRoot, 'docs', 'console');

/**
 * Builds web/ once per version of its sources into .tmp/ (so test files running side by side share one build,
 * and tests neither need nor disturb the package's own dist/console).
 */
export async function buildConsole(): Promise<string> {
  const outDir = join(projectRoot, '.tmp', `console-build-${await sourcesHash()}`);
  if (existsSync(join(outDir, 'index.html'))) return outDir;
  const staging = await mkdtemp(join(tmpdir(), 'onggi-console-'));
  await build({ root: webDir, logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } });
  await mkdir(dirname(outDir), { recursive: true });
  // Another test file may have finished the same build meanwhile: then its copy stands and ours goes.
  await rename(staging, outDir).catch(() => removeDir(staging));
  for (const old of await readdir(dirname(outDir))) {
    if (old.startsWith('console-build-') && join(dirname(outDir), old) !== outDir) await removeDir(join(dirname(outDir), old));
  }
  return outDir;
}

async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  const names = (await readdir(webDir, { recursive: true })).sort();
  for (const name of names) {
    const content = await readFile(join(webDir, name)).catch(() => null);
    if (content) hash.update(name).update(content);
  }
  return hash.digest('hex').slice(0, 16);
}

export interface ConsoleServer extends RunningServer {
  consoleDir: string;
}

export async function startConsoleServer(consoleDir?: string): Promise<ConsoleServer> {
  const dir = consoleDir ?? (await buildConsole());
  const server = await startServer({ env: { ONGGI_CONSOLE_DIR: dir } });
  return {
    ...server,
    consoleDir: dir,
    destroy: () => server.destroy(),
  };
}

/** Debian's chromium (installed by scripts/install-test-deps.sh); CHROMIUM_PATH points elsewhere. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request whose body comes back as sent (fetch would undo the gzip we want to see). */
export async function rawRequest(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors thrown in the page; a test ends by checking there were none. */
  pageErrors: string[];
}

/** A fresh browser context on the console (English unless `locale` says otherwise), clipboard allowed. */
/** Creates a bucket through the bucket API, as a setup step (the console's own create dialog is tested in console-flows). */
export async function createBucket(url: string, token: string, name: string): Promise<void> {
  const created = await fetch(`${url}/v1_ext/bucket`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, type: 'STANDARD' }),
  });
  assert.equal(created.status, 201, await created.text());
}

export async function openConsole(browser: Browser, url: string, options: { locale?: string; width?: number; height?: number } = {}): Promise<ConsolePage> {
  const context = await browser.newContext({
    locale: options.locale ?? 'en-US',
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${url}/`);
  return { context, page, pageErrors };
}

/** Signs in on a page opened in Korean and waits for the bucket list. */
export async function signInKorean(page: Page, id = ROOT_KEY_ID, secret = ROOT_SECRET): Promise<void> {
  await page.getByLabel('액세스 키 ID').fill(id);
  await page.getByLabel('보안 액세스 키').fill(secret);
  await page.getByRole('button', { name: '로그인' }).click();
  await page.getByRole('heading', { name: '버킷', exact: true }).waitFor();
}

/** What every 390 px step ends with: `region` fits the screen, axe finds nothing serious, the screenshot, no page errors. */
export async function checkNarrow(narrow: ConsolePage, region: Locator, where: string, screenshotName: string): Promise<void> {
  const box = await region.boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${where} fits the screen: ${JSON.stringify(box)}`);
  const found: string[] = [];
  await check(narrow.page, `${where} at 390 px`, found);
  assert.deepEqual(found, []);
  await screenshot(narrow.page, screenshotName);
  assert.deepEqual(narrow.pageErrors, []);
}

export async function signIn(page: Page, id = ROOT_KEY_ID, secret = ROOT_SECRET): Promise<void> {
  await page.getByLabel('Access key ID').fill(id);
  await page.getByLabel('Secret access key').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Buckets' }).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(docsDir, `${name}.png`) });
}

/** A real JPEG, drawn by the browser itself (96×64). */
export async function drawJpeg(page: Page): Promise<Buffer> {
  const dataUrl = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 96;
    canvas.height = 64;
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2d context');
    context.fillStyle = '#ffcd00';
    context.fillRect(0, 0, 96, 64);
    context.fillStyle = '#3c1e1e';
    context.fillRect(24, 16, 48, 32);
    return canvas.toDataURL('image/jpeg', 0.9);
  });
  return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
}

/**
 * Steps of one user's way through the console, run in order: after a failed step the later ones are skipped, not
 * timed out. Each test file makes its own (`const step = stepsInOrder()`).
 */
export function stepsInOrder(): (name: string, fn: (t: TestContext) => Promise<void>) => void {
  let failed: string | null = null;
  return (name, fn) => {
    test(name, async (t: TestContext) => {
      if (failed !== null) {
        t.skip(`an earlier step failed: ${failed}`);
        return;
      }
      try {
        await fn(t);
      } catch (err) {
        failed = name;
        throw err;
      }
    });
  };
}

/** What has the focus: its tag and accessible text (`button:Close`), or `body`. */
export async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) return 'body';
    return `${element.tagName.toLowerCase()}:${(element.getAttribute('aria-label') ?? element.textContent ?? '').trim()}`;
  });
}

/** Waits (up to 2.5 s) for the focus to be on `expected` (as `focused` names it). */
export async function waitFocusedOn(page: Page, expected: string): Promise<void> {
  for (let i = 0; i < 50 && (await focused(page)) !== expected; i += 1) await page.waitForTimeout(50);
  assert.equal(await focused(page), expected);
}
