/**
 * Group commit: writes submitted during one event-loop turn share one transaction, and one WAL sync (off the
 * event loop) acknowledges them all. Each write runs in its own savepoint, so one failing write does not undo
 * the others; no promise resolves before the COMMIT and the sync after it have returned.
 */
import type Database from 'better-sqlite3';
import type { WalSync } from './wal-sync.ts';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Database.Database,
    private readonly wal: WalSync,
  ) {}

  submit<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
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
    const batch = this.queue;
    this.queue = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.db
        .transaction(() => {
          for (const { work } of batch) {
            try {
              outcomes.push({ ok: true, value: this.db.transaction(work)() });
            } catch (err) {
              outcomes.push({ ok: false, value: err });
            }
          }
        })
        .immediate();
    } catch (err) {
      for (const pending of batch) pending.reject(err);
      return;
    }
    this.wal.request().then(
      () => {
        batch.forEach((pending, i) => {
          const outcome = outcomes[i];
          if (outcome?.ok) pending.resolve(outcome.value);
          else pending.reject(outcome?.value);
        });
      },
      (err: unknown) => {
        for (const pending of batch) pending.reject(err);
      },
    );
  }
}
