/**
 * The scenarios, run interleaved: every target runs scenario A, then every target runs B, … A timed scenario is
 * split into rounds and the targets' order flips between rounds (A B C, C B A, …), so the shared host's drift
 * falls on every target alike; its figures merge the rounds. A single-shot scenario (one large transfer) runs
 * once per round the same way and keeps each target's median round.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { monotonicMicros, type Window } from './cpu-profile.ts';
import { measureLoad, runLoad, type Next, type Target } from './loader.ts';
import { watchRss } from './processes.ts';
import { multipartUpload, PART_BYTES, PART_QUEUE, s3Deletes, s3Gets, s3Puts, s3Signed, type Source } from './s3.ts';
import { Recorder, type Figures } from './stats.ts';
import type { Contender, OnggiContender } from './targets.ts';
import { fastSeconds, runFast, type FastLoad, type FastRun, type WrkRequest } from './wrk.ts';

export interface Result {
  scenario: string;
  target: string;
  figures: Figures;
  /** ops/s of each round (or each single-shot repeat), in the order they ran. */
  rounds: number[];
  peakRssMb?: number;
  /** The host's 1-minute load average when the scenario started. */
  load1: number;
  /** When its rounds ran (monotonic µs), to find the server's CPU time in its profile. */
  windows: Window[];
  /** Server CPU time per successful operation, when the bench ran with --cpu-profile. */
  cpuMicrosPerOp?: number;
  /** The target whose process served it, when not `target` (an S3 target): whose CPU profile covers it. */
  server?: string;
  /** What sent the requests: wrk, ab (HEAD) or the undici loader. */
  loader?: 'wrk' | 'ab' | 'undici';
}

export interface Scale {
  seconds: number;
  /** Rounds each timed scenario is split into, per target. */
  rounds: number;
  /** Runs of each single-shot large transfer; the median is reported. */
  largeRepeats: number;
  concurrencies: number[];
  largeBytes: number;
  /** Part size and parts in flight of the large PUT through S3 (default PART_BYTES, PART_QUEUE). */
  s3PartBytes?: number;
  s3PartQueue?: number;
  listingDirs: number;
  listingFilesPerDir: number;
  /** Objects in the bucket before the mixed load starts. */
  mixedSeedKeys: number;
  /**
   * With a fast loader (wrk): the 4 KiB PUT rows overwrite this many keys in turn (seeded first), which the GET
   * and HEAD rows read; a DELETE round deletes at most `deleteSeedMax` keys seeded before it (a round that runs
   * out is timed over the time it was busy).
   */
  ringKeys?: number;
  deleteSeedMax?: number;
}

/** A plan whose rounds a fast loader (wrk, ab) sends: the list of requests, made before each round (unmeasured). */
export interface FastSource {
  fast: () => FastLoad | Promise<FastLoad>;
  beforeRound?: () => Promise<void>;
  afterRound?: (run: FastRun) => void;
}

/**
 * Makes a target's next operation (null: nothing left), or a Source that also does work before each round; one
 * per target, living across rounds.
 */
type Plan = (target: Target) => (() => Next) | Source | FastSource;
type PreparePlan = (target: Target) => (() => Next) | Source;

/** Keys of the 4 KiB objects an S3 GET picks from, signed ahead (a sample of what its PUTs made). */
const S3_GET_KEYS = 4000;


/** The idle gap after each run, so a server's leftover background work does not land on the next target's run. */
const SETTLE_MS = 150;

/** One target's rounds of a scenario so far. */
interface RunState {
  source: Source | FastSource;
  recorders: Recorder[];
  seconds: number[];
  windows: Window[];
  loader: NonNullable<Result['loader']>;
}

export class Arena {
  readonly results: Result[] = [];
  /** One per process: an S3 target shares its server's. */
  private readonly watchers = new Map<number, ReturnType<typeof watchRss>>();
  /** The targets addressed through Swift (or node:http's plain paths): every scenario runs on these. */
  readonly plain: Contender[];

  /** Onggi's encrypted bucket (same server): the 4 KiB PUT/GET and large rows only. */
  readonly encrypted: Contender[];

