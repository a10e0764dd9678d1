/**
 * The bench's tables: every target per scenario, the A/B against a baseline build, S3 and the encrypted bucket
 * beside Swift and the plain bucket, and the goals (issues 21 and 20) met or their distance.
 */
import { BARE_S3, ONGGI_S3, ONGGI_S3_SIGNED, PART_BYTES, PART_QUEUE } from './s3.ts';
import type { Result, Scale } from './scenarios.ts';
import { sizeLabel } from './scenarios.ts';
import { ONGGI_ENCRYPTED } from './targets.ts';

/** Names of the targets in results. */
export const ONGGI = 'onggi';
export const ONGGI_PG = 'onggi-pg';
export const BASELINE = 'baseline';
/** Issue 8: the new build stays within 10 % of the previous one on these rows. */
const AB_TOLERANCE = 0.9;
/** Issue 18: S3 stays within 15 % of Swift on the same server. */
const S3_TOLERANCE = 0.85;
/** Issue 20: an encrypted bucket's large transfers at ≥ 0.8× the plain bucket's. */
const ENCRYPTED_GOAL = 0.8;
/** Issue 21's goals. */
const GOALS = { smallGet: 0.5, smallPut: 0.2, largePut: 0.9, largeGet: 0.9, peakRssMb: 150, idleRssDriftMb: 20 };

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
    { header: 'loader', cell: (s) => onggi(s)?.loader ?? '–' },
  ];
  if (all.some((r) => r.cpuMicrosPerOp !== undefined)) columns.push({ header: 'CPU µs/op', cell: (s) => f0(onggi(s)?.cpuMicrosPerOp) });
  /** `over`: the other target ÷ onggi (PostgreSQL, S3); else onggi ÷ the other (a baseline). */
  const versus = (target: string, label: string, ratioHeader: string, detail: boolean, over = false): void => {
    if (!ran.has(target)) return;
    const other = of(target);
    columns.push({ header: `${label} ops/s`, cell: (s) => rate(other(s)?.figures.opsPerSec) });
    if (detail) {
      columns.push({ header: `${label} p50 ms`, cell: (s) => f2(other(s)?.figures.p50Ms) });
      columns.push({ header: `${label} p99 ms`, cell: (s) => f2(other(s)?.figures.p99Ms) });
      columns.push({ header: `${label} peak RSS MiB`, cell: (s) => f0(other(s)?.peakRssMb) });
      columns.push({ header: `${label} errors`, cell: (s) => f0(other(s)?.figures.errors) });
    }
    columns.push({ header: ratioHeader, cell: (s) => f2(over ? ratio(other(s), onggi(s)) : ratio(onggi(s), other(s))) });
  };
  versus(ONGGI_PG, 'onggi-pg', 'pg ÷ sqlite', true, true);
  versus(BASELINE, 'baseline', 'new ÷ baseline', true);
  versus(ONGGI_S3, 's3', 's3 ÷ swift', false, true);
  versus(ONGGI_S3_SIGNED, 's3 signed', 's3 signed ÷ swift', false, true);
  versus(ONGGI_ENCRYPTED, 'encrypted', 'encrypted ÷ plain', false, true);
  versus('node:http', 'node:http', '×node:http', false);
  versus('swift', 'swift', '×swift', false);
  const scenarios = [...new Set(all.map((r) => r.scenario))].filter((s) => onggi(s));
  const s3Note = ran.has(ONGGI_S3) ? ['onggi: this build through Swift; s3: the same server through S3 (SigV4 header, UNSIGNED-PAYLOAD; signed: the body\'s SHA-256); see the S3 table'] : [];
  const encryptedNote = ran.has(ONGGI_ENCRYPTED) ? ['encrypted: the same server, a bucket with managed encryption on (AES-256-GCM); see the encrypted table'] : [];
  const loaders = [...new Set(all.map((r) => r.loader ?? 'undici'))];
  return [
    `disk ceiling (dd, fsync): ${diskMbPerSec.toFixed(0)} MB/s; MD5 on one core: ${md5MbPerSec.toFixed(0)} MB/s`,
    `load generators: ${loaders.join(', ')} (each row's in the loader column; ×node:http: the bare node:http server, same loader, same run)`,
    ...s3Note,
    ...encryptedNote,
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
    const { roundRatios, measured, middle } = pairedRounds(now, before, r);
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

/** Each round's ratio (the two runs of a round are back to back; null: a round with no work) and their median. */
function pairedRounds(now: Result, before: Result, overall: number): { roundRatios: (number | null)[]; measured: number[]; middle: number } {
  const roundRatios = now.rounds.map((ops, i) => {
    const base = before.rounds[i] ?? 0;
    return ops > 0 && base > 0 ? ops / base : null;
  });
  const measured = roundRatios.filter((x) => x !== null);
  return { roundRatios, measured, middle: measured.length > 0 ? middleOf(measured) : overall };
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

// --- S3 beside Swift on the same server -------------------------------------------------------

export interface S3Row {
  scenario: string;
  /** How the S3 requests were sent. */
  mode: string;
  swiftOpsPerSec: number;
  s3OpsPerSec: number;
  /** S3 ÷ Swift over the whole scenario (single-shot: of the medians). */
  ratio: number;
  roundRatios: (number | null)[];
  /** What the verdict goes by, as in the A/B. */
  medianRoundRatio: number;
  within15Percent: boolean;
  roundsAgree: boolean;
  /** The load generator's ceiling: node:http on its plain paths, and sent the same signed S3 requests. */
  bareOpsPerSec: number | null;
  bareS3OpsPerSec: number | null;
}

export function s3Rows(all: Result[], scale: Scale): S3Row[] {
  const partMiB = (scale.s3PartBytes ?? PART_BYTES) / 2 ** 20;
  const queue = scale.s3PartQueue ?? PART_QUEUE;
  const rows: S3Row[] = [];
  for (const scenario of new Set(all.map((r) => r.scenario))) {
    const swift = find(all, scenario, ONGGI);
    if (!swift) continue;
    for (const [target, payload] of [[ONGGI_S3, 'UNSIGNED-PAYLOAD'], [ONGGI_S3_SIGNED, 'signed payload']] as const) {
      const s3 = find(all, scenario, target);
      const r = ratio(s3, swift);
      if (!s3 || r === undefined) continue;
      const { roundRatios, measured, middle } = pairedRounds(s3, swift, r);
      const multipart = !scenario.includes('4KiB') && scenario.startsWith('PUT');
      rows.push({
        scenario,
        mode: multipart ? `multipart, ${partMiB} MiB parts, ${queue} at a time, ${payload}` : `SigV4 header, ${payload}`,
        swiftOpsPerSec: swift.figures.opsPerSec,
        s3OpsPerSec: s3.figures.opsPerSec,
        ratio: r,
        roundRatios,
        medianRoundRatio: middle,
        within15Percent: middle >= S3_TOLERANCE,
        roundsAgree: measured.every((x) => x >= S3_TOLERANCE) || measured.every((x) => x < S3_TOLERANCE),
        bareOpsPerSec: find(all, scenario, 'node:http')?.figures.opsPerSec ?? null,
        bareS3OpsPerSec: find(all, scenario, BARE_S3)?.figures.opsPerSec ?? null,
      });
    }
  }
  return rows;
}

export function renderS3(rows: S3Row[]): string {
  const within = rows.filter((r) => r.within15Percent);
  return [
    `S3 ÷ Swift on this build (onggi, SQLite), same run, interleaved; issue 18 wants ≥ ${S3_TOLERANCE.toFixed(2)} on each row`,
    '(verdict by the median of the rounds\' ratios, as in the A/B; node:http: the load generator\'s ceiling, plain and with the S3 requests)',
    '',
    '| scenario | S3 requests | swift ops/s | s3 ops/s | s3 ÷ swift | per round | median round | within 15 % | rounds agree | node:http ops/s | node:http S3 ops/s |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const rounds = r.roundRatios.map((x) => (x === null ? '–' : x.toFixed(2))).join(', ');
      const bare = (n: number | null): string => (n === null ? '–' : rate(n));
      return `| ${r.scenario} | ${r.mode} | ${rate(r.swiftOpsPerSec)} | ${rate(r.s3OpsPerSec)} | ${f2(r.ratio)} | ${rounds} | ${f2(r.medianRoundRatio)} | ${r.within15Percent ? 'yes' : 'no'} | ${r.roundsAgree ? 'yes' : 'no'} | ${bare(r.bareOpsPerSec)} | ${bare(r.bareS3OpsPerSec)} |`;
    }),
    '',
    `S3 rows within 15 % of Swift: ${within.length} of ${rows.length}`,
  ].join('\n') + '\n';
}

