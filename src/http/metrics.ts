/** Every Prometheus metric of the process, in one registry, served at GET /metrics. */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { StoreObserver } from '../store/meta/index.ts';

const registry = new Registry();
collectDefaultMetrics({ register: registry });

const requests = new Counter({
  name: 'onggi_http_requests_total',
  help: 'HTTP requests by operation and status (499: the response did not complete, e.g. the client went away)',
  labelNames: ['op', 'status'] as const,
  registers: [registry],
});

const duration = new Histogram({
  name: 'onggi_http_request_duration_seconds',
  help: 'Time from the request line to the last byte of the response, by operation',
  labelNames: ['op'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

const bytesIn = new Counter({
  name: 'onggi_http_received_bytes_total',
  help: 'Bytes read from clients (request line, headers and body), by operation',
  labelNames: ['op'] as const,
  registers: [registry],
});

const bytesOut = new Counter({
  name: 'onggi_http_sent_bytes_total',
  help: 'Bytes written to clients (status line, headers and body), by operation',
  labelNames: ['op'] as const,
  registers: [registry],
});

const retries = new Counter({
  name: 'onggi_store_transaction_retries_total',
  help: 'Metadata transactions re-run after a serialization failure',
  registers: [registry],
});

const groupCommits = new Histogram({
  name: 'onggi_store_group_commit_transactions',
  help: 'Transactions applied together by one group commit',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry],
});

export interface RequestMeasure {
  op: string;
  status: number;
  seconds: number;
  bytesIn: number;
  bytesOut: number;
}

/** One operation's labelled series, looked up once: prom-client hashes the label values on every labelled call. */
interface OperationSeries {
  duration: Histogram.Internal<'op'>;
  bytesIn: Counter.Internal;
  bytesOut: Counter.Internal;
  requestsByStatus: Map<number, Counter.Internal>;
}

const seriesByOperation = new Map<string, OperationSeries>();

function seriesOf(op: string): OperationSeries {
  let series = seriesByOperation.get(op);
  if (!series) {
    series = { duration: duration.labels(op), bytesIn: bytesIn.labels(op), bytesOut: bytesOut.labels(op), requestsByStatus: new Map() };
    seriesByOperation.set(op, series);
  }
  return series;
}

export function recordRequest(measure: RequestMeasure): void {
  const series = seriesOf(measure.op);
  let requested = series.requestsByStatus.get(measure.status);
  if (!requested) {
    requested = requests.labels(measure.op, String(measure.status));
    series.requestsByStatus.set(measure.status, requested);
  }
  requested.inc();
  series.duration.observe(measure.seconds);
  series.bytesIn.inc(measure.bytesIn);
  series.bytesOut.inc(measure.bytesOut);
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
  return { contentType: registry.contentType, text: await registry.metrics() };
}
