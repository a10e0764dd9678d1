/**
 * Where the server's memory goes under the bench's scenarios (issue 21): starts this build as the bench does (the
 * built dist/, its `npm start` flags, a temp data directory, the S3 targets on the same process), runs the bench's
 * object and listing scenarios against it, and records along the way the server's /proc memory (RssAnon, RssFile,
 * VmHWM), its own `process.memoryUsage()` and V8 heap spaces (a preloaded sampler), and heap snapshots at idle
 * before the load, right after it and after idling (`--heapsnapshot-signal`). Summarise the snapshots with
 * `node --import tsx scripts/heapsum.ts`.
 *
 *   node --import tsx bench/memory-probe.ts [--seconds 6] [--large-mb 1024] [--listing-keys 100000] --out DIR
 */
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { s3Contenders } from './s3.ts';
import { Arena, listingScenarios, objectScenarios, type Scale } from './scenarios.ts';
import { startBare, startOnggi } from './targets.ts';
import { haveAb, haveWrk } from './wrk.ts';

const program = new Command('memory-probe')
  .option('--seconds <n>', 'seconds per timed scenario', Number, 6)
  .option('--rounds <n>', 'rounds per timed scenario', Number, 3)
  .option('--large-mb <n>', 'size of the large object in MiB', Number, 1024)
  .option('--listing-keys <n>', 'keys in the big listing bucket', Number, 100_000)
  .option('--idle <s>', 'seconds idle after the load before the last snapshot', Number, 60)
  .option('--no-s3', 'no S3 targets on the server')
  .option('--no-snapshots', 'no heap snapshots (they raise VmHWM while written)')
  .option('--small-only', 'only the 4 KiB rows', false)
  .option('--node-arg <flag...>', 'more node flags for the server (e.g. --node-arg=--trace-gc)')
  .requiredOption('--out <dir>', 'where snapshots and the memory log go');

interface Options {
  seconds: number;
  rounds: number;
  largeMb: number;
  listingKeys: number;
  idle: number;
  s3: boolean;
  snapshots: boolean;
  smallOnly: boolean;
  nodeArg?: string[];
  out: string;
}
const options = program.parse().opts<Options>();
const projectRoot = join(import.meta.dirname, '..');

/** Loaded into the server (`--import`): its own view of its memory, every 250 ms, as JSON lines. */
const SAMPLER = `
import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
const log = process.env.MEMORY_PROBE_LOG;
setInterval(() => {
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, [s.space_size, s.space_used_size]]));
  appendFileSync(log, JSON.stringify({ t: Date.now(), ...process.memoryUsage(), spaces }) + '\\n');
}, 250).unref();
`;

interface ProcMemory {
  rss: number;
  anon: number;
  file: number;
  hwm: number;
  threads: number;
  /** Anonymous resident MiB by mapping: glibc's main heap ([heap]) and the largest anonymous mappings. */
  mappings: string;
}

/** The resident anonymous memory by mapping, largest first (what /proc/PID/smaps says). */
async function anonMappings(pid: number): Promise<string> {
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
  const found: { name: string; size: number; rss: number }[] = [];
  let current: { name: string; size: number; rss: number } | null = null;
  for (const line of smaps.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const name = head[3] === '0' ? (head[4]?.trim() ?? '') : 'file';
      current = { name: name === '' ? 'anon' : name, size: (parseInt(head[2] ?? '0', 16) - parseInt(head[1] ?? '0', 16)) / 2 ** 20, rss: 0 };
      if (current.name !== 'file') found.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) current.rss = Number(rss[1]) / 1024;
  }
  const top = found.filter((m) => m.rss >= 1).sort((a, b) => b.rss - a.rss).slice(0, 12);
  const small = found.filter((m) => m.rss < 1).reduce((sum, m) => sum + m.rss, 0);
  return top.map((m) => `${m.name} ${m.rss.toFixed(1)}/${m.size.toFixed(0)}`).join(', ') + `; <1 MiB each: ${small.toFixed(1)}`;
}

async function procMemory(pid: number): Promise<ProcMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile'), hwm: mib('VmHWM'), threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]), mappings: await anonMappings(pid) };
}

interface SelfView {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, [number, number]>;
}

async function lastSelfView(log: string): Promise<SelfView | null> {
  const lines = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n');
  const last = lines.at(-1);
  return last ? (JSON.parse(last) as SelfView) : null;
}

