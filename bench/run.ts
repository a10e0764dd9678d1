/**
 * `npm run bench`: Onggi against baselines measured in the same run — a bare node:http server (the HTTP
 * ceiling), `dd` with fsync (the disk ceiling) and, when installed, a local OpenStack Swift.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { runLoad, type Operation, type Target } from './loader.ts';
import { spawnServer, watchRss, type Spawned } from './processes.ts';
import type { Figures } from './stats.ts';

const exec = promisify(execFile);
const projectRoot = join(import.meta.dirname, '..');
const KEY_ID = 'bench-key-id';
const SECRET = 'bench-secret-not-real';
const BUCKET = 'bench';
/** Runs of each single-shot large transfer (and of dd); the median is reported. */
const LARGE_REPEATS = 3;

interface Options {
  quick: boolean;
  seconds: number;
  swift: boolean;
  setupSwift: boolean;
  out: string;
  listingKeys: number;
  largeMb: number;
  source: boolean;
}

interface Result {
  scenario: string;
  target: string;
  figures: Figures;
  peakRssMb?: number;
}

interface Scale {
  seconds: number;
  concurrencies: number[];
  largeBytes: number;
  listingDirs: number;
  listingFilesPerDir: number;
}

const program = new Command('bench')
  .option('--quick', 'tiny sizes and short runs (the smoke test)', false)
  .option('--seconds <n>', 'seconds per timed scenario', Number, 5)
  .option('--no-swift', 'skip the local Swift baseline even if installed')
  .option('--setup-swift', 'install and start a local Swift from Debian packages (bench/swift/setup.sh)', false)
  .option('--listing-keys <n>', 'keys in the big listing bucket', Number, 1_000_000)
  .option('--large-mb <n>', 'size of the single large object in MiB', Number, 1024)
  .option('--out <dir>', 'where results go', join(projectRoot, 'bench', 'results'))
  .option('--source', 'run Onggi from its TypeScript sources (tsx) instead of the build in dist/', false);

const options = program.parse().opts<Options>();
const scale: Scale = options.quick
  ? { seconds: 0.3, concurrencies: [1, 4], largeBytes: 4 * 1024 * 1024, listingDirs: 20, listingFilesPerDir: 50 }
  : {
      seconds: options.seconds,
      concurrencies: [1, 16, 64],
      largeBytes: options.largeMb * 1024 * 1024,
      listingDirs: 1000,
      listingFilesPerDir: Math.max(1, Math.round(options.listingKeys / 1000)),
    };

const results: Result[] = [];
const work = await mkdtemp(join(tmpdir(), 'onggi-bench-'));
const servers: Spawned[] = [];
try {
  const disk = await diskCeiling(work, options.quick ? 64 : 1024);
  const md5 = md5Ceiling(options.quick ? 16 : 512);
  const bare = await startBare();
  servers.push(bare.spawned);
  const onggi = await startOnggi(join(work, 'onggi'));
  servers.push(onggi.spawned);
  const swift = options.swift ? await startSwift(join(work, 'swift')) : null;
  if (swift) servers.push(swift.spawned);

  for (const [target, pid] of [
    [bare.target, bare.spawned.pid],
    [onggi.target, onggi.spawned.pid],
    ...(swift ? [[swift.target, swift.spawned.pid] as const] : []),
  ] as const) {
    await objectScenarios(target, pid);
  }
  await listingScenarios(onggi, bare.target, join(work, 'onggi'));

  const targets = checkTargets(results, disk, md5);
  const report = { date: new Date().toISOString(), quick: options.quick, scale, diskMbPerSec: disk, md5MbPerSec: md5, results, targets };
  await mkdir(options.out, { recursive: true });
  const file = join(options.out, `${options.quick ? 'quick' : 'full'}-${report.date.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(renderTable(results, disk, md5) + '\n' + renderTargets(targets) + `\nresults: ${file}\n`);
} finally {
  for (const server of servers.reverse()) await server.stop().catch(() => undefined);
  if (options.setupSwift || options.swift) await stopSwift(join(work, 'swift'));
  await rm(work, { recursive: true, force: true });
}

// --- targets ----------------------------------------------------------------------------------

async function startBare(): Promise<{ spawned: Spawned; target: Target }> {
  const spawned = await spawnServer(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'bare-server.ts')], process.env, /listening on (\S+)/);
  return { spawned, target: { name: 'node:http', origin: spawned.url, objectPath: (k) => `/o/${k}`, listingPath: () => '/list?x', headers: {} } };
}

async function startOnggi(dataDir: string): Promise<{ spawned: Spawned; target: Target; account: string }> {
  const env = {
    ...process.env,
    ONGGI_LISTEN: '127.0.0.1:0',
    ONGGI_DATA_DIR: dataDir,
    ONGGI_LOG_LEVEL: 'warn',
    ONGGI_ROOT_ACCESS_KEY_ID: KEY_ID,
    ONGGI_ROOT_SECRET_ACCESS_KEY: SECRET,
  };
  // The built server, as `npm start` runs it (`npm run bench` builds first).
  const entry = options.source ? ['--import', 'tsx', join(projectRoot, 'src', 'main.ts')] : [join(projectRoot, 'dist', 'main.js')];
  // The same memory settings as `npm start`: small young generation, few malloc arenas.
  const spawned = await spawnServer(process.execPath, ['--max-semi-space-size=1', ...entry, 'server'], { ...env, MALLOC_ARENA_MAX: '2' }, /Onggi listening on (\S+)/);
  const response = await fetch(`${spawned.url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: KEY_ID, secret: SECRET } } } }),
  });
  const token = response.headers.get('x-subject-token') ?? '';
  const account = ((await response.json()) as { token: { project: { id: string } } }).token.project.id;
  const headers = { 'x-auth-token': token };
  await fetch(`${spawned.url}/v1/${account}/${BUCKET}`, { method: 'PUT', headers });
  return {
    spawned,
    account,
    target: {
      name: 'onggi',
      origin: spawned.url,
      objectPath: (k) => `/v1/${account}/${BUCKET}/${k}`,
      listingPath: (bucket, query) => `/v1/${account}/${bucket}?${query}`,
      headers,
    },
  };
}

