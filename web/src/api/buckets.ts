/** Buckets through KakaoCloud's bucket API, `/v1_ext/bucket`. */
import { ApiError, request } from './http.ts';

export interface Bucket {
  name: string;
  type: string;
  bytes: number;
  objectCount: number;
  createdAt: string;
  lastModified: string;
  acl: { public: string; public_read_allow_ip_list: string[]; grants?: Grant[]; permissions?: Permission[] };
  use_encryption: boolean;
  encryption_configuration: { type: string } | null;
}

/** Who else may do what in a bucket (Swift's container ACLs), as the server keeps it. */
export interface Grant {
  grantee:
    | { kind: 'anyone' }
    | { kind: 'authenticated' }
    | { kind: 'project'; projectId: string }
    | { kind: 'user'; userId: string; projectId?: string }
    | { kind: 'referrer'; host: string; deny?: boolean };
  permission: 'read-objects' | 'list' | 'write-objects' | 'read-acl' | 'write-acl' | 'full-control';
}

export function isPublic(bucket: Bucket): boolean {
  return bucket.acl.public === 'read-only';
}

/**
 * Whether the signed-in user administers the bucket (Storage Admin): the API lists every member's role only to
 * whoever may change roles, and to anyone else only their own, which is then not Storage Admin.
 */
export function administers(bucket: Bucket): boolean {
  return (bucket.acl.permissions ?? []).some((permission) => permission.role === 'Storage Admin');
}

/** All the project's buckets, page after page. */
export async function listBuckets(): Promise<Bucket[]> {
  const buckets: Bucket[] = [];
  let marker: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '1000', ...(marker === undefined ? {} : { marker }) });
    const response = await request('GET', `/v1_ext/bucket?${query.toString()}`);
    const page = (await response.json()) as { items: Bucket[]; next_marker?: string };
    buckets.push(...page.items);
    marker = page.next_marker;
  } while (marker !== undefined);
  return buckets;
}

export async function getBucket(name: string): Promise<Bucket> {
  const response = await request('GET', `/v1_ext/bucket/${encodeURIComponent(name)}`);
  return (await response.json()) as Bucket;
}

export async function createBucket(name: string, encrypted: boolean): Promise<Bucket> {
  const body = encrypted
    ? { name, type: 'STANDARD', use_encryption: true, encryption_configuration: { type: 'managed' } }
    : { name, type: 'STANDARD', use_encryption: false };
  const response = await request('PUT', '/v1_ext/bucket', { json: body });
  return (await response.json()) as Bucket;
}

export async function deleteBucket(name: string): Promise<void> {
  await request('DELETE', `/v1_ext/bucket/${encodeURIComponent(name)}`);
}

export async function setAccess(name: string, publicRead: boolean, allowList: string[]): Promise<Bucket> {
  const response = await request('POST', `/v1_ext/bucket/${encodeURIComponent(name)}`, {
    json: { name, acl: { public: publicRead ? 'read-only' : 'none', public_read_allow_ip_list: allowList } },
  });
  return (await response.json()) as Bucket;
}

const settingsPath = (name: string, resource: string): string => `/v1_ext/bucket/${encodeURIComponent(name)}/${resource}`;

/** A configuration the bucket does not have reads as `fallback` (the API answers 404 NoSuchConfiguration). */
async function getSetting<T>(name: string, resource: string, fallback: T): Promise<T> {
  try {
    return (await (await request('GET', settingsPath(name, resource))).json()) as T;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'NoSuchConfiguration') return fallback;
    throw err;
  }
}

/** Removing a configuration the bucket does not have is no error to the person removing it. */
async function deleteSetting(name: string, resource: string): Promise<void> {
  try {
    await request('DELETE', settingsPath(name, resource));
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'NoSuchConfiguration')) throw err;
  }
}

export interface CorsRule {
  allowed_origins: string[];
  allowed_methods: string[];
  allowed_headers: string[];
  expose_headers: string[];
  max_age_seconds: number | null;
}

export async function getCors(name: string): Promise<CorsRule[]> {
  return (await getSetting<{ rules: CorsRule[] }>(name, 'cors', { rules: [] })).rules;
}

/** No rules at all removes the configuration. */
export async function setCors(name: string, rules: CorsRule[]): Promise<void> {
  if (rules.length === 0) await deleteSetting(name, 'cors');
  else await request('PUT', settingsPath(name, 'cors'), { json: { rules } });
}

