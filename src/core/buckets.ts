/** Buckets (Swift containers): creation, lookup, listing, access control, metadata, deletion. */
import type { MetadataStore } from '../store/meta/index.ts';
import { authorizeAccount, authorizeBucket, checkAllowList, type Action } from './authz.ts';
import { BUCKET_TYPES, BUCKET_LIST_LIMIT, checkBucketName, checkUserMetadata } from './constraints.ts';
import { fail } from './errors.ts';
import { listEntries, type ListEntry, type ListOptions } from './listing.ts';
import type { Bucket, Caller, EncryptionType, Metadata } from './types.ts';

export interface CreateBucketInput {
  name: string;
  type?: string | undefined;
  encryption?: EncryptionType | null | undefined;
  meta?: Metadata | undefined;
}

export interface AccessControl {
  publicRead?: boolean | undefined;
  publicReadAllowIps?: string[] | undefined;
}

/** How long object operations trust a bucket record read earlier (its owner and access control). */
const BUCKET_CACHE_TTL_MS = 1000;

export class Buckets {
  private readonly cache = new Map<string, { bucket: Bucket | null; readAt: number }>();

  constructor(private readonly meta: MetadataStore) {}

  /**
   * The bucket an object operation works in, authorized, from a short-lived cache: object requests are the
   * hot path, and owner and access control change rarely (changes made here are seen at once, elsewhere within a second).
   */
  async forObjects(caller: Caller, account: string, name: string, action: Action): Promise<Bucket> {
    const cached = this.cache.get(name);
    if (cached && Date.now() - cached.readAt < BUCKET_CACHE_TTL_MS) return authorizeBucket(caller, action, account, cached.bucket);
    const bucket = await this.meta.getBucket(name);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(name, { bucket, readAt: Date.now() });
    return authorizeBucket(caller, action, account, bucket);
  }

  async create(caller: Caller, account: string, input: CreateBucketInput): Promise<Bucket> {
    authorizeAccount(caller, 'bucket:create', account);
    checkBucketName(input.name);
    const type = (input.type ?? 'STANDARD').toUpperCase();
    if (!BUCKET_TYPES.has(type)) fail('InvalidArgument', `Unsupported bucket type: ${input.type ?? ''}`);
    const meta = input.meta ?? {};
    checkUserMetadata(meta);
    const now = Date.now();
    const bucket: Bucket = {
      name: input.name,
      projectId: account,
      type,
      createdAt: now,
      updatedAt: now,
      objectCount: 0,
      bytes: 0,
      publicRead: false,
      publicReadAllowIps: [],
      encryption: input.encryption ?? null,
      meta,
    };
    if (!(await this.meta.createBucket(bucket))) fail('BucketAlreadyExists', `Bucket ${input.name} already exists`);
    this.cache.delete(bucket.name);
    return bucket;
  }

  /** Swift's container PUT: creates the bucket, or updates its metadata when the caller already owns it. */
  async createOrUpdate(caller: Caller, account: string, name: string, meta: Metadata): Promise<{ bucket: Bucket; created: boolean }> {
    const existing = await this.meta.getBucket(name);
    if (existing?.projectId === account) {
      const bucket = await this.updateMetadata(caller, account, name, meta, []);
      return { bucket, created: false };
    }
    return { bucket: await this.create(caller, account, { name, meta }), created: true };
  }

  async get(caller: Caller, account: string, name: string, action: Action = 'bucket:read'): Promise<Bucket> {
    return authorizeBucket(caller, action, account, await this.meta.getBucket(name));
  }

  async list(caller: Caller, account: string, options: ListOptions): Promise<ListEntry<Bucket>[]> {
    authorizeAccount(caller, 'account:read', account);
    return listEntries(
      (range) => this.meta.listBuckets(account, range),
      (bucket) => bucket.name,
      () => true,
      { ...options, limit: Math.min(options.limit, BUCKET_LIST_LIMIT * 10) },
    );
  }

  async totals(caller: Caller, account: string): Promise<{ buckets: number; objects: number; bytes: number }> {
    authorizeAccount(caller, 'account:read', account);
    return this.meta.accountTotals(account);
  }

  async setAccessControl(caller: Caller, account: string, name: string, acl: AccessControl): Promise<Bucket> {
    await this.get(caller, account, name, 'bucket:set-acl');
    if (acl.publicReadAllowIps) checkAllowList(acl.publicReadAllowIps);
    const patch = { publicRead: acl.publicRead, publicReadAllowIps: acl.publicReadAllowIps?.map((ip) => ip.trim()) };
    this.cache.delete(name);
    return (await this.meta.updateBucket(name, patch)) ?? fail('NoSuchBucket', 'The specified bucket does not exist');
  }

  /** Sets the given metadata items and removes the named ones (Swift's X-Container-Meta-* / X-Remove-…). */
  async updateMetadata(caller: Caller, account: string, name: string, set: Metadata, remove: readonly string[]): Promise<Bucket> {
    const bucket = await this.get(caller, account, name, 'bucket:write');
    const meta = { ...bucket.meta, ...set };
    for (const key of remove) Reflect.deleteProperty(meta, key);
    for (const [key, value] of Object.entries(set)) if (value === '') Reflect.deleteProperty(meta, key);
    checkUserMetadata(meta);
    return (await this.meta.updateBucket(name, { meta })) ?? fail('NoSuchBucket', 'The specified bucket does not exist');
  }

  async delete(caller: Caller, account: string, name: string): Promise<void> {
    await this.get(caller, account, name, 'bucket:delete');
    const outcome = await this.meta.deleteBucket(name);
    this.cache.delete(name);
    if (outcome === 'missing') fail('NoSuchBucket', 'The specified bucket does not exist');
    if (outcome === 'not-empty') fail('BucketNotEmpty', 'There was a conflict when trying to complete your request: the bucket is not empty');
  }
}
