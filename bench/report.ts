/** The bench's tables: every target per scenario, the A/B against a baseline build, and issue 4's targets. */
import type { Result, Scale } from './scenarios.ts';
import { sizeLabel } from './scenarios.ts';

/** Names of the targets in results. */
export const ONGGI = 'onggi';
export const ONGGI_PG = 'onggi-pg';
export const BASELINE = 'baseline';
/** Issue 8: the new build stays within 10 % of the previous one on these rows. */
const AB_TOLERANCE = 0.9;

function find(all: Result[], scenario: string, target: string): Result | undefined {
  return all.find((r) => r.scenario === scenario && r.target === target);
}

function ratio(value: Result | undefined, base: Result | undefined): number | undefined {
  return value && base && base.figures.opsPerSec > 0 ? value.figures.opsPerSec / base.figures.opsPerSec : undefined;
}

const fixed = (digits: number) => (n: number | undefined): string => (n === undefined ? '–' : n.toFixed(digits));
const [f0, f1, f2] = [fixed(0), fixed(1), fixed(2)];
/** ops/s: whole numbers, but a single large transfer (under 10/s) keeps two decimals. */
const rate = (n: number | undefined): string => (n !== undefined && n < 10 ? n.toFixed(2) : f0(n));

interface Column {
  header: string;
  cell(scenario: string): string;
}

