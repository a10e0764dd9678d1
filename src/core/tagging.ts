/**
 * S3's tagging, protocol-free: a version's tags (up to 10; a field of the version row, so GET's x-amz-tagging-count
 * costs nothing and lifecycle's tag filters read them with the row) and a bucket's (up to 50; a row of their own,
 * `bucketTags`, so the bucket row every request reads stays small). Tags change in place, without a new version,
 * and may change on a version Object Lock keeps, as on S3.
 */
import type { MetadataStore } from '../store/meta/index.ts';
import type { Buckets } from './buckets.ts';
import { checkTags, MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, type Tag } from './constraints.ts';
import { fail } from './errors.ts';
import { TABLES, type VersionRow } from './model.ts';
import type { ObjectRef, Objects } from './objects.ts';
import type { Caller } from './types.ts';
import { versionIdOf } from './versions.ts';

export type { Tag } from './constraints.ts';

/** A version's tags, with the id of the version they are of (S3 answers it in x-amz-version-id). */
export interface VersionTags {
  versionId: string;
  tags: Tag[];
}

export class Tagging {
  constructor(
    private readonly store: MetadataStore,
    private readonly buckets: Buckets,
    private readonly objects: Objects,
  ) {}

  /** S3's GetObjectTagging: the version's tags (none: an empty set, not an error). */
  async getObjectTags(caller: Caller, ref: ObjectRef): Promise<VersionTags> {
    const { version } = await this.objects.versionFor(caller, ref, 'GetObjectTagging');
    return { versionId: versionIdOf(version), tags: version.tags ?? [] };
  }

  /** S3's PutObjectTagging: replaces the version's tags (an empty set removes them). */
  async putObjectTags(caller: Caller, ref: ObjectRef, tags: Tag[]): Promise<VersionTags> {
    checkTags(tags, MAX_OBJECT_TAGS);
    const { version } = await this.objects.amendVersion(caller, ref, 'PutObjectTagging', (current) => {
      const next: VersionRow = { ...current, tags };
      if (tags.length === 0) delete next.tags;
      return next;
    });
    return { versionId: versionIdOf(version), tags };
  }

  /** S3's DeleteObjectTagging: removes the version's tags (none there: done all the same). */
  async deleteObjectTags(caller: Caller, ref: ObjectRef): Promise<{ versionId: string }> {
    const { version } = await this.objects.amendVersion(caller, ref, 'DeleteObjectTagging', (current) => {
      const next = { ...current };
      delete next.tags;
      return next;
    });
    return { versionId: versionIdOf(version) };
  }

  /** S3's GetBucketTagging; NoSuchConfiguration (`bucket-tagging`: S3's NoSuchTagSet) when the bucket has none. */
  async getBucketTags(caller: Caller, account: string, name: string): Promise<Tag[]> {
    const bucket = await this.buckets.forObjects(caller, account, name, 'GetBucketTagging');
    const row = await this.store.get(TABLES.bucketTags, bucket.id, '');
    if (!row) fail('NoSuchConfiguration', 'The TagSet does not exist', { kind: 'bucket-tagging' });
    return row.value.tags;
  }

  /** S3's PutBucketTagging: replaces the bucket's tags (an empty set removes them). */
  async putBucketTags(caller: Caller, account: string, name: string, tags: Tag[]): Promise<Tag[]> {
    checkTags(tags, MAX_BUCKET_TAGS);
    await this.buckets.configure(
      caller,
      account,
      name,
      (tx, bucket) => {
        if (tags.length === 0) tx.delete(TABLES.bucketTags, bucket.id, '');
        else tx.put(TABLES.bucketTags, bucket.id, '', { tags });
        return Promise.resolve(bucket);
      },
      'PutBucketTagging',
    );
    return tags;
  }

  /** S3's DeleteBucketTagging (authorized as PutBucketTagging, as S3 does): removes the bucket's tags. */
  async deleteBucketTags(caller: Caller, account: string, name: string): Promise<void> {
    await this.putBucketTags(caller, account, name, []);
  }
}

/** Whether a version carries every one of `wanted` (lifecycle's tag filter; none wanted: every version does). */
export function hasTags(version: { tags?: Tag[] | undefined }, wanted: readonly Tag[]): boolean {
  return wanted.every((tag) => version.tags?.some((own) => own.key === tag.key && own.value === tag.value) === true);
}
