/**
 * Sort-key order and scan ranges in JavaScript, exactly as SQLite's BINARY collation orders UTF-8 text (code
 * point order). JavaScript's `<` on strings compares UTF-16 code units, which puts astral characters (U+10000
 * and up) before U+E000–U+FFFF: never use it on keys.
 */
import { compareKeys, prefixUpperBound } from '../../../lib/key-order.ts';
import type { Bound, ScanRange } from '../index.ts';

/** A scan range's prefix folded into its bounds: at most one lower and one upper bound remain. */
export interface KeyBounds {
  lower: Bound | null;
  upper: Bound | null;
}

export function resolveBounds(range: ScanRange): KeyBounds {
  if (!Number.isSafeInteger(range.limit) || range.limit < 0) throw new RangeError(`bad scan limit: ${range.limit}`);
  let lower = range.lower ?? null;
  let upper = range.upper ?? null;
  if (range.prefix !== '') {
    // On equal keys the caller's bound is at least as strict as the prefix's (inclusive lower, exclusive upper).
    if (lower === null || compareKeys(lower.key, range.prefix) < 0) lower = { key: range.prefix, inclusive: true };
    const prefixEnd = prefixUpperBound(range.prefix);
    if (prefixEnd !== null && (upper === null || compareKeys(upper.key, prefixEnd) >= 0)) upper = { key: prefixEnd, inclusive: false };
  }
  return { lower, upper };
}

export function withinBounds(sk: string, bounds: KeyBounds): boolean {
  const { lower, upper } = bounds;
  if (lower) {
    const order = compareKeys(sk, lower.key);
    if (order < 0 || (order === 0 && !lower.inclusive)) return false;
  }
  if (upper) {
    const order = compareKeys(sk, upper.key);
    if (order > 0 || (order === 0 && !upper.inclusive)) return false;
  }
  return true;
}
