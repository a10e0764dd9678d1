/** lib/ids.ts: time-ordered ids grow strictly within a process, also many in one millisecond. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTimeOrderedId } from '../../src/lib/ids.ts';

test('10,000 time-ordered ids made at once are 32 hex digits, each larger than the one before', () => {
  let previous = '';
  for (let i = 0; i < 10_000; i++) {
    const id = newTimeOrderedId();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.ok(id > previous, `${id} after ${previous}`);
    previous = id;
  }
});
