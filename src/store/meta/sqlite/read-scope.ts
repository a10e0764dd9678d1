/**
 * Reads outside a write share one SQLite read transaction per event-loop turn, from the turn's second read on.
 * A statement outside any transaction opens and closes one of its own: WAL read locks (two fcntl calls) and a
 * look at the WAL index, some 5 µs each time on a virtual machine — more than a cached point read itself. Under
 * load a turn holds the reads of many requests, and one transaction pays that once for them all; a turn with a
 * single read (one client) keeps its own, as a BEGIN and COMMIT around it would cost more than they save. The
 * snapshot is at most one turn old; the group commit leaves the scope before it writes, so this process's own
 * writes are seen by the next read.
 */
import type Database from 'better-sqlite3';

export class ReadScope {
  private open = false;
  /** Reads in this turn so far (reset when the turn ends). */
  private reads = 0;
  private readonly begin: Database.Statement;
  private readonly end: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN DEFERRED');
    this.end = db.prepare('COMMIT');
  }

  /** Before a read: from the turn's second read on, makes sure the turn's read transaction is open. */
  enter(): void {
    if (this.reads++ === 0) {
      setImmediate(this.endTurn);
      return;
    }
    if (this.open || this.db.inTransaction) return;
    this.begin.run();
    this.open = true;
  }

  /** Ends the turn's read transaction early (before a write, or to see another process's commit). */
  readonly leave = (): void => {
    if (!this.open) return;
    this.open = false;
    if (this.db.inTransaction) this.end.run();
  };

  private readonly endTurn = (): void => {
    this.reads = 0;
    this.leave();
  };
}
