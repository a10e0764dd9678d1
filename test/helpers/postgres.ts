/**
 * A real, private PostgreSQL for the tests (Debian's `postgresql` package, installed by
 * scripts/install-test-deps.sh). One cluster serves a whole test run: test/run.ts starts it and passes its admin
 * URL in ONGGI_TEST_PG_ADMIN_URL; a test file run on its own starts its own cluster on first use. Every caller of
 * `createDatabase` gets a fresh, empty database (about 8 MB; none is dropped, as a drop costs a checkpoint: the
 * whole cluster is removed at the end). There is no skipping: without PostgreSQL the tests fail.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user in a temp directory
 * that user owns. The server is started by a small shell watchdog that stops it (immediate shutdown) and removes
 * the directory as soon as our process closes its stdin: on `stop()`, and also when our process dies.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { chown, mkdtemp, readdir, access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL_ENV = 'ONGGI_TEST_PG_ADMIN_URL';
const SUPERUSER = 'postgres';
const START_TIMEOUT_MS = 60_000;

export interface PgCluster {
  /** postgres:// URL of the superuser on the cluster's `postgres` database. */
  adminUrl: string;
  /** The directory holding the cluster's unix socket (also reachable at adminUrl's 127.0.0.1 port). */
  socketDir: string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Where the PostgreSQL server binaries are: ONGGI_TEST_PG_BINDIR, the newest /usr/lib/postgresql/N/bin, or PATH. */
/** Where PostgreSQL's programs are (postgres, initdb, pg_dump, psql). */
export async function pgBinDir(): Promise<string> {
  return findBinDir();
}

async function findBinDir(): Promise<string> {
  const fromEnv = process.env.ONGGI_TEST_PG_BINDIR;
  const versions = await readdir('/usr/lib/postgresql').catch(() => []);
  const newestFirst = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  const candidates = fromEnv
    ? [fromEnv]
    : [...newestFirst.map((v) => join('/usr/lib/postgresql', v, 'bin')), ...(process.env.PATH ?? '').split(':')];
  for (const dir of candidates) {
    if (dir && (await isExecutable(join(dir, 'postgres'))) && (await isExecutable(join(dir, 'initdb')))) return dir;
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, postgres) not found: run scripts/install-test-deps.sh, ' +
      'or set ONGGI_TEST_PG_BINDIR',
  );
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** As root, commands run as the `postgres` OS user (PostgreSQL refuses root); otherwise as ourselves. */
function asServerUser(command: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...command] : command;
}

async function makeClusterDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'onggi-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
  }
  return dir;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function initdb(binDir: string, dataDir: string): Promise<void> {
  // --no-sync only skips initdb's own flush of a throwaway cluster; the server itself runs with fsync on.
  const [command = '', ...args] = asServerUser([
    join(binDir, 'initdb'),
    '--pgdata', dataDir,
    '--username', SUPERUSER,
    '--auth', 'trust',
    '--encoding', 'UTF8',
    '--locale', 'C',
    '--no-sync',
    '--no-instructions',
  ]);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${stderr}`);
}

/**
 * The watchdog: runs postgres in the background; when our stdin closes it stops postgres at once; when postgres
 * exits (either way) it removes the cluster directory and exits.
 */
const WATCHDOG = `
bin="$1"; dir="$2"; shift 2
"$bin" -D "$dir/data" "$@" </dev/null &
pid=$!
exec 3<&0
{ read -r _ <&3; kill -QUIT "$pid" 2>/dev/null; } &
wait "$pid"
rm -rf "$dir"
`;

function serverArgs(dir: string, port: number): string[] {
  return [
    '-p', String(port),
    '-k', dir,
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=on',
    '-c', 'synchronous_commit=on',
    '-c', 'max_connections=300',
    '-c', 'shared_buffers=32MB',
    '-c', 'log_min_messages=warning',
  ];
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  let exited = child.exitCode !== null;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`postgres exited while starting:\n${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres did not start in time:\n${log()}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Starts a private cluster (unix socket + a free 127.0.0.1 port, trust auth, fsync on). */
export async function startPgCluster(): Promise<PgCluster> {
  const binDir = await findBinDir();
  const dir = await makeClusterDir();
  const dataDir = join(dir, 'data');
  await initdb(binDir, dataDir);
  const port = await freePort();
  const [command = '', ...args] = asServerUser([
    'sh', '-c', WATCHDOG, 'onggi-pg-watchdog', join(binDir, 'postgres'), dir, ...serverArgs(dir, port),
  ]);
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-20_000)));
  // Neither the watchdog nor its pipes keep our process alive; when it exits, the closed stdin stops postgres.
  child.unref();
  for (const stream of [child.stdin, child.stderr]) (stream as unknown as { unref(): void }).unref();
  const exited = once(child, 'exit');

  const adminUrl = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  await waitUntilReady(adminUrl, child, () => log);
  return {
    adminUrl,
    socketDir: dir,
    async stop() {
      if (child.exitCode === null) {
        child.ref(); // keep our process alive until the server is gone
        child.stdin.end();
        await exited;
      }
    },
  };
}

