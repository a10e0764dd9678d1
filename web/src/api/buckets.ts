/** Buckets through KakaoCloud's bucket API, `/v1_ext/bucket`. */
import { request } from './http.ts';

export interface Bucket {
  name: string;
  type: string;
  bytes: number;
  objectCount: number;
  createdAt: string;
  lastModified: string;
  acl: { public: string; public_read_allow_ip_list: string[] };
  use_encryption: boolean;
  encryption_configuration: { type: string } | null;
}

export function isPublic(bucket: Bucket): boolean {
  return bucket.acl.public === 'read-only';
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
