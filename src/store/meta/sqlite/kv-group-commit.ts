/**
 * Group commit of whole transactions: every transaction submitted during one event-loop turn is validated and
 * applied inside ONE `BEGIN IMMEDIATE … COMMIT`, each in its own savepoint, synchronously (so no read outside
 * the flush ever sees uncommitted data); then one WAL sync, shared, makes the batch durable.
 *
 * A transaction whose reads changed (serialization failure) writes nothing and learns so right after COMMIT,
 * so its re-run can start at once; the others learn their outcome with a promise that settles once the batch
 * is on disk.
 */
import type Database from 'better-sqlite3';
import type { Conflict, StoreObserver } from '../index.ts';
import type { WalSync } from './wal-sync.ts';

export interface Committable {
  readsStillValid(): boolean;
  failedCondition(): Conflict | null;
  applyWrites(): void;
}

export type CommitOutcome =
  | { kind: 'committed'; durable: Promise<void> }
  | { kind: 'retry' }
  | { kind: 'conflict'; conflict: Conflict; durable: Promise<void> }
  | { kind: 'failed'; error: unknown };

/** What applying a transaction came to, before the batch's sync is known. */
type Applied = { kind: 'committed' } | { kind: 'retry' } | { kind: 'conflict'; conflict: Conflict } | { kind: 'failed'; error: unknown };

interface Pending {
  tx: Committable;
  settle: (outcome: CommitOutcome) => void;
}

const COMMITTED: Applied = { kind: 'committed' };
const RETRY: Applied = { kind: 'retry' };

export class KvGroupCommitter {
  /** Re-runs go first in a batch, so that a transaction that lost once is not beaten again by newcomers. */
  private retries: Pending[] = [];
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly wal: WalSync,
    private readonly observer: StoreObserver,
    private readonly hooks: {
      /** Runs right before BEGIN IMMEDIATE (e.g. to end a read transaction). */
      beforeBegin?: () => void;
      /** Runs right after BEGIN IMMEDIATE, before any transaction of the batch is validated. */
      afterBegin?: () => void;
    } = {},
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT tx');
    this.release = db.prepare('RELEASE tx');
    this.rollbackTo = db.prepare('ROLLBACK TO tx');
  }

  /** Resolves right after the batch's COMMIT; a committed or conflicting outcome carries the batch's sync. */
  submit(tx: Committable, isRetry: boolean): Promise<CommitOutcome> {
    return new Promise<CommitOutcome>((settle) => {
      (isRetry ? this.retries : this.queue).push({ tx, settle });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.retries.length > 0 ? this.retries.concat(this.queue) : this.queue;
    this.retries = [];
    this.queue = [];
    let outcomes: Applied[];
    let durable: Promise<void>;
    try {
      outcomes = this.applyBatch(batch);
      durable = this.wal.request();
    } catch (error) {
      for (const pending of batch) pending.settle({ kind: 'failed', error });
      return;
    }
    // Nobody may wait on the sync (a batch of re-runs only): its failure must not go unhandled.
    durable.catch(() => undefined);
    this.observer.groupCommitted?.(batch.length);
    batch.forEach((pending, i) => {
      pending.settle(withDurability(outcomes[i] ?? RETRY, durable));
    });
  }

  private applyBatch(batch: Pending[]): Applied[] {
    this.hooks.beforeBegin?.();
    this.begin.run();
    try {
      this.hooks.afterBegin?.();
      const outcomes = batch.map((pending) => this.applyOne(pending.tx));
      this.commit.run();
      return outcomes;
    } catch (error) {
      if (this.db.inTransaction) this.rollback.run();
      throw error;
    }
  }

  /** Validates and applies one transaction. An error here fails that transaction only. */
  private applyOne(tx: Committable): Applied {
    try {
      if (!tx.readsStillValid()) return RETRY;
      const conflict = tx.failedCondition();
      if (conflict) return { kind: 'conflict', conflict };
    } catch (error) {
      return { kind: 'failed', error };
    }
    this.savepoint.run();
    try {
      tx.applyWrites();
      this.release.run();
      return COMMITTED;
    } catch (error) {
      this.rollbackTo.run();
      this.release.run();
      return { kind: 'failed', error };
    }
  }
}

function withDurability(applied: Applied, durable: Promise<void>): CommitOutcome {
  switch (applied.kind) {
    case 'committed':
      return { kind: 'committed', durable };
    case 'conflict':
      return { kind: 'conflict', conflict: applied.conflict, durable };
    default:
      return applied;
  }
}
