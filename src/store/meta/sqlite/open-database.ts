/**
 * Opens SQLite files with the better-sqlite3 addon built for the running Node. One install serves two Node lines:
 * the package's own build (`build/Release`, for the Node npm installed it with) and, for another line,
 * `lib/binding/node-v<ABI>-<platform>-<arch>/better_sqlite3.node` (node-pre-gyp's layout), which
 * `scripts/node-lts.sh` compiles there. Every SQLite file is opened through here (a lint rule says so).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

let addon: string | undefined | null = null;

/** The addon for this Node's ABI when one was built beside the package's own; undefined: the package's own. */
export function sqliteAddon(): string | undefined {
  if (addon === null) {
    const root = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
    const forThisNode = join(root, 'lib', 'binding', `node-v${process.versions.modules}-${process.platform}-${process.arch}`, 'better_sqlite3.node');
    addon = existsSync(forThisNode) ? forThisNode : undefined;
  }
  return addon;
}

export function openDatabase(path: string, options: Database.Options = {}): Database.Database {
  return new Database(path, { ...options, nativeBinding: sqliteAddon() });
}
