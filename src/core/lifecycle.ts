/**
 * Bucket lifecycle: S3's rule model (id, status, prefix and tag filter; expiration by days or date, expiration of
 * noncurrent versions, abort of incomplete multipart uploads), kept per bucket, and the background round that
 * applies it. A rule with a tag filter applies to the versions that carry every tag of it (tagging.ts). Versions
 * Object Lock keeps are left where a rule would remove them; a current one still gets its delete marker.
 */
import type { MetadataStore } from '../store/meta/index.ts';
import type { Buckets } from './buckets.ts';
import type { Clock } from './clock.ts';
import { MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH } from './constraints.ts';
import { fail } from './errors.ts';
import { ALL, TABLES, type BucketName, type LifecycleRule, type LifecycleTag, type VersionRow } from './model.ts';
import type { Objects } from './objects.ts';
import { hasTags } from './tagging.ts';
import type { Uploads } from './uploads.ts';
import type { Caller } from './types.ts';

export type { LifecycleRule } from './model.ts';

export const MAX_LIFECYCLE_RULES = 1000;

/** A bucket by its id, and where its row is when known (see LifecycleRow). */
export type BucketAt = { id: string } & Partial<BucketName>;
const MAX_RULE_ID_LENGTH = 255;
const MAX_NEWER_NONCURRENT = 100;
/** S3's bound on a lifecycle size filter: 50 TB. */
const MAX_SIZE_FILTER = 50 * 1024 ** 4;
const DAY_MS = 24 * 3600 * 1000;
const SCAN_BATCH = 1000;

/** S3's validation; throws InvalidArgument naming the rule and field. */
export function checkLifecycleRules(rules: readonly LifecycleRule[]): void {
  if (rules.length === 0) fail('InvalidArgument', 'rules: at least one rule is required (delete the configuration to remove it)');
  if (rules.length > MAX_LIFECYCLE_RULES) fail('InvalidArgument', `rules: at most ${MAX_LIFECYCLE_RULES} rules per bucket`);
  const ids = new Set<string>();
  rules.forEach((rule, i) => {
    const at = (field: string): string => `rules[${i}].${field}`;
    if (rule.id.length === 0 || rule.id.length > MAX_RULE_ID_LENGTH) fail('InvalidArgument', `${at('id')}: 1 to ${MAX_RULE_ID_LENGTH} characters`);
    if (ids.has(rule.id)) fail('InvalidArgument', `${at('id')}: "${rule.id}" is used by another rule`);
    ids.add(rule.id);
    const { expiration, noncurrentVersionExpiration: noncurrent, abortIncompleteMultipartUpload: abort, tags = [] } = rule;
    const markers = rule.expiredObjectDeleteMarker === true;
    if (!expiration && !noncurrent && !abort && !markers) {
      fail('InvalidArgument', `rules[${i}]: at least one action (expiration, expired_object_delete_marker, noncurrent_version_expiration, abort_incomplete_multipart_upload)`);
    }
    if (markers && expiration) fail('InvalidArgument', `${at('expiration')}: expired_object_delete_marker cannot be given with days or a date`);
    if (expiration && 'days' in expiration) checkDays(expiration.days, at('expiration.days'));
    else if (expiration && (!Number.isFinite(expiration.date) || expiration.date % DAY_MS !== 0)) {
      fail('InvalidArgument', `${at('expiration.date')}: an ISO 8601 date at midnight UTC`);
    }
    if (noncurrent) {
      checkDays(noncurrent.noncurrentDays, at('noncurrent_version_expiration.noncurrent_days'));
      const newer = noncurrent.newerNoncurrentVersions;
      if (newer !== undefined && (!Number.isInteger(newer) || newer < 1 || newer > MAX_NEWER_NONCURRENT)) {
        fail('InvalidArgument', `${at('noncurrent_version_expiration.newer_noncurrent_versions')}: a whole number from 1 to ${MAX_NEWER_NONCURRENT}`);
      }
    }
    if (abort) checkDays(abort.daysAfterInitiation, at('abort_incomplete_multipart_upload.days_after_initiation'));
    if (abort && tags.length > 0) fail('InvalidArgument', `${at('abort_incomplete_multipart_upload')}: cannot be used with a tag filter (uploads carry no tags)`);
    checkTags(tags, at('filter.tags'));
    checkSizeFilter(rule, at);
  });
}

