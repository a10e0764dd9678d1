/**
 * The scrubber, protocol-free, on both metadata stores: a round checks about its byte budget and no more, its
 * position survives a new scrubber (a restart, another node) which goes on from there, and it reports a damaged
 * version by bucket and key; a pass ends and the next one starts from the beginning.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Finding } from '../../src/core/fsck.ts';
import { ALL, TABLES } from '../../src/core/model.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

const SIZE = 100_000;
const ROUND_MS = 1000;
/** A round's budget: one and a half objects. */
const BYTES_PER_HOUR = (1.5 * SIZE * 3_600_000) / ROUND_MS;

for (const kind of STORE_KINDS) {
  void describe(`scrubber (${kind})`, () => {
    let t: TestCore;
    const bucket = 'scrub-core';

    before(async () => {
      t = await openTestCore(kind);
      await t.core.buckets.create(t.admin, t.account, { name: bucket });
      for (let i = 0; i < 6; i++) {
        const body = randomBytes(SIZE);
        await t.core.objects.put(t.admin, { account: t.account, bucket, key: `object-${i}`, body: [body], contentLength: SIZE, meta: {}, headers: {}, deleteAt: null });
      }
    });
    after(async () => {
      await t.close();
    });

    void test('rounds keep to their budget, resume where the last stopped, and name what they find', async () => {
      const [row] = await t.core.store.scan(TABLES.buckets, t.account, { prefix: bucket, limit: 1, reverse: false });
      assert.ok(row);
      const damaged = await t.core.store.get(TABLES.objects, row.value.id, 'object-3');
      assert.equal(damaged?.value.data.kind, 'blob');
      if (damaged?.value.data.kind === 'blob') await t.core.blobs.delete(damaged.value.data.blobId);

      const found: Finding[] = [];
      const first = t.core.newScrubber(BYTES_PER_HOUR, ROUND_MS, (finding) => found.push(finding));
      const start = Date.now();
      await first.round(start);
      // 150 KB of budget: the first object, then the second overdraws it.
      assert.equal(first.stats.versionsChecked, 2);
      assert.equal(first.stats.bytesChecked, 2 * SIZE);
      await first.round(start + ROUND_MS / 4);
      assert.equal(first.stats.versionsChecked, 2, 'the overdrawn budget is paid back first');
      const cursor = await t.core.store.get(TABLES.settings, ALL, 'scrub-cursor');
      assert.match(cursor?.value.value ?? '', /"after":"object-1"/);
      assert.equal(found.length, 0);

      // Another scrubber (a restart, another node) goes on from the stored position.
      const next = t.core.newScrubber(BYTES_PER_HOUR, ROUND_MS, (finding) => found.push(finding));
      await next.round(start + 2 * ROUND_MS);
      await next.round(start + 4 * ROUND_MS);
      assert.deepEqual(
        found.map((finding) => [finding.kind, finding.bucket, finding.key, finding.versionId, finding.account]),
        [['missing', bucket, 'object-3', 'null', t.account]],
      );
      assert.equal(next.stats.findings.missing, 1);
      for (let i = 1; i < 10 && next.stats.passesCompleted === 0; i++) await next.round(start + (4 + 2 * i) * ROUND_MS);
      assert.equal(next.stats.passesCompleted, 1, 'the pass ends after the last object');
      assert.match((await t.core.store.get(TABLES.settings, ALL, 'scrub-cursor'))?.value.value ?? '', /"at":null/);
      const before = next.stats.versionsChecked;
      await next.round(start + 40 * ROUND_MS);
      assert.ok(next.stats.versionsChecked > before, 'the next pass starts again');
      await next.round(start + 50 * ROUND_MS);
      assert.equal(found.filter((finding) => finding.key === 'object-3').length, 2, 'found again in the next pass');
    });
  });
}
