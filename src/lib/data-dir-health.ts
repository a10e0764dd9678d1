/**
 * Watches the data directory while the server runs. Removed or replaced (an unmount, a rename, an `rm -rf`),
 * every request is refused with 503 — the open SQLite file would otherwise keep taking writes that no longer
 * land anywhere anyone will see; read-only, writes are refused and reads go on. Both clear by themselves once
 * the very same directory is back; a copy put in its place is not the same (a restart picks it up).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { OnggiError } from '../core/errors.ts';

export type DataDirState = 'ok' | 'read-only' | 'gone';

const CHECK_INTERVAL_MS = 1000;

interface Identity {
  path: string;
  dev: number;
  ino: number;
}

export class DataDirHealth {
  state: DataDirState = 'ok';
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly dataDir: string,
    private readonly identities: Identity[],
    private readonly log: Logger,
  ) {}

  /** `files`: paths inside the data directory that the stores hold open (e.g. meta.sqlite). */
  static async watch(dataDir: string, files: string[], log: Logger): Promise<DataDirHealth> {
    const paths = [dataDir, ...files.map((name) => join(dataDir, name))];
    const identities = await Promise.all(
      paths.map(async (path) => {
        const info = await stat(path);
        return { path, dev: info.dev, ino: info.ino };
      }),
    );
    const health = new DataDirHealth(dataDir, identities, log);
    health.timer = setInterval(() => {
      void health.check();
    }, CHECK_INTERVAL_MS);
    health.timer.unref();
    return health;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The error a request must end with now, or null. */
  refusal(kind: 'read' | 'write'): OnggiError | null {
    if (this.state === 'ok' || (this.state === 'read-only' && kind === 'read')) return null;
    const why = this.state === 'gone' ? 'the data directory is missing' : 'the data directory is read-only';
    return new OnggiError('StorageUnavailable', `The storage is unavailable right now (${why}); try again later`);
  }

  async check(): Promise<DataDirState> {
    const next = await this.probe();
    if (next !== this.state) this.report(next);
    this.state = next;
    return next;
  }

  private async probe(): Promise<DataDirState> {
    for (const identity of this.identities) {
      const info = await stat(identity.path).catch(() => null);
      if (!info || info.dev !== identity.dev || info.ino !== identity.ino) return 'gone';
    }
    const writable = await access(this.dataDir, constants.W_OK).then(
      () => true,
      () => false,
    );
    return writable ? 'ok' : 'read-only';
  }

  private report(next: DataDirState): void {
    const dataDir = this.dataDir;
    if (next === 'ok') this.log.info({ dataDir }, 'the data directory is back: serving normally');
    else if (next === 'read-only') this.log.error({ dataDir }, 'the data directory is read-only: writes answer 503, reads go on');
    else {
      this.log.error(
        { dataDir },
        'the data directory is missing or was replaced: every request answers 503 until the same directory is back (after a restore from a copy, restart Onggi)',
      );
    }
  }
}