// --- the encrypted bucket beside the plain one (issue 20) -----------------------------------------

export interface EncryptedRow {
  scenario: string;
  plainOpsPerSec: number;
  encryptedOpsPerSec: number;
  plainMbPerSec: number;
  encryptedMbPerSec: number;
  ratio: number;
  roundRatios: (number | null)[];
  medianRoundRatio: number;
  /** Issue 20's goal (≥ 0.8×) on the large rows; null on the others. */
  met: boolean | null;
}

export function encryptedRows(all: Result[], scale: Scale): EncryptedRow[] {
  const large = sizeLabel(scale.largeBytes);
  const rows: EncryptedRow[] = [];
  for (const scenario of new Set(all.map((r) => r.scenario))) {
    const plain = find(all, scenario, ONGGI);
    const encrypted = find(all, scenario, ONGGI_ENCRYPTED);
    const r = ratio(encrypted, plain);
    if (!plain || !encrypted || r === undefined) continue;
    const { roundRatios, middle } = pairedRounds(encrypted, plain, r);
    const counted = scenario === `PUT ${large} c1` || scenario === `GET ${large} c1`;
    rows.push({
      scenario,
      plainOpsPerSec: plain.figures.opsPerSec,
      encryptedOpsPerSec: encrypted.figures.opsPerSec,
      plainMbPerSec: plain.figures.mbPerSec,
      encryptedMbPerSec: encrypted.figures.mbPerSec,
      ratio: r,
      roundRatios,
      medianRoundRatio: middle,
      met: counted ? middle >= ENCRYPTED_GOAL : null,
    });
  }
  return rows;
}

