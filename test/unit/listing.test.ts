/** core/listing.ts listEntries, driven by an in-memory ordered scan (a test double of MetadataStore.scanObjects). */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { listEntries, type ListEntry, type ListOptions } from '../../src/core/listing.ts';
import { prefixUpperBound } from '../../src/lib/key-order.ts';
import type { GroupedRange, ScanRange } from '../../src/store/meta/index.ts';
import { byteOrder, groupedReference } from '../contract/kv-store.contract.ts';


interface Scanner {
  scan: (range: ScanRange) => Promise<string[]>;
  calls: ScanRange[];
  /** Rows handed out over all calls. */
  rows: () => number;
}

function scannerOver(names: readonly string[]): Scanner {
  const sorted = [...names].sort(byteOrder);
  const calls: ScanRange[] = [];
  let rows = 0;
  const scan = async (range: ScanRange): Promise<string[]> => {
    calls.push(range);
    const matches = sorted.filter((name) => {
      if (!name.startsWith(range.prefix)) return false;
      if (range.lower) {
        const c = byteOrder(name, range.lower.key);
        if (range.lower.inclusive ? c < 0 : c <= 0) return false;
      }
      if (range.upper) {
        const c = byteOrder(name, range.upper.key);
        if (range.upper.inclusive ? c > 0 : c >= 0) return false;
      }
      return true;
    });
    const page = (range.reverse ? matches.reverse() : matches).slice(0, range.limit);
    rows += page.length;
    return page;
  };
  return { scan, calls, rows: () => rows };
}

/** Index of the first of `sorted` (ASCII names) not before `key`. */
function firstAtOrAfter(sorted: readonly string[], key: string): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? '') < key) low = middle + 1;
    else high = middle;
  }
  return low;
}

const defaults: ListOptions = { prefix: '', delimiter: '', marker: '', endMarker: '', limit: 10_000, reverse: false };

/** Lists step by step, and again through a grouped scan (as on PostgreSQL): both must give the same. */
async function list(names: readonly string[], options: Partial<ListOptions>): Promise<string[]> {
  const { scan } = scannerOver(names);
  const sorted = [...names].sort(byteOrder);
  const grouped = async (range: GroupedRange): Promise<ListEntry<string>[]> => groupedReference(sorted, range);
  const stepwise = (await listEntries({ scan }, (n) => n, { ...defaults, ...options })).map(render);
  const inOneScan = (await listEntries({ scan, grouped }, (n) => n, { ...defaults, ...options })).map(render);
  assert.deepEqual(inOneScan, stepwise, 'a grouped scan lists the same');
  return stepwise;
}

function render(entry: ListEntry<string>): string {
  return entry.kind === 'item' ? entry.item : `[${entry.prefix}]`;
}

const TREE = ['a', 'a/', 'a/b', 'a/b/c', 'a/c', 'a0', 'ab', 'b/x', 'b/y/z', 'c', 'd/', 'é/1', '😀/1', '\uffff/1'];

