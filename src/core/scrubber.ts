/**
 * The background scrubber: walks every version (data-check.ts) and checks its bytes, at most
 * `ONGGI_SCRUB_BYTES_PER_HOUR` on average (default 1 GiB; 0: off). A leased job, so one node at a time scrubs;
 * where it is is kept in the metadata store after each round, so a restart or another node goes on from there.
 * Findings are reported (the server logs them) and counted for the metrics; nothing is marked (that is fsck's
 * `--repair`, an operator's decision).
 */
import type { BlobStore } from '../store/blob/index.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import type { BlobCipher } from './cipher.ts';
import { DataChecker, walkVersions, type WalkCursor } from './data-check.ts';
import { confirmed, versionFinding, type Finding } from './fsck.ts';
import { ALL, TABLES } from './model.ts';

const DEFAULT_BYTES_PER_HOUR = 1024 ** 3;
const CURSOR_SETTING = 'scrub-cursor';
/** A round stops after this long however much budget is left (the job's lease is renewed between rounds). */
const ROUND_MS = 5000;

/** Where the scrubber is and what it found since the process started, for the metrics. */
export interface ScrubStats {
  bytesChecked: number;
  versionsChecked: number;
  /** Findings by reason. */
  findings: Record<string, number>;
  passesCompleted: number;
  /** When the pass under way began (ms since the epoch; 0: none yet on this node). */
  passStartedAt: number;
  /** The bytes a round may check now: negative after a large object (paid back before the next one). */
  budget: number;
}

interface StoredCursor {
  at: WalkCursor | null;
  passStartedAt: number;
}

export class Scrubber {
  readonly stats: ScrubStats = { bytesChecked: 0, versionsChecked: 0, findings: {}, passesCompleted: 0, passStartedAt: 0, budget: 0 };
  private lastRound = 0;

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly cipher: BlobCipher,
    readonly bytesPerHour: number,
    readonly everyMs: number,
    private readonly report: (finding: Finding) => void,
  ) {}

  /** One round: checks versions from where the last one stopped while the budget lasts; returns 0 (not busy). */
  async round(now = Date.now()): Promise<number> {
    this.refill(now);
    if (this.stats.budget <= 0) return 0;
    const stored = await this.loadCursor();
    const passStartedAt = stored.at === null ? now : stored.passStartedAt;
    this.stats.passStartedAt = passStartedAt;
    const checker = new DataChecker(this.store, this.blobs, this.cipher);
    let cursor = stored.at;
    let finished = true;
    for await (const walked of walkVersions(this.store, stored.at)) {
      const before = checker.bytesRead;
      const problems = await confirmed(this.store, walked, await checker.check(walked));
      const read = checker.bytesRead - before;
      this.stats.bytesChecked += read;
      this.stats.budget -= read;
      this.stats.versionsChecked++;
      cursor = walked.cursor;
      for (const problem of problems) {
        this.stats.findings[problem.reason] = (this.stats.findings[problem.reason] ?? 0) + 1;
        this.report(versionFinding(walked, problem, undefined, walked.version.damaged !== undefined));
      }
      if (this.stats.budget <= 0 || Date.now() - now > ROUND_MS) {
        finished = false;
        break;
      }
    }
    if (finished) {
      this.stats.passesCompleted++;
      await this.saveCursor({ at: null, passStartedAt: 0 });
    } else {
      await this.saveCursor({ at: cursor, passStartedAt });
    }
    return 0;
  }

  /** Adds the budget of the time since the last round, keeping at most two rounds' worth unspent. */
  private refill(now: number): void {
    const elapsed = this.lastRound === 0 ? this.everyMs : now - this.lastRound;
    this.lastRound = now;
    const perMs = this.bytesPerHour / 3_600_000;
    this.stats.budget = Math.min(this.stats.budget + elapsed * perMs, 2 * this.everyMs * perMs);
  }

  private async loadCursor(): Promise<StoredCursor> {
    const row = await this.store.get(TABLES.settings, ALL, CURSOR_SETTING);
    if (!row) return { at: null, passStartedAt: 0 };
    try {
      return JSON.parse(row.value.value) as StoredCursor;
    } catch {
      return { at: null, passStartedAt: 0 };
    }
  }

  private async saveCursor(cursor: StoredCursor): Promise<void> {
    await this.store.transact(async (tx) => {
      tx.put(TABLES.settings, ALL, CURSOR_SETTING, { value: JSON.stringify(cursor) });
      return Promise.resolve();
    });
  }
}

/** ONGGI_SCRUB_BYTES_PER_HOUR: bytes the scrubber checks per hour on average (0: it never runs). */
export function scrubBytesPerHour(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ONGGI_SCRUB_BYTES_PER_HOUR);
  return env.ONGGI_SCRUB_BYTES_PER_HOUR !== undefined && Number.isFinite(value) && value >= 0 ? value : DEFAULT_BYTES_PER_HOUR;
}

/** ONGGI_SCRUB_INTERVAL_MS: how often a round runs (default a minute; tests shorten it). */
export function scrubIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ONGGI_SCRUB_INTERVAL_MS);
  return Number.isInteger(value) && value > 0 ? value : 60_000;
}
