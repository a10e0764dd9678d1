/**
 * A transaction's buffered writes: applied together at commit, and read back by the transaction's own reads.
 * Each row keeps its final state and the condition of its first write (checked against the database at
 * commit); a condition on a row this transaction already wrote is checked at once, against the buffer.
 */
import { Conflict, type ScanRange, type Table, type WriteCondition } from '../index.ts';
import { compareKeys } from '../../../lib/key-order.ts';
import type { StoredValue } from './statements.ts';

export interface BufferedRow {
  table: Table<unknown>;
  pk: string;
  sk: string;
  /** The row after this transaction; null = deleted. */
  after: StoredValue | null;
  /** What the row must be in the database at commit, from this row's first write in the transaction. */
  condition: WriteCondition | undefined;
}

export class WriteBuffer {
  private readonly rows = new Map<string, BufferedRow>();
  /** The first condition that failed against the buffer; thrown at commit. */
  private failed: Conflict | undefined;

  get isEmpty(): boolean {
    return this.rows.size === 0 && this.failed === undefined;
  }

  get conflict(): Conflict | undefined {
    return this.failed;
  }

  lookup(table: Table<unknown>, pk: string, sk: string): BufferedRow | undefined {
    return this.rows.get(rowKey(table, pk, sk));
  }

  write(
    table: Table<unknown>,
    pk: string,
    sk: string,
    after: BufferedRow['after'],
    condition: WriteCondition | undefined,
  ): void {
    const key = rowKey(table, pk, sk);
    const earlier = this.rows.get(key);
    if (!earlier) {
      this.rows.set(key, { table, pk, sk, after, condition });
      return;
    }
    if (condition && !holds(condition, earlier.after)) this.failed ??= new Conflict(table.name, pk, sk);
    earlier.after = after;
  }

  /** The buffered rows of one partition that fall in `range` (bounds and prefix; not the limit). */
  inRange(table: Table<unknown>, pk: string, range: ScanRange): BufferedRow[] {
    return [...this.rows.values()].filter(
      (row) => row.table.name === table.name && row.pk === pk && inScanRange(row.sk, range),
    );
  }

  /** All rows, in key order, so that concurrent transactions touch rows in one order (fewer deadlocks). */
  ordered(): BufferedRow[] {
    return [...this.rows.values()].sort(
      (a, b) =>
        compareKeys(a.table.name, b.table.name) || compareKeys(a.pk, b.pk) || compareKeys(a.sk, b.sk),
    );
  }
}

export function rowKey(table: Table<unknown>, pk: string, sk: string): string {
  return JSON.stringify([table.name, pk, sk]);
}

function holds(condition: WriteCondition, row: BufferedRow['after']): boolean {
  return condition.ifVersion === null ? row === null : row !== null && row.version === condition.ifVersion;
}

export function inScanRange(sk: string, range: ScanRange): boolean {
  if (!sk.startsWith(range.prefix)) return false;
  if (range.lower && compareKeys(sk, range.lower.key) < (range.lower.inclusive ? 0 : 1)) return false;
  if (range.upper && compareKeys(sk, range.upper.key) > (range.upper.inclusive ? 0 : -1)) return false;
  return true;
}