/** Whole numbers of bytes up to 50 TB; with both, a range that holds some size; uploads have no size yet. */
function checkSizeFilter(rule: LifecycleRule, at: (field: string) => string): void {
  const { objectSizeGreaterThan: over, objectSizeLessThan: under } = rule;
  for (const [value, field] of [[over, 'object_size_greater_than'], [under, 'object_size_less_than']] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > MAX_SIZE_FILTER)) fail('InvalidArgument', `${at(`filter.${field}`)}: a whole number of bytes from 0 to ${MAX_SIZE_FILTER}`);
  }
  if (over !== undefined && under !== undefined && under <= over + 1) fail('InvalidArgument', `${at('filter')}: object_size_less_than must be greater than object_size_greater_than`);
  if (rule.abortIncompleteMultipartUpload && (over !== undefined || under !== undefined)) {
    fail('InvalidArgument', `${at('abort_incomplete_multipart_upload')}: cannot be used with an object size filter (uploads have no size yet)`);
  }
}

/** Whether a version's size is within the rule's size filter. */
export function sizeMatches(rule: LifecycleRule, size: number): boolean {
  return (rule.objectSizeGreaterThan === undefined || size > rule.objectSizeGreaterThan) && (rule.objectSizeLessThan === undefined || size < rule.objectSizeLessThan);
}

function checkDays(days: number, field: string): void {
  if (!Number.isInteger(days) || days < 1) fail('InvalidArgument', `${field}: a positive whole number of days`);
}

/** S3's tag rules: keys of 1 to 128 characters, values of up to 256, no key twice. */
function checkTags(tags: readonly LifecycleTag[], field: string): void {
  const keys = new Set<string>();
  tags.forEach((tag, i) => {
    if (tag.key.length === 0 || tag.key.length > MAX_TAG_KEY_LENGTH) fail('InvalidArgument', `${field}[${i}].key: 1 to ${MAX_TAG_KEY_LENGTH} characters`);
    if (tag.value.length > MAX_TAG_VALUE_LENGTH) fail('InvalidArgument', `${field}[${i}].value: at most ${MAX_TAG_VALUE_LENGTH} characters`);
    if (keys.has(tag.key)) fail('InvalidArgument', `${field}[${i}].key: "${tag.key}" is given twice`);
    keys.add(tag.key);
  });
}

/** When an object last modified at `lastModified` expires (S3: days round up to the next midnight UTC). */
export function expiresAt(expiration: NonNullable<LifecycleRule['expiration']>, lastModified: number): number {
  if ('date' in expiration) return expiration.date;
  return Math.ceil((lastModified + expiration.days * DAY_MS) / DAY_MS) * DAY_MS;
}

export function lifecycleIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ONGGI_LIFECYCLE_INTERVAL_MS);
  return Number.isInteger(value) && value > 0 ? value : 3_600_000;
}

export class Lifecycle {
  constructor(
    private readonly store: MetadataStore,
    private readonly buckets: Buckets,
    private readonly objects: Objects,
    private readonly uploads: Uploads,
    private readonly clock: Clock,
  ) {}

  async get(caller: Caller, account: string, name: string): Promise<LifecycleRule[]> {
    const bucket = await this.buckets.forObjects(caller, account, name, 'GetLifecycleConfiguration');
    const row = await this.store.get(TABLES.lifecycle, ALL, bucket.id);
    if (!row) fail('NoSuchConfiguration', 'The bucket has no lifecycle configuration', { kind: 'lifecycle' });
    return row.value.rules;
  }

  /** Replaces the bucket's lifecycle rules. */
  async put(caller: Caller, account: string, name: string, rules: LifecycleRule[]): Promise<LifecycleRule[]> {
    checkLifecycleRules(rules);
    await this.buckets.configure(caller, account, name, (tx, bucket) => {
      tx.put(TABLES.lifecycle, ALL, bucket.id, { rules, bucket: { projectId: bucket.projectId, name: bucket.name } });
      return Promise.resolve({ ...bucket, lifecycle: rules.some((rule) => rule.enabled) });
    }, 'PutLifecycleConfiguration');
    return rules;
  }

