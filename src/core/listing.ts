/** Prefix/delimiter/marker listings from ordered scans; with a delimiter, jump past each common prefix. */
import { prefixUpperBound } from '../lib/key-order.ts';
import { Turns } from '../lib/turns.ts';
import type { Bound, GroupedRange, ScanRange } from '../store/meta/index.ts';

export interface ListOptions {
  prefix: string;
  delimiter: string;
  marker: string;
  endMarker: string;
  limit: number;
  reverse: boolean;
  /** Skip the common prefixes themselves (Swift's `path` listing). */
  onlyItems?: boolean;
}

export type ListEntry<T> = { kind: 'item'; item: T } | { kind: 'prefix'; prefix: string };

const MAX_BATCH = 1000;

/** How a listing reads: ordered scans, and where the store offers them, scans grouped by a delimiter. */
export interface ListSource<T> {
  /** Returns only items that may be listed (e.g. leaves out expired objects in its query). */
  scan(range: ScanRange): Promise<T[]>;
  grouped?: ((range: GroupedRange) => Promise<ListEntry<T>[]>) | undefined;
}

/**
 * Without a grouped scan, a delimited listing scans once per common prefix. It then takes turns with other
 * requests: a store's scans may all complete at once (SQLite's do), and a listing of 10,000 common prefixes
 * makes 10,000 scans.
 */
export async function listEntries<T>(source: ListSource<T>, nameOf: (item: T) => string, options: ListOptions): Promise<ListEntry<T>[]> {
  const { prefix, delimiter, limit, reverse } = options;
  let lower: Bound | undefined;
  let upper: Bound | undefined;
  const fromMarker = options.marker ? { key: options.marker, inclusive: false } : undefined;
  const toMarker = options.endMarker ? { key: options.endMarker, inclusive: false } : undefined;
  if (reverse) [lower, upper] = [toMarker, fromMarker];
  else [lower, upper] = [fromMarker, toMarker];

  if (source.grouped && delimiter && !options.onlyItems && prefixUpperBound(delimiter) !== null) {
    // One more than asked: the marker's own common prefix (the last of the page before) is left out.
    const entries = await source.grouped({ prefix, lower, upper, limit: limit + 1, reverse, delimiter });
    return entries.filter((entry) => entry.kind === 'item' || entry.prefix !== options.marker).slice(0, limit);
  }
  const out: ListEntry<T>[] = [];

  // With a delimiter, a batch read past a common prefix is wasted: start small after each jump, then grow.
  let wanted = delimiter ? 1 : MAX_BATCH;
  const turns = new Turns();
  while (out.length < limit) {
    await turns.take();
    const batchSize = Math.min(limit - out.length, wanted, MAX_BATCH);
    const batch = await source.scan({ prefix, lower, upper, limit: batchSize, reverse });
    let jumped = false;
    for (const item of batch) {
      const name = nameOf(item);
      const commonPrefix = delimiter ? commonPrefixOf(name, prefix, delimiter) : null;
      if (commonPrefix === null) {
        // Swift's `path=` leaves out the directory marker of the path itself.
        if (!(options.onlyItems && name === prefix)) out.push({ kind: 'item', item });
      } else {
        // `onlyItems` (Swift's `path=`) keeps a directory marker right under the path, and nothing under it.
        const marker = options.onlyItems && commonPrefix === name;
        if (marker) out.push({ kind: 'item', item });
        else if (commonPrefix !== options.marker && !options.onlyItems) out.push({ kind: 'prefix', prefix: commonPrefix });
        // Read backwards, the directory marker comes after what is under it: the jump keeps it in reach.
        if (reverse) upper = { key: commonPrefix, inclusive: options.onlyItems === true && !marker };
        else {
          const next = prefixUpperBound(commonPrefix);
          if (next === null) return out;
          lower = { key: next, inclusive: true };
        }
        jumped = true;
        wanted = 1;
        break;
      }
      if (out.length >= limit) return out;
    }
    if (jumped) continue;
    if (batch.length < batchSize) break;
    wanted *= 4;
    const last = batch[batch.length - 1];
    if (last === undefined) break;
    const bound = { key: nameOf(last), inclusive: false };
    if (reverse) upper = bound;
    else lower = bound;
  }
  return out;
}

function commonPrefixOf(name: string, prefix: string, delimiter: string): string | null {
  const index = name.indexOf(delimiter, prefix.length);
  return index < 0 ? null : name.slice(0, index + delimiter.length);
}
