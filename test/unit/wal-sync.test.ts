/** WalSync: concurrent requests share syncs, and none resolves on a sync that began before it was made. */
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { WalSync } from '../../src/store/meta/sqlite/wal-sync.ts';
import { makeTempDir, removeDir } from '../helpers/server.ts';

/** Counts the datasync calls of every file handle, and makes each take `delayMs`. */
async function instrumentDatasync(sample: string, delayMs: number): Promise<{ started: number[]; finished: number[]; restore: () => void }> {
  const handle = await open(sample, 'r');
  const proto = Object.getPrototypeOf(handle) as { datasync: () => Promise<void> };
  await handle.close();
  const original = proto.datasync;
  const started: number[] = [];
  const finished: number[] = [];
  proto.datasync = async function (this: unknown): Promise<void> {
    started.push(performance.now());
    await sleep(delayMs);
    await original.call(this);
    finished.push(performance.now());
  };
  return { started, finished, restore: () => (proto.datasync = original) };
}

test('requests made while a sync runs wait for the next one, and share it', async () => {
  const dir = await makeTempDir('onggi-wal-sync-');
  const wal = join(dir, 'meta.sqlite-wal');
  await writeFile(wal, 'frames');
  const spy = await instrumentDatasync(wal, 30);
  const sync = new WalSync(wal);
  try {
    const first = sync.request();
    await sleep(5);
    const laterMadeAt = performance.now();
    const later = Array.from({ length: 10 }, () => sync.request().then(() => performance.now()));
    await first;
    const resolvedAt = await Promise.all(later);
    assert.equal(spy.started.length, 2, 'one sync for the first request, one shared by the ten made during it');
    const secondStart = spy.started[1] ?? 0;
    assert.ok(secondStart >= laterMadeAt, 'the second sync began after the later requests were made');
    for (const at of resolvedAt) assert.ok(at >= (spy.finished[1] ?? Infinity), 'a later request resolves only after the second sync');
    await sync.request();
    assert.equal(spy.started.length, 3, 'an idle WalSync syncs at once');
  } finally {
    spy.restore();
    await sync.close();
    await removeDir(dir);
  }
});