/** Superuser pools by admin URL: the run's shared cluster, and any private one a test started. */
const adminPools = new Map<string, pg.Pool>();
let ownCluster: Promise<PgCluster> | undefined;

/**
 * The superuser pool of `cluster`, or of the run's shared cluster. A test whose faults reach beyond its own
 * database (a full tablespace: any backend may have to write its dirty pages out of the shared buffers, and fail)
 * starts a cluster of its own (`startPgCluster`) and passes it, so that other test files running meanwhile are
 * not hit.
 */
async function admin(cluster?: PgCluster): Promise<pg.Pool> {
  let url = cluster?.adminUrl ?? process.env[ADMIN_URL_ENV];
  if (!url) {
    ownCluster ??= startPgCluster();
    url = (await ownCluster).adminUrl;
  }
  let pool = adminPools.get(url);
  if (!pool) {
    pool = new pg.Pool({ connectionString: url, max: 2, allowExitOnIdle: true });
    pool.on('error', () => undefined); // an idle connection dropped when the cluster stops: nothing to do
    adminPools.set(url, pool);
  }
  return pool;
}

export interface DatabaseOptions {
  /**
   * The database's default collation, as an ICU locale. Defaults to 'en-US', whose order is not byte order
   * ('a' < 'B' < 'b'), so a column missing COLLATE "C" lists in the wrong order and tests notice.
   * null = the cluster's default (C).
   */
  icuLocale?: string | null;
  /** A tablespace (see `createTablespace`) to keep the database's tables in, instead of the cluster's directory. */
  tablespace?: string;
  /** A private cluster to create it on (the run's shared cluster by default). */
  cluster?: PgCluster;
}

/** Creates a fresh, empty database on the test cluster; returns its postgres:// URL. */
export async function createDatabase(options: DatabaseOptions = {}): Promise<string> {
  const pool = await admin(options.cluster);
  const name = `onggi_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  const icuLocale = options.icuLocale === undefined ? 'en-US' : options.icuLocale;
  const collation =
    icuLocale === null ? '' : ` LOCALE_PROVIDER icu ICU_LOCALE ${pg.escapeLiteral(icuLocale)} LOCALE 'C'`;
  const tablespace = options.tablespace === undefined ? '' : ` TABLESPACE ${pg.escapeIdentifier(options.tablespace)}`;
  await pool.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'${collation}${tablespace}`);
  const url = new URL(pool.options.connectionString ?? '');
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs one statement as the superuser on the test cluster's `postgres` database (to act on other databases). */
export async function clusterQuery(text: string, values: unknown[] = [], cluster?: PgCluster): Promise<pg.QueryResult> {
  return (await admin(cluster)).query(text, values);
}

/** The database name of a URL from `createDatabase`. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/**
 * Creates a tablespace in `dir` (an empty directory, e.g. a small file system the test mounted), made over to the
 * server's OS user first; returns its name. `dropDatabaseAndTablespace` removes it again.
 */
export async function createTablespace(dir: string, cluster?: PgCluster): Promise<string> {
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
  }
  const name = `onggi_ts_${process.pid}_${randomBytes(4).toString('hex')}`;
  await clusterQuery(`CREATE TABLESPACE ${pg.escapeIdentifier(name)} LOCATION ${pg.escapeLiteral(dir)}`, [], cluster);
  return name;
}

/** Drops a database (closing its connections) and then the tablespace it lived in. */
export async function dropDatabaseAndTablespace(url: string, tablespace: string, cluster?: PgCluster): Promise<void> {
  await clusterQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName(url))} WITH (FORCE)`, [], cluster);
  await clusterQuery(`DROP TABLESPACE IF EXISTS ${pg.escapeIdentifier(tablespace)}`, [], cluster);
}

/** Stops a private cluster a test started, closing the pool this module keeps for it first. */
export async function stopPrivateCluster(cluster: PgCluster): Promise<void> {
  const pool = adminPools.get(cluster.adminUrl);
  adminPools.delete(cluster.adminUrl);
  await pool?.end().catch(() => undefined);
  await cluster.stop();
}