/** Onggi on SQLite with its figures; beside it Onggi on PostgreSQL, the baseline build, node:http and Swift when they ran. */
export function renderTable(all: Result[], diskMbPerSec: number, md5MbPerSec: number): string {
  const ran = new Set(all.map((r) => r.target));
  const of = (target: string) => (scenario: string): Result | undefined => find(all, scenario, target);
  const onggi = of(ONGGI);
  const columns: Column[] = [
    { header: 'onggi ops/s', cell: (s) => rate(onggi(s)?.figures.opsPerSec) },
    { header: 'MB/s', cell: (s) => f1(onggi(s)?.figures.mbPerSec) },
    { header: 'p50 ms', cell: (s) => f2(onggi(s)?.figures.p50Ms) },
    { header: 'p99 ms', cell: (s) => f2(onggi(s)?.figures.p99Ms) },
    { header: 'peak RSS MiB', cell: (s) => f0(onggi(s)?.peakRssMb) },
    { header: 'errors', cell: (s) => f0(onggi(s)?.figures.errors) },
  ];
  if (all.some((r) => r.cpuMicrosPerOp !== undefined)) columns.push({ header: 'CPU µs/op', cell: (s) => f0(onggi(s)?.cpuMicrosPerOp) });
  const versus = (target: string, label: string, ratioHeader: string, detail: boolean): void => {
    if (!ran.has(target)) return;
    const other = of(target);
    columns.push({ header: `${label} ops/s`, cell: (s) => rate(other(s)?.figures.opsPerSec) });
    if (detail) {
      columns.push({ header: `${label} p50 ms`, cell: (s) => f2(other(s)?.figures.p50Ms) });
      columns.push({ header: `${label} errors`, cell: (s) => f0(other(s)?.figures.errors) });
    }
    columns.push({ header: ratioHeader, cell: (s) => f2(target === ONGGI_PG ? ratio(other(s), onggi(s)) : ratio(onggi(s), other(s))) });
  };
  versus(ONGGI_PG, 'onggi-pg', 'pg ÷ sqlite', true);
  versus(BASELINE, 'baseline', 'new ÷ baseline', true);
  versus('node:http', 'node:http', '×node:http', false);
  versus('swift', 'swift', '×swift', false);
  const scenarios = [...new Set(all.map((r) => r.scenario))].filter((s) => onggi(s));
  return [
    `disk ceiling (dd, fsync): ${diskMbPerSec.toFixed(0)} MB/s; MD5 on one core: ${md5MbPerSec.toFixed(0)} MB/s`,
    '',
    `| scenario | ${columns.map((c) => c.header).join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...scenarios.map((s) => `| ${s} | ${columns.map((c) => c.cell(s)).join(' | ')} |`),
  ].join('\n') + '\n';
}

// --- the A/B against a baseline build ---------------------------------------------------------

export interface AbRow {
  scenario: string;
  newOpsPerSec: number;
  baselineOpsPerSec: number;
  /** new ÷ baseline over the whole scenario (single-shot: of the medians). */
  ratio: number;
  /** new ÷ baseline of each round, the two runs of a round back to back (null: a round with no work). */
  roundRatios: (number | null)[];
  /** The median of the rounds' ratios: what the verdict goes by, as one disturbed round cannot move it. */
  medianRoundRatio: number;
  /** baseline ÷ new CPU time per operation (higher is better, as the ops/s ratio), with --cpu-profile. */
  cpuRatio: number | null;
  /** One of issue 8's rows (4 KiB at every concurrency, the large object). */
  issue8: boolean;
  /** medianRoundRatio ≥ 0.90 (issue 8 rows only). */
  within10Percent: boolean | null;
  /** Every round on the same side of 0.90: false means this run's noise is larger than the question. */
  roundsAgree: boolean;
}

export function abRows(all: Result[], scale: Scale): AbRow[] {
  const large = sizeLabel(scale.largeBytes);
  const issue8 = new Set([
    ...scale.concurrencies.flatMap((c) => ['PUT', 'GET', 'HEAD', 'DELETE'].map((op) => `${op} 4KiB c${c}`)),
    `PUT ${large} c1`,
    `GET ${large} c1`,
  ]);
  const rows: AbRow[] = [];
  for (const scenario of new Set(all.map((r) => r.scenario))) {
    const now = find(all, scenario, ONGGI);
    const before = find(all, scenario, BASELINE);
    const r = ratio(now, before);
    if (!now || !before || r === undefined) continue;
    const roundRatios = now.rounds.map((ops, i) => {
      const base = before.rounds[i] ?? 0;
      return ops > 0 && base > 0 ? ops / base : null;
    });
    const measured = roundRatios.filter((x) => x !== null);
    const middle = measured.length > 0 ? middleOf(measured) : r;
    const counted = issue8.has(scenario);
    rows.push({
      scenario,
      newOpsPerSec: now.figures.opsPerSec,
      baselineOpsPerSec: before.figures.opsPerSec,
      ratio: r,
      roundRatios,
      medianRoundRatio: middle,
      cpuRatio: now.cpuMicrosPerOp && before.cpuMicrosPerOp ? before.cpuMicrosPerOp / now.cpuMicrosPerOp : null,
      issue8: counted,
      within10Percent: counted ? middle >= AB_TOLERANCE : null,
      roundsAgree: measured.every((x) => x >= AB_TOLERANCE) || measured.every((x) => x < AB_TOLERANCE),
    });
  }
  return rows;
}

/** The median; of an even count, the mean of the two middle values (no bias toward the better one). */
function middleOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const upper = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[upper] ?? 0) : ((sorted[upper - 1] ?? 0) + (sorted[upper] ?? 0)) / 2;
}

export function renderAb(rows: AbRow[], baselineLabel: string): string {
  const issue8 = rows.filter((r) => r.issue8);
  const within = issue8.filter((r) => r.within10Percent);
  const clear = issue8.filter((r) => r.roundsAgree);
  return [
    `A/B: this build (onggi, SQLite) ÷ ${baselineLabel}, same run, interleaved; issue 8 wants ≥ ${AB_TOLERANCE.toFixed(2)} on its rows`,
    '(verdict by the median of the rounds\' ratios; "rounds agree": every round on the same side of 0.90;',
    '"CPU": baseline ÷ new server CPU time per operation, with --cpu-profile)',
    '',
    '| scenario | new ops/s | baseline ops/s | new ÷ baseline | per round | median round | issue 8: within 10 % | rounds agree | CPU |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const verdict = r.within10Percent === null ? '–' : r.within10Percent ? 'yes' : 'no';
      const rounds = r.roundRatios.map((x) => (x === null ? '–' : x.toFixed(2))).join(', ');
      return `| ${r.scenario} | ${rate(r.newOpsPerSec)} | ${rate(r.baselineOpsPerSec)} | ${f2(r.ratio)} | ${rounds} | ${f2(r.medianRoundRatio)} | ${verdict} | ${r.roundsAgree ? 'yes' : 'no'} | ${r.cpuRatio === null ? '–' : f2(r.cpuRatio)} |`;
    }),
    '',
    `issue 8 rows within 10 %: ${within.length} of ${issue8.length}; rows whose rounds all agree: ${clear.length} of ${issue8.length}`,
  ].join('\n') + '\n';
}

// --- issue 4's targets ------------------------------------------------------------------------

export interface TargetCheck {
  target: string;
  measured: number;
  goal: string;
  met: boolean;
}

export function checkTargets(all: Result[], scale: Scale, diskMbPerSec: number, md5MbPerSec: number): TargetCheck[] {
  const ops = (scenario: string, target: string): number | undefined => find(all, scenario, target)?.figures.opsPerSec;
  const mb = (scenario: string, target: string): number | undefined => find(all, scenario, target)?.figures.mbPerSec;
  const checks: TargetCheck[] = [];
  const atLeast = (target: string, value: number | undefined, base: number | undefined, goal: number): void => {
    if (value !== undefined && base) checks.push({ target, measured: value / base, goal: `≥ ${goal}×`, met: value / base >= goal });
  };
  const large = sizeLabel(scale.largeBytes);
  atLeast('4 KiB PUT c64 vs node:http', ops('PUT 4KiB c64', ONGGI), ops('PUT 4KiB c64', 'node:http'), 0.2);
  atLeast('4 KiB PUT c64 vs Swift', ops('PUT 4KiB c64', ONGGI), ops('PUT 4KiB c64', 'swift'), 10);
  atLeast('4 KiB GET c64 vs node:http', ops('GET 4KiB c64', ONGGI), ops('GET 4KiB c64', 'node:http'), 0.5);
  atLeast('4 KiB GET c64 vs Swift', ops('GET 4KiB c64', ONGGI), ops('GET 4KiB c64', 'swift'), 10);
  atLeast(`${large} PUT vs dd (fsync)`, mb(`PUT ${large} c1`, ONGGI), diskMbPerSec, 0.8);
  // Not one of the issue's targets: every PUT computes MD5 (the ETag), so one upload cannot outrun one core's MD5.
  atLeast(`${large} PUT vs min(dd, MD5 on one core)`, mb(`PUT ${large} c1`, ONGGI), Math.min(diskMbPerSec, md5MbPerSec), 0.8);
  atLeast(`${large} GET vs node:http`, mb(`GET ${large} c1`, ONGGI), mb(`GET ${large} c1`, 'node:http'), 0.8);
  const peak = Math.max(...all.filter((r) => r.target === ONGGI).map((r) => r.peakRssMb ?? 0));
  checks.push({ target: 'peak RSS of Onggi (MiB)', measured: peak, goal: '< 150', met: peak < 150 });
  const pages = all.filter((r) => r.target === ONGGI && r.scenario.startsWith('LIST') && r.scenario.endsWith('delim'));
  const [small, big] = [pages[0]?.figures.opsPerSec, pages[1]?.figures.opsPerSec];
  if (small && big) checks.push({ target: `delimited page: ${pages[1]?.scenario ?? ''} vs ${pages[0]?.scenario ?? ''} (time ×)`, measured: small / big, goal: '≤ 2×', met: small / big <= 2 });
  return checks;
}

export function renderTargets(checks: TargetCheck[]): string {
  const lines = ['| target | measured | goal | met |', '|---|---|---|---|'];
  for (const c of checks) lines.push(`| ${c.target} | ${c.measured.toFixed(2)} | ${c.goal} | ${c.met ? 'yes' : 'no'} |`);
  return lines.join('\n') + '\n';
}
