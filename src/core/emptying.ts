/**
 * "Empty bucket" (the console's action): removes every object of a bucket in the background, in batches that
 * each commit, so a restart resumes where it stopped; reports progress; then deletes the bucket if asked.
 */
import type { MetadataStore } from '../store/meta/index.ts';
import { readTotals, type Buckets } from './buckets.ts';
import { fail, isOnggiError } from './errors.ts';
import { ALL, TABLES, type EmptyingRow } from './model.ts';
import type { Objects } from './objects.ts';
import type { Uploads } from './uploads.ts';
import type { Caller } from './types.ts';

const BATCH = 100;

export interface EmptyingProgress extends EmptyingRow {
  /** Objects still in the bucket. */
  remaining: number;
}

export class Emptying {
  constructor(
    private readonly store: MetadataStore,
    private readonly buckets: Buckets,
    private readonly objects: Objects,
    private readonly uploads: Uploads,
    /** Asks the background job for a round soon. */
    private readonly nudge: () => void,
  ) {}

  /** Starts emptying the bucket (again, if an earlier run finished); a run under way is left as it is. */
  async start(caller: Caller, account: string, name: string, deleteBucket: boolean): Promise<EmptyingProgress> {
    const bucket = await this.buckets.forObjects(caller, account, name, 'DeleteBucket');
    const row = await this.store.transact(async (tx) => {
      const existing = await tx.get(TABLES.emptying, ALL, bucket.id);
      if (existing?.value.state === 'running') {
        const kept: EmptyingRow = { ...existing.value, deleteBucket: existing.value.deleteBucket || deleteBucket };
        tx.put(TABLES.emptying, ALL, bucket.id, kept);
        return kept;
      }
      const fresh: EmptyingRow = { bucket, deleteBucket, startedAt: Date.now(), removed: 0, state: 'running', finishedAt: null };
      tx.put(TABLES.emptying, ALL, bucket.id, fresh);
      return fresh;
    });
    this.nudge();
    return this.withRemaining(row);
  }

  async progress(caller: Caller, account: string, name: string): Promise<EmptyingProgress> {
    const bucket = await this.buckets.forObjects(caller, account, name, 'GetBucketConfig');
    const row = await this.store.get(TABLES.emptying, ALL, bucket.id);
    if (!row) fail('NoSuchConfiguration', 'The bucket is not being emptied');
    return this.withRemaining(row.value);
  }

  /** One round of the background job: a batch of every running request; returns the objects removed. */
  async work(): Promise<number> {
    const running = (await this.store.scan(TABLES.emptying, ALL, { prefix: '', limit: 100, reverse: false })).filter((r) => r.value.state === 'running');
    let removed = 0;
    for (const entry of running) removed += await this.step(entry.value);
    return removed;
  }

  private async step(job: EmptyingRow): Promise<number> {
    const bucketId = job.bucket.id;
    const removed = (await this.objects.purge(bucketId, BATCH)) || (await this.uploads.abortStarted(bucketId, '', Number.POSITIVE_INFINITY));
    if (removed === 0) return this.finish(job);
    await this.record(bucketId, { removed: job.removed + removed });
    return Math.max(removed, 1);
  }

  /** Nothing left: the bucket is deleted (its emptying row with it) if asked, else the run is marked done. */
  private async finish(job: EmptyingRow): Promise<number> {
    if (!job.deleteBucket) {
      await this.record(job.bucket.id, { state: 'done', finishedAt: Date.now() });
      return 0;
    }
    try {
      if (!(await this.buckets.deleteEmptied(job.bucket))) {
        // Deleted (or replaced by another bucket of that name) meanwhile: nothing left to do.
        await this.store.transact(async (tx) => {
          tx.delete(TABLES.emptying, ALL, job.bucket.id);
        });
      }
      return 0;
    } catch (err) {
      // An object written since the last batch: empty again.
      if (isOnggiError(err) && err.code === 'BucketNotEmpty') return 1;
      throw err;
    }
  }

  private async record(bucketId: string, change: Partial<EmptyingRow>): Promise<void> {
    await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.emptying, ALL, bucketId);
      if (row) tx.put(TABLES.emptying, ALL, bucketId, { ...row.value, ...change });
    });
  }

  private async withRemaining(row: EmptyingRow): Promise<EmptyingProgress> {
    const totals = await readTotals(this.store, row.bucket.id);
    return { ...row, remaining: totals.objects };
  }
}
