/**
 * One server per data directory: its caches (tokens, buckets) and group commit assume it is the only writer.
 * `server.pid` names the owner; a file left by a process that is gone (kill -9, power loss) is taken over.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'server.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && (await isOnggiServer(owner))) {
        throw new Error(`Another Onggi server (pid ${owner}) is using ${dataDir}`, { cause: err });
      }
      await unlink(path).catch(() => undefined);
    }
  }
  throw new Error(`Could not lock ${dataDir}`);
}

async function isOnggiServer(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A live pid may have been reused by an unrelated program since the file was written.
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  return commandLine === null || commandLine.includes('server');
}
