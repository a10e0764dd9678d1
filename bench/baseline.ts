/**
 * The other Onggi build of an A/B run: a checkout given as a directory (already built), or one the bench makes
 * from a git ref — the ref's files exported into a temp directory (`git archive`, so the repository gets no
 * worktree to clean up after a crash), this checkout's node_modules linked when the ref's lock file asks for
 * nothing else (else `npm ci`), and compiled with `tsc` as `npm run build` does.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Baseline {
  /** The checkout: its dist/main.js is the server, its bench/seed-listing.ts (when present) seeds listings. */
  dir: string;
  /** The commit it was built from, when known. */
  commit: string | null;
}

/** A checkout someone built already (`npm ci && npm run build`). */
export async function existingBaseline(dir: string): Promise<Baseline> {
  const root = resolve(dir);
  if (!existsSync(join(root, 'dist', 'main.js'))) {
    throw new Error(`--baseline ${dir}: no dist/main.js; build it first (npm ci && npm run build in that checkout)`);
  }
  const commit = await exec('git', ['-C', root, 'rev-parse', 'HEAD']).then((r) => r.stdout.trim(), () => null);
  return { dir: root, commit };
}

/** Exports `ref` of the repository at `projectRoot` into `into` and builds it there. */
export async function buildBaseline(projectRoot: string, ref: string, into: string): Promise<Baseline> {
  const { stdout } = await exec('git', ['-C', projectRoot, 'rev-parse', '--verify', `${ref}^{commit}`]);
  const commit = stdout.trim();
  await mkdir(into, { recursive: true });
  await exec('bash', ['-c', 'set -o pipefail; git -C "$1" archive "$2" | tar -x -C "$3"', 'export', projectRoot, commit, into]);
  await provideModules(projectRoot, into);
  const tsc = join(into, 'node_modules', 'typescript', 'bin', 'tsc');
  await exec(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: into, maxBuffer: 10 * 1024 * 1024 }).catch((error: unknown) => {
    const out = (error as { stdout?: string }).stdout ?? '';
    throw new Error(`building ${ref} failed:\n${out}`, { cause: error });
  });
  return { dir: into, commit };
}

/** Links our node_modules when it holds every package at the version the baseline's lock file names; else `npm ci`. */
async function provideModules(projectRoot: string, dir: string): Promise<void> {
  const ours = await lockedPackages(projectRoot);
  const theirs = await lockedPackages(dir);
  const missing = [...theirs].filter(([path, version]) => ours.get(path) !== version);
  if (missing.length === 0) {
    await symlink(join(projectRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
    return;
  }
  await exec('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 10 * 1024 * 1024 });
}

async function lockedPackages(dir: string): Promise<Map<string, string>> {
  const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as { packages?: Record<string, { version?: string }> };
  const entries = Object.entries(lock.packages ?? {}).filter(([path]) => path !== '');
  return new Map(entries.map(([path, info]) => [path, info.version ?? '']));
}
