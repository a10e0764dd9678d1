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
  private bytes = 0;
  errors = 0;

  record(latencyMs: number, bytes: number): void {
    this.latencies.push(latencyMs);
    this.bytes += bytes;
  }

  /** One recorder holding the samples of several (e.g. the rounds of one scenario). */
  static merge(recorders: Recorder[]): Recorder {
    const merged = new Recorder();
    for (const r of recorders) {
      for (const latency of r.latencies) merged.latencies.push(latency);
      merged.bytes += r.bytes;
      merged.errors += r.errors;
    }
    return merged;
  }

  figures(seconds: number): Figures {
    const sorted = Float64Array.from(this.latencies).sort();
    const ops = sorted.length;
    return {
      ops,
      errors: this.errors,
      seconds,
      opsPerSec: ops / seconds,
      mbPerSec: this.bytes / 1e6 / seconds,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
    };
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
