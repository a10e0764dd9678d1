/** lib/buffer-pool.ts: buffers are reused while the pool is drawn from, and let go once it has been idle. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferPool } from '../../src/lib/buffer-pool.ts';

test('a buffer given back is handed out again; no more than maxFree are kept, and none of another size', () => {
  const pool = new BufferPool(1024, 2);
  const [a, b, c] = [pool.take(), pool.take(), pool.take()];
  for (const buffer of [a, b, c, Buffer.alloc(10)]) pool.give(buffer);
  assert.equal(pool.kept, 2);
  assert.ok([a, b].includes(pool.take()));
});

test('a pool not drawn from for its idle time lets its buffers go; one in use keeps them', async () => {
  const pool = new BufferPool(1024, 4, 100);
  const busy = new BufferPool(1024, 4, 100);
  pool.give(pool.take());
  busy.give(busy.take());
  const drawing = setInterval(() => busy.give(busy.take()), 20);
  try {
    await sleep(350);
    assert.equal(pool.kept, 0, 'the idle pool let its buffer go');
    assert.equal(busy.kept, 1, 'the pool in use kept its buffer');
  } finally {
    clearInterval(drawing);
  }
});
