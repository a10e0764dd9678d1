/**
 * For each partition of a `liveUntil` table: a time before which none of its rows stops being live, as far as
 * this process knows. A live scan of a partition whose floor is later than its `liveAt` has nothing to step over,
 * so it runs as a plain scan (a windowed one costs a third more per statement, and a delimited listing makes one
 * per common prefix). A floor is never later than the truth: this process's writes lower it, anything else
 * clears it, and one found too low is read again from the index.
 */
import type { SqliteTable } from './kv-table.ts';

/** Partitions remembered at most (a few hundred KiB). */
const MAX_PARTITIONS = 10_000;

export class ExpiryFloors {
  /** null: no row of the partition has a `liveUntil`. */
  private readonly floors = new Map<string, number | null>();

  /** Whether the partition may hold rows that are not live at `liveAt`. */
  mayHoldExpired(table: SqliteTable, pk: string, liveAt: number): boolean {
    const key = partitionKey(table, pk);
    let floor = this.floors.get(key);
    if (floor === undefined || (floor !== null && floor <= liveAt)) {
      floor = table.earliestLiveUntil(pk);
      if (this.floors.size >= MAX_PARTITIONS) this.floors.clear();
      this.floors.set(key, floor);
    }
    return floor !== null && floor <= liveAt;
  }

  wrote(table: SqliteTable, pk: string, liveUntil: number | null): void {
    if (liveUntil === null) return;
    const key = partitionKey(table, pk);
    const floor = this.floors.get(key);
    if (floor === null || (floor !== undefined && liveUntil < floor)) this.floors.set(key, liveUntil);
  }

  clear(): void {
    this.floors.clear();
  }
}

/** Table names hold no '/': the first one ends the name. */
function partitionKey(table: SqliteTable, pk: string): string {
  return `${table.name}/${pk}`;
}
