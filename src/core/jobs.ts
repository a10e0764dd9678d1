/**
 * Background jobs (expiry, blob collection, totals folding, orphan sweep) run on one node at a time: a job runs
 * only while its node holds the job's lease, a row in the metadata store taken and renewed in a transaction.
 */
import type { MetadataStore } from '../store/meta/index.ts';
import { ALL, TABLES } from './model.ts';

export interface Job {
  name: string;
  everyMs: number;
  /** Delay before the first round (default: everyMs). */
  firstAfterMs?: number;
  /** Work on this node's own things (its blob directory): runs on every node, without a lease. */
  local?: boolean;
  /** Does one round of work; returns how much it did (a busy job runs again at once). */
  run(): Promise<number>;
}

/** A lease outlives a missed renewal or two; a node that died hands its jobs over after this long. */
const LEASE_MS = 15_000;

export class JobRunner {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<string>();
  private stopped = false;
  private canRun: () => boolean = () => true;

  constructor(
    private readonly store: MetadataStore,
    private readonly nodeId: string,
    private readonly onError: (job: string, err: unknown) => void,
  ) {}

  start(canRun: () => boolean, jobs: readonly Job[]): void {
    this.canRun = canRun;
    for (const job of jobs) this.schedule(job, job.firstAfterMs ?? job.everyMs);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Runs the job's next round soon (when it has work waiting), unless a round is under way. */
  kick(job: Job, delayMs = 20): void {
    if (!this.running.has(job.name)) this.schedule(job, delayMs);
  }

  /** Takes or renews the job's lease; false when another live node holds it. */
  async acquire(job: string, now = Date.now()): Promise<boolean> {
    // A store no other process writes has no other node to share the work with.
    if (!this.store.shared) return true;
    return this.store.transact(async (tx) => {
      const lease = await tx.get(TABLES.leases, ALL, job);
      if (lease && lease.value.owner !== this.nodeId && lease.value.until > now) return false;
      tx.put(TABLES.leases, ALL, job, { owner: this.nodeId, until: now + LEASE_MS });
      return true;
    });
  }

  private schedule(job: Job, delay: number): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(job.name));
    const timer = setTimeout(() => {
      this.timers.delete(job.name);
      this.running.add(job.name);
      void this.round(job).then((busy) => {
        this.running.delete(job.name);
        this.schedule(job, busy ? 0 : job.everyMs);
      });
    }, delay);
    timer.unref();
    this.timers.set(job.name, timer);
  }

  private async round(job: Job): Promise<boolean> {
    try {
      if (!this.canRun() || (!job.local && !(await this.acquire(job.name)))) return false;
      return (await job.run()) > 0;
    } catch (err) {
      this.onError(job.name, err);
      return false;
    }
  }
}
