/**
 * S3's router: a pure function from method, bucket and key (from the path, or the Host for virtual-host-style
 * addressing) and the query's subresources to one operation. Subresources not built yet answer NotImplemented,
 * never as another operation.
 */
import { bucketSubresourceOp, objectSubresourceOp, type SubresourceBucketOp, type SubresourceObjectOp } from './subresources.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export type ServiceOp = 'ListBuckets';
export type BucketOp =
  | 'CreateBucket'
  | 'HeadBucket'
  | 'DeleteBucket'
  | 'GetBucketLocation'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListObjectVersions'
  | 'ListMultipartUploads'
  | 'GetBucketVersioning'
  | 'PutBucketVersioning'
  | 'GetBucketAcl'
  | 'PutBucketAcl'
  | 'DeleteObjects'
  | 'PostObject'
  | SubresourceBucketOp;
export type ObjectOp =
  | 'PutObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'GetObjectAcl'
  | 'PutObjectAcl'
  | 'GetObjectAttributes'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | SubresourceObjectOp;

export type S3Route =
  | { op: ServiceOp }
  | { op: BucketOp; bucket: string }
  | { op: ObjectOp; bucket: string; key: string }
  | { op: 'NotImplemented'; what: string }
  | { op: 'MethodNotAllowed' }
  | { op: 'InvalidURI' };

/** Bucket subresources this server does not serve yet. */
const UNBUILT_BUCKET = [
  'website', 'notification', 'replication',
  'requestPayment', 'accelerate', 'analytics', 'inventory', 'metrics', 'intelligent-tiering', 'ownershipControls', 'publicAccessBlock',
];
const UNBUILT_OBJECT = ['torrent', 'restore', 'select'];

/** `bucket`/`rawKey` as addressed (null: none); the query's parameters. */
export function routeS3(method: string, bucket: string | null, rawKey: string | null, query: URLSearchParams, headers: Headers): S3Route {
  if (bucket === null) return method === 'GET' ? { op: 'ListBuckets' } : { op: 'MethodNotAllowed' };
  if (rawKey === null || rawKey === '') return routeBucket(method, bucket, query);
  const key = decodeKey(rawKey);
  if (key === null) return { op: 'InvalidURI' };
  return routeObject(method, bucket, key, query, headers);
}

function routeBucket(method: string, bucket: string, query: URLSearchParams): S3Route {
  const sub = bucketSubresourceOp(method, query);
  if (sub !== null) return sub === 'MethodNotAllowed' ? { op: sub } : { op: sub, bucket };
  const unbuilt = UNBUILT_BUCKET.find((name) => query.has(name));
  if (unbuilt) return { op: 'NotImplemented', what: `bucket ${unbuilt}` };
  const op = (o: BucketOp): S3Route => ({ op: o, bucket });
  switch (method) {
    case 'GET':
      if (query.has('location')) return op('GetBucketLocation');
      if (query.has('versioning')) return op('GetBucketVersioning');
      if (query.has('versions')) return op('ListObjectVersions');
      if (query.has('uploads')) return op('ListMultipartUploads');
      if (query.has('acl')) return op('GetBucketAcl');
      return op(query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects');
    case 'HEAD':
      return op('HeadBucket');
    case 'PUT':
      if (query.has('versioning')) return op('PutBucketVersioning');
      if (query.has('acl')) return op('PutBucketAcl');
      return op('CreateBucket');
    case 'DELETE':
      return op('DeleteBucket');
    case 'POST':
      return op(query.has('delete') ? 'DeleteObjects' : 'PostObject');
    default:
      return { op: 'MethodNotAllowed' };
  }
}

function routeObject(method: string, bucket: string, key: string, query: URLSearchParams, headers: Headers): S3Route {
  const sub = objectSubresourceOp(method, query);
  if (sub !== null) return sub === 'MethodNotAllowed' ? { op: sub } : { op: sub, bucket, key };
  const unbuilt = UNBUILT_OBJECT.find((name) => query.has(name));
  if (unbuilt) return { op: 'NotImplemented', what: `object ${unbuilt}` };
  const op = (o: ObjectOp): S3Route => ({ op: o, bucket, key });
  const copying = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'GET':
      if (query.has('uploadId')) return op('ListParts');
      if (query.has('attributes')) return op('GetObjectAttributes');
      return op(query.has('acl') ? 'GetObjectAcl' : 'GetObject');
    case 'HEAD':
      return op('HeadObject');
    case 'PUT':
      if (query.has('uploadId') || query.has('partNumber')) return op(copying ? 'UploadPartCopy' : 'UploadPart');
      if (query.has('acl')) return op('PutObjectAcl');
      return op(copying ? 'CopyObject' : 'PutObject');
    case 'DELETE':
      return op(query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject');
    case 'POST':
      if (query.has('uploads')) return op('CreateMultipartUpload');
      if (query.has('uploadId')) return op('CompleteMultipartUpload');
      return { op: 'NotImplemented', what: `POST on an object${query.has('restore') ? ' (restore)' : ''}` };
    default:
      return { op: 'MethodNotAllowed' };
  }
}

/** The path after `/` split into bucket and raw key (path-style), or the whole path as the key (virtual-host-style). */
export function addressOf(rawPath: string, virtualBucket: string | null): { bucket: string | null; rawKey: string | null } | null {
  if (virtualBucket !== null) return { bucket: virtualBucket, rawKey: rawPath.length > 1 ? rawPath.slice(1) : null };
  if (rawPath === '/' || rawPath === '') return { bucket: null, rawKey: null };
  const slash = rawPath.indexOf('/', 1);
  const bucket = decodeKey(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
  if (bucket === null || bucket === '') return null;
  return { bucket, rawKey: slash < 0 ? null : rawPath.slice(slash + 1) };
}

function decodeKey(raw: string): string | null {
  if (!raw.includes('%')) return raw;
  try {
    const key = decodeURIComponent(raw);
    return key.includes('\0') ? null : key;
  } catch {
    return null;
  }
}
