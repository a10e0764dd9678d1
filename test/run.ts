/** Runs every *.test.ts under test/ with node's test runner (Node 20's --test does not expand globs). */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

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

const stream = run({ files, concurrency: 2, timeout: 10 * 60 * 1000 });
stream.on('test:fail', (event: { todo?: string | boolean; skip?: string | boolean }) => {
  if (event.todo === undefined && event.skip === undefined) process.exitCode = 1;
});
if (process.stdout.isTTY) await pipeline(stream, new spec(), process.stdout);
else stream.compose<Readable>(tap).pipe(process.stdout);
