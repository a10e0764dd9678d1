/** The servers the bench drives: Onggi builds (on SQLite or PostgreSQL), a bare node:http server, a local Swift. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_URL_ENV, createDatabase, startPgCluster } from '../test/helpers/postgres.ts';
import type { Target } from './loader.ts';
import { spawnServer, type Spawned } from './processes.ts';

const exec = promisify(execFile);
const projectRoot = join(import.meta.dirname, '..');
const KEY_ID = 'bench-key-id';
const SECRET = 'bench-secret-not-real';
export const BUCKET = 'bench';

/** A started server and how the load generator addresses it. */
export interface Contender {
  target: Target;
  spawned: Spawned;
}

export interface OnggiContender extends Contender {
  account: string;
  /** The bench's user (whose token the target's headers carry). */
  userId: string;
  /** Seeds `bucket` with dirs × files keys straight into this server's metadata store. */
  seed: ((bucket: string, dirs: number, files: number) => Promise<void>) | null;
}

/** One Onggi build to start: its checkout, and how to run it. */
export interface OnggiBuild {
  name: string;
  /** The checkout (its src/, dist/ and bench/). */
  root: string;
  /** Run src/main.ts through tsx instead of the built dist/main.js. */
  source: boolean;
  /** More node options (e.g. --cpu-prof). */
  nodeArgs?: string[];
  dataDir: string;
  /** postgres:// URL of the metadata database; SQLite in the data directory when absent. */
  metadataUrl?: string;
}

export async function startBare(): Promise<Contender> {
  const spawned = await spawnServer(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'bare-server.ts')], process.env, /listening on (\S+)/);
  return { spawned, target: { name: 'node:http', origin: spawned.url, objectPath: (k) => `/o/${k}`, listingPath: () => '/list?x', headers: {} } };
}

/**
 * The node flags and environment settings of a build's `npm start` (`NAME=value … node --flag … script …`), so
 * that each build of an A/B runs as its own start script runs it.
 */
export async function startSettings(root: string): Promise<{ flags: string[]; env: Record<string, string> }> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const words = (manifest.scripts?.start ?? '').split(/\s+/).filter((word) => word !== '');
  const node = words.indexOf('node');
  if (node < 0) throw new Error(`${root}: the start script does not run node`);
  const env = Object.fromEntries(words.slice(0, node).map((word) => word.split('=', 2) as [string, string]));
  const flags: string[] = [];
  for (const word of words.slice(node + 1)) {
    if (!word.startsWith('--')) break;
    flags.push(word);
  }
  return { flags, env };
}