async function startSwift(root: string): Promise<{ spawned: Spawned; target: Target } | null> {
  const script = join(projectRoot, 'bench', 'swift', 'setup.sh');
  const installed = existsSync('/usr/bin/swift-proxy-server');
  if (!existsSync(script) || (!installed && !options.setupSwift)) return null;
  const { stdout } = await exec('bash', [script, root, '18091'], { maxBuffer: 10 * 1024 * 1024 });
  const url = /SWIFT_URL=(\S+)/.exec(stdout)?.[1];
  const token = /SWIFT_TOKEN=(\S+)/.exec(stdout)?.[1];
  if (!url || !token) throw new Error(`Swift set-up printed no URL/token:\n${stdout}`);
  const storage = new URL(url);
  await fetch(`${url}/${BUCKET}`, { method: 'PUT', headers: { 'x-auth-token': token } });
  const pidText = await exec('pgrep', ['-f', 'swift-proxy-server']).then((r) => r.stdout.trim().split('\n')[0] ?? '0', () => '0');
  const spawned: Spawned = { pid: Number(pidText), url: storage.origin, stop: () => Promise.resolve() };
  return {
    spawned,
    target: {
      name: 'swift',
      origin: storage.origin,
      objectPath: (k) => `${storage.pathname}/${BUCKET}/${k}`,
      listingPath: () => null,
      headers: { 'x-auth-token': token },
    },
  };
}

async function stopSwift(root: string): Promise<void> {
  const script = join(projectRoot, 'bench', 'swift', 'stop.sh');
  if (existsSync(script) && existsSync(root)) await exec('bash', [script, root]).catch(() => undefined);
}

// --- scenarios --------------------------------------------------------------------------------

