/**
 * A listing of every version and delete marker of a bucket's keys, in S3's order (ListObjectVersions): by key,
 * then newest first, paged by a key marker and a version id marker, with prefix and delimiter. Two ordered tables
 * are read side by side: the current versions (`objects`, by key) and the ones under them (`versions`, by key
 * and inverted id); in one order, a key's current version sorts as `key + U+0001`, just before its others.
 */
import { prefixUpperBound } from '../lib/key-order.ts';
import { Turns } from '../lib/turns.ts';
import type { Bound, MetadataStore } from '../store/meta/index.ts';
import { isLive, TABLES, type VersionRow } from './model.ts';
import { keyOfNoncurrent, noncurrentKey, NULL_VERSION_ID, versionIdOf, versionsPrefix } from './versions.ts';

export interface VersionListOptions {
  prefix: string;
  delimiter: string;
  /** List the keys after this one; with `versionIdMarker`, the versions of this key after that one too. */
  keyMarker: string;
  versionIdMarker: string;
  /** Entries (versions, delete markers and common prefixes) at most. */
  limit: number;
}

export type VersionEntry<T> = { kind: 'item'; key: string; item: T; isLatest: boolean } | { kind: 'prefix'; prefix: string };

export interface VersionListing<T> {
  entries: VersionEntry<T>[];
  truncated: boolean;
  /** Where the next page starts (S3's NextKeyMarker / NextVersionIdMarker); null when not truncated. */
  nextKeyMarker: string | null;
  nextVersionIdMarker: string | null;
}

interface Positioned {
  /** The place in the listing's one order. */
  at: string;
  key: string;
  version: VersionRow;
  isLatest: boolean;
}

const BATCH = 1000;

export async function listVersions(store: MetadataStore, bucketId: string, options: VersionListOptions, now: number): Promise<VersionListing<VersionRow>> {
  const { prefix, delimiter, limit } = options;
  let lower = await startAfter(store, bucketId, options);
  const entries: VersionEntry<VersionRow>[] = [];
  const turns = new Turns();
  let wanted = delimiter ? 1 : BATCH;
  for (;;) {
    await turns.take();
    const batchSize = Math.min(wanted, BATCH);
    const { rows, exhausted } = await readSideBySide(store, bucketId, prefix, lower, batchSize);
    let jumped = false;
    for (const row of rows) {
      const commonPrefix = delimiter ? commonPrefixOf(row.key, prefix, delimiter) : null;
      if (commonPrefix !== null) {
        if (commonPrefix !== options.keyMarker) entries.push({ kind: 'prefix', prefix: commonPrefix });
        const next = prefixUpperBound(commonPrefix);
        if (next === null) return page(entries, limit);
        lower = { key: next, inclusive: true };
        jumped = true;
        wanted = 1;
        break;
      }
      lower = { key: row.at, inclusive: false };
      // An object past its X-Delete-At (not reaped yet) is gone already; delete markers are listed.
      if (row.version.state !== 'delete-marker' && !isLive(row.version, now)) continue;
      entries.push({ kind: 'item', key: row.key, item: row.version, isLatest: row.isLatest });
      if (entries.length > limit) return page(entries, limit);
    }
    if (entries.length > limit) return page(entries, limit);
    if (!jumped && exhausted) return page(entries, limit);
    if (!jumped) wanted *= 4;
  }
}

/** `limit` entries, and whether there are more (one more was read to know). */
function page(entries: VersionEntry<VersionRow>[], limit: number): VersionListing<VersionRow> {
  const truncated = entries.length > limit;
  const shown = entries.slice(0, limit);
  const last = shown[shown.length - 1];
  if (!truncated || !last) return { entries: shown, truncated: false, nextKeyMarker: null, nextVersionIdMarker: null };
  if (last.kind === 'prefix') return { entries: shown, truncated, nextKeyMarker: last.prefix, nextVersionIdMarker: null };
  return { entries: shown, truncated, nextKeyMarker: last.key, nextVersionIdMarker: versionIdOf(last.item) };
}

/** The bound after which the listing starts, in its one order. */
async function startAfter(store: MetadataStore, bucketId: string, options: VersionListOptions): Promise<Bound | undefined> {
  const { keyMarker: key, versionIdMarker: versionId } = options;
  if (key === '') return undefined;
  if (versionId === '') return { key: prefixUpperBound(versionsPrefix(key)) ?? versionsPrefix(key), inclusive: true };
  if (versionId !== NULL_VERSION_ID) return { key: noncurrentKey(key, versionId), inclusive: false };
  const current = await store.get(TABLES.objects, bucketId, key);
  if (current && !current.value.named) return { key: versionsPrefix(key), inclusive: false };
  const index = await store.get(TABLES.nullVersions, bucketId, key);
  return { key: index?.value.sk ?? versionsPrefix(key), inclusive: false };
}

/**
 * The next rows of both tables after `lower`, merged in the listing's order, as far as both are known: when a
 * table returned a full batch, nothing past its last row can be placed yet.
 */
async function readSideBySide(
  store: MetadataStore,
  bucketId: string,
  prefix: string,
  lower: Bound | undefined,
  batchSize: number,
): Promise<{ rows: Positioned[]; exhausted: boolean }> {
  // The current row of key X sorts as X + U+0001: from the key part of the bound on, then filtered.
  const keyLower = lower && { key: keyPartOf(lower.key), inclusive: true };
  const [currentRows, noncurrentRows] = await Promise.all([
    store.scan(TABLES.objects, bucketId, { prefix, lower: keyLower, limit: batchSize + 1, reverse: false }),
    store.scan(TABLES.versions, bucketId, { prefix, lower, limit: batchSize, reverse: false }),
  ]);
  const current = currentRows
    .map((row): Positioned => ({ at: versionsPrefix(row.sk), key: row.sk, version: row.value, isLatest: true }))
    .filter((row) => !lower || row.at > lower.key || (lower.inclusive && row.at === lower.key));
  const noncurrent = noncurrentRows.map((row): Positioned => ({ at: row.sk, key: keyOfNoncurrent(row.sk), version: row.value, isLatest: false }));
  const currentFull = currentRows.length > batchSize;
  const noncurrentFull = noncurrentRows.length >= batchSize;
  const known = [currentFull ? current[current.length - 1]?.at : undefined, noncurrentFull ? noncurrent[noncurrent.length - 1]?.at : undefined].filter(
    (at): at is string => at !== undefined,
  );
  const horizon = known.length > 0 ? known.reduce((a, b) => (a < b ? a : b)) : null;
  const rows = [...current, ...noncurrent].filter((row) => horizon === null || row.at <= horizon).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { rows, exhausted: !currentFull && !noncurrentFull };
}

/** The object key part of a position: up to its first control character (names hold none). */
function keyPartOf(position: string): string {
  for (let i = 0; i < position.length; i++) if (position.charCodeAt(i) < 0x20) return position.slice(0, i);
  return position;
}

function commonPrefixOf(name: string, prefix: string, delimiter: string): string | null {
  const index = name.indexOf(delimiter, prefix.length);
  return index < 0 ? null : name.slice(0, index + delimiter.length);
}
