/**
 * The server's memory under many small requests (issue 21): the server runs as `npm start` runs it (the built
 * dist/, with the start script's memory flags); 64 connections PUT and GET 4 KiB objects through the Swift API for
 * 20 s; its peak resident memory must stay under 150 MiB. The peak is the kernel's high-water mark (VmHWM in
 * /proc/PID/status), so no spike between two samples is missed, start-up included. RSS is sampled too, for the
 * report. How fast the shared host serves changes how many requests run, not how many are in flight at once (64),
 * which is what holds memory.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { auth, createContainer } from '../helpers/swift.ts';
import { builtServer, login, startServer, type Session } from '../helpers/server.ts';

const CONNECTIONS = 64;
const SECONDS = 20;
const OBJECT_BYTES = 4096;
/** Each client cycles through its own keys: objects are overwritten, as a steady workload does. */
const KEYS_PER_CLIENT = 16;
const PEAK_LIMIT_MIB = 150;

interface Memory {
  rssMiB: number;
  peakMiB: number;
  /** Of rssMiB: anonymous memory (heaps, malloc) and mapped files (the node binary's pages, shared libraries). */
  anonMiB: number;
  fileMiB: number;
}

async function memoryOf(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rssMiB: mib('VmRSS'), peakMiB: mib('VmHWM'), anonMiB: mib('RssAnon'), fileMiB: mib('RssFile') };
}

/** The V8 heap and off-heap memory by the server's own count (prom-client's process metrics), for the report. */
async function heapReport(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const mib = (metric: string): string => {
    const value = new RegExp(`^${metric} (\\S+)`, 'm').exec(text)?.[1];
    return value === undefined ? '?' : (Number(value) / 2 ** 20).toFixed(0);
  };
  const spaces = [...text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)/gm)];
  const bySpace = spaces.map(([, space, bytes]) => `${space ?? ''} ${(Number(bytes) / 2 ** 20).toFixed(0)}`).join(', ');
  return `heap MiB: ${mib('nodejs_heap_size_used_bytes')} used of ${mib('nodejs_heap_size_total_bytes')} (${bySpace}); external ${mib('nodejs_external_memory_bytes')}`;
}

interface Totals {
  puts: number;
  gets: number;
  errors: string[];
}

/** One connection's worth of load: PUT a key, GET it back (checking the bytes), next key. */
async function client(id: number, session: Session, dispatcher: Agent, deadline: number, totals: Totals): Promise<void> {
  const body = randomBytes(OBJECT_BYTES);
  const headers = auth(session);
  const fail = (what: string): void => {
    if (totals.errors.length < 20) totals.errors.push(`client ${id}: ${what}`);
  };
  for (let n = 0; Date.now() < deadline; n++) {
    const url = `${session.storageUrl}/memory/c${id}-k${n % KEYS_PER_CLIENT}`;
    try {
      const put = await request(url, { method: 'PUT', headers, body, dispatcher });
      await put.body.dump();
      totals.puts++;
      if (put.statusCode !== 201) fail(`PUT ${url}: ${put.statusCode}`);
      const get = await request(url, { headers, dispatcher });
      const got = Buffer.from(await get.body.arrayBuffer());
      totals.gets++;
      if (get.statusCode !== 200 || !got.equals(body)) fail(`GET ${url}: ${get.statusCode}, ${got.length} bytes`);
    } catch (err) {
      fail((err as Error).message);
    }
  }
}

before(builtServer);

test(
  `peak RSS of the server after ${SECONDS} s of ${CONNECTIONS} connections of 4 KiB PUT/GET (Swift) stays under ${PEAK_LIMIT_MIB} MiB`,
  { timeout: 180_000 },
  async (t) => {
    const server = await startServer({ asStarted: true });
    const dispatcher = new Agent({ connections: CONNECTIONS, keepAliveTimeout: 30_000 });
    try {
      const session = await login(server.url);
      await createContainer(session, 'memory');
      const pid = server.process.pid ?? 0;
      const atStart = await memoryOf(pid);
      const totals: Totals = { puts: 0, gets: 0, errors: [] };
      const deadline = Date.now() + SECONDS * 1000;
      const samples: number[] = [];
      const sampler = (async () => {
        while (Date.now() < deadline) {
          samples.push((await memoryOf(pid)).rssMiB);
          await sleep(250);
        }
      })();
      await Promise.all(Array.from({ length: CONNECTIONS }, (_, id) => client(id, session, dispatcher, deadline, totals)));
      await sampler;
      const atEnd = await memoryOf(pid);

      const sampledPeak = Math.max(...samples);
      t.diagnostic(`${totals.puts} PUTs and ${totals.gets} GETs in ${SECONDS} s (${Math.round((totals.puts + totals.gets) / SECONDS)}/s), ${totals.errors.length} errors`);
      t.diagnostic(`server RSS MiB: ${atStart.rssMiB.toFixed(0)} at start, sampled peak ${sampledPeak.toFixed(0)}, ${atEnd.rssMiB.toFixed(0)} at the end (anonymous ${atEnd.anonMiB.toFixed(0)}, files ${atEnd.fileMiB.toFixed(0)}); VmHWM ${atEnd.peakMiB.toFixed(0)}`);
      t.diagnostic(`server ${await heapReport(server.url)}`);
      assert.deepEqual(totals.errors, [], 'every request answered as expected');
      assert.ok(totals.gets >= CONNECTIONS, `the load ran (${totals.gets} GETs)`);
      assert.equal(server.process.exitCode, null);
      assert.ok(atEnd.peakMiB < PEAK_LIMIT_MIB, `peak RSS ${atEnd.peakMiB.toFixed(1)} MiB is over ${PEAK_LIMIT_MIB} MiB`);
    } finally {
      await dispatcher.close();
      await server.destroy();
    }
  },
);
