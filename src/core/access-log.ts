/**
 * Bucket access logging: one line per request to a bucket whose logging is on, in S3's server access log format
 * (documented in the README), delivered as objects into a target bucket of the same project.
 *
 * Path of a line: the request's end → an in-memory buffer, committed to the `access_log_queue` table within a
 * fraction of a second (and at shutdown) → the delivery job writes each target's queued lines as one object, then
 * removes them from the queue. A crash between the two writes delivers lines twice, never loses them.
 *
 * Bounds: the buffer holds at most ONGGI_ACCESS_LOG_BUFFER_BYTES (a full buffer drops lines, counted); a line's
 * fields are capped (smaller for requests without a user); the lines of one target that cannot be delivered are
 * retried for a few rounds, then dropped with a count and a log line, and never hold up other targets' lines.
 */
import { newId } from '../lib/ids.ts';
import { checkObjectKey } from './constraints.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import type { Buckets } from './buckets.ts';
import { fail, isOnggiError } from './errors.ts';
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
/** Lines committed to the durable queue per transaction. */
const FLUSH_BATCH = 1000;
/** Rounds of delivery a target's lines may fail before they are dropped. */
const DELIVERY_ATTEMPTS = 3;
/** At most one log line this often about lines dropped from a full buffer. */
const DROP_REPORT_MS = 10_000;
/** What a buffered line costs besides its text (the entry object, its target's strings, the array slot). */
const ENTRY_OVERHEAD_BYTES = 200;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function accessLogDeliveryMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ONGGI_ACCESS_LOG_DELIVERY_MS);
  return Number.isInteger(value) && value > 0 ? value : 30_000;
}

/** Bytes of lines the in-memory buffer may hold before it drops (ONGGI_ACCESS_LOG_BUFFER_BYTES; default 8 MiB). */
export function accessLogBufferBytes(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ONGGI_ACCESS_LOG_BUFFER_BYTES);
  return Number.isInteger(value) && value > 0 ? value : 8 * 1024 * 1024;
}

/** Lines dropped since the start, by reason (read by the metrics). */
export interface AccessLogDrops {
  /** The in-memory buffer was full. */
  bufferFull: number;
  /** Their target could not take them (gone, refused their key) after DELIVERY_ATTEMPTS rounds. */
  undeliverable: number;
}

export class AccessLog {
  /** `${account}/${bucket}` → the bucket's logging, as last read (refreshed by a job, changed here at once). */
  private configs = new Map<string, LoggingRow>();
  private buffer: AccessLogEntry[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** Bytes of the lines buffered or being committed. */
  private pendingBytes = 0;
  readonly dropped: AccessLogDrops = { bufferFull: 0, undeliverable: 0 };
  private unreportedDrops = 0;
  private lastDropReport = 0;
  /** Target → rounds its delivery has failed in a row. */
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly store: MetadataStore,
    private readonly buckets: Buckets,
    private readonly objects: Objects,
    private readonly onError: (err: unknown) => void,
    private readonly maxBufferedBytes = accessLogBufferBytes(),
  ) {}

  // --- configuration --------------------------------------------------------------------------

  async getConfig(caller: Caller, account: string, name: string): Promise<LoggingConfig> {
    const bucket = await this.buckets.forObjects(caller, account, name, 'GetBucketLogging');
    const row = await this.store.get(TABLES.bucketLogging, ALL, configKey(account, name));
    if (row?.value.bucketId !== bucket.id) fail('NoSuchConfiguration', 'The bucket has no access logging', { kind: 'logging' });
    return { targetBucket: row.value.targetBucket, targetPrefix: row.value.targetPrefix };
  }