  /** `fast`: the 4 KiB rows and the 1 MiB GET go through wrk (HEAD through ab), else the undici loader. */
  constructor(
    readonly contenders: Contender[],
    private readonly scale: Scale,
    readonly fast = false,
  ) {
    for (const c of contenders) if (!this.watchers.has(c.spawned.pid)) this.watchers.set(c.spawned.pid, watchRss(c.spawned.pid));
    this.plain = contenders.filter((c) => !c.target.s3 && !c.target.encrypted);
    this.encrypted = contenders.filter((c) => c.target.encrypted);
  }

  stop(): void {
    for (const watcher of this.watchers.values()) watcher.stop();
  }

  /**
   * A timed scenario on `among` (default: every target). `opsPerRound` caps a target's operations in each round,
   * for a scenario that consumes what an earlier one made (DELETE): its rounds then share the supply evenly.
   */
  async timed(scenario: string, concurrency: number, plan: Plan, limits: { among?: Contender[]; opsPerRound?: (target: Target) => number } = {}): Promise<void> {
    const { among = this.plain, opsPerRound } = limits;
    await this.interleave(scenario, among, this.scale.rounds, plan, { concurrency, durationMs: (this.scale.seconds * 1000) / this.scale.rounds, ...(opsPerRound ? { maxOps: opsPerRound } : {}) });
  }

  /** A single transfer per round, repeated `largeRepeats` times; each target keeps its median. */
  async singleShot(scenario: string, plan: Plan, among: Contender[] = this.plain): Promise<void> {
    // A multipart upload sends parts in parallel over one target's connections.
    const load = { concurrency: 1, connections: this.scale.s3PartQueue ?? PART_QUEUE, durationMs: this.scale.seconds * 1000, maxOps: () => 1 };
    await this.interleave(scenario, among, this.scale.largeRepeats, plan, load, true);
  }

  /** Unmeasured work on `among` (e.g. objects a later scenario reads). */
  async prepare(concurrency: number, ops: number, plan: PreparePlan, among: Contender[] = this.plain): Promise<void> {
    for (const c of among) await runLoad(c.target, { concurrency, durationMs: 120_000, maxOps: ops, next: sourceOf(plan(c.target)).next });
  }

  private async interleave(
    scenario: string,
    among: Contender[],
    rounds: number,
    plan: Plan,
    load: { concurrency: number; connections?: number; durationMs: number; maxOps?: (target: Target) => number },
    singleShot = false,
  ): Promise<void> {
    const load1 = loadavg()[0] ?? 0;
    const runs = new Map(among.map((c): [Contender, RunState] => [c, { source: sourceOf(plan(c.target)), recorders: [], seconds: [], windows: [], loader: 'undici' }]));
    for (const watcher of this.watchers.values()) watcher.reset();
    for (let round = 0; round < rounds; round++) {
      for (const c of round % 2 === 0 ? among : [...among].reverse()) {
        const run = runs.get(c);
        if (!run) continue;
        const maxOps = load.maxOps?.(c.target);
        if (run.source.beforeRound) {
          await run.source.beforeRound();
          await sleep(SETTLE_MS); // what it made (e.g. seeded keys) settles before the measured run, as after one
        }
        if ('fast' in run.source) {
          const fast = await run.source.fast();
          const startedAt = monotonicMicros();
          const measured = await runFast(c.target, fast, load.concurrency, load.durationMs / 1000);
          run.source.afterRound?.(measured);
          run.recorders.push(measured.recorder);
          run.seconds.push(measured.seconds);
          run.windows.push([startedAt, monotonicMicros()]);
          run.loader = fast.requests.every((r) => r.method === 'HEAD') ? 'ab' : 'wrk';
          await sleep(SETTLE_MS);
          continue;
        }
        const startedAt = monotonicMicros();
        const spec = { concurrency: load.concurrency, durationMs: load.durationMs, next: run.source.next };
        const measured = await measureLoad(c.target, { ...spec, ...(load.connections ? { connections: load.connections } : {}), ...(maxOps === undefined ? {} : { maxOps }) });
        run.recorders.push(measured.recorder);
        run.seconds.push(measured.seconds);
        run.windows.push([startedAt, monotonicMicros()]);
        await sleep(SETTLE_MS);
      }
    }
    for (const [c, run] of runs) {
      const perRound = run.recorders.map((r, i) => r.figures(run.seconds[i] ?? 0));
      const figures = singleShot
        ? median(perRound, (f) => f.opsPerSec)
        : Recorder.merge(run.recorders).figures(run.seconds.reduce((a, b) => a + b, 0));
      const peak = this.watchers.get(c.spawned.pid)?.peak() ?? 0;
      const server = c.target.s3?.server ?? c.target.server;
      this.results.push({ scenario, target: c.target.name, figures, rounds: perRound.map((f) => f.opsPerSec), peakRssMb: peak / 2 ** 20, load1, windows: run.windows, loader: run.loader, ...(server ? { server } : {}) });
    }
  }
}

