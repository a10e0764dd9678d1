/**
 * `npm run bench`: Onggi against baselines measured in the same run — a bare node:http server (the HTTP
 * ceiling), `dd` with fsync (the disk ceiling), when installed a local OpenStack Swift, with `--postgres` the same
 * Onggi on a private PostgreSQL, and with `--baseline`/`--baseline-ref` another Onggi build (an A/B). The 4 KiB
 * rows and the 1 MiB GET go through wrk (HEAD through ab: bench/wrk.ts), which the ceiling does not saturate; the
 * rest through the undici loader (bench/loader.ts).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { buildBaseline, existingBaseline, type Baseline } from './baseline.ts';
import { BusyTime } from './cpu-profile.ts';
import { treeRss } from './processes.ts';
import { abRows, BASELINE, checkTargets, encryptedRows, ONGGI, ONGGI_PG, renderAb, renderEncrypted, renderS3, renderTable, renderTargets, s3Rows } from './report.ts';
import { s3Contenders } from './s3.ts';
import { Arena, listingScenarios, median, objectScenarios, type Result, type Scale } from './scenarios.ts';
import { encryptedContender, startBare, startOnggi, startPostgres, startSwift, stopSwift, type Contender, type OnggiContender } from './targets.ts';
import { fastSeconds, haveAb, haveWrk } from './wrk.ts';

const exec = promisify(execFile);
const projectRoot = join(import.meta.dirname, '..');
const LARGE_REPEATS = 3;

interface Options {
  quick: boolean;
  seconds: number;
  rounds?: number;
  swift: boolean;
  s3: boolean;
  encrypted: boolean;
  loader: 'wrk' | 'undici';
  setupSwift: boolean;
  postgres: boolean;
  baseline?: string;
  baselineRef?: string;
  out: string;
  listingKeys: number;
  largeMb: number;
  s3PartMb: number;
  s3PartQueue: number;
  source: boolean;
  smallOnly: boolean;
  cpuProfile: boolean;
  keepProfiles?: string;
}

const program = new Command('bench')
  .option('--quick', 'tiny sizes and short runs (the smoke test)', false)
  .option('--seconds <n>', 'seconds per timed scenario and target', Number, 5)
  .option('--rounds <n>', 'rounds each timed scenario is split into, the targets taking turns (default 1 with --quick, else 4)', Number)
  .option('--no-swift', 'skip the local Swift baseline even if installed')
  .option('--no-s3', "skip the S3 targets (this build's Onggi through S3, beside its Swift rows)")
  .option('--no-encrypted', "skip the encrypted bucket's rows (this build's Onggi, a bucket with managed encryption, beside the plain one)")
  .option('--loader <name>', 'what sends the 4 KiB rows and the 1 MiB GET: wrk (HEAD: ab; installed by scripts/install-bench-deps.sh) or undici (the bench\'s own loader, ~10k requests/s here)', haveWrk() && haveAb() ? 'wrk' : 'undici')
  .option('--setup-swift', 'install and start a local Swift from Debian packages (bench/swift/setup.sh)', false)
  .option('--postgres', 'also run Onggi with its metadata in a private PostgreSQL the bench starts', false)
  .option('--baseline <dir>', 'A/B: also run the Onggi build in this checkout (built: dist/main.js)')
  .option('--baseline-ref <ref>', 'A/B: export this git ref into a temp directory, build it, and run it as the baseline')
  .option('--listing-keys <n>', 'keys in the big listing bucket', Number, 1_000_000)
  .option('--large-mb <n>', 'size of the single large object in MiB', Number, 1024)
  .option('--s3-part-mb <n>', 'part size of the multipart upload of the large object through S3, in MiB', Number, 64)
  .option('--s3-part-queue <n>', 'parts of that upload in flight (lib-storage: 4)', Number, 4)
  .option('--out <dir>', 'where results go', join(projectRoot, 'bench', 'results'))
  .option('--source', 'run Onggi from its TypeScript sources (tsx) instead of the build in dist/', false)
  .option('--small-only', 'only the 4 KiB rows (quick A/B of the small-object path)', false)
  .option('--cpu-profile', "also report each Onggi's CPU time per operation, from V8 CPU profiles (steadier than ops/s on a shared host)", false)
  .option('--keep-profiles <dir>', 'with --cpu-profile: copy the V8 CPU profiles here (one directory per Onggi) to read them in a profiler');

const options = program.parse().opts<Options>();
if (options.baseline && options.baselineRef) program.error('give --baseline or --baseline-ref, not both');
if (options.loader !== 'wrk' && options.loader !== 'undici') program.error('--loader is wrk or undici');
if (options.loader === 'wrk' && !(haveWrk() && haveAb())) program.error('--loader wrk: wrk and ab are not installed (bash scripts/install-bench-deps.sh)');
if (options.loader === 'undici') process.stderr.write('the 4 KiB rows go through the undici loader, which saturates near 10k requests/s: the node:http ceiling is then the loader\'s\n');
const scale: Scale = options.quick
  ? { seconds: 0.3, rounds: options.rounds ?? 1, largeRepeats: LARGE_REPEATS, concurrencies: [1, 4], largeBytes: 4 * 1024 * 1024, s3PartBytes: options.s3PartMb * 1024 * 1024, s3PartQueue: options.s3PartQueue, listingDirs: 20, listingFilesPerDir: 50, mixedSeedKeys: 200, ringKeys: 200, deleteSeedMax: 2000 }
  : {
      seconds: options.seconds,
      rounds: options.rounds ?? 4,
      largeRepeats: LARGE_REPEATS,
      concurrencies: [1, 16, 64],
      largeBytes: options.largeMb * 1024 * 1024,
      s3PartBytes: options.s3PartMb * 1024 * 1024,
      s3PartQueue: options.s3PartQueue,
      listingDirs: 1000,
      listingFilesPerDir: Math.max(1, Math.round(options.listingKeys / 1000)),
      mixedSeedKeys: 2000,
      ringKeys: 2000,
      deleteSeedMax: 30_000,
    };
if (options.loader === 'wrk' && !Number.isInteger(scale.seconds / scale.rounds)) {
  process.stderr.write(`wrk runs whole seconds: each round of the wrk and ab rows lasts ${fastSeconds(scale.seconds / scale.rounds)} s (--seconds ${scale.seconds} / --rounds ${scale.rounds})\n`);
}
/** Idle before the last RSS reading, for the server to settle (timers, GC) after the last scenario. */
const IDLE_SETTLE_MS = options.quick ? 1000 : 10_000;

