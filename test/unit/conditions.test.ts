/** core/conditions.ts: Range resolution (RFC 9110 §14) and conditional reads (RFC 9110 §13.2.2 order). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkReadConditions, etagListMatches, lastModifiedSeconds, resolveRanges, unquote, type ReadConditions } from '../../src/core/conditions.ts';
import { isOnggiError, type ErrorCode } from '../../src/core/errors.ts';
import type { ObjectRecord } from '../../src/core/types.ts';
import { codeOf } from '../helpers/errors.ts';

describe('resolveRanges', () => {
  const size = 100;
  const table: [string | undefined, number, ReturnType<typeof resolveRanges> | 'InvalidRange'][] = [
    [undefined, size, null],
    ['bytes=0-9', size, [{ start: 0, end: 9 }]],
    ['bytes=0-0', size, [{ start: 0, end: 0 }]],
    ['bytes=99-99', size, [{ start: 99, end: 99 }]],
    ['bytes=90-200', size, [{ start: 90, end: 99 }]],
    ['bytes=50-', size, [{ start: 50, end: 99 }]],
    ['bytes=0-', size, [{ start: 0, end: 99 }]],
    // suffix ranges
    ['bytes=-10', size, [{ start: 90, end: 99 }]],
    ['bytes=-100', size, [{ start: 0, end: 99 }]],
    ['bytes=-1000', size, [{ start: 0, end: 99 }]],
    ['bytes=-0', size, 'InvalidRange'],
    // multiple; unsatisfiable members are dropped
    [
      'bytes=0-1,-1',
      size,
      [
        { start: 0, end: 1 },
        { start: 99, end: 99 },
      ],
    ],
    ['bytes=0-9, 20-29 ,200-300', size, [
      { start: 0, end: 9 },
      { start: 20, end: 29 },
    ]],
    ['bytes=100-,200-300', size, 'InvalidRange'],
    // unsatisfiable
    ['bytes=100-', size, 'InvalidRange'],
    ['bytes=100-200', size, 'InvalidRange'],
    // case and spaces around the unit
    ['BYTES=1-2', size, [{ start: 1, end: 2 }]],
    ['bytes = 1-2', size, [{ start: 1, end: 2 }]],
    // syntax errors: ignore the header, send everything
    ['bytes=5-2', size, null],
    ['bytes=', size, null],
    ['bytes=-', size, null],
    ['bytes=a-b', size, null],
    ['bytes=1-2-3', size, null],
    ['bytes=0-1,', size, null],
    ['bytes=1.5-2', size, null],
    ['items=0-1', size, null],
    ['0-1', size, null],
    ['bytes=0-1;x', size, null],
    // more than 50 satisfiable ranges: refused, as Swift does
    [`bytes=${Array.from({ length: 51 }, (_, i) => `${i}-${i}`).join(',')}`, size, 'InvalidRange'],
    // overlapping ranges are coalesced, in ascending order: no byte is sent twice
    [`bytes=${Array.from({ length: 50 }, () => '0-').join(',')}`, size, [{ start: 0, end: 99 }]],
    ['bytes=0-9,5-14', size, [{ start: 0, end: 14 }]],
    ['bytes=50-59,0-9,55-', size, [
      { start: 0, end: 9 },
      { start: 50, end: 99 },
    ]],
    ['bytes=-10,95-', size, [{ start: 90, end: 99 }]],
    // touching but not overlapping: kept apart
    ['bytes=0-9,10-19', size, [
      { start: 0, end: 9 },
      { start: 10, end: 19 },
    ]],
    // out of order: kept in the order asked, up to Swift's limit of 8
    ['bytes=20-29,0-9', size, [
      { start: 20, end: 29 },
      { start: 0, end: 9 },
    ]],
    [`bytes=${[7, 6, 5, 4, 3, 2, 1, 0].map((i) => `${i * 10}-${i * 10}`).join(',')}`, size, 'InvalidRange'],
    // an empty object: ranges do not apply
    ['bytes=0-0', 0, null],
    ['bytes=-5', 0, null],
    ['bytes=10-', 0, null],
  ];
  for (const [header, objectSize, expected] of table) {
    test(`${String(header)} of ${objectSize}`, () => {
      if (expected === 'InvalidRange') {
        assert.equal(codeOf(() => resolveRanges(header, objectSize)), 'InvalidRange');
        try {
          resolveRanges(header, objectSize);
        } catch (err) {
          assert.ok(isOnggiError(err) && err.code === 'InvalidRange');
          assert.equal(err.detail.size, objectSize, 'the size goes into Content-Range: bytes */size');
        }
      } else {
        assert.deepEqual(resolveRanges(header, objectSize), expected);
      }
    });
  }

  test('50 disjoint ranges are still honoured', () => {
    const header = `bytes=${Array.from({ length: 50 }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`;
    assert.equal(resolveRanges(header, size)?.length, 50);
  });

  test('7 ranges out of order are honoured in the order asked', () => {
    const header = `bytes=${[6, 5, 4, 3, 2, 1, 0].map((i) => `${i * 10}-${i * 10}`).join(',')}`;
    assert.deepEqual(resolveRanges(header, size)?.map((r) => r.start), [60, 50, 40, 30, 20, 10, 0]);
  });
});

