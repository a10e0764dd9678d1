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
/** The fields of a pass under way, cleared for the next pass to start from the beginning. */
const NEW_PASS: Partial<EmptyingRow> = { cursor: undefined, removedInPass: undefined, lockedInPass: undefined };

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
    if (!row) fail('NoSuchConfiguration', 'The bucket is not being emptied', { kind: 'emptying' });
    return this.withRemaining(row.value);
  }

  /** One round of the background job: a batch of every running request; returns the objects removed. */
  async work(): Promise<number> {
    const running = (await this.store.scan(TABLES.emptying, ALL, { prefix: '', limit: 100, reverse: false })).filter((r) => r.value.state === 'running');
    let removed = 0;
    for (const entry of running) removed += await this.step(entry.value);
    return removed;
  }

  /**
   * A batch of the pass under way (see Objects.purge), which remembers where it got to. A pass that removed
   * something is followed by another (objects may have come meanwhile); one that removed nothing ends the run —
   * with the bucket kept and the count noted when Object Lock kept versions.
   */
  private async step(job: EmptyingRow): Promise<number> {
    const bucketId = job.bucket.id;
    const purged = await this.objects.purge(bucketId, BATCH, job.cursor ?? null);
    const removedInPass = (job.removedInPass ?? 0) + purged.removed;
    const lockedInPass = (job.lockedInPass ?? 0) + purged.locked;
    if (purged.next) {
      await this.record(bucketId, { removed: job.removed + purged.removed, cursor: purged.next, removedInPass, lockedInPass });
      return Math.max(purged.removed, 1);
    }
    const aborted = await this.uploads.abortStarted(bucketId, '', Number.POSITIVE_INFINITY);
    if (removedInPass + aborted > 0) {
      await this.record(bucketId, { removed: job.removed + purged.removed + aborted, ...NEW_PASS });
      return Math.max(purged.removed + aborted, 1);
    }
    if (lockedInPass > 0) {
      await this.record(bucketId, { state: 'done', finishedAt: Date.now(), locked: lockedInPass, ...NEW_PASS });
      return 0;
    }
    return this.finish(job);
  }

  /** Nothing left: the bucket is deleted (its emptying row with it) if asked, else the run is marked done. */
  private async finish(job: EmptyingRow): Promise<number> {
    if (!job.deleteBucket) {
      await this.record(job.bucket.id, { state: 'done', finishedAt: Date.now(), ...NEW_PASS });
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
      // An object written since the last batch: empty again, from the beginning.
      if (isOnggiError(err) && err.code === 'BucketNotEmpty') {
        await this.record(job.bucket.id, NEW_PASS);
        return 1;
      }
      throw err;
    }
  }

  /** Merges `change` into the run's row; a field given as undefined is removed. */
  private async record(bucketId: string, change: Partial<EmptyingRow>): Promise<void> {
    await this.store.transact(async (tx) => {
      const row = await tx.get(TABLES.emptying, ALL, bucketId);
      if (!row) return;
      const next: EmptyingRow = { ...row.value, ...change };
      for (const [field, value] of Object.entries(change)) if (value === undefined) Reflect.deleteProperty(next, field);
      tx.put(TABLES.emptying, ALL, bucketId, next);
    });
  }

  private async withRemaining(row: EmptyingRow): Promise<EmptyingProgress> {
    const totals = await readTotals(this.store, row.bucket.id);
    return { ...row, remaining: totals.objects };
  }
}