/** S3's lifecycle rule in the API's JSON; the console edits id, status, prefix and expiration and keeps the rest. */
export interface LifecycleRule {
  id: string;
  status: 'Enabled' | 'Disabled';
  filter?: { prefix?: string; tags?: { key: string; value: string }[]; object_size_greater_than?: number; object_size_less_than?: number };
  expiration?: { days?: number; date?: string; expired_object_delete_marker?: boolean };
  noncurrent_version_expiration?: { noncurrent_days: number; newer_noncurrent_versions?: number };
  abort_incomplete_multipart_upload?: { days_after_initiation: number };
}

export async function getLifecycle(name: string): Promise<LifecycleRule[]> {
  return (await getSetting<{ rules: LifecycleRule[] }>(name, 'lifecycle', { rules: [] })).rules;
}

export async function setLifecycle(name: string, rules: LifecycleRule[]): Promise<void> {
  if (rules.length === 0) await deleteSetting(name, 'lifecycle');
  else await request('PUT', settingsPath(name, 'lifecycle'), { json: { rules } });
}

export interface Logging {
  target_bucket: string;
  target_prefix: string;
}

export async function getLogging(name: string): Promise<Logging | null> {
  return getSetting<Logging | null>(name, 'logging', null);
}

export async function setLogging(name: string, logging: Logging | null): Promise<void> {
  if (logging === null) await deleteSetting(name, 'logging');
  else await request('PUT', settingsPath(name, 'logging'), { json: logging });
}

export type RetentionMode = 'GOVERNANCE' | 'COMPLIANCE';

/** A default retention: a mode and either days or years. */
export type DefaultRetention = { mode: RetentionMode } & ({ days: number } | { years: number });

export interface ObjectLock {
  enabled: boolean;
  default_retention: DefaultRetention | null;
}

/** The API's bounds on a default retention (src/core/constraints.ts). */
export const MAX_RETENTION_DAYS = 36_500;
export const MAX_RETENTION_YEARS = 100;

export async function getObjectLock(name: string): Promise<ObjectLock> {
  return (await (await request('GET', settingsPath(name, 'object_lock'))).json()) as ObjectLock;
}

/** Enables Object Lock (for good) with this default retention, or none. */
export async function setObjectLock(name: string, defaultRetention: DefaultRetention | null): Promise<ObjectLock> {
  const response = await request('PUT', settingsPath(name, 'object_lock'), { json: { enabled: true, default_retention: defaultRetention } });
  return (await response.json()) as ObjectLock;
}

export const BUCKET_ROLES = ['Storage Admin', 'Storage Editor', 'Storage Viewer'] as const;
export type BucketRole = (typeof BUCKET_ROLES)[number];

export interface Permission {
  user_id: string;
  user_name: string;
  role: BucketRole;
  /** `project`: the default of the member's project role; `bucket`: assigned on this bucket. */
  from: 'project' | 'bucket';
}

export async function listPermissions(name: string): Promise<Permission[]> {
  return ((await (await request('GET', settingsPath(name, 'permissions'))).json()) as { permissions: Permission[] }).permissions;
}

export async function assignRole(name: string, userId: string, role: BucketRole): Promise<Permission[]> {
  const response = await request('PUT', settingsPath(name, 'permissions'), { json: { user_id: userId, role } });
  return ((await response.json()) as { permissions: Permission[] }).permissions;
}

export async function removeRole(name: string, userId: string): Promise<void> {
  await request('DELETE', settingsPath(name, `permissions/${encodeURIComponent(userId)}`));
}

/** A temporary link: the object's URL path and the signed query the server made (`expires_at`: ISO 8601). */
export interface TempLink {
  path: string;
  query: string;
  expires_at: string;
}

/** The longest a temporary link may last (the server's bound: a week). */
export const MAX_TEMP_LINK_SECONDS = 7 * 24 * 3600;

/** The bucket has no key to sign links with; `mayCreate`: this user may have the server make one. */
export interface NoTempLinkKey {
  noKey: true;
  mayCreate: boolean;
}

/**
 * Asks the server to sign a read-only link to one object, valid `seconds`; `createKey` lets it make the bucket's
 * signing key when there is none.
 */
export async function signTempLink(bucket: string, key: string, seconds: number, createKey: boolean): Promise<TempLink | NoTempLinkKey> {
  try {
    const response = await request('POST', settingsPath(bucket, 'temp_url'), { json: { object: key, expires_in: seconds, ...(createKey ? { create_key: true } : {}) } });
    return (await response.json()) as TempLink;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'NoTempUrlKey') return { noKey: true, mayCreate: (JSON.parse(err.body) as { may_create?: unknown }).may_create === true };
    throw err;
  }
}
