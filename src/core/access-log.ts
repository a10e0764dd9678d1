/**
 * Bucket access logging: one line per request to a bucket whose logging is on, in S3's server access log format
 * (documented in the README), delivered as objects into a target bucket of the same project.
 *
 * Path of a line: the request's end → an in-memory buffer, committed to the `access_log_queue` table within a
 * fraction of a second (and at shutdown) → the delivery job writes each target's queued lines as one object, then
 * removes them from the queue. A crash between the two writes delivers lines twice, never loses them.
 */
import { newId } from '../lib/ids.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import type { Buckets } from './buckets.ts';
import { fail } from './errors.ts';
import { ALL, TABLES, type AccessLogEntry, type LoggingRow } from './model.ts';
import type { Objects } from './objects.ts';
import type { Caller } from './types.ts';

/** What a front end knows of one finished request. */
export interface AccessRecord {
  account: string;
  bucket: string;
  time: number;
  remoteIp: string;
  /** The user id, or null for an anonymous caller. */
  requester: string | null;
  requestId: string;
  operation: string;
  key: string | null;
  method: string;
  requestUri: string;
  httpVersion: string;
  status: number;
  bytesSent: number | null;
  objectSize: number | null;
  totalMs: number;
  referer: string | null;
  userAgent: string | null;
}

export interface LoggingConfig {
  targetBucket: string;
  targetPrefix: string;
}

const FLUSH_DELAY_MS = 200;
const DELIVERY_BATCH = 5000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function accessLogDeliveryMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ONGGI_ACCESS_LOG_DELIVERY_MS);
  return Number.isInteger(value) && value > 0 ? value : 30_000;
}

export class AccessLog {
  /** `${account}/${bucket}` → the bucket's logging, as last read (refreshed by a job, changed here at once). */
  private configs = new Map<string, LoggingRow>();
  private buffer: AccessLogEntry[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly buckets: Buckets,
    private readonly objects: Objects,
    private readonly onError: (err: unknown) => void,
  ) {}

  // --- configuration --------------------------------------------------------------------------

  async getConfig(caller: Caller, account: string, name: string): Promise<LoggingConfig> {
    const bucket = await this.buckets.forObjects(caller, account, name, 'GetBucketConfig');
    const row = await this.store.get(TABLES.bucketLogging, ALL, configKey(account, name));
    if (row?.value.bucketId !== bucket.id) fail('NoSuchConfiguration', 'The bucket has no access logging');
    return { targetBucket: row.value.targetBucket, targetPrefix: row.value.targetPrefix };
  }

  /** Turns logging on (a Storage Admin of the bucket who may write to the target) or off (config null). */
  async setConfig(caller: Caller, account: string, name: string, config: LoggingConfig | null): Promise<void> {
    if (config !== null) await this.buckets.forObjects(caller, account, config.targetBucket, 'PutObject');
    const key = configKey(account, name);
    let stored: LoggingRow | null = null;
    await this.buckets.configure(caller, account, name, async (tx, bucket) => {
      if (config === null) {
        if ((await tx.get(TABLES.bucketLogging, ALL, key))?.value.bucketId !== bucket.id) fail('NoSuchConfiguration', 'The bucket has no access logging');
        tx.delete(TABLES.bucketLogging, ALL, key);
      } else {
        stored = { bucketId: bucket.id, ...config };
        tx.put(TABLES.bucketLogging, ALL, key, stored);
      }
      return bucket;
    });
    if (stored) this.configs.set(key, stored);
    else this.configs.delete(key);
  }

  /** Re-reads which buckets log (other nodes' changes); a background job. */
  async refresh(): Promise<number> {
    const rows = await this.store.scan(TABLES.bucketLogging, ALL, { prefix: '', limit: Number.MAX_SAFE_INTEGER, reverse: false });
    this.configs = new Map(rows.map((row) => [row.sk, row.value]));
    return 0;
  }

  // --- recording ------------------------------------------------------------------------------

  /** Whether any bucket logs (as this node last read). */
  get active(): boolean {
    return this.configs.size > 0;
  }

  /** Whether requests to the bucket are logged (as this node last read); without a project, whether any bucket is. */
  logs(account: string | null, bucket: string): boolean {
    return account === null ? this.configs.size > 0 : this.configs.has(configKey(account, bucket));
  }

