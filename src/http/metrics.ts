/** Every Prometheus metric of the process, in one registry, served at GET /metrics. */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ReadCheckStats } from '../core/integrity.ts';
import type { ScrubStats } from '../core/scrubber.ts';
import type { StoreObserver } from '../store/meta/index.ts';

const registry = new Registry();
collectDefaultMetrics({ register: registry });

/**
 * What requests added since the last scrape, per operation. prom-client hashes label values on every labelled
 * call, even through a child series; counting in plain numbers and handing the sums over when Prometheus
 * scrapes keeps that off the request path.
 */
interface Unscraped {
  requestsByStatus: Map<number, number>;
  bytesIn: number;
  bytesOut: number;
}

const unscraped = new Map<string, Unscraped>();

new Counter({
  name: 'onggi_http_requests_total',
  help: 'HTTP requests by operation and status (499: the response did not complete, e.g. the client went away)',
  labelNames: ['op', 'status'] as const,
  registers: [registry],
  collect() {
    for (const [op, counted] of unscraped) {
      for (const [status, n] of counted.requestsByStatus) this.inc({ op, status }, n);
      counted.requestsByStatus.clear();
    }
  },
});

/**
 * A histogram counted in plain arrays: prom-client's labelled `observe` builds and hashes a label
 * object per call, a few microseconds per request; this one adds to an array and is rendered at scrape time in
 * Prometheus's text format.
 */
class PlainHistogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[],
    /** The label that tells its series apart (none: one series). */
    private readonly label: string | null = null,
  ) {}

  /** Counts `value` in the series of `labelValue` (which must need no escaping). */
  observe(value: number, labelValue = ''): void {
    let series = this.series.get(labelValue);
    if (!series) {
      series = { counts: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(labelValue, series);
    }
    const bucket = this.bounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) series.counts[bucket] = (series.counts[bucket] ?? 0) + 1;
    series.sum += value;
    series.count++;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    // An unlabelled histogram shows its (empty) series before the first observation, as prom-client's do.
    if (this.label === null && this.series.size === 0) this.series.set('', { counts: this.bounds.map(() => 0), sum: 0, count: 0 });
    for (const [value, series] of this.series) {
      const own = this.label === null ? [] : [`${this.label}="${value}"`];
      const labels = (...extra: string[]): string => (extra.length + own.length > 0 ? `{${[...extra, ...own].join(',')}}` : '');
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.counts[i] ?? 0;
        lines.push(`${this.name}_bucket${labels(`le="${bound}"`)} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labels('le="+Inf"')} ${series.count}`, `${this.name}_sum${labels()} ${series.sum}`, `${this.name}_count${labels()} ${series.count}`);
    }
    return lines.join('\n');
  }
}

const duration = new PlainHistogram(
  'onggi_http_request_duration_seconds',
  'Time from the request line to the last byte of the response, by operation',
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  'op',
);

new Counter({
  name: 'onggi_http_received_bytes_total',
  help: 'Bytes read from clients (request line, headers and body), by operation',
  labelNames: ['op'] as const,
  registers: [registry],
  collect() {
    for (const [op, counted] of unscraped) {
      if (counted.bytesIn > 0) this.inc({ op }, counted.bytesIn);
      counted.bytesIn = 0;
    }
  },
});

new Counter({
  name: 'onggi_http_sent_bytes_total',
  help: 'Bytes written to clients (status line, headers and body), by operation',
  labelNames: ['op'] as const,
  registers: [registry],
  collect() {
    for (const [op, counted] of unscraped) {
      if (counted.bytesOut > 0) this.inc({ op }, counted.bytesOut);
      counted.bytesOut = 0;
    }
  },
});

/** Where the bucket access log counts its dropped lines (set once the core is open). */
let accessLogDrops: { readonly bufferFull: number; readonly undeliverable: number } | null = null;
const reportedDrops = { bufferFull: 0, undeliverable: 0 };

export function watchAccessLogDrops(drops: { readonly bufferFull: number; readonly undeliverable: number }): void {
  accessLogDrops = drops;
}