export async function startOnggi(build: OnggiBuild): Promise<OnggiContender> {
  const env: NodeJS.ProcessEnv = {
    ...withoutOnggiSettings(process.env),
    ONGGI_LISTEN: '127.0.0.1:0',
    ONGGI_DATA_DIR: build.dataDir,
    ONGGI_LOG_LEVEL: 'warn',
    ONGGI_ROOT_ACCESS_KEY_ID: KEY_ID,
    ONGGI_ROOT_SECRET_ACCESS_KEY: SECRET,
    ...(build.metadataUrl ? { ONGGI_METADATA_URL: build.metadataUrl } : {}),
  };
  // The built server, as `npm start` runs it (`npm run bench` builds first).
  const entry = build.source ? ['--import', 'tsx', join(build.root, 'src', 'main.ts')] : [join(build.root, 'dist', 'main.js')];
  // Each build with the node flags and environment of its own `npm start` (memory settings are part of a build).
  const start = await startSettings(build.root);
  const spawned = await spawnServer(process.execPath, [...start.flags, ...(build.nodeArgs ?? []), ...entry, 'server'], { ...env, ...start.env }, /Onggi listening on (\S+)/);
  const response = await fetch(`${spawned.url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: KEY_ID, secret: SECRET } } } }),
  });
  const token = response.headers.get('x-subject-token') ?? '';
  const { project, user } = ((await response.json()) as { token: { project: { id: string }; user: { id: string } } }).token;
  const account = project.id;
  const headers = { 'x-auth-token': token };
  await createBucket(spawned.url, account, BUCKET, headers);
  // Each build seeds with its own seeder: the store's layout is the build's.
  const seeder = join(build.root, 'bench', 'seed-listing.ts');
  const seed = async (bucket: string, dirs: number, files: number): Promise<void> => {
    await createBucket(spawned.url, account, bucket, headers);
    await exec(process.execPath, ['--import', 'tsx', seeder, build.dataDir, bucket, String(dirs), String(files)], { cwd: build.root, env, maxBuffer: 1 << 20 });
  };
  return {
    spawned,
    account,
    userId: user.id,
    seed: existsSync(seeder) ? seed : null,
    target: {
      name: build.name,
      origin: spawned.url,
      objectPath: (k) => `/v1/${account}/${BUCKET}/${k}`,
      listingPath: (bucket, query) => `/v1/${account}/${bucket}?${query}`,
      headers,
    },
  };
}

/** Issue 20's rows: the bench bucket's twin with managed encryption on, on the same server. */
export const ENCRYPTED_BUCKET = 'bench-encrypted';
export const ONGGI_ENCRYPTED = 'onggi-enc';

/** The same Onggi addressed in a bucket made with managed encryption on (the bucket API's `use_encryption`). */
export async function encryptedContender(onggi: OnggiContender): Promise<Contender> {
  const response = await fetch(`${onggi.target.origin}/v1_ext/bucket`, {
    method: 'PUT',
    headers: { ...onggi.target.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: ENCRYPTED_BUCKET, type: 'STANDARD', use_encryption: true, encryption_configuration: { type: 'managed' } }),
  });
  if (response.status !== 201) throw new Error(`creating the encrypted bucket: ${response.status} ${await response.text()} (--no-encrypted leaves it out)`);
  return {
    spawned: onggi.spawned,
    target: {
      name: ONGGI_ENCRYPTED,
      origin: onggi.target.origin,
      objectPath: (k) => `/v1/${onggi.account}/${ENCRYPTED_BUCKET}/${k}`,
      listingPath: () => null,
      headers: onggi.target.headers,
      encrypted: true,
      server: onggi.target.name,
    },
  };
}

/** The caller's environment minus any ONGGI_* setting, which would change what is measured (e.g. a metadata URL). */
function withoutOnggiSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('ONGGI_')));
}

async function createBucket(origin: string, account: string, bucket: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(`${origin}/v1/${account}/${bucket}`, { method: 'PUT', headers });
  if (!response.ok) throw new Error(`creating bucket ${bucket}: ${response.status} ${await response.text()}`);
}

/**
 * A fresh database on a private PostgreSQL (fsync and synchronous commit on): the test run's cluster when the
 * bench runs under test/run.ts, else one started for the bench.
 */
export async function startPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const cluster = process.env[ADMIN_URL_ENV] ? null : await startPgCluster();
  if (cluster) process.env[ADMIN_URL_ENV] = cluster.adminUrl; // where createDatabase creates it
  const url = await createDatabase({ icuLocale: null });
  return { url, stop: async () => cluster?.stop() };
}

export async function startSwift(root: string, setup: boolean): Promise<Contender | null> {
  const script = join(projectRoot, 'bench', 'swift', 'setup.sh');
  const installed = existsSync('/usr/bin/swift-proxy-server');
  if (!existsSync(script) || (!installed && !setup)) return null;
  const { stdout } = await exec('bash', [script, root, '18091'], { maxBuffer: 10 * 1024 * 1024 });
  const url = /SWIFT_URL=(\S+)/.exec(stdout)?.[1];
  const token = /SWIFT_TOKEN=(\S+)/.exec(stdout)?.[1];
  if (!url || !token) throw new Error(`Swift set-up printed no URL/token:\n${stdout}`);
  const storage = new URL(url);
  await fetch(`${url}/${BUCKET}`, { method: 'PUT', headers: { 'x-auth-token': token } });
  const pidText = await exec('pgrep', ['-f', 'swift-proxy-server']).then((r) => r.stdout.trim().split('\n')[0] ?? '0', () => '0');
  const spawned: Spawned = { pid: Number(pidText), url: storage.origin, stop: () => Promise.resolve() };
  return {
    spawned,
    target: {
      name: 'swift',
      origin: storage.origin,
      objectPath: (k) => `${storage.pathname}/${BUCKET}/${k}`,
      listingPath: () => null,
      headers: { 'x-auth-token': token },
    },
  };
}

export async function stopSwift(root: string): Promise<void> {
  const script = join(projectRoot, 'bench', 'swift', 'stop.sh');
  if (existsSync(script) && existsSync(root)) await exec('bash', [script, root]).catch(() => undefined);
}