const work = await mkdtemp(join(tmpdir(), 'onggi-bench-'));
/** What to stop at the end, in start order (stopped in reverse). */
const started: { stop(): Promise<void> }[] = [];
try {
  const baseline = await prepareBaseline();
  const loadAtStart = loadavg()[0] ?? 0;
  // dd writes as much as the large PUT does, on the same disk (the data directories are under `work`).
  const ddMiB = options.quick ? 64 : Math.max(4, Math.round(options.largeMb / 4) * 4);
  const disk = await diskCeiling(work, ddMiB);
  const md5 = md5Ceiling(options.quick ? 16 : 512);
  const bare = await startAndKeep(startBare());
  const onggis = await startOnggis(baseline);
  const swift = options.swift ? await startAndKeep(startSwift(join(work, 'swift'), options.setupSwift)) : null;

  // S3 and the encrypted bucket on this build only (a baseline build may have neither).
  const s3 = options.s3 && onggis[0] ? await s3Contenders(onggis[0], bare) : null;
  const encrypted: Contender[] = options.encrypted && onggis[0] ? [await encryptedContender(onggis[0])] : [];
  // Onggi next to the baseline build (the pair the A/B compares) and to its own S3 targets on the other side, so
  // that both pairs run back to back in every round, whichever way the order turns.
  const onggiS3 = [...(s3?.onggi ?? [])].reverse();
  const arena = new Arena([...encrypted, ...onggiS3, ...onggis, bare, ...(s3 ? [s3.bare] : []), ...(swift ? [swift] : [])], scale, options.loader === 'wrk');
  const idleRss = { startMb: onggis[0] ? (await treeRss(onggis[0].spawned.pid)) / 2 ** 20 : 0, endMb: 0 };
  try {
    await objectScenarios(arena, scale, options.smallOnly);
    if (!options.smallOnly) await listingScenarios(arena, scale, onggis, bare);
  } finally {
    arena.stop();
  }
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  idleRss.endMb = onggis[0] ? (await treeRss(onggis[0].spawned.pid)) / 2 ** 20 : 0;
  const results = arena.results;
  if (options.cpuProfile) await addCpuPerOp(onggis, results);
  const targets = checkTargets(results, scale, disk, md5, idleRss);
  const encryptedTable = encryptedRows(results, scale);
  const ab = baseline ? abRows(results, scale) : [];
  const s3Table = s3Rows(results, scale);
  const loads = results.map((r) => r.load1);
  const loadAverage = { atStart: loadAtStart, min: Math.min(...loads), max: Math.max(...loads), atEnd: loadavg()[0] ?? 0 };
  const date = new Date().toISOString();
  const report = {
    date,
    quick: options.quick,
    scale,
    postgres: options.postgres,
    loader: options.loader === 'wrk' ? 'wrk (HEAD: ab) for the 4 KiB rows and the 1 MiB GET; undici for the rest' : 'undici',
    idleRss,
    baseline: baseline ? { ref: options.baselineRef ?? null, commit: baseline.commit } : null,
    loadAverage,
    diskMbPerSec: disk,
    ddMiB,
    md5MbPerSec: md5,
    results,
    targets,
    ab,
    s3: s3Table,
    encrypted: encryptedTable,
  };
  await mkdir(options.out, { recursive: true });
  const file = join(options.out, `${options.quick ? 'quick' : 'full'}-${date.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
  const baselineLabel = describeBaseline(baseline);
  process.stdout.write(
    [
      renderTable(results, disk, md5),
      ...(baseline ? [renderAb(ab, baselineLabel)] : []),
      ...(s3Table.length > 0 ? [renderS3(s3Table)] : []),
      ...(encryptedTable.length > 0 ? [renderEncrypted(encryptedTable)] : []),
      renderTargets(targets),
      `load average (1 min) at the scenarios' starts: ${loadAverage.min.toFixed(2)}–${loadAverage.max.toFixed(2)} on ${availableParallelism()} cores`,
      `results: ${file}`,
      '',
    ].join('\n'),
  );
} finally {
  for (const server of started.reverse()) await server.stop().catch(() => undefined);
  if (options.setupSwift || options.swift) await stopSwift(join(work, 'swift'));
  await rm(work, { recursive: true, force: true });
}

