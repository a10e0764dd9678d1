/** HTTP conditional-request and Range semantics (RFC 9110), shared by every front end. */
import { fail } from './errors.ts';
import type { ObjectRecord } from './types.ts';

export interface ReadConditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
  ifModifiedSince?: string | undefined;
  ifUnmodifiedSince?: string | undefined;
}

export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Swift's limits on multi-range requests (swob.Range.ranges_for_length): more satisfiable ranges than this, or at
 * least MAX_NONASCENDING_RANGES of them out of ascending order, are refused with 416.
 */
export const MAX_RANGES = 50;
export const MAX_NONASCENDING_RANGES = 8;

/** Throws PreconditionFailed (412) or NotModified (304), carrying the object, when a condition says so. */
export function checkReadConditions(record: ObjectRecord, conditions: ReadConditions): void {
  const lastModified = lastModifiedSeconds(record) * 1000;
  if (conditions.ifMatch !== undefined) {
    if (!etagListMatches(conditions.ifMatch, record.etag)) fail('PreconditionFailed', 'If-Match failed', { record });
  } else if (conditions.ifUnmodifiedSince !== undefined) {
    const since = Date.parse(conditions.ifUnmodifiedSince);
    if (!Number.isNaN(since) && lastModified > since) fail('PreconditionFailed', 'If-Unmodified-Since failed', { record });
  }
  if (conditions.ifNoneMatch !== undefined) {
    if (etagListMatches(conditions.ifNoneMatch, record.etag)) fail('NotModified', 'Not modified', { record });
  } else if (conditions.ifModifiedSince !== undefined) {
    const since = Date.parse(conditions.ifModifiedSince);
    if (!Number.isNaN(since) && lastModified <= since) fail('NotModified', 'Not modified', { record });
  }
}

/** Last-Modified as HTTP sends it: whole seconds, rounded up so it is never earlier than the write. */
export function lastModifiedSeconds(record: ObjectRecord): number {
  return Math.ceil(record.lastModified / 1000);
}

export function etagListMatches(header: string, etag: string): boolean {
  return header.split(',').some((candidate) => {
    const value = candidate.trim().replace(/^W\//, '');
    return value === '*' || unquote(value) === etag;
  });
}

export function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/**
 * Resolves a Range header against an object size: null means "send the whole object"
 * (no header, a syntax error, or an empty object); InvalidRange (416) when nothing is satisfiable, or when the
 * request is egregious by Swift's rules (RFC 9110 §14.2 lets a server reject those).
 *
 * Overlapping ranges are coalesced (RFC 9110 §14.2 allows it; Swift instead refuses more than two overlaps):
 * the parts then come in ascending order and no byte is ever sent twice, so a multi-range response is never
 * longer than the object plus its part headers.
 */
export function resolveRanges(header: string | undefined, size: number, etag?: string): ByteRange[] | null {
  if (header === undefined || size === 0) return null;
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match?.[1]) return null;
  const ranges: ByteRange[] = [];
  for (const spec of match[1].split(',')) {
    const parsed = /^(\d*)-(\d*)$/.exec(spec.trim());
    if (!parsed) return null;
    const [, first = '', last = ''] = parsed;
    if (first === '' && last === '') return null;
    if (first === '') {
      const suffix = Number(last);
      if (suffix > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) return null;
    if (start < size) ranges.push({ start, end });
  }
  if (ranges.length === 0) fail('InvalidRange', 'Requested range not satisfiable', { size, etag });
  if (ranges.length > MAX_RANGES) fail('InvalidRange', `More than ${MAX_RANGES} ranges`, { size, etag });
  if (overlapping(ranges)) return coalesce(ranges);
  if (ranges.length >= MAX_NONASCENDING_RANGES && !ascending(ranges)) {
    fail('InvalidRange', `${MAX_NONASCENDING_RANGES} or more ranges out of order`, { size, etag });
  }
  return ranges;
}

function byStart(a: ByteRange, b: ByteRange): number {
  return a.start - b.start;
}

function ascending(ranges: readonly ByteRange[]): boolean {
  return ranges.every((range, i) => i === 0 || (ranges[i - 1]?.start ?? 0) <= range.start);
}

function overlapping(ranges: readonly ByteRange[]): boolean {
  const sorted = [...ranges].sort(byStart);
  return sorted.some((range, i) => i > 0 && range.start <= (sorted[i - 1]?.end ?? -1));
}

/** Merges ranges that share a byte, in ascending order. */
function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const merged: ByteRange[] = [];
  for (const range of [...ranges].sort(byStart)) {
    const last = merged[merged.length - 1];
    if (last && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}
