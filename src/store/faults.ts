/**
 * Which failures of the stores are failures of the storage itself — full, or unavailable — whatever store raised
 * them. The codes each store's library uses are known here, in the store layer, not in core.
 */
import { BlobMissingError } from './blob/index.ts';
import { fsFaultKind } from './blob/fs/faults.ts';
import { StoreFault } from './meta/index.ts';
import { sqliteFaultKind } from './meta/sqlite/faults.ts';

export type FaultKind = 'full' | 'unavailable';

/** What `err` amounts to as a failure of the storage, with its cause; null for anything else. */
export function storeFaultOf(err: unknown): { kind: FaultKind; cause: string } | null {
  if (err instanceof StoreFault) return { kind: err.kind, cause: err.message };
  if (err instanceof BlobMissingError) return { kind: 'unavailable', cause: 'a blob file is missing' };
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  const kind = sqliteFaultKind(code) ?? fsFaultKind(code);
  return kind && { kind, cause: code };
}
