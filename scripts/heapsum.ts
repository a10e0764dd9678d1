/**
 * A V8 heap snapshot (.heapsnapshot) summarised by constructor, as DevTools' Summary view groups it: count, self
 * size and retained size (the objects of the group that no other object of the group dominates, with all they
 * retain); with two snapshots, the second one's groups beside their size in the first. Parsing and the
 * dominator tree are DevTools' own code (heap-snapshot-toolkit).
 *
 *   node --import tsx scripts/heapsum.ts AFTER.heapsnapshot [--before BEFORE.heapsnapshot] [--top 25]
 *
 * Take a snapshot of a running server started with `--heapsnapshot-signal=SIGUSR2` by `kill -USR2 PID`
 * (bench/memory-probe.ts does it at idle, after the bench's load and after idling).
 */
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { DevToolsAPI, parse } from 'heap-snapshot-toolkit';

interface Group {
  name: string;
  count: number;
  self: number;
  retained: number;
}

interface Summary {
  statistics: { total: number; code: number; strings: number; jsArrays: number; system: number; native: number; typedArrays: number };
  groups: Map<string, Group>;
}

async function summarise(file: string): Promise<Summary> {
  const snapshot = await parse(createReadStream(file, 'utf8'));
  const stats = snapshot.getStatistics();
  const aggregates = snapshot.aggregatesWithFilter(new DevToolsAPI.HeapSnapshotModel.NodeFilter());
  const groups = new Map<string, Group>();
  for (const aggregate of Object.values(aggregates)) {
    const known = groups.get(aggregate.name);
    // DevTools keys classes by name and code position: two classes of one name add up here.
    if (known) {
      known.count += aggregate.count;
      known.self += aggregate.self;
      known.retained += aggregate.maxRet;
    } else {
      groups.set(aggregate.name, { name: aggregate.name, count: aggregate.count, self: aggregate.self, retained: aggregate.maxRet });
    }
  }
  return {
    statistics: { total: stats.total, code: stats.v8heap.code, strings: stats.v8heap.strings, jsArrays: stats.v8heap.jsArrays, system: stats.v8heap.system, native: stats.native.total, typedArrays: stats.native.typedArrays },
    groups,
  };
}

const KiB = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
const signed = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${(bytes / 1024).toFixed(0)}`;

function render(file: string, summary: Summary, top: number, before: Summary | null): string {
  const s = summary.statistics;
  const lines = [
    `${file}: total ${KiB(s.total)} (code ${KiB(s.code)}, strings ${KiB(s.strings)}, JS arrays ${KiB(s.jsArrays)}, system ${KiB(s.system)}; native ${KiB(s.native)}, of it typed arrays ${KiB(s.typedArrays)})`,
    '',
    `| constructor | count | self KiB | retained KiB |${before ? ' retained Δ KiB | count Δ |' : ''}`,
    `| --- | ---: | ---: | ---: |${before ? ' ---: | ---: |' : ''}`,
  ];
  const rows = [...summary.groups.values()].sort((a, b) => b.retained - a.retained).slice(0, top);
  for (const group of rows) {
    const old = before?.groups.get(group.name);
    const delta = before ? ` ${signed(group.retained - (old?.retained ?? 0))} | ${group.count - (old?.count ?? 0)} |` : '';
    lines.push(`| ${group.name.replaceAll('|', '\\|').slice(0, 60)} | ${group.count} | ${(group.self / 1024).toFixed(0)} | ${(group.retained / 1024).toFixed(0)} |${delta}`);
  }
  if (before) {
    const grown = [...summary.groups.values()]
      .map((g) => ({ name: g.name, delta: g.self - (before.groups.get(g.name)?.self ?? 0), count: g.count - (before.groups.get(g.name)?.count ?? 0) }))
      .sort((a, b) => b.delta - a.delta)
      .slice(0, top);
    lines.push('', 'self size grown most since the first snapshot:', '', '| constructor | self Δ KiB | count Δ |', '| --- | ---: | ---: |');
    for (const g of grown) lines.push(`| ${g.name.replaceAll('|', '\\|').slice(0, 60)} | ${signed(g.delta)} | ${g.count} |`);
  }
  return lines.join('\n');
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { before: { type: 'string' }, top: { type: 'string', default: '25' } } });
const [file] = positionals;
if (!file) {
  process.stderr.write('usage: node --import tsx scripts/heapsum.ts FILE.heapsnapshot [--before OTHER.heapsnapshot] [--top N]\n');
  process.exit(2);
}
const before = values.before ? await summarise(values.before) : null;
process.stdout.write(render(file, await summarise(file), Number(values.top), before) + '\n');
