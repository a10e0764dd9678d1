// Builds dist/ from src/ when a source is newer than the last build (a cheap mtime walk, ~1 ms when fresh).
// `node bin/ensure-built.js` is the `prepare` script (npm install / npm ci); `--force` always builds.
// Without a TypeScript compiler (e.g. `npm ci --omit=dev`) nothing is built and bin/onggi.js runs the sources.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
/** Its mtime is the start of the last successful build. */
const stamp = join(dist, '.built');
const lock = join(root, '.build-lock');
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json'].map((name) => join(root, name));
const LOCK_STALE_MS = 5 * 60_000;

function mtimeOf(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function newestMtime(path) {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  // A directory's own mtime moves when a file is added, removed or renamed in it.
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), info.mtimeMs);
}

export function isStale() {
  const built = mtimeOf(stamp);
  if (built === 0 || mtimeOf(join(dist, 'main.js')) === 0) return true;
  return inputs.some((input) => newestMtime(input) > built);
}

function findTsc() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Holds a directory lock while `work` runs, so concurrent callers build once; waiters return after the holder. */
function withBuildLock(work) {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() - mtimeOf(lock) > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      else sleep(200);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function build(tsc) {
  const startedAt = new Date();
  process.stderr.write('onggi: building dist/ from src/ …\n');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`onggi: the TypeScript build failed (tsc exited with ${result.status ?? result.signal})`);
  writeFileSync(stamp, '');
  utimesSync(stamp, startedAt, startedAt);
}

/** True when dist/ is up to date (built now if needed); false when it cannot be built here. */
export function ensureBuilt({ force = false } = {}) {
  if (!force && !isStale()) return true;
  const tsc = findTsc();
  if (!tsc) return false;
  return withBuildLock(() => {
    if (force || isStale()) build(tsc);
    return true;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!ensureBuilt({ force: process.argv.includes('--force') })) {
    process.stderr.write('onggi: no TypeScript compiler here; dist/ not built (bin/onggi.js runs the sources with tsx)\n');
  }
}
