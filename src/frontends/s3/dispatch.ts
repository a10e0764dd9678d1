/** Each S3 operation to its handler: one table per resource kind, exhaustive by type. */
import type { BucketOp, ObjectOp, S3Route } from './router.ts';
import type { Exchange } from './exchange.ts';
import * as buckets from './bucket-ops.ts';
import * as objects from './object-ops.ts';
import * as listing from './listing-ops.ts';
import * as multipart from './multipart-ops.ts';
import * as config from './config-ops.ts';
import * as lock from './lock-ops.ts';
import * as tagging from './tagging-ops.ts';
import * as acls from './acl-ops.ts';
import * as policies from './policy-ops.ts';
import { deleteObjects } from './delete-objects.ts';
import { getObjectPart } from './part-reads.ts';
import { getObjectAttributes } from './object-attributes.ts';
import { postObject } from './post-upload.ts';

type Routable = Exclude<S3Route, { op: 'NotImplemented' | 'MethodNotAllowed' | 'InvalidURI' }>;
type BucketHandler = (bucket: string, x: Exchange) => Promise<void>;
type ObjectHandler = (bucket: string, key: string, x: Exchange) => Promise<void>;

const BUCKET_HANDLERS: Record<BucketOp, BucketHandler> = {
  CreateBucket: buckets.createBucket,
  HeadBucket: buckets.headBucket,
  DeleteBucket: buckets.deleteBucket,
  GetBucketLocation: buckets.getBucketLocation,
  GetBucketVersioning: buckets.getBucketVersioning,
  PutBucketVersioning: buckets.putBucketVersioning,
  GetBucketAcl: acls.getBucketAcl,
  PutBucketAcl: acls.putBucketAcl,
  ListObjects: (bucket, x) => listing.listObjects(bucket, x, 1),
  ListObjectsV2: (bucket, x) => listing.listObjects(bucket, x, 2),
  ListObjectVersions: listing.listObjectVersions,
  ListMultipartUploads: multipart.listMultipartUploads,
  DeleteObjects: deleteObjects,
  PostObject: postObject,
  GetBucketTagging: tagging.getBucketTagging,
  PutBucketTagging: tagging.putBucketTagging,
  DeleteBucketTagging: tagging.deleteBucketTagging,
  GetObjectLockConfiguration: lock.getObjectLockConfiguration,
  PutObjectLockConfiguration: lock.putObjectLockConfiguration,
  GetBucketLifecycleConfiguration: config.getBucketLifecycle,
  PutBucketLifecycleConfiguration: config.putBucketLifecycle,
  DeleteBucketLifecycle: config.deleteBucketLifecycle,
  GetBucketCors: config.getBucketCors,
  PutBucketCors: config.putBucketCors,
  DeleteBucketCors: config.deleteBucketCors,
  GetBucketEncryption: config.getBucketEncryption,
  PutBucketEncryption: config.putBucketEncryption,
  DeleteBucketEncryption: config.deleteBucketEncryption,
  GetBucketLogging: config.getBucketLogging,
  PutBucketLogging: config.putBucketLogging,
  GetBucketPolicy: policies.getBucketPolicy,
  PutBucketPolicy: policies.putBucketPolicy,
  DeleteBucketPolicy: policies.deleteBucketPolicy,
  GetBucketPolicyStatus: policies.getBucketPolicyStatus,
};

const getObject: ObjectHandler = (bucket, key, x) => (x.ctx.query.has('partNumber') ? getObjectPart(bucket, key, x) : objects.getObject(bucket, key, x));

const OBJECT_HANDLERS: Record<ObjectOp, ObjectHandler> = {
  PutObject: objects.putObject,
  CopyObject: objects.copyObject,
  GetObject: getObject,
  HeadObject: getObject,
  DeleteObject: objects.deleteObject,
  GetObjectAcl: acls.getObjectAcl,
  PutObjectAcl: acls.putObjectAcl,
  GetObjectAttributes: getObjectAttributes,
  CreateMultipartUpload: multipart.createMultipartUpload,
  UploadPart: multipart.uploadPart,
  UploadPartCopy: multipart.uploadPartCopy,
  CompleteMultipartUpload: multipart.completeMultipartUpload,
  AbortMultipartUpload: multipart.abortMultipartUpload,
  ListParts: multipart.listParts,
  GetObjectTagging: tagging.getObjectTagging,
  PutObjectTagging: tagging.putObjectTagging,
  DeleteObjectTagging: tagging.deleteObjectTagging,
  GetObjectRetention: lock.getObjectRetention,
  PutObjectRetention: lock.putObjectRetention,
  GetObjectLegalHold: lock.getObjectLegalHold,
  PutObjectLegalHold: lock.putObjectLegalHold,
};

export function dispatch(route: S3Route, x: Exchange): Promise<void> {
  const r = route as Routable;
  if (r.op === 'ListBuckets') return buckets.listBuckets(x);
  if ('key' in r) return OBJECT_HANDLERS[r.op](r.bucket, r.key, x);
  return BUCKET_HANDLERS[r.op](r.bucket, x);
}