const MiB = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

const work = await mkdtemp(join(tmpdir(), 'onggi-memory-probe-'));
const log = join(options.out, 'memory.jsonl');
const sampler = join(work, 'sampler.mjs');
await writeFile(sampler, SAMPLER);
await writeFile(log, '');
process.env.MEMORY_PROBE_LOG = log;
const phases: { phase: string; proc: ProcMemory; self: SelfView | null }[] = [];
const bare = await startBare();
const nodeArgs = ['--import', sampler, ...(options.snapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${options.out}`] : []), ...(options.nodeArg ?? [])];
const onggi = await startOnggi({ name: 'onggi', root: projectRoot, source: false, dataDir: join(work, 'onggi'), nodeArgs });
const pid = onggi.spawned.pid;

async function record(phase: string, snapshot = false): Promise<void> {
  await sleep(600); // a fresh sample from the sampler
  const entry = { phase, proc: await procMemory(pid), self: await lastSelfView(log) };
  phases.push(entry);
  const s = entry.self;
  process.stdout.write(
    `${phase.padEnd(22)} RSS ${entry.proc.rss.toFixed(1)} (anon ${entry.proc.anon.toFixed(1)}, file ${entry.proc.file.toFixed(1)}), HWM ${entry.proc.hwm.toFixed(1)}` +
      (s ? ` | heap ${MiB(s.heapUsed)}/${MiB(s.heapTotal)}, external ${MiB(s.external)} (arrayBuffers ${MiB(s.arrayBuffers)})` : '') +
      `\n    threads ${entry.proc.threads}; anonymous MiB resident/mapped: ${entry.proc.mappings}\n`,
  );
  if (snapshot && options.snapshots) await takeSnapshot(phase);
}

/** SIGUSR2 makes the server write Heap.<date>.<pid>….heapsnapshot into --diagnostic-dir; renamed to the phase. */
async function takeSnapshot(phase: string): Promise<void> {
  const before = new Set(await readdir(options.out));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    const made = (await readdir(options.out)).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!made) continue;
    const size = (await readFile(join(options.out, made))).length;
    await sleep(1000);
    if ((await readFile(join(options.out, made))).length !== size) continue; // still being written
    await rename(join(options.out, made), join(options.out, `${phase}.heapsnapshot`));
    return;
  }
  throw new Error('no heap snapshot written');
}

try {
  if (!(haveWrk() && haveAb())) throw new Error('wrk and ab are needed (bash scripts/install-bench-deps.sh)');
  const scale: Scale = {
    seconds: options.seconds,
    rounds: options.rounds,
    largeRepeats: 3,
    concurrencies: [1, 16, 64],
    largeBytes: options.largeMb * 2 ** 20,
    listingDirs: 1000,
    listingFilesPerDir: Math.max(1, Math.round(options.listingKeys / 1000)),
    mixedSeedKeys: 2000,
    ringKeys: 2000,
    deleteSeedMax: 30_000,
  };
  const s3 = options.s3 ? await s3Contenders(onggi, bare) : null;
  await sleep(10_000);
  await record('idle-start', true);
  const arena = new Arena([...(s3?.onggi ?? []), onggi], scale, true);
  try {
    await objectScenarios(arena, scale, options.smallOnly);
    await record('after-objects');
    if (!options.smallOnly) await listingScenarios(arena, scale, [onggi], bare);
  } finally {
    arena.stop();
  }
  await record('after-load', true);
  await sleep(10_000);
  await record('idle-10s');
  await sleep(Math.max(0, options.idle - 10) * 1000);
  await record(`idle-${options.idle}s`, true);
  for (const r of arena.results) process.stdout.write(`  ${r.scenario.padEnd(24)} ${r.target.padEnd(16)} peak RSS ${(r.peakRssMb ?? 0).toFixed(1)} MiB\n`);
  await writeFile(join(options.out, 'phases.json'), JSON.stringify({ phases, results: arena.results.map((r) => ({ scenario: r.scenario, target: r.target, peakRssMb: r.peakRssMb, opsPerSec: r.figures.opsPerSec })) }, null, 2));
} finally {
  await onggi.spawned.stop();
  await bare.spawned.stop();
  await rm(work, { recursive: true, force: true });
}