export function renderEncrypted(rows: EncryptedRow[]): string {
  return [
    `Encrypted bucket ÷ plain bucket on this build (onggi, SQLite, Swift API), same run, interleaved; issue 20 wants ≥ ${ENCRYPTED_GOAL.toFixed(2)} on the large rows`,
    '(verdict by the median of the rounds\' ratios; a large transfer\'s rounds are its repeats)',
    '',
    '| scenario | plain ops/s | plain MB/s | encrypted ops/s | encrypted MB/s | encrypted ÷ plain | per round | median round | issue 20 goal met |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const rounds = r.roundRatios.map((x) => (x === null ? '–' : x.toFixed(2))).join(', ');
      return `| ${r.scenario} | ${rate(r.plainOpsPerSec)} | ${f1(r.plainMbPerSec)} | ${rate(r.encryptedOpsPerSec)} | ${f1(r.encryptedMbPerSec)} | ${f2(r.ratio)} | ${rounds} | ${f2(r.medianRoundRatio)} | ${r.met === null ? '–' : r.met ? 'yes' : 'no'} |`;
    }),
  ].join('\n') + '\n';
}

// --- the goals ----------------------------------------------------------------------------------

export interface TargetCheck {
  target: string;
  measured: number;
  goal: string;
  met: boolean;
  /** How far from the goal, when not met (e.g. "needs 1.64×"). */
  distance?: string;
}

/** The RSS readings of this build's Onggi at idle: after its start, and after the run (and a pause). */
export interface IdleRss {
  startMb: number;
  endMb: number;
}