/**
 * PUT/GET/HEAD/DELETE of 4 KiB at each concurrency, 1 MiB at 16, one large object, and a mixed load. The S3
 * targets (when the arena has them) take their turns in the 4 KiB PUT and GET and, as a multipart upload, in the
 * large PUT; Onggi's encrypted bucket (when there) in the 4 KiB PUT and GET and the large PUT and GET.
 */
export async function objectScenarios(arena: Arena, scale: Scale, smallOnly = false): Promise<void> {
  const small = randomBytes(4096);
  const medium = randomBytes(1024 * 1024);
  for (const c of scale.concurrencies) {
    if (arena.fast) await smallRowsFast(arena, scale, small, c);
    else await smallRowsUndici(arena, scale, small, c);
  }
  if (smallOnly) return;
  const mediumKeys = keysOf();
  await arena.timed('PUT 1MiB c16', 16, (target) => {
    const next = counter();
    return () => {
      const key = `medium-${next()}`;
      mediumKeys(target).push(key);
      return { method: 'PUT', path: target.objectPath(key), body: medium, bytes: medium.length };
    };
  });
  await arena.timed('GET 1MiB c16', 16, (target) => {
    if (arena.fast) return { fast: () => ({ requests: mediumKeys(target).map((key) => ({ method: 'GET', path: target.objectPath(key) })), bytes: medium.length }) };
    return () => ({ method: 'GET', path: target.objectPath(pick(mediumKeys(target))), bytes: medium.length });
  });

  const large = scale.largeBytes;
  const multipart = arena.contenders.filter((x) => x.target.s3?.payload === 'unsigned');
  await arena.singleShot(`PUT ${sizeLabel(large)} c1`, (target) => () => {
    const sizes = { total: large, part: scale.s3PartBytes ?? PART_BYTES, queue: scale.s3PartQueue ?? PART_QUEUE };
    if (target.s3) return multipartUpload(target, target.s3, `${target.name}-large`, sizes, (bytes) => generate(bytes, medium));
    return { method: 'PUT', path: target.objectPath('large'), body: generate(large, medium), bytes: large, headers: { 'content-length': String(large) } };
  }, [...arena.plain, ...multipart, ...arena.encrypted]);
  await arena.prepare(1, 1, (target) => (target.s3 ? s3Deletes(target, target.s3, [`${target.name}-large`]) : () => null), multipart);
  const getLarge: PreparePlan = (target) => () => ({ method: 'GET', path: target.objectPath('large'), bytes: large });
  const readers = [...arena.plain, ...arena.encrypted];
  // The first large read of a run is slow for whichever server makes it (0.75–1.4× in paired runs): not timed.
  await arena.prepare(1, 1, getLarge, readers);
  await arena.singleShot(`GET ${sizeLabel(large)} c1`, getLarge, readers);

  await mixedScenario(arena, small, scale.mixedSeedKeys);
}