async function objectScenarios(target: Target, pid: number): Promise<void> {
  const rss = watchRss(pid);
  /** One timed scenario; a single-shot one (`maxOps`) runs `repeats` times and keeps the median, the host being shared. */
  const run = async (scenario: string, concurrency: number, next: (i: number) => Operation | null, maxOps?: number, repeats = 1): Promise<void> => {
    rss.reset();
    const runs: Figures[] = [];
    for (let i = 0; i < repeats; i++) {
      runs.push(await runLoad(target, { concurrency, durationMs: scale.seconds * 1000, next, ...(maxOps === undefined ? {} : { maxOps }) }));
    }
    const figures = median(runs, (f) => f.opsPerSec);
    await sleep(150);
    results.push({ scenario, target: target.name, figures, peakRssMb: rss.peak() / 2 ** 20 });
  };
  const small = randomBytes(4096);
  const medium = randomBytes(1024 * 1024);
  for (const c of scale.concurrencies) {
    const keys: string[] = [];
    await run(`PUT 4KiB c${c}`, c, (i) => {
      const key = `small-c${c}-${i}`;
      keys.push(key);
      return { method: 'PUT', path: target.objectPath(key), body: small, bytes: small.length };
    });
    await run(`GET 4KiB c${c}`, c, () => ({ method: 'GET', path: target.objectPath(pick(keys)), bytes: small.length }));
    await run(`HEAD 4KiB c${c}`, c, () => ({ method: 'HEAD', path: target.objectPath(pick(keys)), bytes: 0 }));
    await run(`DELETE 4KiB c${c}`, c, () => {
      const key = keys.pop();
      return key === undefined ? null : { method: 'DELETE', path: target.objectPath(key), bytes: 0 };
    });
  }
  const mediumKeys: string[] = [];
  await run('PUT 1MiB c16', 16, (i) => {
    mediumKeys.push(`medium-${i}`);
    return { method: 'PUT', path: target.objectPath(`medium-${i}`), body: medium, bytes: medium.length };
  });
  await run('GET 1MiB c16', 16, () => ({ method: 'GET', path: target.objectPath(pick(mediumKeys)), bytes: medium.length }));

  const large = scale.largeBytes;
  await run(`PUT ${label(large)} c1`, 1, () => ({
    method: 'PUT',
    path: target.objectPath('large'),
    body: generate(large, medium),
    bytes: large,
    headers: { 'content-length': String(large) },
  }), 1, LARGE_REPEATS);
  await run(`GET ${label(large)} c1`, 1, () => ({ method: 'GET', path: target.objectPath('large'), bytes: large }), 1, LARGE_REPEATS);

  const mixed: string[] = [...mediumKeys.slice(0, 0)];
  for (let i = 0; i < 2000; i++) mixed.push(`mixed-seed-${i}`);
  await runLoad(target, { concurrency: 16, durationMs: 60_000, maxOps: mixed.length, next: (i) => ({ method: 'PUT', path: target.objectPath(mixed[i] ?? ''), body: small, bytes: small.length }) });
  await run('MIXED 60/30/10 c64', 64, (i) => {
    const roll = Math.random();
    // A GET may race the DELETE of its key or arrive before the PUT of it completes: 404 is a right answer then.
    if (roll < 0.6 || mixed.length < 10) return { method: 'GET', path: target.objectPath(pick(mixed)), bytes: small.length, alsoOk: [404] };
    if (roll < 0.9) {
      const key = `mixed-${i}`;
      mixed.push(key);
      return { method: 'PUT', path: target.objectPath(key), body: small, bytes: small.length };
    }
    const index = Math.floor(Math.random() * mixed.length);
    const [key] = mixed.splice(index, 1);
    return { method: 'DELETE', path: target.objectPath(key ?? ''), bytes: 0, alsoOk: [404] };
  });
  rss.stop();
}

async function listingScenarios(onggi: { spawned: Spawned; target: Target; account: string }, bare: Target, dataDir: string): Promise<void> {
  const big = 'bench-list-big';
  const small = 'bench-list-small';
  for (const name of [big, small]) await fetch(`${onggi.spawned.url}/v1/${onggi.account}/${name}`, { method: 'PUT', headers: onggi.target.headers });
  await exec(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'seed-listing.ts'), dataDir, big, String(scale.listingDirs), String(scale.listingFilesPerDir)], { maxBuffer: 1 << 20 });
  await exec(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'seed-listing.ts'), dataDir, small, String(scale.listingDirs), '1'], { maxBuffer: 1 << 20 });
  const page = `limit=${Math.min(1000, scale.listingDirs)}&format=json`;
  for (const [bucket, keys] of [[small, scale.listingDirs], [big, scale.listingDirs * scale.listingFilesPerDir]] as const) {
    for (const delimiter of [false, true]) {
      const query = delimiter ? `${page}&delimiter=/` : page;
      const path = onggi.target.listingPath(bucket, query) ?? '';
      const figures = await runLoad(onggi.target, { concurrency: 1, durationMs: scale.seconds * 1000, next: () => ({ method: 'GET', path, bytes: 0 }) });
      results.push({ scenario: `LIST ${keys} keys${delimiter ? ' delim' : ''}`, target: 'onggi', figures });
    }
  }
  const figures = await runLoad(bare, { concurrency: 1, durationMs: scale.seconds * 1000, next: () => ({ method: 'GET', path: '/list?x', bytes: 0 }) });
  results.push({ scenario: 'LIST canned page', target: 'node:http', figures });
}

// --- baselines and helpers --------------------------------------------------------------------

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
  const started = performance.now();
  for (let i = 0; i < mib; i++) hash.update(block);
  hash.digest();
  return (mib * 1024 * 1024) / 1e6 / ((performance.now() - started) / 1000);
}

function median<T>(values: T[], by: (value: T) => number): T {
  const sorted = [...values].sort((a, b) => by(a) - by(b));
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('median of nothing');
  return middle;
}

async function* generate(total: number, block: Buffer): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += block.length) yield block.subarray(0, Math.min(block.length, total - sent));
}

function pick(keys: string[]): string {
  return keys[Math.floor(Math.random() * keys.length)] ?? 'missing';
}