export function checkTargets(all: Result[], scale: Scale, diskMbPerSec: number, md5MbPerSec: number, idle?: IdleRss): TargetCheck[] {
  const ops = (scenario: string, target: string): number | undefined => find(all, scenario, target)?.figures.opsPerSec;
  const mb = (scenario: string, target: string): number | undefined => find(all, scenario, target)?.figures.mbPerSec;
  const checks: TargetCheck[] = [];
  const atLeast = (target: string, value: number | undefined, base: number | undefined, goal: number): void => {
    if (value === undefined || !base) return;
    const measured = value / base;
    const met = measured >= goal;
    checks.push({ target, measured, goal: `≥ ${goal}×`, met, ...(met ? {} : { distance: `needs ${(goal / measured).toFixed(2)}× this speed` }) });
  };
  const large = sizeLabel(scale.largeBytes);
  const top = Math.max(...scale.concurrencies);
  // Issue 21.
  atLeast(`issue 21: 4 KiB GET c${top} ÷ node:http`, ops(`GET 4KiB c${top}`, ONGGI), ops(`GET 4KiB c${top}`, 'node:http'), GOALS.smallGet);
  atLeast(`issue 21: 4 KiB PUT c${top} (durable) ÷ node:http`, ops(`PUT 4KiB c${top}`, ONGGI), ops(`PUT 4KiB c${top}`, 'node:http'), GOALS.smallPut);
  atLeast(`issue 21: ${large} PUT ÷ dd (fsync, same disk)`, mb(`PUT ${large} c1`, ONGGI), diskMbPerSec, GOALS.largePut);
  atLeast(`issue 21: ${large} GET ÷ node:http streaming the same bytes`, mb(`GET ${large} c1`, ONGGI), mb(`GET ${large} c1`, 'node:http'), GOALS.largeGet);
  const rows = all.filter((r) => r.target === ONGGI && r.peakRssMb !== undefined);
  const worst = rows.sort((a, b) => (b.peakRssMb ?? 0) - (a.peakRssMb ?? 0))[0];
  if (worst) {
    const peak = worst.peakRssMb ?? 0;
    const met = peak < GOALS.peakRssMb;
    checks.push({ target: `issue 21: peak RSS of Onggi, every scenario (MiB; highest: ${worst.scenario})`, measured: peak, goal: `< ${GOALS.peakRssMb}`, met, ...(met ? {} : { distance: `${(peak - GOALS.peakRssMb).toFixed(0)} MiB over; ${rows.filter((r) => (r.peakRssMb ?? 0) >= GOALS.peakRssMb).length} of ${rows.length} scenarios over` }) });
  }
  if (idle && idle.startMb > 0 && idle.endMb > 0) {
    const drift = idle.endMb - idle.startMb;
    const met = drift <= GOALS.idleRssDriftMb;
    checks.push({ target: `issue 21: RSS at idle after the run − at the start (MiB; ${idle.startMb.toFixed(0)} → ${idle.endMb.toFixed(0)})`, measured: drift, goal: `≤ ${GOALS.idleRssDriftMb}`, met, ...(met ? {} : { distance: `${(drift - GOALS.idleRssDriftMb).toFixed(0)} MiB over` }) });
  }
  // The load generator itself: its rate against the ceiling must stand well above Onggi's, else the loader is what a row measures.
  const ceiling = ops(`GET 4KiB c${top}`, 'node:http');
  const onggiGet = ops(`GET 4KiB c${top}`, ONGGI);
  if (ceiling && onggiGet) {
    const loader = find(all, `GET 4KiB c${top}`, 'node:http')?.loader ?? 'undici';
    const measured = ceiling / onggiGet;
    checks.push({ target: `the loader (${loader}): node:http GET 4KiB c${top} at ${ceiling.toFixed(0)}/s ÷ Onggi's`, measured, goal: '≥ 1.5×', met: measured >= 1.5, ...(measured >= 1.5 ? {} : { distance: 'the loader may be what limits these rows' }) });
  }
  // Issue 20.
  for (const row of encryptedRows(all, scale).filter((r) => r.met !== null)) {
    checks.push({ target: `issue 20: ${row.scenario} encrypted ÷ plain (median round)`, measured: row.medianRoundRatio, goal: `≥ ${ENCRYPTED_GOAL}×`, met: row.met === true, ...(row.met ? {} : { distance: `needs ${(ENCRYPTED_GOAL / row.medianRoundRatio).toFixed(2)}× this speed` }) });
  }
  // Earlier issues' targets.
  atLeast(`4 KiB PUT c${top} vs Swift`, ops(`PUT 4KiB c${top}`, ONGGI), ops(`PUT 4KiB c${top}`, 'swift'), 10);
  atLeast(`4 KiB GET c${top} vs Swift`, ops(`GET 4KiB c${top}`, ONGGI), ops(`GET 4KiB c${top}`, 'swift'), 10);
  // Not a goal: every PUT computes MD5 (the ETag), so one upload cannot outrun one core's MD5.
  atLeast(`${large} PUT vs min(dd, MD5 on one core)`, mb(`PUT ${large} c1`, ONGGI), Math.min(diskMbPerSec, md5MbPerSec), GOALS.largePut);
  const lowest = s3Rows(all, scale).sort((a, b) => a.medianRoundRatio - b.medianRoundRatio)[0];
  if (lowest) checks.push({ target: `S3 ÷ Swift, the lowest row (${lowest.scenario}, ${lowest.mode})`, measured: lowest.medianRoundRatio, goal: `≥ ${S3_TOLERANCE}×`, met: lowest.within15Percent });
  const pages = all.filter((r) => r.target === ONGGI && r.scenario.startsWith('LIST') && r.scenario.endsWith('delim'));
  const [small, big] = [pages[0]?.figures.opsPerSec, pages[1]?.figures.opsPerSec];
  if (small && big) checks.push({ target: `delimited page: ${pages[1]?.scenario ?? ''} vs ${pages[0]?.scenario ?? ''} (time ×)`, measured: small / big, goal: '≤ 2×', met: small / big <= 2 });
  return checks;
}

export function renderTargets(checks: TargetCheck[]): string {
  const lines = ['| target | measured | goal | met | distance |', '|---|---|---|---|---|'];
  for (const c of checks) lines.push(`| ${c.target} | ${c.measured.toFixed(2)} | ${c.goal} | ${c.met ? 'yes' : 'no'} | ${c.distance ?? '–'} |`);
  return lines.join('\n') + '\n';
}
