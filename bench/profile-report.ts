/**
 * Where a server's CPU went in one scenario of a bench run: reads the V8 CPU profile a run kept
 * (`npm run bench -- --cpu-profile --keep-profiles DIR`) and the run's results file, and prints microseconds per
 * operation by function — self time, then inclusive — within that scenario's measured windows. Comparing the
 * report of `onggi` with `baseline` shows where an A/B's difference lies.
 *
 *   node --import tsx bench/profile-report.ts RESULTS.json DIR TARGET 'GET 4KiB c16$' [--under FUNCTION] [--top N]
 *
 * `--under` keeps only the samples below a function (by name, a regular expression), e.g. what runs inside
 * `parserOnHeadersComplete` (the synchronous part of a request).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Window } from './cpu-profile.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface ScenarioResult {
  scenario: string;
  target: string;
  figures: { ops: number };
  windows: Window[];
  /** An S3 target's server (whose profile it is in). */
  server?: string;
}

const program = new Command()
  .argument('<results>', 'the results file of the run (bench/results/*.json or --out)')
  .argument('<profiles>', 'the directory given to --keep-profiles')
  .argument('<target>', 'onggi, baseline, onggi-pg, onggi-s3 or onggi-s3-signed')
  .argument('<scenario>', 'a regular expression of scenario names')
  .option('--under <function>', 'only samples below this function (a regular expression of its name)')
  .option('--top <n>', 'rows per table', Number, 30)
  .parse();
const [resultsFile = '', profilesDir = '', target = '', scenario = ''] = program.args;
const options = program.opts<{ under?: string; top: number }>();

const results = (JSON.parse(await readFile(resultsFile, 'utf8')) as { results: ScenarioResult[] }).results;
const chosen = results.filter((r) => r.target === target && new RegExp(scenario).test(r.scenario));
if (chosen.length === 0) throw new Error(`no result of ${target} matches ${scenario}`);
const windows = chosen.flatMap((r) => r.windows);
const ops = chosen.reduce((sum, r) => sum + r.figures.ops, 0);
const dir = join(profilesDir, chosen[0]?.server ?? target);
const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error(`no CPU profile in ${dir}`);
const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const under = options.under === undefined ? null : new RegExp(options.under);

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  at += delta;
  if (!windows.some(([start, end]) => at >= start && at <= end)) return;
  const stack = stackOf(id);
  if (stack.length === 0 || stack[0] === '(idle)') return;
  busy += delta;
  add(self, stack[0] ?? '?', delta);
  for (const frame of new Set(stack)) add(inclusive, frame, delta);
});

process.stdout.write(`${target}, ${chosen.map((r) => r.scenario).join(' + ')}: ${ops} operations, ${(busy / ops).toFixed(1)} µs busy per operation${under ? ` below ${options.under ?? ''}` : ''}\n`);
for (const [title, table] of [['self', self], ['inclusive', inclusive]] as const) {
  process.stdout.write(`\n${title} (µs per operation)\n`);
  for (const [frame, micros] of [...table].sort((a, b) => b[1] - a[1]).slice(0, options.top)) {
    process.stdout.write(`${(micros / ops).toFixed(1).padStart(8)}  ${frame}\n`);
  }
}

/** The sample's frames, innermost first; with --under, only those below the function (empty when not below it). */
function stackOf(id: number): string[] {
  const frames: string[] = [];
  for (let node = byId.get(id); node; node = byId.get(parentOf.get(node.id) ?? -1)) {
    if (under?.test(node.callFrame.functionName)) return frames;
    frames.push(describe(node));
  }
  return under ? [] : frames;
}

function describe(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName;
  return `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
}

function add(table: Map<string, number>, key: string, micros: number): void {
  table.set(key, (table.get(key) ?? 0) + micros);
}
