/**
 * CPU time per request from V8 CPU profiles (`node --cpu-prof`): on a shared host, ops/s moves with whatever else
 * runs, while the CPU a server spends on each request it served stays put. The servers' profiles and the bench's
 * measurement windows share one clock (CLOCK_MONOTONIC, in microseconds).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** [start, end] of a measured run, in microseconds of the monotonic clock. */
export type Window = [number, number];

export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The busy (not idle) microseconds of a process's profile, per window. */
export class BusyTime {
  private constructor(
    private readonly stamps: Float64Array,
    private readonly busy: Float64Array,
  ) {}

  /** Reads the one profile in `dir` (the process wrote it at exit). */
  static async read(dir: string): Promise<BusyTime> {
    const [file] = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile in ${dir}`);
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    const stamps = new Float64Array(profile.samples.length);
    const busy = new Float64Array(profile.samples.length);
    let at = profile.startTime;
    profile.samples.forEach((node, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      at += delta;
      stamps[i] = at;
      busy[i] = idle.has(node) ? 0 : delta;
    });
    return new BusyTime(stamps, busy);
  }

  within(windows: readonly Window[]): number {
    let total = 0;
    for (const [start, end] of windows) {
      for (let i = lowerBound(this.stamps, start); i < this.stamps.length && (this.stamps[i] ?? Infinity) <= end; i++) total += this.busy[i] ?? 0;
    }
    return total;
  }
}

function lowerBound(sorted: Float64Array, value: number): number {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
