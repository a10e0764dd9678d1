/** SQLite's result codes that mean the storage itself failed (not the statement): the disk is full, or unusable. */
const FULL = new Set(['SQLITE_FULL']);
const UNAVAILABLE = new Set(['SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/** What an error of better-sqlite3 with this code amounts to; null for any other. Extended codes count as their base. */
export function sqliteFaultKind(code: string): 'full' | 'unavailable' | null {
  if (!code.startsWith('SQLITE_')) return null;
  const base = code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1');
  if (FULL.has(base)) return 'full';
  return UNAVAILABLE.has(base) ? 'unavailable' : null;
}
