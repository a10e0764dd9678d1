/** Spawning the servers under test, and watching their memory. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';

export interface Spawned {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** Starts a process and waits for a line matching `ready` on its stdout; the first capture group is its URL. */
export async function spawnServer(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Spawned> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk.slice(-10_000)));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${command} did not start:\n${out}\n${err}`));
    }, 60_000);
    child.stdout.on('data', () => {
      const match = ready.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${command} exited:\n${out}\n${err}`));
    });
  });
  return {
    pid: child.pid ?? 0,
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resident memory of a process and all its descendants, in bytes (Linux /proc). */
export async function treeRss(pid: number): Promise<number> {
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const current = pending.pop() ?? 0;
    const status = await readFile(`/proc/${current}/status`, 'utf8').catch(() => '');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    total += match?.[1] ? Number(match[1]) * 1024 : 0;
    const children = await readFile(`/proc/${current}/task/${current}/children`, 'utf8').catch(() => '');
    pending.push(...children.split(/\s+/).filter(Boolean).map(Number));
  }
  return total;
}

/** Samples a process tree's RSS until stopped; `peak()` is the highest sum seen since the last reset. */
export function watchRss(pid: number, intervalMs = 100): { peak(): number; reset(): void; stop(): void } {
  let peak = 0;
  const timer = setInterval(() => {
    void treeRss(pid).then((rss) => {
      peak = Math.max(peak, rss);
    });
  }, intervalMs);
  return {
    peak: () => peak,
    reset: () => {
      peak = 0;
    },
    stop: () => {
      clearInterval(timer);
    },
  };
}
