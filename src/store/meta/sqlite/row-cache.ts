/**
 * Recently read rows (decoded), and rows recently found missing, bounded by count and by an estimate of their
 * size; the oldest entry goes first. Sound only while this process is the only writer of the data and drops
 * every written key synchronously with the write (SqliteKvStore does both).
 */
import type { Row } from '../index.ts';
import type { Encoded } from './kv-table.ts';

interface CachedRow {
  /** null: the row is known not to exist. */
  readonly row: Row<unknown> | null;
  readonly size: number;
  /** The row's attachment (null: none), when it was read with it; undefined: not read. */
  readonly attachment?: Buffer | null;
}

/** Rough bytes a cached row holds: the map entry and key, plus its value (decoded JSON takes more than its text). */
export function cachedSize(key: string, encoded: Encoded | null, attachment: Buffer | null = null): number {
  const base = 96 + 2 * key.length + (attachment?.length ?? 0);
  if (encoded === null) return base;
  return base + (typeof encoded === 'string' ? 3 * encoded.length : encoded.length);
}

export class RowCache {
  private readonly entries = new Map<string, CachedRow>();
  private bytes = 0;
  /** Keys missed recently, once (see `admits`). */
  private readonly missedOnce = new Set<string>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    /** How many recent misses `admits` remembers. */
    private readonly missWindow = 256,
  ) {}

  get(key: string): CachedRow | undefined {
    return this.entries.get(key);
  }

  /**
   * Whether a missed row with KiB of attachment is worth keeping: only when it was missed once already within the
   * last `missWindow` misses. A row read again only after more misses than the cache holds such rows would be
   * evicted before that read anyway; caching it only churns memory (each one promoted to V8's old space, then
   * dropped: major collections). Random reads over many keys so never enter; rows read again soon do.
   */
  admits(key: string): boolean {
    if (this.missedOnce.delete(key)) return true;
    if (this.missedOnce.size >= this.missWindow) this.missedOnce.clear();
    this.missedOnce.add(key);
    return false;
  }

  remember(key: string, row: Row<unknown> | null, size: number, attachment?: Buffer | null): void {
    // One large row must not push out many small hot ones.
    if (size > this.maxBytes / 8) return;
    this.drop(key);
    if (this.entries.size >= this.maxEntries || this.bytes + size > this.maxBytes) this.evict(size);
    this.entries.set(key, attachment === undefined ? { row, size } : { row, size, attachment });
    this.bytes += size;
  }

  /**
   * Drops the oldest tenth at once: a Map keeps deleted entries as holes until it rehashes, so walking it from
   * the start for every single eviction would step over ever more holes.
   */
  private evict(incoming: number): void {
    const entries = this.maxEntries * 0.9;
    const bytes = this.maxBytes * 0.9 - incoming;
    for (const [oldest, evicted] of this.entries) {
      if (this.entries.size <= entries && this.bytes <= bytes) break;
      this.entries.delete(oldest);
      this.bytes -= evicted.size;
    }
  }

  drop(key: string): void {
    const cached = this.entries.get(key);
    if (cached) {
      this.entries.delete(key);
      this.bytes -= cached.size;
    }
  }

  clear(): void {
    this.entries.clear();
    this.missedOnce.clear();
    this.bytes = 0;
  }
}