describe('checkReadConditions', () => {
  const record: ObjectRecord = {
    bucket: 'b',
    key: 'k',
    versionId: 'v1',
    size: 1,
    etag: 'abc123',
    contentType: 'text/plain',
    // 12:00:00.400 UTC; HTTP sees 12:00:01 (rounded up).
    lastModified: Date.UTC(2024, 0, 1, 12, 0, 0, 400),
    meta: {},
    headers: {},
    deleteAt: null,
  };
  const at = (seconds: number): string => new Date(Date.UTC(2024, 0, 1, 12, 0, seconds)).toUTCString();

  test('Last-Modified rounds up to whole seconds', () => {
    assert.equal(lastModifiedSeconds(record), Date.UTC(2024, 0, 1, 12, 0, 1) / 1000);
  });

  const table: [string, ReadConditions, ErrorCode | 'ok'][] = [
    ['no conditions', {}, 'ok'],
    ['If-Match matches', { ifMatch: '"abc123"' }, 'ok'],
    ['If-Match unquoted matches', { ifMatch: 'abc123' }, 'ok'],
    ['If-Match in a list', { ifMatch: '"x", "abc123"' }, 'ok'],
    ['If-Match *', { ifMatch: '*' }, 'ok'],
    ['If-Match weak matches', { ifMatch: 'W/"abc123"' }, 'ok'],
    ['If-Match differs', { ifMatch: '"nope"' }, 'PreconditionFailed'],
    ['If-None-Match matches', { ifNoneMatch: '"abc123"' }, 'NotModified'],
    ['If-None-Match *', { ifNoneMatch: '*' }, 'NotModified'],
    ['If-None-Match differs', { ifNoneMatch: '"nope"' }, 'ok'],
    ['If-Modified-Since same second', { ifModifiedSince: at(1) }, 'NotModified'],
    ['If-Modified-Since later', { ifModifiedSince: at(30) }, 'NotModified'],
    ['If-Modified-Since earlier', { ifModifiedSince: at(0) }, 'ok'],
    ['If-Modified-Since invalid date is ignored', { ifModifiedSince: 'yesterday' }, 'ok'],
    ['If-Unmodified-Since same second', { ifUnmodifiedSince: at(1) }, 'ok'],
    ['If-Unmodified-Since earlier', { ifUnmodifiedSince: at(0) }, 'PreconditionFailed'],
    ['If-Unmodified-Since invalid date is ignored', { ifUnmodifiedSince: 'garbage' }, 'ok'],
    // Precedence: If-Match overrides If-Unmodified-Since; If-None-Match overrides If-Modified-Since.
    ['If-Match ok beats failing If-Unmodified-Since', { ifMatch: '"abc123"', ifUnmodifiedSince: at(0) }, 'ok'],
    ['If-None-Match differs beats matching If-Modified-Since', { ifNoneMatch: '"nope"', ifModifiedSince: at(30) }, 'ok'],
    ['If-None-Match matches beats stale If-Modified-Since', { ifNoneMatch: '"abc123"', ifModifiedSince: at(0) }, 'NotModified'],
    // Order: the 412 checks come before the 304 checks.
    ['failing If-Match wins over matching If-None-Match', { ifMatch: '"nope"', ifNoneMatch: '"abc123"' }, 'PreconditionFailed'],
    ['failing If-Unmodified-Since wins over If-Modified-Since', { ifUnmodifiedSince: at(0), ifModifiedSince: at(30) }, 'PreconditionFailed'],
    ['passing If-Match then matching If-None-Match', { ifMatch: '"abc123"', ifNoneMatch: '"abc123"' }, 'NotModified'],
  ];
  for (const [name, conditions, expected] of table) {
    test(name, () => {
      assert.equal(
        codeOf(() => {
          checkReadConditions(record, conditions);
        }),
        expected,
      );
    });
  }

  test('the failure carries the record (for 304 headers)', () => {
    try {
      checkReadConditions(record, { ifNoneMatch: '*' });
      assert.fail('expected NotModified');
    } catch (err) {
      assert.ok(isOnggiError(err) && err.code === 'NotModified');
      assert.equal(err.detail.record, record);
    }
  });
});

describe('etag helpers', () => {
  test('etagListMatches and unquote', () => {
    assert.equal(etagListMatches('"a" , "b"', 'b'), true);
    assert.equal(etagListMatches('"a"', 'b'), false);
    assert.equal(etagListMatches('', 'b'), false);
    assert.equal(unquote('"x"'), 'x');
    assert.equal(unquote('"'), '"');
    assert.equal(unquote('x'), 'x');
  });
});
