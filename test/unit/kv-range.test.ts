/** Key order and range folding used by SqliteKvStore's transactions, against UTF-8 byte comparison. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareKeys } from '../../src/lib/key-order.ts';
import { resolveBounds, withinBounds } from '../../src/store/meta/sqlite/kv-range.ts';
import { RowCache } from '../../src/store/meta/sqlite/row-cache.ts';

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Characters from every UTF-8 length class, around the surrogate gap, and ones that are prefixes of others. */
const ALPHABET = ['', 'a', 'b', '/', '\u0001', '\u007f', '\u0080', 'é', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\ufffd', '\uffff', '😀', '\u{10000}', '\u{10ffff}'];

function randomKey(): string {
  let key = '';
  const length = Math.floor(Math.random() * 4);
  for (let i = 0; i < length; i++) key += ALPHABET[Math.floor(Math.random() * ALPHABET.length)] ?? '';
  return key;
}

test('compareKeys orders like UTF-8 bytes, unlike UTF-16 code units', () => {
  assert.ok(compareKeys('\uffff', '😀') < 0);
  assert.ok('\uffff' > '😀', 'JavaScript alone gets this one wrong');
  for (let i = 0; i < 20_000; i++) {
    const a = randomKey();
    const b = randomKey();
    assert.equal(Math.sign(compareKeys(a, b)), Math.sign(byteOrder(a, b)), JSON.stringify([a, b]));
  }
});

test('a prefix folded into bounds selects exactly the keys a reference filter selects', () => {
  const keys = Array.from({ length: 400 }, randomKey);
  for (let i = 0; i < 3_000; i++) {
    const prefix = Math.random() < 0.5 ? '' : randomKey();
    const lower = Math.random() < 0.5 ? undefined : { key: randomKey(), inclusive: Math.random() < 0.5 };
    const upper = Math.random() < 0.5 ? undefined : { key: randomKey(), inclusive: Math.random() < 0.5 };
    const bounds = resolveBounds({ prefix, lower, upper, limit: 10, reverse: false });
    for (const key of keys) {
      const expected =
        key.startsWith(prefix) &&
        (!lower || byteOrder(key, lower.key) > 0 || (lower.inclusive && key === lower.key)) &&
        (!upper || byteOrder(key, upper.key) < 0 || (upper.inclusive && key === upper.key));
      assert.equal(withinBounds(key, bounds), expected, JSON.stringify({ key, prefix, lower, upper }));
    }
  }
});

test('a bad limit is refused', () => {
  assert.throws(() => resolveBounds({ prefix: '', limit: -1, reverse: false }), RangeError);
  assert.throws(() => resolveBounds({ prefix: '', limit: 1.5, reverse: false }), RangeError);
});

test('the row cache keeps within its bounds, oldest out first, and forgets dropped keys', () => {
  const cache = new RowCache(100, 10_000);
  for (let i = 0; i < 1_000; i++) cache.remember(`k${i}`, { value: i, version: i + 1 }, 50);
  assert.equal(cache.get('k0'), undefined);
  assert.deepEqual(cache.get('k999')?.row, { value: 999, version: 1000 });
  let held = 0;
  for (let i = 0; i < 1_000; i++) if (cache.get(`k${i}`)) held++;
  assert.ok(held <= 100 && held >= 80, `${held} entries held`);
  for (let i = 0; i < 50; i++) cache.remember(`big${i}`, null, 1_000);
  let bytes = 0;
  for (let i = 0; i < 50; i++) if (cache.get(`big${i}`)) bytes += 1_000;
  assert.ok(bytes <= 10_000);
  assert.equal(cache.get('big49')?.row, null, 'a known-missing row is cached as such');
  cache.drop('big49');
  assert.equal(cache.get('big49'), undefined);
  cache.remember('huge', null, 5_000);
  assert.equal(cache.get('huge'), undefined, 'a row over an eighth of the budget is not cached');
});
