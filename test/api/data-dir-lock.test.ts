/** One server per data directory; a lock left by a killed server is taken over. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { login, startServer } from '../helpers/server.ts';

test('a second server on the same data directory refuses to start; after kill -9 the next one takes over', { timeout: 120_000 }, async () => {
  const first = await startServer();
  try {
    await assert.rejects(startServer({ dataDir: first.dataDir }), /Another Onggi server \(pid \d+\) is using/);
    await login(first.url);
    await first.kill9();
    const second = await startServer({ dataDir: first.dataDir });
    try {
      await login(second.url);
    } finally {
      await second.stop();
    }
    const third = await startServer({ dataDir: first.dataDir });
    await third.stop();
  } finally {
    await first.destroy();
  }
});
