/**
 * A tiny run of `npm run bench --postgres`: every scenario runs against Onggi on SQLite, Onggi on a private
 * PostgreSQL and the node:http baseline, the S3 rows against the same Onggi through S3 and the encrypted-bucket rows
 * in a bucket with managed encryption, with no errors; the small rows through wrk and ab when installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { haveAb, haveWrk } from '../../bench/wrk.ts';
import { makeTempDir, removeDir } from '../helpers/server.ts';

const exec = promisify(execFile);
const projectRoot = join(import.meta.dirname, '..', '..');

interface Report {
  results: { scenario: string; target: string; figures: { ops: number; errors: number; opsPerSec: number; p99Ms: number }; cpuMicrosPerOp?: number; peakRssMb?: number; loader?: string }[];
  idleRss: { startMb: number; endMb: number };
  encrypted: { scenario: string; ratio: number }[];
}

test('the bench runs end to end in quick mode, on SQLite and PostgreSQL, and reports every scenario', { timeout: 300_000 }, async () => {
  const out = await makeTempDir('onggi-bench-smoke-');
  try {
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'run.ts'), '--quick', '--no-swift', '--source', '--postgres', '--cpu-profile', '--out', out], {
      cwd: projectRoot,
      maxBuffer: 10 * 1024 * 1024,
    });
    assert.match(stdout, /\| PUT 4KiB c1 \|/);
    assert.match(stdout, /\| onggi-pg ops\/s \|.*\| pg ÷ sqlite \|/, 'PostgreSQL beside SQLite');
    assert.match(stdout, /\| target \| measured \| goal \| met \|/, 'the targets table');
    assert.match(stdout, /MD5 on one core: \d+ MB\/s/);
    assert.match(stdout, /\| CPU µs\/op \|/, 'CPU time per operation (--cpu-profile)');
    assert.match(stdout, /\| s3 ops\/s \| s3 ÷ swift \| s3 signed ops\/s \| s3 signed ÷ swift \|/, 'S3 beside Swift');
    assert.match(stdout, /S3 ÷ Swift on this build/, 'the S3 table');
    assert.match(stdout, /Encrypted bucket ÷ plain bucket/, 'the encrypted table');
    assert.match(stdout, /\| encrypted ops\/s \| encrypted ÷ plain \|/, 'encrypted beside plain');
    for (const goal of [/issue 21: 4 KiB GET c4 ÷ node:http/, /issue 21: 4 KiB PUT c4 \(durable\) ÷ node:http/, /issue 21: 4MiB PUT ÷ dd/, /issue 21: 4MiB GET ÷ node:http streaming/, /issue 21: peak RSS of Onggi, every scenario/, /issue 21: RSS at idle after the run/, /the loader \(\w+\): node:http GET 4KiB c4 at \d+\/s/, /issue 20: PUT 4MiB c1 encrypted ÷ plain/, /issue 20: GET 4MiB c1 encrypted ÷ plain/]) {
      assert.match(stdout, goal, 'a goal of issue 21 or 20');
    }
    const [file] = await readdir(out);
    assert.ok(file, 'a results file');
    const report = JSON.parse(await readFile(join(out, file), 'utf8')) as Report;
    for (const target of ['onggi', 'onggi-pg']) {
      const ran = report.results.filter((r) => r.target === target);
      const scenarios = new Set(ran.map((r) => r.scenario.replace(/ c\d+$/, '').replace(/\d+ keys/, 'N keys')));
      for (const expected of ['PUT 4KiB', 'GET 4KiB', 'HEAD 4KiB', 'DELETE 4KiB', 'PUT 1MiB', 'GET 1MiB', 'PUT 4MiB', 'GET 4MiB', 'MIXED 60/30/10', 'LIST N keys', 'LIST N keys delim']) {
        assert.ok(scenarios.has(expected), `${target}: scenario ${expected} in ${[...scenarios].join(', ')}`);
      }
    }
    const s3Scenarios = (target: string): string[] => report.results.filter((r) => r.target === target).map((r) => r.scenario);
    for (const target of ['onggi-s3', 'onggi-s3-signed', 'node:http-s3']) {
      for (const c of [1, 4]) {
        for (const op of ['PUT', 'GET']) assert.ok(s3Scenarios(target).includes(`${op} 4KiB c${c}`), `${target}: ${op} 4KiB c${c}`);
      }
    }
    for (const target of ['onggi-s3', 'node:http-s3']) assert.ok(s3Scenarios(target).includes('PUT 4MiB c1'), `${target}: the multipart upload`);
    assert.deepEqual(s3Scenarios('onggi-enc'), ['PUT 4KiB c1', 'GET 4KiB c1', 'PUT 4KiB c4', 'GET 4KiB c4', 'PUT 4MiB c1', 'GET 4MiB c1'], 'the encrypted bucket in its rows');
    assert.equal(report.encrypted.length, 6, 'encrypted ÷ plain per row');
    assert.ok(report.idleRss.startMb > 0 && report.idleRss.endMb > 0, 'RSS at idle before and after');
    if (haveWrk() && haveAb()) {
      const loaderOf = (scenario: string): string | undefined => report.results.find((r) => r.target === 'onggi' && r.scenario === scenario)?.loader;
      for (const scenario of ['PUT 4KiB c4', 'GET 4KiB c4', 'DELETE 4KiB c4', 'GET 1MiB c16']) assert.equal(loaderOf(scenario), 'wrk', scenario);
      assert.equal(loaderOf('HEAD 4KiB c4'), 'ab');
      assert.equal(loaderOf('PUT 1MiB c16'), 'undici');
    }
    assert.ok(!report.results.some((r) => r.target.includes('s3') && /HEAD|DELETE|MIXED|LIST|1MiB/.test(r.scenario)), 'S3 only in its rows');
    for (const result of report.results) {
      assert.equal(result.figures.errors, 0, `${result.target} ${result.scenario} had errors`);
      assert.ok(result.figures.ops > 0 && result.figures.opsPerSec > 0, `${result.target} ${result.scenario} did some work`);
      assert.ok(result.figures.p99Ms > 0, `${result.target} ${result.scenario}: a p99 latency`);
      if (result.target.startsWith('onggi')) assert.ok((result.peakRssMb ?? 0) > 0, `${result.target} ${result.scenario}: the server's peak RSS`);
      if (result.target.startsWith('onggi')) assert.ok((result.cpuMicrosPerOp ?? 0) > 0, `${result.target} ${result.scenario}: CPU time per operation from its profile`);
    }
    assert.ok(report.results.some((r) => r.target === 'node:http' && r.scenario === 'GET 4KiB c1'), 'the node:http baseline ran');
  } finally {
    await removeDir(out);
  }
});
