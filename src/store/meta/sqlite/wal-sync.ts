/**
 * fdatasync of the SQLite WAL file on the libuv thread pool, so that the event loop never waits on the disk.
 *
 * The connection runs with synchronous=NORMAL: a COMMIT writes its WAL frames without syncing them, and
 * checkpoints still sync the WAL before copying it and the database after. A write is acknowledged only once a
 * sync that began after its COMMIT has returned, which makes it as durable as synchronous=FULL would. (A reader
 * may see a committed write in the millisecond before that sync; it is not acknowledged until the sync is done.)
 */
import { open, type FileHandle } from 'node:fs/promises';

export class WalSync {
  private handle: Promise<FileHandle> | null = null;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything committed before this call is on disk. Concurrent callers share syncs. */
  request(): Promise<void> {
    if (this.queued) return this.queued;
    if (this.inFlight) {
      // The sync in flight may have started before the caller's COMMIT: the caller needs the next one.
      this.queued = this.inFlight
        .catch(() => undefined)
        .then(() => {
          this.queued = null;
          return this.request();
        });
      return this.queued;
    }
    this.inFlight = this.syncNow().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  async close(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    await this.queued?.catch(() => undefined);
    const handle = this.handle;
    this.handle = null;
    if (handle) await (await handle).close();
  }

  private async syncNow(): Promise<void> {
    // The WAL exists as long as a connection is open; this store's own connection keeps it so.
    this.handle ??= open(this.walPath, 'r');
    await (await this.handle).datasync();
  }
}
