/** Latency samples and the figures the bench reports. */
export interface Figures {
  ops: number;
  errors: number;
  seconds: number;
  opsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export class Recorder {
  private readonly latencies: number[] = [];
  /** Latencies a fast loader reported as a histogram: [ms, how many]. */
  private readonly weighted: [number, number][] = [];
  /** Successful operations the histograms stand for. */
  private histogramOps = 0;
  private bytes = 0;
  errors = 0;

  record(latencyMs: number, bytes: number): void {
    this.latencies.push(latencyMs);
    this.bytes += bytes;
  }

  /** `ops` successful operations of `bytesEach`, their latencies as a histogram (its counts need not add up to ops). */
  recordHistogram(histogram: [number, number][], ops: number, bytesEach: number): void {
    for (const entry of histogram) this.weighted.push(entry);
    this.histogramOps += ops;
    this.bytes += ops * bytesEach;
  }

  /** One recorder holding the samples of several (e.g. the rounds of one scenario). */
  static merge(recorders: Recorder[]): Recorder {
    const merged = new Recorder();
    for (const r of recorders) {
      for (const latency of r.latencies) merged.latencies.push(latency);
      for (const entry of r.weighted) merged.weighted.push(entry);
      merged.histogramOps += r.histogramOps;
      merged.bytes += r.bytes;
      merged.errors += r.errors;
    }
    return merged;
  }

  figures(seconds: number): Figures {
    const ops = this.latencies.length + this.histogramOps;
    const [p50Ms, p99Ms] = this.weighted.length > 0 ? weightedPercentiles(this.all(), [0.5, 0.99]) : samplePercentiles(this.latencies, [0.5, 0.99]);
    return { ops, errors: this.errors, seconds, opsPerSec: seconds > 0 ? ops / seconds : 0, mbPerSec: seconds > 0 ? this.bytes / 1e6 / seconds : 0, p50Ms: p50Ms ?? 0, p99Ms: p99Ms ?? 0 };
  }

  private all(): [number, number][] {
    return [...this.weighted, ...this.latencies.map((ms): [number, number] => [ms, 1])];
  }
}

function samplePercentiles(latencies: number[], qs: number[]): number[] {
  const sorted = Float64Array.from(latencies).sort();
  return qs.map((q) => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0)));
}

function weightedPercentiles(entries: [number, number][], qs: number[]): number[] {
  const sorted = [...entries].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((sum, [, n]) => sum + n, 0);
  return qs.map((q) => {
    let seen = 0;
    for (const [ms, n] of sorted) {
      seen += n;
      if (seen > q * total) return ms;
    }
    return sorted.at(-1)?.[0] ?? 0;
  });
}
