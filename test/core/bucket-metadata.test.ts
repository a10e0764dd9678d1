/**
 * `Buckets.setMetadataIfAbsent` (a temp URL signing key made once, whoever asks first), on both metadata stores:
 * set when absent, kept when there, one value when asked at once, only for who may set the bucket's metadata.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Core } from '../../src/core/index.ts';
import type { Caller } from '../../src/core/types.ts';
import { rejectsWith } from '../helpers/errors.ts';
import { openTestCore, STORE_KINDS, type TestCore } from '../helpers/core.ts';

for (const kind of STORE_KINDS) {
  describe(`setMetadataIfAbsent on ${kind}`, () => {
    let t: TestCore;
    let core: Core;
    let admin: Extract<Caller, { kind: 'user' }>;
    let account: string;

    before(async () => {
      t = await openTestCore(kind);
      ({ core, admin, account } = t);
      await core.buckets.create(admin, account, { name: 'keyed' });
    });
    after(async () => {
      await t.close();
    });

    const metaOf = async (name: string): Promise<Record<string, string>> => (await core.buckets.get(admin, account, name)).meta;

    test('sets the item when absent, keeps the one there, and leaves the rest of the metadata alone', async () => {
      await core.buckets.updateMetadata(admin, account, 'keyed', { color: 'blue' }, []);
      assert.equal(await core.buckets.setMetadataIfAbsent(admin, account, 'keyed', 'temp-url-key', 'first'), 'first');
      assert.equal(await core.buckets.setMetadataIfAbsent(admin, account, 'keyed', 'temp-url-key', 'second'), 'first');
      assert.deepEqual(await metaOf('keyed'), { color: 'blue', 'temp-url-key': 'first' });
    });

    test('asked at once, every caller gets the one value stored', async () => {
      await core.buckets.create(admin, account, { name: 'raced' });
      const values = await Promise.all(['a', 'b', 'c', 'd'].map((value) => core.buckets.setMetadataIfAbsent(admin, account, 'raced', 'temp-url-key', value)));
      const stored = (await metaOf('raced'))['temp-url-key'];
      assert.ok(stored !== undefined);
      assert.deepEqual(values, [stored, stored, stored, stored]);
    });

    test('a viewer may not, and a missing bucket is NoSuchBucket', async () => {
      await core.buckets.create(admin, account, { name: 'viewed' });
      const viewer: Caller = { ...admin, userId: 'u-viewer', userName: 'viewer', role: 'reader' };
      await rejectsWith(core.buckets.setMetadataIfAbsent(viewer, account, 'viewed', 'temp-url-key', 'x'), 'AccessDenied');
      assert.equal((await metaOf('viewed'))['temp-url-key'], undefined);
      await rejectsWith(core.buckets.setMetadataIfAbsent(admin, account, 'missing', 'temp-url-key', 'x'), 'NoSuchBucket');
    });
  });
}