  /** Turns logging on (a Storage Admin of the bucket who may write to the target) or off (config null). */
  async setConfig(caller: Caller, account: string, name: string, config: LoggingConfig | null): Promise<void> {
    if (config !== null) checkTargetPrefix(config.targetPrefix, this.buckets.naming);
    if (config !== null) await this.buckets.forObjects(caller, account, config.targetBucket, 'PutObject');
    const key = configKey(account, name);
    let stored: LoggingRow | null = null;
    await this.buckets.configure(caller, account, name, async (tx, bucket) => {
      if (config === null) {
        if ((await tx.get(TABLES.bucketLogging, ALL, key))?.value.bucketId !== bucket.id) fail('NoSuchConfiguration', 'The bucket has no access logging', { kind: 'logging' });
        tx.delete(TABLES.bucketLogging, ALL, key);
      } else {
        stored = { bucketId: bucket.id, ...config };
        tx.put(TABLES.bucketLogging, ALL, key, stored);
      }
      return bucket;
    }, 'PutBucketLogging');
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
    const line = formatLine(entry);
    const size = line.length + config.targetBucket.length + config.targetPrefix.length + ENTRY_OVERHEAD_BYTES;
    if (this.pendingBytes + size > this.maxBufferedBytes) {
      this.dropBufferFull();
      return;
    }
    this.pendingBytes += size;
    this.buffer.push({ account: entry.account, targetBucket: config.targetBucket, targetPrefix: config.targetPrefix, line });
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
      try {
        // A failed flush (reported by its own caller) must not fail every later one.
        await previous.catch(() => undefined);
        if (entries.length === 0) return;
        for (let start = 0; start < entries.length; start += FLUSH_BATCH) {
          const batch = entries.slice(start, start + FLUSH_BATCH);
          const stamp = String(Date.now()).padStart(15, '0');
          await this.store.transact(async (tx) => {
            batch.forEach((entry, i) => {
              tx.put(TABLES.accessLogQueue, ALL, `${stamp}/${String(start + i).padStart(6, '0')}/${newId()}`, entry);
            });
          });
        }
      } finally {
        for (const entry of entries) this.pendingBytes -= entry.line.length + entry.targetBucket.length + entry.targetPrefix.length + ENTRY_OVERHEAD_BYTES;
      }
    })();
    return this.flushing;
  }

  private dropBufferFull(): void {
    this.dropped.bufferFull++;
    this.unreportedDrops++;
    const now = Date.now();
    if (now - this.lastDropReport < DROP_REPORT_MS) return;
    this.lastDropReport = now;
    const count = this.unreportedDrops;
    this.unreportedDrops = 0;
    this.onError(new Error(`access log buffer full (${this.maxBufferedBytes} bytes, ONGGI_ACCESS_LOG_BUFFER_BYTES): ${count} lines dropped`));
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
    // Each target on its own: one that cannot take its lines holds up no other.
    for (const [id, group] of byTarget) {
      try {
        await this.writeLogObject(group.entry, group.lines);
        this.failures.delete(id);
      } catch (err) {
        const failed = (this.failures.get(id) ?? 0) + 1;
        const reason = err instanceof Error ? err.message : String(err);
        if (failed < DELIVERY_ATTEMPTS && !isOnggiError(err)) {
          this.failures.set(id, failed);
          this.onError(new Error(`access log delivery to ${group.entry.targetBucket} failed (round ${failed} of ${DELIVERY_ATTEMPTS}): ${reason}`, { cause: err }));
          continue;
        }
        // Refused for good (its key, its bucket), or failing round after round: dropped, so that it blocks nothing.
        this.failures.delete(id);
        this.dropUndeliverable(group.entry, group.lines.length, reason);
      }
      await this.store.transact(async (tx) => {
        for (const key of group.keys) tx.delete(TABLES.accessLogQueue, ALL, key);
      });
    }
    return queued.length;
  }

  private dropUndeliverable(target: AccessLogEntry, lines: number, reason: string): void {
    this.dropped.undeliverable += lines;
    this.onError(new Error(`access log lines dropped: ${lines} lines for ${target.account}/${target.targetBucket} (prefix ${JSON.stringify(target.targetPrefix)}) could not be delivered: ${reason}`));
  }

  private async writeLogObject(target: AccessLogEntry, lines: readonly string[]): Promise<void> {
    const row = await this.store.get(TABLES.buckets, target.account, target.targetBucket);
    // The target bucket was deleted: its lines have nowhere to go.
    if (!row) fail('NoSuchBucket', `the target bucket ${target.targetBucket} is gone`);
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

/** A target prefix must make object keys: the delivery would otherwise fail on every round. */
function checkTargetPrefix(prefix: string, naming: Buckets['naming']): void {
  try {
    checkObjectKey(`${prefix}${logObjectName(new Date())}`, naming);
  } catch (err) {
    if (isOnggiError(err)) fail('InvalidArgument', `target_prefix is not a valid object key prefix: ${err.message}`);
    throw err;
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

/** Caps on a line's fields (characters after escaping), for requests with a user and for those without. */
const FIELD_CAPS = {
  user: { uri: 2048, key: 1024, header: 512 },
  anonymous: { uri: 256, key: 256, header: 128 },
} as const;

/**
 * S3's server access log line: bucket_owner bucket [time] remote_ip requester request_id operation key
 * "request_uri" http_status error_code bytes_sent object_size total_time turn_around_time "referer" "user_agent"
 * version_id. `-` stands for a missing value. No field can forge another: the key is URL-encoded (as S3 does),
 * the bucket too where its name holds anything but URL-safe characters; inside quotes `\` and `"` are escaped with a
 * backslash and any character outside printable ASCII is written `\xHH` (`\u{…}` beyond U+00FF). Fields are capped,
 * much shorter for a request without a user (a cut field ends with `...`).
 */
export function formatLine(r: AccessRecord): string {
  const caps = r.requester === null ? FIELD_CAPS.anonymous : FIELD_CAPS.user;
  const dash = (value: string | number | null): string => (value === null || value === '' ? '-' : String(value));
  const quoted = (value: string | null, cap: number): string => (value === null ? '-' : `"${capped(escapeQuoted(value), cap)}"`);
  return [
    plain(r.account),
    plain(r.bucket),
    `[${clfTime(new Date(r.time))}]`,
    dash(r.remoteIp === '' ? null : plain(r.remoteIp)),
    dash(r.requester === null ? null : plain(r.requester)),
    plain(r.requestId),
    plain(r.operation),
    dash(r.key === null ? null : capped(encodeURIComponent(r.key), caps.key)),
    `"${plain(r.method)} ${capped(escapeQuoted(r.requestUri), caps.uri)} HTTP/${plain(r.httpVersion)}"`,
    r.status,
    r.status >= 400 ? String(r.status) : '-',
    dash(r.bytesSent),
    dash(r.objectSize),
    Math.round(r.totalMs),
    '-',
    quoted(r.referer, caps.header),
    quoted(r.userAgent, caps.header),
    '-',
  ].join(' ');
}

/** An unquoted field: as it is when it holds only URL-safe characters, URL-encoded otherwise. */
function plain(value: string): string {
  if (value === '') return '-';
  return /^[A-Za-z0-9._~:@!$&'()*+,;=%/-]*$/.test(value) ? value : encodeURIComponent(value);
}

function escapeQuoted(value: string): string {
  return value.replace(/[\\"]|[^\x20-\x7e]/gu, (char) => {
    if (char === '\\' || char === '"') return `\\${char}`;
    const code = char.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** At most `cap` characters; a cut value ends with `...` (and no half escape sequence before it). */
function capped(value: string, cap: number): string {
  if (value.length <= cap) return value;
  const cut = value.slice(0, cap - 3).replace(/\\(x[0-9a-f]?|u\{[0-9a-f]*)?$|%[0-9A-Fa-f]?$/, '');
  return `${cut}...`;
}

function clfTime(at: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()] ?? ''}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`;
}
