/** Starting up: a busy port loses nothing, early requests wait, and `npx onggi` / `npm start` run the built JavaScript. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, stat, symlink, utimes } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir, ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer } from '../helpers/server.ts';

const projectRoot = join(import.meta.dirname, '..', '..');

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Exited> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, ...output.get() };
}

function collect(child: ChildProcess): { get(): { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { get: () => ({ stdout, stderr }) };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function listenOn(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

async function freePort(): Promise<number> {
  const server = await listenOn(0);
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ONGGI_LOG_LEVEL: 'warn', ...extra };
  if (!('ONGGI_ROOT_ACCESS_KEY_ID' in extra)) {
    delete env.ONGGI_ROOT_ACCESS_KEY_ID;
    delete env.ONGGI_ROOT_SECRET_ACCESS_KEY;
  }
  return env;
}

void describe('a busy port', () => {
  let parent: string;
  let blocker: Server;
  let port: number;
  let server: RunningServer | undefined;
  before(async () => {
    parent = await makeTempDir();
    blocker = await listenOn(0);
    port = (blocker.address() as AddressInfo).port;
  });
  after(async () => {
    blocker.close();
    await server?.stop();
    await removeDir(parent);
  });

  void test('fails with one line before creating the data directory; the next start prints the secret', async () => {
    const dataDir = join(parent, 'data');
    const failed = await run(process.execPath, ['--import', 'tsx', join(projectRoot, 'src', 'main.ts'), 'server'], {
      cwd: projectRoot,
      env: environment({ ONGGI_LISTEN: `127.0.0.1:${port}`, ONGGI_DATA_DIR: dataDir }),
    });
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr, `cannot listen on 127.0.0.1:${port}: address in use\n`);
    assert.equal(failed.stdout, '');
    assert.equal(await exists(dataDir), false, 'no data directory, so no credential was generated and lost');

    await new Promise((resolve) => blocker.close(resolve));
    server = await startServer({ dataDir, noRootKey: true, env: { ONGGI_LISTEN: `127.0.0.1:${port}` } });
    assert.equal(server.url, `http://127.0.0.1:${port}`);
    assert.match(server.output(), /secret access key: \S+ {3}\(shown once; keep it\)/);
  });
});

void describe('requests that arrive while the data directory opens', () => {
  let server: RunningServer | undefined;
  after(async () => {
    await server?.destroy();
  });

  void test('wait for it instead of failing; /readyz says 503 meanwhile, /healthz 200', async (t) => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const starting = startServer({ env: { ONGGI_LISTEN: `127.0.0.1:${port}` } });
    let started = false;
    void starting.then(
      () => (started = true),
      () => undefined,
    );
    const early: Promise<number>[] = [];
    let healthzWhileStarting = 0;
    while (!started) {
      const ready = await statusOf(fetch(`${url}/readyz`));
      if (ready === 503) {
        early.push(statusOf(fetch(`${url}/identity/v3/auth/tokens`, tokenRequest())).then((status) => status ?? 0));
        healthzWhileStarting = (await statusOf(fetch(`${url}/healthz`))) ?? 0;
      }
      if (ready === null) await new Promise((resolve) => setTimeout(resolve, 2));
      if (ready === 200) break;
    }
    server = await starting;
    const statuses = await Promise.all(early);
    t.diagnostic(`${statuses.length} token requests sent while starting`);
    assert.ok(statuses.length > 0, 'the start-up window was seen (/readyz answered 503 while starting)');
    assert.equal(healthzWhileStarting, 200);
    assert.ok(statuses.every((status) => status === 201), `every early request got its token: ${statuses.join(',')}`);
  });
});

async function statusOf(response: Promise<Response>): Promise<number | null> {
  return response.then(
    async (answer) => {
      await answer.arrayBuffer();
      return answer.status;
    },
    () => null,
  );
}

function tokenRequest(): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: ROOT_KEY_ID, secret: ROOT_SECRET } } } }),
  };
}

void describe('bin/onggi.js and npm start run the built JavaScript', () => {
  let copy: string;
  let dataDir: string;
  before(async () => {
    copy = await makeTempDir('onggi-build-');
    dataDir = await makeTempDir();
    for (const entry of ['bin', 'src', 'tsconfig.json', 'tsconfig.build.json', 'package.json']) {
      await cp(join(projectRoot, entry), join(copy, entry), { recursive: true });
    }
    await symlink(join(projectRoot, 'node_modules'), join(copy, 'node_modules'));
  });
  after(async () => {
    await removeDir(copy);
    await removeDir(dataDir);
  });

  const cli = async (...args: string[]): Promise<Exited> => run(process.execPath, [join(copy, 'bin', 'onggi.js'), ...args], { cwd: copy });

  void test('builds dist/ once, and again only when a source is newer than the build', async () => {
    const first = await cli('admin', '--help');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /building dist\//);
    assert.match(first.stdout, /administer projects/);
    assert.equal(await exists(join(copy, 'dist', 'main.js')), true);

    const second = await cli('admin', '--help');
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, '', 'no build when nothing changed');

    const now = new Date();
    await utimes(join(copy, 'src', 'config.ts'), now, now);
    const third = await cli('admin', '--help');
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, /building dist\//);
    assert.equal((await cli('admin', '--help')).stderr, '');
  });

  void test('npm start starts from dist/ without building, and prints the endpoint and the credentials', async () => {
    await mkdir(dataDir, { recursive: true });
    // The console's build (made by `npm install`), for the banner's console address to serve.
    await cp(join(projectRoot, 'dist', 'console'), join(copy, 'dist', 'console'), { recursive: true });
    const child = spawn('npm', ['start'], {
      cwd: copy,
      detached: true,
      env: environment({ ONGGI_LISTEN: '127.0.0.1:0', ONGGI_DATA_DIR: dataDir }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collect(child);
    const exited = once(child, 'exit');
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const { stdout } = output.get();
          if (/secret access key: \S+/.test(stdout)) {
            clearInterval(timer);
            resolve(stdout);
          }
        }, 50);
        void exited.then(() => {
          clearInterval(timer);
          reject(new Error(`npm start exited: ${JSON.stringify(output.get())}`));
        });
      });
      assert.match(banner, /Onggi listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(banner, /access key ID: {5}\S+/);
      assert.doesNotMatch(output.get().stderr, /building/);
      // A newcomer's first screen names the console beside the APIs, at an address that serves it.
      const consoleUrl = /web console: (http:\/\/\S+)/.exec(banner)?.[1];
      assert.ok(consoleUrl, banner);
      const page = await fetch(consoleUrl);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      await page.arrayBuffer();
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  });
});
