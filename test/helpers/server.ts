/** Spawns a real Onggi server process on 127.0.0.1:0 with its own data directory. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after } from 'node:test';

export const ROOT_KEY_ID = 'test-root-key-id';
export const ROOT_SECRET = 'test-root-secret-not-real';
const projectRoot = join(import.meta.dirname, '..', '..');

export interface RunningServer {
  url: string;
  dataDir: string;
  process: ChildProcess;
  /** Everything the server printed on stdout so far. */
  output(): string;
  /** Everything the server printed on stderr (its log) so far. */
  errors(): string;
  /** Everything the server printed on stderr so far (its log). */
  logs(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<void>;
  /** Stop, then remove the data directory. */
  destroy(): Promise<void>;
}

/**
 * `ONGGI_TEST_METADATA=postgres` runs every spawned server on a fresh PostgreSQL database (CI runs the API and
 * interop suites once more that way); otherwise servers keep SQLite in their data directory.
 */
export const onPostgres = process.env.ONGGI_TEST_METADATA === 'postgres';
/** For tests about the embedded data directory's own files (SQLite, its WAL), which the PostgreSQL pass skips. */
export const sqliteOnly = onPostgres ? { skip: 'about the SQLite files of the data directory (this pass keeps metadata in PostgreSQL)' } : {};
/** The database of each data directory, so that a restart (or `onggi admin`) finds the same metadata. */
const databases = new Map<string, string>();
/** The settings each data directory's server ran with, for `onggi admin` on it (database, master key). */
const serverEnvs = new Map<string, Record<string, string>>();

async function metadataEnv(dataDir: string, create = true): Promise<Record<string, string>> {
  if (!onPostgres) return {};
  let url = databases.get(dataDir);
  if (url === undefined) {
    if (!create) return {};
    const { createDatabase } = await import('./postgres.ts');
    url = await createDatabase();
    databases.set(dataDir, url);
  }
  return { ONGGI_METADATA_URL: url };
}

/**
 * Servers started by this test file and not yet exited. A test that fails before it stops its server (an
 * assertion that a start is refused, when the server starts after all) would leave it running, and the file would
 * then never end: a hang of the whole run instead of a failure. So whatever is left is killed when the file's tests
 * are done.
 */
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

export interface StartOptions {
  /** Reuse a data directory (e.g. to restart after a crash); a fresh temp dir otherwise. */
  dataDir?: string;
  env?: Record<string, string>;
  /** Leave ONGGI_ROOT_* unset, so the server generates and prints a key. */
  noRootKey?: boolean;
  /**
   * Run the server as `npm start` does (bin/onggi.js: the built dist/, with the start script's node flags and
   * environment) rather than the sources through tsx: for measuring what users run. Build first (`builtServer`).
   */
  asStarted?: boolean;
}

/** Builds dist/ when a source is newer (bin/ensure-built.js), outside any server's start-up timeout. */
export async function builtServer(): Promise<void> {
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'ensure-built.js')], { cwd: projectRoot, stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`building dist/ failed (${String(code)}): ${stderr}`);
}

/** The node flags and environment settings of `npm start` (`NAME=value … node --flag … script …`). */
async function startScriptSettings(): Promise<{ flags: string[]; env: Record<string, string> }> {
  const manifest = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = manifest.scripts.start.split(/\s+/).filter((word) => word !== '');
  const node = words.indexOf('node');
  const env = Object.fromEntries(words.slice(0, node).map((word) => word.split('=', 2) as [string, string]));
  const script = words.findIndex((word, at) => at > node && !word.startsWith('--'));
  return { flags: words.slice(node + 1, script), env };
}

export async function makeTempDir(prefix = 'onggi-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? (await makeTempDir());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ONGGI_LISTEN: '127.0.0.1:0',
    ONGGI_DATA_DIR: dataDir,
    ONGGI_LOG_LEVEL: 'warn',
    ...(await metadataEnv(dataDir)),
    ...(options.noRootKey ? {} : { ONGGI_ROOT_ACCESS_KEY_ID: ROOT_KEY_ID, ONGGI_ROOT_SECRET_ACCESS_KEY: ROOT_SECRET }),
    ...options.env,
  };
  serverEnvs.set(dataDir, { ...(await metadataEnv(dataDir)), ...options.env });
  const started = options.asStarted ? await startScriptSettings() : { flags: ['--import', 'tsx'], env: {} };
  const entry = options.asStarted ? join(projectRoot, 'bin', 'onggi.js') : join(projectRoot, 'src', 'main.ts');
  const child = spawn(process.execPath, [...started.flags, entry, 'server'], {
    cwd: projectRoot,
    env: { ...env, ...started.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  running.add(child);
  const exited = once(child, 'exit');
  void exited.then(() => running.delete(child));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in time\n${stdout}\n${stderr}`));
    }, 30_000);
    const check = (): void => {
      const match = /Onggi listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`server exited during start-up (exit code ${String(code)})\n${stdout}\n${stderr}`));
    });
  });

  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return {
    url,
    dataDir,
    process: child,
    output: () => stdout,
    errors: () => stderr,
    logs: () => stderr,
    stop: () => waitExit('SIGTERM'),
    kill9: () => waitExit('SIGKILL'),
    destroy: async () => {
      await waitExit('SIGTERM');
      await removeDir(dataDir);
    },
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface Session {
  token: string;
  projectId: string;
  /** `${url}/v1/${projectId}` */
  storageUrl: string;
}

/** Exchanges an access key for a token, the KakaoCloud way. */
export async function login(url: string, id = ROOT_KEY_ID, secret = ROOT_SECRET): Promise<Session> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } } }),
  });
  if (response.status !== 201) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  const token = response.headers.get('x-subject-token') ?? '';
  const body = (await response.json()) as { token: { project: { id: string } } };
  return { token, projectId: body.token.project.id, storageUrl: `${url}/v1/${body.token.project.id}` };
}

/** The environment `onggi admin` needs for a data directory: the settings its server ran with (database, key). */
export async function adminEnv(dataDir: string): Promise<NodeJS.ProcessEnv> {
  return { ...process.env, ...(await metadataEnv(dataDir, false)), ...serverEnvs.get(dataDir) };
}

export interface AdminRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `onggi admin --data-dir DIR …` through bin/onggi.js, as `npx onggi` runs it: the built JavaScript, rebuilt
 * first when a source is newer than the build. The settings are those its server ran with.
 */
export async function runAdmin(dataDir: string, ...args: string[]): Promise<AdminRun> {
  return spawnAdmin(dataDir, await adminEnv(dataDir), args);
}

/**
 * `onggi admin … --json` on a data directory with the metadata settings of its server and `env` (nothing else of the
 * settings its server ran with): for commands expected to fail too.
 */
export async function runAdminWithEnv(dataDir: string, env: Record<string, string>, ...args: string[]): Promise<AdminRun> {
  return spawnAdmin(dataDir, { ...process.env, ...(await metadataEnv(dataDir, false)), ...env }, ['--json', ...args]);
}

async function spawnAdmin(dataDir: string, env: NodeJS.ProcessEnv, args: string[]): Promise<AdminRun> {
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'onggi.js'), 'admin', '--data-dir', dataDir, ...args], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Runs `onggi admin …` against a data directory and returns its parsed --json output; a failure throws. */
export async function admin(dataDir: string, ...args: string[]): Promise<unknown> {
  const { code, stdout, stderr } = await runAdmin(dataDir, '--json', ...args);
  if (code !== 0) throw new Error(`onggi admin ${args.join(' ')} failed (${String(code)}): ${stderr}`);
  return JSON.parse(stdout) as unknown;
}