/** The 4 KiB rows at one concurrency through the undici loader: PUTs of fresh keys, GET/HEAD/DELETE of those. */
async function smallRowsUndici(arena: Arena, scale: Scale, small: Buffer, c: number): Promise<void> {
  const roundSeconds = scale.seconds / scale.rounds;
  const s3 = arena.contenders.filter((x) => x.target.s3);
  const keys = keysOf();
  await arena.timed(`PUT 4KiB c${c}`, c, (target) => {
    const keyOf = (n: number): string => `${target.s3 ? `${target.name}-` : ''}small-c${c}-${n}`;
    const made = (key: string): void => void keys(target).push(key);
    if (target.s3) return s3Puts(target, target.s3, small, roundSeconds, keyOf, made);
    const next = counter();
    return () => {
      const key = keyOf(next());
      made(key);
      return { method: 'PUT', path: target.objectPath(key), body: small, bytes: small.length };
    };
  }, { among: arena.contenders });
  await arena.timed(`GET 4KiB c${c}`, c, (target) => {
    if (target.s3) return s3Gets(target, target.s3, keys(target), small.length, S3_GET_KEYS);
    return () => ({ method: 'GET', path: target.objectPath(pick(keys(target))), bytes: small.length });
  }, { among: arena.contenders });
  // Unmeasured: the Swift rows after this one find the bucket as the baseline build (without S3 targets) does.
  await arena.prepare(16, Infinity, (target) => (target.s3 ? s3Deletes(target, target.s3, keys(target)) : () => null), s3);
  await arena.timed(`HEAD 4KiB c${c}`, c, (target) => () => ({ method: 'HEAD', path: target.objectPath(pick(keys(target))), bytes: 0 }));
  const supply = new Map<Target, number>();
  await arena.timed(`DELETE 4KiB c${c}`, c, (target) => {
    supply.set(target, keys(target).length);
    return () => {
      const key = keys(target).pop();
      return key === undefined ? null : { method: 'DELETE', path: target.objectPath(key), bytes: 0 };
    };
  }, { opsPerRound: (target) => Math.max(1, Math.floor((supply.get(target) ?? 0) / scale.rounds)) });
}

/**
 * The 4 KiB rows at one concurrency through wrk (HEAD through ab): a ring of keys is seeded (unmeasured), the PUT
 * row overwrites them in turn (each PUT durable, as any), GET reads them, HEAD asks for two of them (ab takes one
 * URL; two ab processes), and each DELETE round deletes keys seeded just before it. The S3 targets address the same keys of the same
 * bucket through S3, every request signed ahead (a signature holds for 15 minutes; signed again after 10).
 */
async function smallRowsFast(arena: Arena, scale: Scale, small: Buffer, c: number): Promise<void> {
  const ring = Array.from({ length: scale.ringKeys ?? 2000 }, (_, i) => `ring-c${c}-${i}`);
  const requests = (target: Target, method: WrkRequest['method'], keys: string[]): WrkRequest[] => keys.map((key) => ({ method, path: target.objectPath(key) }));
  const seeded = arena.contenders.filter((x) => !x.target.s3);
  await arena.prepare(16, ring.length, (target) => {
    const next = counter();
    return () => ({ method: 'PUT', path: target.objectPath(ring[next()] ?? ''), body: small, bytes: small.length });
  }, seeded);
  await arena.timed(`PUT 4KiB c${c}`, c, (target) => {
    if (target.s3) return s3Signed(target, target.s3, 'PUT', ring, small.length, small);
    return { fast: () => ({ requests: requests(target, 'PUT', ring), body: small, bytes: small.length }) };
  }, { among: arena.contenders });
  await arena.timed(`GET 4KiB c${c}`, c, (target) => {
    if (target.s3) return s3Signed(target, target.s3, 'GET', ring, small.length);
    return { fast: () => ({ requests: requests(target, 'GET', ring), bytes: small.length }) };
  }, { among: arena.contenders });
  await arena.timed(`HEAD 4KiB c${c}`, c, (target) => ({ fast: () => ({ requests: requests(target, 'HEAD', ring.slice(0, 2)), bytes: 0 }) }));
  const roundSeconds = fastSeconds(scale.seconds / scale.rounds);
  const putRate = (target: Target): number => arena.results.find((r) => r.scenario === `PUT 4KiB c${c}` && r.target === target.name)?.figures.opsPerSec ?? 1000;
  await arena.timed(`DELETE 4KiB c${c}`, c, (target) => {
    // A DELETE is cheaper than a PUT: the first round is seeded for twice the PUT rate, the next for the last round's.
    let rate = 2 * putRate(target);
    let round = 0;
    let keys: string[] = [];
    return {
      beforeRound: async () => {
        const count = Math.round(Math.min(scale.deleteSeedMax ?? 30_000, Math.max(200, rate * roundSeconds * 1.5)));
        const prefix = `delete-c${c}-r${round++}-`;
        keys = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
        const next = counter();
        await runLoad(target, { concurrency: 16, durationMs: 600_000, maxOps: count, next: () => ({ method: 'PUT', path: target.objectPath(keys[next()] ?? ''), body: small, bytes: small.length }) });
      },
      fast: () => ({ requests: requests(target, 'DELETE', keys), once: true, bytes: 0 }),
      afterRound: (run) => {
        rate = run.recorder.figures(run.seconds).opsPerSec;
      },
    };
  });
}