function label(bytes: number): string {
  return bytes >= 2 ** 30 ? `${bytes / 2 ** 30}GiB` : `${bytes / 2 ** 20}MiB`;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

function resultOf(all: Result[], scenario: string, target: string): Result | undefined {
  return all.find((r) => r.scenario === scenario && r.target === target);
}

function renderTable(all: Result[], diskMbPerSec: number, md5MbPerSec: number): string {
  const scenarios = [...new Set(all.map((r) => r.scenario))];
  const find = (scenario: string, target: string): Result | undefined => resultOf(all, scenario, target);
  const lines = [
    `disk ceiling (dd, fsync): ${diskMbPerSec.toFixed(0)} MB/s; MD5 on one core: ${md5MbPerSec.toFixed(0)} MB/s`,
    '',
    '| scenario | onggi ops/s | MB/s | p50 ms | p99 ms | peak RSS MiB | errors | node:http ops/s | ×node:http | swift ops/s | ×swift |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const scenario of scenarios) {
    const o = find(scenario, 'onggi');
    const b = find(scenario, 'node:http');
    const s = find(scenario, 'swift');
    if (!o) continue;
    const f = o.figures;
    const ratio = (base?: Result): string => (base ? (f.opsPerSec / base.figures.opsPerSec).toFixed(2) : '–');
    lines.push(
      `| ${scenario} | ${f.opsPerSec.toFixed(0)} | ${f.mbPerSec.toFixed(1)} | ${f.p50Ms.toFixed(2)} | ${f.p99Ms.toFixed(2)} | ${o.peakRssMb?.toFixed(0) ?? '–'} | ${f.errors} | ${b ? b.figures.opsPerSec.toFixed(0) : '–'} | ${ratio(b)} | ${s ? s.figures.opsPerSec.toFixed(0) : '–'} | ${ratio(s)} |`,
    );
  }
  return lines.join('\n') + '\n';
}

// --- issue 4's targets ------------------------------------------------------------------------

interface TargetCheck {
  target: string;
  measured: number;
  goal: string;
  met: boolean;
}

function checkTargets(all: Result[], diskMbPerSec: number, md5MbPerSec: number): TargetCheck[] {
  const ops = (scenario: string, target: string): number | undefined => resultOf(all, scenario, target)?.figures.opsPerSec;
  const mb = (scenario: string, target: string): number | undefined => resultOf(all, scenario, target)?.figures.mbPerSec;
  const checks: TargetCheck[] = [];
  const atLeast = (target: string, value: number | undefined, base: number | undefined, goal: number): void => {
    if (value !== undefined && base) checks.push({ target, measured: value / base, goal: `≥ ${goal}×`, met: value / base >= goal });
  };
  const large = label(scale.largeBytes);
  atLeast('4 KiB PUT c64 vs node:http', ops('PUT 4KiB c64', 'onggi'), ops('PUT 4KiB c64', 'node:http'), 0.2);
  atLeast('4 KiB PUT c64 vs Swift', ops('PUT 4KiB c64', 'onggi'), ops('PUT 4KiB c64', 'swift'), 10);
  atLeast('4 KiB GET c64 vs node:http', ops('GET 4KiB c64', 'onggi'), ops('GET 4KiB c64', 'node:http'), 0.5);
  atLeast('4 KiB GET c64 vs Swift', ops('GET 4KiB c64', 'onggi'), ops('GET 4KiB c64', 'swift'), 10);
  atLeast(`${large} PUT vs dd (fsync)`, mb(`PUT ${large} c1`, 'onggi'), diskMbPerSec, 0.8);
  // Not one of the targets: every PUT computes MD5 (the ETag), so one upload cannot outrun one core's MD5.
  atLeast(`${large} PUT vs min(dd, MD5 on one core)`, mb(`PUT ${large} c1`, 'onggi'), Math.min(diskMbPerSec, md5MbPerSec), 0.8);
  atLeast(`${large} GET vs node:http`, mb(`GET ${large} c1`, 'onggi'), mb(`GET ${large} c1`, 'node:http'), 0.8);
  const peak = Math.max(...all.filter((r) => r.target === 'onggi').map((r) => r.peakRssMb ?? 0));
  checks.push({ target: 'peak RSS of Onggi (MiB)', measured: peak, goal: '< 150', met: peak < 150 });
  const pages = all.filter((r) => r.scenario.startsWith('LIST') && r.scenario.endsWith('delim'));
  const [small, big] = [pages[0]?.figures.opsPerSec, pages[1]?.figures.opsPerSec];
  if (small && big) checks.push({ target: `delimited page: ${pages[1]?.scenario ?? ''} vs ${pages[0]?.scenario ?? ''} (time ×)`, measured: small / big, goal: '≤ 2×', met: small / big <= 2 });
  return checks;
}

function renderTargets(checks: TargetCheck[]): string {
  const lines = ['| target | measured | goal | met |', '|---|---|---|---|'];
  for (const c of checks) lines.push(`| ${c.target} | ${c.measured.toFixed(2)} | ${c.goal} | ${c.met ? 'yes' : 'no'} |`);
  return lines.join('\n') + '\n';
}
