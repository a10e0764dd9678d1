/**
 * Data written by an earlier Onggi still reads, and writing goes on: this server started on a data directory and
 * on a PostgreSQL database that the object model v2 build (main of 2026-12-03, 4ebb7bf) wrote through its APIs —
 * test/fixtures/upgrade/, made by scripts/make-upgrade-fixture.ts; what they hold is test/helpers/upgrade-sample.ts.
 */
import { execFileSync } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDatabase, pgBinDir } from '../helpers/postgres.ts';
import { makeTempDir, onPostgres, removeDir, startServer } from '../helpers/server.ts';
import { checkSample } from '../helpers/upgrade-sample.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'upgrade');
// This file starts its servers on each store itself; the PostgreSQL pass of the suite has nothing to add.
const once = onPostgres ? { skip: 'runs both stores in the first pass' } : {};

for (const fixture of ['v2-2026-12-03']) {
  test(`${fixture}: an SQLite data directory`, once, async () => {
    const dataDir = await makeTempDir();
    await cp(join(fixtures, fixture, 'sqlite'), dataDir, { recursive: true });
    const server = await startServer({ dataDir });
    try {
      await checkSample(server.url);
    } finally {
      await server.stop();
      await removeDir(dataDir);
    }
  });

  test(`${fixture}: a PostgreSQL database and its blob directory`, once, async () => {
    const url = await createDatabase();
    execFileSync(join(await pgBinDir(), 'psql'), ['--quiet', '--no-psqlrc', '--set', 'ON_ERROR_STOP=1', '--file', join(fixtures, fixture, 'postgres', 'dump.sql'), url], { stdio: ['ignore', 'ignore', 'inherit'] });
    const dataDir = await makeTempDir();
    await cp(join(fixtures, fixture, 'postgres', 'blob-dir'), dataDir, { recursive: true });
    const server = await startServer({ dataDir, env: { ONGGI_METADATA_URL: url } });
    try {
      await checkSample(server.url);
    } finally {
      await server.stop();
      await removeDir(dataDir);
    }
  });
}
