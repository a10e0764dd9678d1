/** Runs every *.test.ts under test/ with node's test runner (Node 20's --test does not expand globs). */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { ADMIN_URL_ENV, startPgCluster } from './helpers/postgres.ts';

const root = import.meta.dirname;
const only = process.argv.slice(2);

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'helpers' ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = findTests(root)
  .filter((file) => only.length === 0 || only.some((filter) => relative(root, file).includes(filter)))
  .sort();

// One private PostgreSQL for the whole run, when a selected file uses it or every server runs on it
// (ONGGI_TEST_METADATA=postgres, see helpers/server.ts); test files take fresh databases from it.
const needsPostgres = process.env.ONGGI_TEST_METADATA === 'postgres' || files.some((file) => readFileSync(file, 'utf8').includes('helpers/postgres'));
const postgres = needsPostgres && !process.env[ADMIN_URL_ENV] ? await startPgCluster() : undefined;
if (postgres) process.env[ADMIN_URL_ENV] = postgres.adminUrl;

const stream = run({ files, concurrency: 2, timeout: 10 * 60 * 1000 });
/** Each failure in one line at the end of the output (where CI logs are read), with its error and cause. */
const failures: string[] = [];
interface FailEvent {
  name: string;
  file?: string;
  todo?: string | boolean;
  skip?: string | boolean;
  details: { error: Error & { failureType?: string } };
}
stream.on('test:fail', (event: FailEvent) => {
  if (event.todo !== undefined || event.skip !== undefined) return;
  process.exitCode = 1;
  const { error } = event.details;
  if (error.failureType === 'cancelledByParent') return;
  const cause = error.cause instanceof Error ? error.cause.message : error.message;
  failures.push(`# FAILED ${relative(root, event.file ?? '?')}: ${event.name}: ${error.failureType ?? ''} ${cause}`.replace(/\s*\n\s*/g, ' ⏎ ').slice(0, 2000));
});
if (process.stdout.isTTY) await pipeline(stream, new spec(), process.stdout);
else {
  const report = stream.compose<Readable>(tap);
  report.pipe(process.stdout);
  await finished(report);
}
for (const line of failures) console.log(line);
await postgres?.stop();
