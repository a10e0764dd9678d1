/** lib/key-order.ts prefixUpperBound: the exclusive upper bound of a prefix range, in code point (= UTF-8 byte) order. */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { prefixUpperBound } from '../../src/lib/key-order.ts';

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

test('table', () => {
  const table: [string, string | null][] = [
    ['', null],
    ['a', 'b'],
    ['a/', 'a0'],
    ['abc', 'abd'],
    ['z', '{'],
    ['\u007f', '\u0080'],
    ['é', 'ê'],
    ['\ud7ff', '\ue000'],
    ['x\ud7ff', 'x\ue000'],
    ['\uffff', '\u{10000}'],
    ['😀', '😁'],
    ['a\u{10ffff}', 'b'],
    ['a\u{10ffff}\u{10ffff}', 'b'],
    ['\u{10ffff}', null],
    ['\u{10ffff}\u{10ffff}', null],
  ];
  for (const [prefix, expected] of table) assert.equal(prefixUpperBound(prefix), expected, JSON.stringify(prefix));
});

test('every string with the prefix sorts below the bound; the bound and beyond do not start with it', () => {
  const alphabet = ['a', 'b', '/', '0', 'é', '\ud7ff', '\ue000', '\uffff', '😀', '\u{10ffff}', '\u{10000}'];
  const word = (length: number): string => Array.from({ length }, () => alphabet[randomInt(alphabet.length)] ?? 'a').join('');
  for (let i = 0; i < 2000; i++) {
    const prefix = word(1 + randomInt(3));
    const other = word(randomInt(6));
    const upper = prefixUpperBound(prefix);
    const candidate = prefix + other;
    if (upper === null) {
      assert.ok(Array.from(prefix).every((c) => c === '\u{10ffff}'));
      continue;
    }
    assert.ok(byteOrder(candidate, upper) < 0, `${JSON.stringify(candidate)} < ${JSON.stringify(upper)}`);
    assert.ok(byteOrder(prefix, upper) < 0);
    if (byteOrder(other, upper) >= 0) assert.ok(!other.startsWith(prefix));
    assert.ok(!upper.startsWith(prefix));
  }
});
