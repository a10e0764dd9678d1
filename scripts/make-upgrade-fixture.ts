/**
 * Makes the upgrade fixtures of test/api/upgrade.test.ts: an earlier Onggi (a commit of this repository, checked
 * out beside it) writes test/helpers/upgrade-sample.ts's data through its APIs, once into a data directory of its
 * own (SQLite) and once into a PostgreSQL database (dumped to SQL) with its data directory (blobs).
 *
 *   node --import tsx scripts/make-upgrade-fixture.ts <commit> <name>   → test/fixtures/upgrade/<name>/{sqlite,postgres}
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, pgBinDir, startPgCluster } from '../test/helpers/postgres.ts';
import { ROOT_KEY_ID, ROOT_SECRET } from '../test/helpers/server.ts';
import { FIXTURE_MASTER_KEY, writeSample } from '../test/helpers/upgrade-sample.ts';

const root = join(import.meta.dirname, '..');
const [commit, name] = process.argv.slice(2);
if (!commit || !name) throw new Error('usage: make-upgrade-fixture.ts <commit> <name>');
const out = join(root, 'test', 'fixtures', 'upgrade', name);
const work = await mkdtemp(join(tmpdir(), 'onggi-fixture-'));
const tree = join(work, 'onggi');

execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', tree, commit], { stdio: 'inherit' });
try {
  await symlink(join(root, 'node_modules'), join(tree, 'node_modules'));
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });

  const sqliteDir = await dataDir('sqlite');
  await runAndWrite(sqliteDir, {});
  await cp(sqliteDir, join(out, 'sqlite'), { recursive: true, filter: kept });

  const cluster = await startPgCluster();
  try {
    const url = await createDatabase({ cluster });
    const pgDir = await dataDir('postgres');
    await runAndWrite(pgDir, { ONGGI_METADATA_URL: url });
    await cp(pgDir, join(out, 'postgres', 'blob-dir'), { recursive: true, filter: kept });
    const dump = execFileSync(join(await pgBinDir(), 'pg_dump'), ['--no-owner', '--no-privileges', url], { maxBuffer: 256 * 1024 * 1024 });
    await writeFile(join(out, 'postgres', 'dump.sql'), dump);
  } finally {
    await cluster.stop();
  }
  process.stdout.write(`fixtures of ${commit} written to ${out}\n`);
} finally {
  execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', tree], { stdio: 'inherit' });
  await rm(work, { recursive: true, force: true });
}

/** A data directory holding the fixtures' (obviously fake) master key. */
async function dataDir(label: string): Promise<string> {
  const dir = join(work, label);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'server.key'), `${FIXTURE_MASTER_KEY}\n`, { mode: 0o600 });
  return dir;
}

/** Starts the earlier server on `dir`, writes the sample through its APIs, stops it cleanly. */
async function runAndWrite(dir: string, env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(tree, 'src', 'main.ts'), 'server'], {
    cwd: tree,
    env: { ...process.env, ONGGI_LISTEN: '127.0.0.1:0', ONGGI_DATA_DIR: dir, ONGGI_ROOT_ACCESS_KEY_ID: ROOT_KEY_ID, ONGGI_ROOT_SECRET_ACCESS_KEY: ROOT_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const match = /Onggi listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the earlier server exited (${String(code)}): ${output}`)));
  });
  await writeSample(url);
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** Not the pid file of a running server, nor temp files. */
function kept(source: string): boolean {
  return !/(^|\/)(tmp|server\.pid)$/.test(source) && !source.endsWith('.tmp');
}
