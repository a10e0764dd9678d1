/** Each configuration subresource's operation to its handler (dispatch.ts hands these over). */
import type { Exchange } from './exchange.ts';
import * as config from './config-ops.ts';
import * as lock from './lock-ops.ts';
import type { SubresourceBucketOp, SubresourceObjectOp } from './subresources.ts';
import * as tagging from './tagging-ops.ts';

export type SubresourceRoute = { op: SubresourceBucketOp; bucket: string } | { op: SubresourceObjectOp; bucket: string; key: string };

export async function dispatchSubresource(r: SubresourceRoute, x: Exchange): Promise<void> {
  switch (r.op) {
    case 'GetBucketTagging':
      return tagging.getBucketTagging(r.bucket, x);
    case 'PutBucketTagging':
      return tagging.putBucketTagging(r.bucket, x);
    case 'DeleteBucketTagging':
      return tagging.deleteBucketTagging(r.bucket, x);
    case 'GetObjectLockConfiguration':
      return lock.getObjectLockConfiguration(r.bucket, x);
    case 'PutObjectLockConfiguration':
      return lock.putObjectLockConfiguration(r.bucket, x);
    case 'GetBucketLifecycleConfiguration':
      return config.getBucketLifecycle(r.bucket, x);
    case 'PutBucketLifecycleConfiguration':
      return config.putBucketLifecycle(r.bucket, x);
    case 'DeleteBucketLifecycle':
      return config.deleteBucketLifecycle(r.bucket, x);
    case 'GetBucketCors':
      return config.getBucketCors(r.bucket, x);
    case 'PutBucketCors':
      return config.putBucketCors(r.bucket, x);
    case 'DeleteBucketCors':
      return config.deleteBucketCors(r.bucket, x);
    case 'GetBucketEncryption':
      return config.getBucketEncryption(r.bucket, x);
    case 'PutBucketEncryption':
      return config.putBucketEncryption(r.bucket, x);
    case 'DeleteBucketEncryption':
      return config.deleteBucketEncryption(r.bucket, x);
    case 'GetBucketLogging':
      return config.getBucketLogging(r.bucket, x);
    case 'PutBucketLogging':
      return config.putBucketLogging(r.bucket, x);
    case 'GetObjectTagging':
      return tagging.getObjectTagging(r.bucket, r.key, x);
    case 'PutObjectTagging':
      return tagging.putObjectTagging(r.bucket, r.key, x);
    case 'DeleteObjectTagging':
      return tagging.deleteObjectTagging(r.bucket, r.key, x);
    case 'GetObjectRetention':
      return lock.getObjectRetention(r.bucket, r.key, x);
    case 'PutObjectRetention':
      return lock.putObjectRetention(r.bucket, r.key, x);
    case 'GetObjectLegalHold':
      return lock.getObjectLegalHold(r.bucket, r.key, x);
    case 'PutObjectLegalHold':
      return lock.putObjectLegalHold(r.bucket, r.key, x);
  }
}