describe('listEntries', () => {
  test('no delimiter: every visible name in byte order', async () => {
    assert.deepEqual(await list(TREE, {}), [...TREE].sort(byteOrder));
    assert.deepEqual(await list(TREE, { prefix: 'a/' }), ['a/', 'a/b', 'a/b/c', 'a/c']);
    // Byte order puts U+FFFF before an emoji (UTF-16 order would not).
    assert.deepEqual((await list(TREE, {})).slice(-3), ['é/1', '\uffff/1', '😀/1']);
  });

  test('delimiter folds common prefixes', async () => {
    assert.deepEqual(await list(TREE, { delimiter: '/' }), ['a', '[a/]', 'a0', 'ab', '[b/]', 'c', '[d/]', '[é/]', '[\uffff/]', '[😀/]']);
    assert.deepEqual(await list(TREE, { delimiter: '/', prefix: 'a/' }), ['a/', 'a/b', '[a/b/]', 'a/c']);
    assert.deepEqual(await list(TREE, { delimiter: '/', prefix: 'b/' }), ['b/x', '[b/y/]']);
    assert.deepEqual(await list(TREE, { delimiter: '/', prefix: 'b' }), ['[b/]']);
  });

  test('delimiter skip-scan jumps past each common prefix instead of reading it', async () => {
    const names = [...Array.from({ length: 5000 }, (_, i) => `big/${String(i).padStart(5, '0')}`), 'x', 'y/1', 'y/2', 'z'];
    const scanner = scannerOver(names);
    const entries = await listEntries({ scan: scanner.scan }, (n) => n, { ...defaults, delimiter: '/' });
    assert.deepEqual(entries.map(render), ['[big/]', 'x', '[y/]', 'z']);
    assert.ok(scanner.rows() < 2100, `read ${scanner.rows()} rows; a skip-scan reads at most one batch per prefix`);
    assert.ok(
      scanner.calls.some((c) => c.lower?.key === prefixUpperBound('big/') && c.lower.inclusive),
      'jumps to the first name after the big/ prefix',
    );
  });

  test('marker and end_marker are exclusive', async () => {
    assert.deepEqual(await list(TREE, { marker: 'a/b' }), ['a/b/c', 'a/c', 'a0', 'ab', 'b/x', 'b/y/z', 'c', 'd/', 'é/1', '\uffff/1', '😀/1']);
    assert.deepEqual(await list(TREE, { marker: 'a/b', endMarker: 'ab' }), ['a/b/c', 'a/c', 'a0']);
    assert.deepEqual(await list(TREE, { endMarker: 'a/' }), ['a']);
    assert.deepEqual(await list(TREE, { marker: 'zzz', endMarker: 'a' }), []);
  });

  test('a marker equal to a subdir does not repeat it', async () => {
    assert.deepEqual(await list(TREE, { delimiter: '/', marker: 'a/' }), ['a0', 'ab', '[b/]', 'c', '[d/]', '[é/]', '[\uffff/]', '[😀/]']);
    assert.deepEqual(await list(TREE, { delimiter: '/', marker: 'b/' }), ['c', '[d/]', '[é/]', '[\uffff/]', '[😀/]']);
    // A marker inside a subdir lists that subdir again (Swift does the same).
    assert.deepEqual(await list(TREE, { delimiter: '/', marker: 'b/x' }), ['[b/]', 'c', '[d/]', '[é/]', '[\uffff/]', '[😀/]']);
  });

  test('end_marker with delimiter stops before the end marker', async () => {
    assert.deepEqual(await list(TREE, { delimiter: '/', endMarker: 'b/y' }), ['a', '[a/]', 'a0', 'ab', '[b/]']);
    assert.deepEqual(await list(TREE, { delimiter: '/', endMarker: 'b/' }), ['a', '[a/]', 'a0', 'ab']);
  });

  test('reverse, with and without delimiter and markers', async () => {
    const forward = [...TREE].sort(byteOrder);
    assert.deepEqual(await list(TREE, { reverse: true }), [...forward].reverse());
    assert.deepEqual(await list(TREE, { reverse: true, delimiter: '/' }), ['[😀/]', '[\uffff/]', '[é/]', '[d/]', 'c', '[b/]', 'ab', 'a0', '[a/]', 'a']);
    // In reverse, marker is the upper (exclusive) bound and end_marker the lower one.
    assert.deepEqual(await list(TREE, { reverse: true, marker: 'ab', endMarker: 'a/b' }), ['a0', 'a/c', 'a/b/c']);
    assert.deepEqual(await list(TREE, { reverse: true, delimiter: '/', marker: 'c' }), ['[b/]', 'ab', 'a0', '[a/]', 'a']);
    assert.deepEqual(await list(TREE, { reverse: true, delimiter: '/', prefix: 'a/' }), ['a/c', '[a/b/]', 'a/b', 'a/']);
    assert.deepEqual(await list(TREE, { reverse: true, delimiter: '/', limit: 3 }), ['[😀/]', '[\uffff/]', '[é/]']);
  });

  test('onlyItems (Swift path=) skips the common prefixes and the path itself, keeps directory markers', async () => {
    assert.deepEqual(await list(TREE, { delimiter: '/', prefix: 'a/', onlyItems: true }), ['a/b', 'a/c']);
    assert.deepEqual(await list(TREE, { delimiter: '/', onlyItems: true }), ['a', 'a/', 'a0', 'ab', 'c', 'd/']);
    assert.deepEqual(await list(TREE, { delimiter: '/', onlyItems: true, limit: 2 }), ['a', 'a/']);
    const marked = ['p/', 'p/a', 'p/d/', 'p/d/x', 'p/d/y/', 'p/e/z', 'p/f'];
    assert.deepEqual(await list(marked, { delimiter: '/', prefix: 'p/', onlyItems: true }), ['p/a', 'p/d/', 'p/f']);
    assert.deepEqual(await list(marked, { delimiter: '/', prefix: 'p/', onlyItems: true, reverse: true }), ['p/f', 'p/d/', 'p/a']);
  });

  test('limit is exact, counting prefixes, and across batch boundaries', async () => {
    const names = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    for (const limit of [0, 1, 999, 1000, 1001, 2000, 2499, 2500, 2600]) {
      const got = await list(names, { limit });
      assert.equal(got.length, Math.min(limit, 2500), `limit ${limit}`);
      assert.deepEqual(got, names.slice(0, limit));
    }
    assert.deepEqual(await list(names, { limit: 1500, reverse: true }), [...names].reverse().slice(0, 1500));
    assert.deepEqual(await list(TREE, { delimiter: '/', limit: 2 }), ['a', '[a/]']);
    assert.deepEqual(await list(TREE, { delimiter: '/', limit: 5 }), ['a', '[a/]', 'a0', 'ab', '[b/]']);
  });

  test('a long listing lets the event loop run between its scans, even when every scan completes at once', async () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `d${String(i).padStart(5, '0')}/f`);
    const scan = async (range: ScanRange): Promise<string[]> => {
      const busyUntil = performance.now() + 0.02;
      while (performance.now() < busyUntil);
      const from = range.lower ? firstAtOrAfter(names, range.lower.key) : 0;
      return names.slice(from, from + range.limit);
    };
    let timerRanDuringListing = false;
    let listing = true;
    const timer = setInterval(() => (timerRanDuringListing ||= listing), 1);
    const started = performance.now();
    const entries = await listEntries({ scan }, (n) => n, { ...defaults, delimiter: '/' });
    const took = performance.now() - started;
    listing = false;
    clearInterval(timer);
    assert.equal(entries.length, names.length);
    assert.ok(took > 50, `the listing took ${took.toFixed(0)} ms, long enough to need turns`);
    assert.ok(timerRanDuringListing, 'a timer ran while the listing went on');
  });

  test('a common prefix ending in the highest code point does not stop the listing early', async () => {
    const names = ['a\u{10ffff}/1', 'a\u{10ffff}/2', 'b'];
    assert.deepEqual(await list(names, { delimiter: '\u{10ffff}' }), ['[a\u{10ffff}]', 'b']);
    assert.deepEqual(await list(names, { delimiter: '/' }), ['[a\u{10ffff}/]', 'b']);
  });
});
