/** S3's conditional writes (PutObject, CompleteMultipartUpload). */
import type { ReadOps } from '../store/meta/index.ts';
import { etagListMatches } from './conditions.ts';
import { fail } from './errors.ts';
import { isLive, TABLES } from './model.ts';

/** S3's conditional writes, checked inside the write's transaction: `If-None-Match: *` (no live object) and `If-Match`. */
export interface WriteConditions {
  ifNoneMatchAny?: boolean | undefined;
  ifMatch?: string | undefined;
}

export async function checkWriteConditions(ops: ReadOps, bucketId: string, key: string, conditions: WriteConditions, now: number): Promise<void> {
  if (!conditions.ifNoneMatchAny && conditions.ifMatch === undefined) return;
  const row = (await ops.get(TABLES.objects, bucketId, key))?.value;
  const live = row && isLive(row, now) ? row : null;
  if (conditions.ifNoneMatchAny && live) fail('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  if (conditions.ifMatch !== undefined) {
    if (!live) fail('NoSuchKey', 'The specified key does not exist.');
    if (!etagListMatches(conditions.ifMatch, live.etag)) fail('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  }
}
