/** HTTP dates (RFC 9110's IMF-fixdate) of whole seconds, as Last-Modified and Expires carry them. */
import { lastModifiedSeconds } from '../core/conditions.ts';
import type { ObjectRecord } from '../core/types.ts';

/** The last date written: a hot object is read over and over, and formatting a date costs more than this check. */
let last = { seconds: Number.NaN, text: '' };

export function httpDate(seconds: number): string {
  if (seconds !== last.seconds) last = { seconds, text: new Date(seconds * 1000).toUTCString() };
  return last.text;
}

/** An object's Last-Modified: its time rounded up to the second, as its conditional requests compare it. */
export function lastModifiedHeader(record: ObjectRecord): string {
  return httpDate(lastModifiedSeconds(record));
}
