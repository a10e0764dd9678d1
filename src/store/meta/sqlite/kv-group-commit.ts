/**
 * Group commit of whole transactions: every transaction submitted during one event-loop turn is validated and
 * applied inside ONE `BEGIN IMMEDIATE … COMMIT`, synchronously (so no read outside the flush ever sees
 * uncommitted data); then one WAL sync, shared, makes the batch durable. When a write fails, the batch starts
 * over with each transaction in a savepoint of its own, so that the failing one alone is left out.
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
      /** Runs after writes of the batch were rolled back (what was cached of them must go). */
      afterRollback?: () => void;
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
      let outcomes = this.applyTogether(batch);
      if (!outcomes) {
        // A write failed (rare: a full disk, a value SQLite refuses): start over with each transaction in a
        // savepoint of its own, so that only the failing one is left out. (SQLite rolls back by itself on some errors.)
        this.rollBack();
        this.begin.run();
        this.hooks.afterBegin?.();
        outcomes = batch.map(({ tx }) => this.validate(tx) ?? this.applyIsolated(tx));
      }
      this.commit.run();
      return outcomes;
    } catch (error) {
      this.rollBack();
      throw error;
    }
  }

  private rollBack(): void {
    if (this.db.inTransaction) this.rollback.run();
    this.hooks.afterRollback?.();
  }

  /**
   * Validates and applies each transaction in turn; a failing write ends the pass (null), the batch's writes so
   * far to be rolled back. (A savepoint per transaction would cost every batch two more statements per
   * transaction, for a failure that almost never happens.)
   */
  private applyTogether(batch: Pending[]): Applied[] | null {
    const outcomes: Applied[] = [];
    for (const { tx } of batch) {
      const checked = this.validate(tx);
      if (checked) {
        outcomes.push(checked);
        continue;
      }
      try {
        tx.applyWrites();
      } catch {
        return null;
      }
      outcomes.push(COMMITTED);
    }
    return outcomes;
  }

  /** Why a transaction cannot be applied (a re-run, a conflict, a failed check), or null when it can. */
  private validate(tx: Committable): Applied | null {
    try {
      if (!tx.readsStillValid()) return RETRY;
      const conflict = tx.failedCondition();
      return conflict ? { kind: 'conflict', conflict } : null;
    } catch (error) {
      return { kind: 'failed', error };
    }
  }

  /** Applies one transaction's writes in a savepoint: an error fails that transaction only. */
  private applyIsolated(tx: Committable): Applied {
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