async function mixedScenario(arena: Arena, small: Buffer, seedKeys: number): Promise<void> {
  const seeded = Array.from({ length: seedKeys }, (_, i) => `mixed-seed-${i}`);
  const mixed = keysOf(() => [...seeded]);
  await arena.prepare(16, seeded.length, (target) => {
    const next = counter();
    return () => ({ method: 'PUT', path: target.objectPath(seeded[next()] ?? ''), body: small, bytes: small.length });
  });
  await arena.timed('MIXED 60/30/10 c64', 64, (target) => {
    const next = counter();
    const keys = mixed(target);
    return () => {
      const roll = Math.random();
      // A GET may race the DELETE of its key or arrive before the PUT of it completes: 404 is a right answer then.
      if (roll < 0.6 || keys.length < 10) return { method: 'GET', path: target.objectPath(pick(keys)), bytes: small.length, alsoOk: [404] };
      if (roll < 0.9) {
        const key = `mixed-${next()}`;
        keys.push(key);
        return { method: 'PUT', path: target.objectPath(key), body: small, bytes: small.length };
      }
      const [key] = keys.splice(Math.floor(Math.random() * keys.length), 1);
      return { method: 'DELETE', path: target.objectPath(key ?? ''), bytes: 0, alsoOk: [404] };
    };
  });
}

/**
 * One page of a small and of a big bucket, with and without a delimiter, on every Onggi that can seed (the
 * keys go straight into its store); then node:http's canned page.
 */
export async function listingScenarios(arena: Arena, scale: Scale, onggis: OnggiContender[], bare: Contender): Promise<void> {
  const seedable = onggis.filter((o) => o.seed !== null);
  const buckets = [
    { name: 'bench-list-small', keys: scale.listingDirs, filesPerDir: 1 },
    { name: 'bench-list-big', keys: scale.listingDirs * scale.listingFilesPerDir, filesPerDir: scale.listingFilesPerDir },
  ];
  for (const o of seedable) {
    for (const bucket of buckets) await o.seed?.(bucket.name, scale.listingDirs, bucket.filesPerDir);
  }
  const page = `limit=${Math.min(1000, scale.listingDirs)}&format=json`;
  for (const bucket of buckets) {
    for (const delimiter of [false, true]) {
      const query = delimiter ? `${page}&delimiter=/` : page;
      const scenario = `LIST ${bucket.keys} keys${delimiter ? ' delim' : ''}`;
      await arena.timed(scenario, 1, (target) => () => ({ method: 'GET', path: target.listingPath(bucket.name, query) ?? '', bytes: 0 }), { among: seedable });
    }
  }
  await arena.timed('LIST canned page', 1, (target) => () => ({ method: 'GET', path: target.listingPath('', '') ?? '', bytes: 0 }), { among: [bare] });
}

/** A list of keys per target, made on first use. */
function keysOf(initial: () => string[] = () => []): (target: Target) => string[] {
  const lists = new Map<Target, string[]>();
  return (target) => {
    let list = lists.get(target);
    if (!list) lists.set(target, (list = initial()));
    return list;
  };
}

function counter(): () => number {
  let n = 0;
  return () => n++;
}

function sourceOf<S extends Source | FastSource>(made: (() => Next) | S): Source | S {
  return typeof made === 'function' ? { next: made } : made;
}

export function median<T>(values: T[], by: (value: T) => number): T {
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

export function sizeLabel(bytes: number): string {
  return bytes >= 2 ** 30 ? `${bytes / 2 ** 30}GiB` : `${bytes / 2 ** 20}MiB`;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