  /** Cheap when the bucket does not log: one map lookup, no store access. */
  record(entry: AccessRecord): void {
    const config = this.configs.get(configKey(entry.account, entry.bucket));
    if (!config) return;
    this.buffer.push({ account: entry.account, targetBucket: config.targetBucket, targetPrefix: config.targetPrefix, line: formatLine(entry) });
    this.flushTimer ??= setTimeout(() => {
      void this.flush().catch(this.onError);
    }, FLUSH_DELAY_MS);
  }

  /** Commits the buffered lines to the durable queue (also called at shutdown). */
  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const entries = this.buffer;
    this.buffer = [];
    const previous = this.flushing;
    this.flushing = (async () => {
      await previous;
      if (entries.length === 0) return;
      const stamp = String(Date.now()).padStart(15, '0');
      await this.store.transact(async (tx) => {
        entries.forEach((entry, i) => {
          tx.put(TABLES.accessLogQueue, ALL, `${stamp}/${String(i).padStart(6, '0')}/${newId()}`, entry);
        });
      });
    })();
    return this.flushing;
  }

  // --- delivery -------------------------------------------------------------------------------

  /** Writes the queued lines of each target bucket as one object; a background job. */
  async deliver(): Promise<number> {
    const queued = await this.store.scan(TABLES.accessLogQueue, ALL, { prefix: '', limit: DELIVERY_BATCH, reverse: false });
    const byTarget = new Map<string, { entry: AccessLogEntry; keys: string[]; lines: string[] }>();
    for (const row of queued) {
      const id = `${row.value.account}/${row.value.targetBucket}/${row.value.targetPrefix}`;
      const group = byTarget.get(id) ?? { entry: row.value, keys: [], lines: [] };
      group.keys.push(row.sk);
      group.lines.push(row.value.line);
      byTarget.set(id, group);
    }
    for (const group of byTarget.values()) {
      await this.writeLogObject(group.entry, group.lines);
      await this.store.transact(async (tx) => {
        for (const key of group.keys) tx.delete(TABLES.accessLogQueue, ALL, key);
      });
    }
    return queued.length;
  }

  private async writeLogObject(target: AccessLogEntry, lines: readonly string[]): Promise<void> {
    const row = await this.store.get(TABLES.buckets, target.account, target.targetBucket);
    if (!row) {
      // The target bucket was deleted: its lines have nowhere to go.
      this.onError(new Error(`access log target bucket ${target.targetBucket} is gone; ${lines.length} lines dropped`));
      return;
    }
    const body = Buffer.from(lines.join('\n') + '\n');
    await this.objects.putInto(row.value, {
      account: target.account,
      bucket: target.targetBucket,
      key: `${target.targetPrefix}${logObjectName(new Date())}`,
      body: [body],
      contentLength: body.length,
      contentType: 'text/plain; charset=utf-8',
      meta: {},
      headers: {},
      deleteAt: null,
    });
  }
}

function configKey(account: string, bucket: string): string {
  return `${account}/${bucket}`;
}

/** S3's name for a log object: `YYYY-mm-DD-HH-MM-SS-UniqueString`. */
function logObjectName(at: Date): string {
  const iso = at.toISOString();
  return `${iso.slice(0, 10)}-${iso.slice(11, 19).replaceAll(':', '-')}-${newId().slice(0, 16).toUpperCase()}`;
}

/**
 * S3's server access log line: bucket_owner bucket [time] remote_ip requester request_id operation key
 * "request_uri" http_status error_code bytes_sent object_size total_time turn_around_time "referer" "user_agent"
 * version_id. `-` stands for a missing value.
 */
export function formatLine(r: AccessRecord): string {
  const dash = (value: string | number | null): string => (value === null || value === '' ? '-' : String(value));
  const quoted = (value: string | null): string => (value === null ? '-' : `"${value.replaceAll('"', '\\"')}"`);
  return [
    r.account,
    r.bucket,
    `[${clfTime(new Date(r.time))}]`,
    dash(r.remoteIp),
    dash(r.requester),
    r.requestId,
    r.operation,
    dash(r.key === null ? null : encodeURIComponent(r.key)),
    `"${r.method} ${r.requestUri} HTTP/${r.httpVersion}"`,
    r.status,
    r.status >= 400 ? String(r.status) : '-',
    dash(r.bytesSent),
    dash(r.objectSize),
    Math.round(r.totalMs),
    '-',
    quoted(r.referer),
    quoted(r.userAgent),
    '-',
  ].join(' ');
}

function clfTime(at: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()] ?? ''}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`;
}