new Counter({
  name: 'onggi_access_log_dropped_lines_total',
  help: 'Bucket access log lines dropped: buffer_full (the in-memory buffer was full), undeliverable (the target could not take them)',
  labelNames: ['reason'] as const,
  registers: [registry],
  collect() {
    const drops = accessLogDrops ?? reportedDrops;
    this.inc({ reason: 'buffer_full' }, drops.bufferFull - reportedDrops.bufferFull);
    this.inc({ reason: 'undeliverable' }, drops.undeliverable - reportedDrops.undeliverable);
    reportedDrops.bufferFull = drops.bufferFull;
    reportedDrops.undeliverable = drops.undeliverable;
  },
});

/** What integrity checks count (set once the core is open): whole reads that failed, the scrubber's progress. */
interface IntegrityCounts {
  readonly reads: ReadCheckStats;
  readonly scrub: () => ScrubStats | null;
}
let integrity: IntegrityCounts | null = null;

export function watchIntegrity(counts: IntegrityCounts): void {
  integrity = counts;
}

/** A counter that reports a total kept elsewhere (its increase since the last scrape). */
function totalCounter(name: string, help: string, total: () => number | undefined): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total() ?? reported;
      this.inc(now - reported);
      reported = now;
    },
  });
}

totalCounter('onggi_read_integrity_failures_total', 'Whole-object reads refused or cut off because the stored bytes failed their MD5 or size check', () => integrity?.reads.failed);
totalCounter('onggi_scrub_checked_bytes_total', 'Bytes the background scrubber read and checked', () => integrity?.scrub()?.bytesChecked);
totalCounter('onggi_scrub_checked_versions_total', 'Object versions the background scrubber checked', () => integrity?.scrub()?.versionsChecked);
totalCounter('onggi_scrub_passes_total', 'Passes over every object version the background scrubber completed', () => integrity?.scrub()?.passesCompleted);

const reportedFindings = new Map<string, number>();
new Counter({
  name: 'onggi_scrub_findings_total',
  help: 'Damaged object versions the background scrubber found, by reason: missing (blob gone), size, hash (MD5 differs)',
  labelNames: ['reason'] as const,
  registers: [registry],
  collect() {
    for (const [reason, count] of Object.entries(integrity?.scrub()?.findings ?? {})) {
      this.inc({ reason }, count - (reportedFindings.get(reason) ?? 0));
      reportedFindings.set(reason, count);
    }
  },
});

new Gauge({
  name: 'onggi_scrub_pass_started_timestamp_seconds',
  help: 'When the scrub pass under way began (0: none on this node yet)',
  registers: [registry],
  collect() {
    this.set((integrity?.scrub()?.passStartedAt ?? 0) / 1000);
  },
});

const retries = new Counter({
  name: 'onggi_store_transaction_retries_total',
  help: 'Metadata transactions re-run after a serialization failure',
  registers: [registry],
});

const groupCommits = new PlainHistogram('onggi_store_group_commit_transactions', 'Transactions applied together by one group commit', [1, 2, 4, 8, 16, 32, 64, 128, 256]);

export interface RequestMeasure {
  op: string;
  status: number;
  seconds: number;
  bytesIn: number;
  bytesOut: number;
}

export function recordRequest(measure: RequestMeasure): void {
  const { op } = measure;
  let counted = unscraped.get(op);
  if (!counted) {
    counted = { requestsByStatus: new Map(), bytesIn: 0, bytesOut: 0 };
    unscraped.set(op, counted);
  }
  counted.requestsByStatus.set(measure.status, (counted.requestsByStatus.get(measure.status) ?? 0) + 1);
  counted.bytesIn += measure.bytesIn;
  counted.bytesOut += measure.bytesOut;
  duration.observe(measure.seconds, op);
}

/** Feeds the store's retries and group-commit sizes into the metrics; pass it to the metadata store. */
export function storeObserver(): StoreObserver {
  return {
    retried: () => {
      retries.inc();
    },
    groupCommitted: (transactions: number) => {
      groupCommits.observe(transactions);
    },
  };
}

/** The text exposition format, for GET /metrics. */
export async function renderMetrics(): Promise<{ contentType: string; text: string }> {
  return { contentType: registry.contentType, text: `${await registry.metrics()}\n${duration.render()}\n\n${groupCommits.render()}\n` };
}