async function startAndKeep<T extends { spawned: { stop(): Promise<void> } } | null>(starting: Promise<T>): Promise<T> {
  const contender = await starting;
  if (contender) started.push(contender.spawned);
  return contender;
}

async function prepareBaseline(): Promise<Baseline | null> {
  if (options.baselineRef) {
    process.stderr.write(`building the baseline ${options.baselineRef}…\n`);
    return buildBaseline(projectRoot, options.baselineRef, join(work, 'baseline-build'));
  }
  return options.baseline ? existingBaseline(options.baseline) : null;
}

/** "baseline v1 (a0a54cb)", "baseline a0a54cb", or "baseline" when its commit is unknown. */
function describeBaseline(baseline: Baseline | null): string {
  const commit = baseline?.commit?.slice(0, 7);
  const ref = options.baselineRef;
  if (!commit) return 'baseline';
  return ref && !commit.startsWith(ref) ? `baseline ${ref} (${commit})` : `baseline ${commit}`;
}

/** This build on SQLite; the baseline build (own data directory) and this build on PostgreSQL when asked for. */
async function startOnggis(baseline: Baseline | null): Promise<OnggiContender[]> {
  const onggis: OnggiContender[] = [];
  onggis.push(await startAndKeep(startOnggi({ name: ONGGI, root: projectRoot, source: options.source, dataDir: join(work, 'onggi'), nodeArgs: profiling(ONGGI) })));
  if (baseline) onggis.push(await startAndKeep(startOnggi({ name: BASELINE, root: baseline.dir, source: false, dataDir: join(work, 'baseline'), nodeArgs: profiling(BASELINE) })));
  if (options.postgres) {
    const database = await startPostgres();
    started.push(database); // stopped after the server on it
    onggis.push(await startAndKeep(startOnggi({ name: ONGGI_PG, root: projectRoot, source: options.source, dataDir: join(work, 'onggi-pg'), metadataUrl: database.url, nodeArgs: profiling(ONGGI_PG) })));
  }
  return onggis;
}

function profiling(name: string): string[] {
  return options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${join(work, 'profiles', name)}`] : [];
}

/** Stops the Onggi servers (a profile is written at exit) and gives each result its CPU time per operation. */
async function addCpuPerOp(onggis: OnggiContender[], results: Result[]): Promise<void> {
  for (const onggi of onggis) {
    await onggi.spawned.stop();
    const profiles = join(work, 'profiles', onggi.target.name);
    if (options.keepProfiles) await cp(profiles, join(options.keepProfiles, onggi.target.name), { recursive: true });
    const busy = await BusyTime.read(profiles);
    for (const result of results.filter((r) => (r.server ?? r.target) === onggi.target.name && r.figures.ops > 0)) {
      result.cpuMicrosPerOp = busy.within(result.windows) / result.figures.ops;
    }
  }
}

// --- the ceilings -----------------------------------------------------------------------------

/** `dd` with fsync, the median of a few runs (the host's disk is shared and moves by 2× between runs). */
async function diskCeiling(dir: string, mib: number): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < LARGE_REPEATS; i++) {
    const { stderr } = await exec('dd', ['if=/dev/zero', `of=${join(dir, 'dd.bin')}`, 'bs=4M', `count=${mib / 4}`, 'conv=fsync']);
    await rm(join(dir, 'dd.bin'), { force: true });
    const match = /copied, ([\d.]+) s/.exec(stderr);
    rates.push(match?.[1] ? (mib * 1024 * 1024) / 1e6 / Number(match[1]) : 0);
  }
  return median(rates, (r) => r);
}

/** MD5 on one core: every PUT computes it (the ETag), so no single upload can go faster. */
function md5Ceiling(mib: number): number {
  const block = randomBytes(1024 * 1024);
  const hash = createHash('md5');
  const t0 = performance.now();
  for (let i = 0; i < mib; i++) hash.update(block);
  hash.digest();
  return (mib * 1024 * 1024) / 1e6 / ((performance.now() - t0) / 1000);
}
