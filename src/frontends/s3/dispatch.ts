/** Each S3 operation to its handler. */
import type { S3Route } from './router.ts';
import type { Exchange } from './exchange.ts';
import * as buckets from './bucket-ops.ts';
import * as objects from './object-ops.ts';
import * as listing from './listing-ops.ts';
import * as multipart from './multipart-ops.ts';
import { deleteObjects } from './delete-objects.ts';
import { dispatchSubresource, type SubresourceRoute } from './subresource-dispatch.ts';
import { getObjectPart } from './part-reads.ts';
import { getObjectAttributes } from './object-attributes.ts';
import * as acls from './acl-ops.ts';
import { postObject } from './post-upload.ts';

type Routable = Exclude<S3Route, { op: 'NotImplemented' | 'MethodNotAllowed' | 'InvalidURI' }>;

export async function dispatch(route: S3Route, x: Exchange): Promise<void> {
  const r = route as Routable;
  switch (r.op) {
    case 'ListBuckets':
      return buckets.listBuckets(x);
    case 'CreateBucket':
      return buckets.createBucket(r.bucket, x);
    case 'HeadBucket':
      return buckets.headBucket(r.bucket, x);
    case 'DeleteBucket':
      return buckets.deleteBucket(r.bucket, x);
    case 'GetBucketLocation':
      return buckets.getBucketLocation(r.bucket, x);
    case 'GetBucketVersioning':
      return buckets.getBucketVersioning(r.bucket, x);
    case 'PutBucketVersioning':
      return buckets.putBucketVersioning(r.bucket, x);
    case 'GetBucketAcl':
      return acls.getBucketAcl(r.bucket, x);
    case 'PutBucketAcl':
      return acls.putBucketAcl(r.bucket, x);
    case 'ListObjects':
      return listing.listObjects(r.bucket, x, 1);
    case 'ListObjectsV2':
      return listing.listObjects(r.bucket, x, 2);
    case 'ListObjectVersions':
      return listing.listObjectVersions(r.bucket, x);
    case 'ListMultipartUploads':
      return multipart.listMultipartUploads(r.bucket, x);
    case 'DeleteObjects':
      return deleteObjects(r.bucket, x);
    case 'PostObject':
      return postObject(r.bucket, x);
    case 'PutObject':
      return objects.putObject(r.bucket, r.key, x);
    case 'CopyObject':
      return objects.copyObject(r.bucket, r.key, x);
    case 'GetObject':
    case 'HeadObject':
      return x.ctx.query.has('partNumber') ? getObjectPart(r.bucket, r.key, x) : objects.getObject(r.bucket, r.key, x);
    case 'DeleteObject':
      return objects.deleteObject(r.bucket, r.key, x);
    case 'GetObjectAcl':
      return acls.getObjectAcl(r.bucket, r.key, x);
    case 'PutObjectAcl':
      return acls.putObjectAcl(r.bucket, r.key, x);
    case 'GetObjectAttributes':
      return getObjectAttributes(r.bucket, r.key, x);
    case 'CreateMultipartUpload':
      return multipart.createMultipartUpload(r.bucket, r.key, x);
    case 'UploadPart':
      return multipart.uploadPart(r.bucket, r.key, x);
    case 'UploadPartCopy':
      return multipart.uploadPartCopy(r.bucket, r.key, x);
    case 'CompleteMultipartUpload':
      return multipart.completeMultipartUpload(r.bucket, r.key, x);
    case 'AbortMultipartUpload':
      return multipart.abortMultipartUpload(r.bucket, r.key, x);
    case 'ListParts':
      return multipart.listParts(r.bucket, r.key, x);
    default:
      return dispatchSubresource(r as SubresourceRoute, x);
  }
}
