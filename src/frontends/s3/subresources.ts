/**
 * The configuration subresources S3 addresses by a query parameter (`?tagging`, `?object-lock`, …): which operation
 * each method on one is. The router asks here before refusing the subresources not built.
 */
const BUCKET_SUBRESOURCES = {
  tagging: { GET: 'GetBucketTagging', PUT: 'PutBucketTagging', DELETE: 'DeleteBucketTagging' },
  'object-lock': { GET: 'GetObjectLockConfiguration', PUT: 'PutObjectLockConfiguration' },
  lifecycle: { GET: 'GetBucketLifecycleConfiguration', PUT: 'PutBucketLifecycleConfiguration', DELETE: 'DeleteBucketLifecycle' },
  cors: { GET: 'GetBucketCors', PUT: 'PutBucketCors', DELETE: 'DeleteBucketCors' },
  encryption: { GET: 'GetBucketEncryption', PUT: 'PutBucketEncryption', DELETE: 'DeleteBucketEncryption' },
  logging: { GET: 'GetBucketLogging', PUT: 'PutBucketLogging' },
  policy: { GET: 'GetBucketPolicy', PUT: 'PutBucketPolicy', DELETE: 'DeleteBucketPolicy' },
  policyStatus: { GET: 'GetBucketPolicyStatus' },
} as const;

const OBJECT_SUBRESOURCES = {
  tagging: { GET: 'GetObjectTagging', PUT: 'PutObjectTagging', DELETE: 'DeleteObjectTagging' },
  retention: { GET: 'GetObjectRetention', PUT: 'PutObjectRetention' },
  'legal-hold': { GET: 'GetObjectLegalHold', PUT: 'PutObjectLegalHold' },
} as const;

type OpsOf<T> = { [K in keyof T]: T[K][keyof T[K]] }[keyof T];
export type SubresourceBucketOp = OpsOf<typeof BUCKET_SUBRESOURCES>;
export type SubresourceObjectOp = OpsOf<typeof OBJECT_SUBRESOURCES>;

/** The operation, `MethodNotAllowed` for a method the subresource does not take, or null: no subresource of these. */
export function bucketSubresourceOp(method: string, query: URLSearchParams): SubresourceBucketOp | 'MethodNotAllowed' | null {
  return lookUp(BUCKET_SUBRESOURCES, method, query);
}

export function objectSubresourceOp(method: string, query: URLSearchParams): SubresourceObjectOp | 'MethodNotAllowed' | null {
  return lookUp(OBJECT_SUBRESOURCES, method, query);
}

function lookUp<T extends Record<string, Record<string, string>>>(table: T, method: string, query: URLSearchParams): OpsOf<T> | 'MethodNotAllowed' | null {
  for (const name in table) {
    if (!query.has(name)) continue;
    const op = table[name]?.[method];
    return op === undefined ? 'MethodNotAllowed' : (op as OpsOf<T>);
  }
  return null;
}
