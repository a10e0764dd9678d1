/**
 * What a transaction's work read from the database (not from its own buffered writes), to be validated at
 * commit: each row as it was seen (its version, or absent), and each scan's rows and versions.
 */
import type { ScanRange, Table, Version, WriteCondition } from '../index.ts';
import { rowKey } from './write-buffer.ts';

export interface SeenScan {
  table: Table<unknown>;
  pk: string;
  range: ScanRange;
  /** The limit the query ran with (the caller's, plus room for the transaction's own writes). */
  limit: number;
  /** `[sk, version]` of every row returned, as JSON. */
  seen: string;
}

export class ReadSet {
  /** Each row as first seen, in the form of the condition that says "still as seen". */
  private readonly rows = new Map<string, { table: Table<unknown>; pk: string; sk: string; seen: WriteCondition }>();
  readonly scans: SeenScan[] = [];

  get isEmpty(): boolean {
    return this.rows.size === 0 && this.scans.length === 0;
  }

  noteRow(table: Table<unknown>, pk: string, sk: string, version: Version | null): void {
    const key = rowKey(table, pk, sk);
    if (!this.rows.has(key)) this.rows.set(key, { table, pk, sk, seen: { ifVersion: version } });
  }

  noteScan(table: Table<unknown>, pk: string, range: ScanRange, limit: number, rows: { sk: string; ver: string }[]) {
    this.scans.push({ table, pk, range, limit, seen: describeScan(rows) });
  }

  /** How work saw a row before it first wrote it (reads after a write come from the write buffer). */
  seen(table: Table<unknown>, pk: string, sk: string): WriteCondition | undefined {
    return this.rows.get(rowKey(table, pk, sk))?.seen;
  }

  allRows(): { table: Table<unknown>; pk: string; sk: string; seen: WriteCondition }[] {
    return [...this.rows.values()];
  }
}

export function describeScan(rows: { sk: string; ver: string }[]): string {
  return JSON.stringify(rows.map((row) => [row.sk, row.ver]));
}

export function sameCondition(a: WriteCondition, b: WriteCondition): boolean {
  return a.ifVersion === b.ifVersion;
}