  async delete(caller: Caller, account: string, name: string): Promise<void> {
    await this.buckets.configure(caller, account, name, async (tx, bucket) => {
      if (!(await tx.get(TABLES.lifecycle, ALL, bucket.id))) fail('NoSuchConfiguration', 'The bucket has no lifecycle configuration', { kind: 'lifecycle' });
      tx.delete(TABLES.lifecycle, ALL, bucket.id);
      return { ...bucket, lifecycle: false };
    }, 'PutLifecycleConfiguration');
  }

  /** One round of the background job: removes every object an enabled rule says has expired. */
  async applyRules(): Promise<number> {
    const now = this.clock.now();
    let removed = 0;
    let after: string | undefined;
    for (;;) {
      const configs = await this.store.scan(TABLES.lifecycle, ALL, {
        prefix: '',
        lower: after === undefined ? undefined : { key: after, inclusive: false },
        limit: SCAN_BATCH,
        reverse: false,
      });
      for (const config of configs) {
        for (const rule of config.value.rules) if (rule.enabled) removed += await this.applyRule({ id: config.sk, ...config.value.bucket }, rule, now);
      }
      if (configs.length < SCAN_BATCH) return removed;
      after = configs[configs.length - 1]?.sk;
    }
  }

  /** The rule's actions: expiring current versions and versions no longer current, aborting old uploads. */
  private async applyRule(bucket: BucketAt, rule: LifecycleRule, now: number): Promise<number> {
    const tags = rule.tags ?? [];
    let removed = 0;
    if (rule.expiration || rule.expiredObjectDeleteMarker) removed += await this.expireCurrent(bucket, rule, now);
    const noncurrent = rule.noncurrentVersionExpiration;
    if (noncurrent) {
      const due = (version: VersionRow): boolean =>
        version.noncurrentSince !== undefined &&
        expiresAt({ days: noncurrent.noncurrentDays }, version.noncurrentSince) <= now &&
        hasTags(version, tags) &&
        (version.state === 'delete-marker' || sizeMatches(rule, version.size));
      removed += await this.objects.expireNoncurrent(bucket.id, rule.prefix, due, noncurrent.newerNoncurrentVersions ?? 0);
    }
    const abort = rule.abortIncompleteMultipartUpload;
    if (abort) removed += await this.uploads.abortStarted(bucket.id, rule.prefix, now - abort.daysAfterInitiation * DAY_MS);
    return removed;
  }

  /** Current versions the rule's expiration is due for, and delete markers left with no version under them. */
  private async expireCurrent(bucket: BucketAt, rule: LifecycleRule, now: number): Promise<number> {
    const { prefix, expiration } = rule;
    const tags = rule.tags ?? [];
    const objectsDue = expiration !== undefined && !('date' in expiration && expiration.date > now);
    // S3: ExpiredObjectDeleteMarker removes them at once; an expiration by days, once they are that old.
    const markerDue = (marker: VersionRow): boolean => rule.expiredObjectDeleteMarker === true || (expiration !== undefined && 'days' in expiration && expiresAt(expiration, marker.lastModified) <= now);
    if (!objectsDue && !rule.expiredObjectDeleteMarker) return 0;
    let removed = 0;
    let after: string | undefined;
    for (;;) {
      const objects = await this.store.scan(TABLES.objects, bucket.id, {
        prefix,
        lower: after === undefined ? undefined : { key: after, inclusive: false },
        limit: SCAN_BATCH,
        reverse: false,
      });
      for (const entry of objects) {
        const version = entry.value;
        if (version.state === 'delete-marker') {
          if (markerDue(version) && hasTags(version, tags) && (await this.objects.removeExpiredDeleteMarker(bucket.id, entry.sk, version.id))) removed++;
          continue;
        }
        if (!objectsDue || version.state !== 'complete' || expiresAt(expiration, version.lastModified) > now || !hasTags(version, tags) || !sizeMatches(rule, version.size)) continue;
        if (await this.objects.expireCurrent(bucket, entry.sk, version.id)) removed++;
      }
      if (objects.length < SCAN_BATCH) return removed;
      after = objects[objects.length - 1]?.sk;
    }
  }
}
