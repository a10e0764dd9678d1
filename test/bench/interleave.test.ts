/** The A/B machinery of `npm run bench`: targets take turns per round, and issue 8's verdict per row. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abRows } from '../../bench/report.ts';
import { Arena, type Result, type Scale } from '../../bench/scenarios.ts';
import { startBare, type Contender } from '../../bench/targets.ts';

const scale: Scale = { seconds: 0.4, rounds: 2, largeRepeats: 3, concurrencies: [1], largeBytes: 4 * 2 ** 20, listingDirs: 1, listingFilesPerDir: 1, mixedSeedKeys: 1 };

async function namedBare(name: string): Promise<Contender> {
  const bare = await startBare();
  return { ...bare, target: { ...bare.target, name } };
}

test('a timed scenario runs in rounds, the targets taking turns in flipped order, and merges the rounds', { timeout: 60_000 }, async () => {
  const contenders = [await namedBare('a'), await namedBare('b')];
  const arena = new Arena(contenders, scale);
  try {
    const turns: string[] = [];
    await arena.timed('PUT 4KiB c1', 1, (target) => () => {
      if (turns.at(-1) !== target.name) turns.push(target.name);
      return { method: 'PUT', path: target.objectPath('k'), body: Buffer.alloc(16), bytes: 16 };
    });
    assert.deepEqual(turns, ['a', 'b', 'a'], 'a b | b a: b runs twice in a row across the round boundary');
    assert.equal(arena.results.length, 2);
    for (const result of arena.results) {
      assert.equal(result.rounds.length, 2);
      assert.ok(result.rounds.every((ops) => ops > 0), `${result.target} did work in each round`);
      assert.ok(result.figures.seconds >= 0.35 && result.figures.seconds < 1, `${result.target}: the rounds' time adds up to --seconds`);
    }
  } finally {
    arena.stop();
    for (const c of contenders) await c.spawned.stop();
  }
});

function result(scenario: string, target: string, rounds: number[]): Result {
  const opsPerSec = rounds.reduce((a, b) => a + b, 0) / rounds.length;
  return { scenario, target, rounds, load1: 0, windows: [], figures: { ops: 1, errors: 0, seconds: 1, opsPerSec, mbPerSec: 0, p50Ms: 0, p99Ms: 0 } };
}

test('the A/B rows: new ÷ baseline per scenario and round, a verdict on issue 8 rows only', () => {
  const results = [
    result('PUT 4KiB c1', 'onggi', [95, 91]),
    result('PUT 4KiB c1', 'baseline', [100, 100]),
    result('GET 4KiB c1', 'onggi', [80, 90, 95]),
    result('GET 4KiB c1', 'baseline', [100, 100, 100]),
    result('DELETE 4KiB c1', 'onggi', [50, 0]),
    result('DELETE 4KiB c1', 'baseline', [40, 30]),
    result('PUT 4MiB c1', 'onggi', [3]),
    result('PUT 4MiB c1', 'baseline', [2]),
    result('MIXED 60/30/10 c64', 'onggi', [10]),
    result('MIXED 60/30/10 c64', 'baseline', [100]),
    result('PUT 4KiB c1', 'onggi-pg', [1]),
  ];
  const rows = new Map(abRows(results, scale).map((r) => [r.scenario, r]));
  assert.deepEqual([...rows.keys()], ['PUT 4KiB c1', 'GET 4KiB c1', 'DELETE 4KiB c1', 'PUT 4MiB c1', 'MIXED 60/30/10 c64']);
  assert.equal(rows.get('PUT 4KiB c1')?.within10Percent, true, '0.93 is within 10 %');
  assert.deepEqual(rows.get('PUT 4KiB c1')?.roundRatios, [0.95, 0.91]);
  assert.equal(rows.get('PUT 4KiB c1')?.roundsAgree, true);
  assert.equal(rows.get('PUT 4KiB c1')?.medianRoundRatio.toFixed(2), '0.93', 'of an even count, the mean of the middle two');
  assert.equal(rows.get('GET 4KiB c1')?.medianRoundRatio, 0.9, 'the median of 0.80, 0.90, 0.95');
  assert.equal(rows.get('GET 4KiB c1')?.within10Percent, true, 'by the median round, not the 0.88 of the totals');
  assert.equal(rows.get('GET 4KiB c1')?.roundsAgree, false, 'one round below 0.90');
  assert.deepEqual(rows.get('DELETE 4KiB c1')?.roundRatios, [1.25, null], 'a round without work has no ratio');
  assert.equal(rows.get('DELETE 4KiB c1')?.within10Percent, true);
  assert.equal(rows.get('PUT 4MiB c1')?.within10Percent, true, 'faster is within');
  assert.equal(rows.get('MIXED 60/30/10 c64')?.issue8, false);
  assert.equal(rows.get('MIXED 60/30/10 c64')?.within10Percent, null, 'no verdict outside issue 8 rows');
});
