/**
 * A data directory holds secrets (server.key), names, metadata and small objects' bytes (meta.sqlite): it is
 * kept to its owner — directories 0700, files 0600 — whatever the umask and whatever was there before.
 */
import { chmod, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const PRIVATE_FILES = ['meta.sqlite', 'meta.sqlite-wal', 'meta.sqlite-shm', 'meta.sqlite-journal', 'server.key', 'server.pid'];
const PRIVATE_DIRS = ['blobs', 'tmp'];

/**
 * Call before the stores open. Also sets this process's umask to 077, so that whatever it creates later (SQLite's
 * -wal and -shm, blobs, temp files) is private from the start.
 */
export async function makeDataDirPrivate(dataDir: string): Promise<void> {
  process.umask(0o077);
  await restrict(dataDir, 0o700);
  await Promise.all(PRIVATE_FILES.map((name) => restrict(join(dataDir, name), 0o600)));
  for (const name of PRIVATE_DIRS) {
    const dir = join(dataDir, name);
    if ((await restrict(dir, 0o700)) === null) continue;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (!entry.isDirectory()) await restrict(path, 0o600);
      // A shard that was not private came from elsewhere (a restore, an older version): its files are fixed too.
      else if ((await restrict(path, 0o700)) === false) await restrictFiles(path);
    }
  }
}

/** chmod to `mode`: null when `path` does not exist, false when its mode had to change, true when it was right. */
async function restrict(path: string, mode: number): Promise<boolean | null> {
  const info = await stat(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  });
  if (!info) return null;
  if ((info.mode & 0o777) === mode) return true;
  await chmod(path, mode);
  return false;
}

async function restrictFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await restrict(join(dir, name), 0o600);
}
