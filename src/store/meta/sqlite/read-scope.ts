/**
 * Reads outside a write share one SQLite read transaction per event-loop turn. A statement outside any
 * transaction opens and closes one of its own: WAL read locks (two fcntl calls) and a look at the WAL index,
 * some 5 µs each time on a virtual machine — more than a cached point read itself. A scope per turn pays that
 * once for every read of the turn. Its snapshot is at most one turn old; the group commit leaves the scope before
 * it writes, so this process's own writes are seen by the next read.
 */
import type Database from 'better-sqlite3';

export class ReadScope {
  private open = false;
  private readonly begin: Database.Statement;
  private readonly end: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN DEFERRED');
    this.end = db.prepare('COMMIT');
  }

  /** Before a read: opens the turn's read transaction, unless one (or a write) is open. */
  enter(): void {
    if (this.open || this.db.inTransaction) return;
    this.begin.run();
    this.open = true;
    setImmediate(this.leave);
  }

  /** Ends the turn's read transaction early (before a write, or to see another process's commit). */
  readonly leave = (): void => {
    if (!this.open) return;
    this.open = false;
    if (this.db.inTransaction) this.end.run();
  };
}
