/** How values are stored: JSON tables as JSON text (TEXT), bytes tables as BYTEA. Versions as BIGINT. */
import { randomInt } from 'node:crypto';
import { fromJsonText, toJsonText, type Table, type Version } from '../index.ts';

export type Encoded = string | Buffer;

/** Encodes a value for storage; the result no longer shares memory with `value`. */
export function encodeValue(table: Table<unknown>, value: unknown): Encoded {
  if (table.kind === 'bytes') {
    if (!(value instanceof Uint8Array)) throw new TypeError(`table ${table.name} holds bytes, got ${typeof value}`);
    return Buffer.from(value);
  }
  return toJsonText(table, value);
}

/** Decodes a stored value (from the database or from a transaction's buffer) into a fresh object. */
export function decodeValue<V>(table: Table<V>, stored: unknown): V {
  if (table.kind === 'bytes') {
    if (!(stored instanceof Uint8Array)) throw new TypeError(`table ${table.name}: stored value is not bytes`);
    return Buffer.from(stored) as V;
  }
  if (typeof stored !== 'string') throw new TypeError(`table ${table.name}: stored value is not JSON text`);
  return fromJsonText(table, stored);
}

/** BIGINT arrives as a string (node-postgres keeps 64-bit integers exact); ours fit in 53 bits. */
export function decodeVersion(stored: unknown): Version {
  return Number(stored);
}

/**
 * A fresh version: a random 53-bit integer (exact in a JS number and in BIGINT). Random rather than counted,
 * so several nodes need no shared counter and no sequence; a repeat for the same row is a 1-in-2^53 event.
 */
export function newVersion(): Version {
  return randomInt(2 ** 21) * 2 ** 32 + randomInt(2 ** 32);
}
