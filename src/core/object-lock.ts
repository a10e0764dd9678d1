/**
 * S3's Object Lock, protocol-free. A bucket's lock is enabled when it is made, or later once its versioning is
 * enabled, and never disabled; versioning then stays enabled. Its versions may carry a retention (GOVERNANCE or
 * COMPLIANCE, until a date) and a legal hold; new versions get the bucket's default retention. A version locked at
 * a moment — retained past it, or held — cannot be removed or overwritten in place by any protocol or background
 * job; deleting its key still adds a delete marker. Governance yields only to a caller allowed to bypass it
 * (`BypassGovernanceRetention`) who asks to. Compliance can be lengthened, never shortened or removed.
 *
 * The rules read the version row itself (retention and hold are fields of it), so a GET costs nothing more and a
 * delete in a bucket without a lock costs a field test.
 */
import { authorizeBucket } from './authz.ts';
import type { Buckets } from './buckets.ts';
import type { Clock } from './clock.ts';
import { MAX_DEFAULT_RETENTION_DAYS, MAX_DEFAULT_RETENTION_YEARS } from './constraints.ts';
import { fail } from './errors.ts';
import { type BucketRow, type DefaultRetention, type ObjectLockConfiguration, type Retention, type VersionRow } from './model.ts';
import type { ObjectRef, Objects } from './objects.ts';
import type { Caller } from './types.ts';
import { versionIdOf } from './versions.ts';

export type { DefaultRetention, ObjectLockConfiguration, Retention, RetentionMode } from './model.ts';

/** The lock settings a write may give its new version (S3's x-amz-object-lock-* headers). */
export interface LockSettings {
  retention?: Retention | undefined;
  legalHold?: boolean | undefined;
}

/**
 * Lets governance retention yield: called only when it is in the way, it throws AccessDenied unless the caller may
 * bypass it (so asking to bypass an unlocked version needs no permission, as on S3).
 */
export type GovernanceBypass = () => void;

const DAY_MS = 24 * 3600 * 1000;
const MISSING_LOCK = 'Bucket is missing Object Lock Configuration';

/** Whether the version is locked at `now`: held, or retained past it. */
export function isLocked(version: VersionRow, now: number): boolean {
  return version.legalHold === true || (version.retention !== undefined && version.retention.retainUntil > now);
}

/**
 * Throws ObjectLocked unless the version may be removed or overwritten at `now`. Governance retention (without a
 * hold) yields to `bypass`, which throws when the caller may not use it.
 */
export function checkRemovable(version: VersionRow, now: number, bypass?: GovernanceBypass): void {
  if (!isLocked(version, now)) return;
  const { retention, legalHold } = version;
  if (!legalHold && retention?.mode === 'GOVERNANCE' && bypass) {
    bypass();
    return;
  }
  const reason = legalHold ? 'a legal hold' : `${retention?.mode ?? ''} retention until ${new Date(retention?.retainUntil ?? 0).toISOString()}`;
  fail('ObjectLocked', `Access Denied because object protected by object lock (${reason})`, {
    versionId: versionIdOf(version),
    ...(retention ? { mode: retention.mode, retainUntil: retention.retainUntil } : {}),
    ...(legalHold ? { legalHold } : {}),
  });
}

/** The bypass a caller asking for it gets in a bucket: authorized as `BypassGovernanceRetention` when used. */
export function governanceBypass(caller: Caller, bucket: BucketRow, asked: boolean | undefined, key: string): GovernanceBypass | undefined {
  if (!asked) return undefined;
  return () => {
    authorizeBucket(caller, 'BypassGovernanceRetention', bucket.projectId, bucket, key);
  };
}

/** S3's checks of lock settings given with a write (before the body is read): a retention must end in the future. */
export function checkLockSettings(settings: LockSettings, now: number): void {
  if (settings.retention) checkRetainUntil(settings.retention, now);
}

function checkRetainUntil(retention: Retention, now: number): void {
  if (!Number.isFinite(retention.retainUntil) || retention.retainUntil <= now) fail('InvalidArgument', 'The retain until date must be in the future!');
}

/** Authorizes the extra actions a write's lock settings need (S3: s3:PutObjectRetention, s3:PutObjectLegalHold). */
export function authorizeLockSettings(caller: Caller, bucket: BucketRow, settings: LockSettings | undefined, key: string): void {
  if (settings?.retention) authorizeBucket(caller, 'PutObjectRetention', bucket.projectId, bucket, key);
  if (settings?.legalHold !== undefined) authorizeBucket(caller, 'PutObjectLegalHold', bucket.projectId, bucket, key);
}

/**
 * A new version of `bucket` (as it is at commit) with the lock it gets: the settings given, else the bucket's
 * default retention from `now`; a version copied from another never keeps the source's lock. Settings given in a
 * bucket without Object Lock are refused (S3's InvalidRequest).
 */
export function withNewLock(bucket: BucketRow, version: VersionRow, given: LockSettings | undefined, now: number): VersionRow {
  const row: VersionRow = { ...version };
  delete row.retention;
  delete row.legalHold;
  checkLockAllowed(bucket, given);
  if (!bucket.objectLock) return row;
  const retention = given?.retention ?? defaultRetentionFrom(bucket.objectLock.defaultRetention, now);
  if (retention) row.retention = retention;
  if (given?.legalHold !== undefined) row.legalHold = given.legalHold;
  return row;
}

/** Refuses lock settings given in a bucket without Object Lock (S3's InvalidRequest). */
export function checkLockAllowed(bucket: BucketRow, given: LockSettings | undefined): void {
  if (!bucket.objectLock && (given?.retention || given?.legalHold !== undefined)) fail('InvalidRequest', MISSING_LOCK);
}

/** When a version made at `now` is retained until under a default retention (days of 24 h; years by the calendar, UTC). */
export function defaultRetentionFrom(rule: DefaultRetention | undefined, now: number): Retention | undefined {
  if (!rule) return undefined;
  if ('days' in rule) return { mode: rule.mode, retainUntil: now + rule.days * DAY_MS };
  const until = new Date(now);
  until.setUTCFullYear(until.getUTCFullYear() + rule.years);
  return { mode: rule.mode, retainUntil: until.getTime() };
}

/** S3's rule: a positive whole number of days or years (not both: the front end's XML says which). */
export function checkDefaultRetention(rule: DefaultRetention): void {
  const [count, max, unit] = 'days' in rule ? [rule.days, MAX_DEFAULT_RETENTION_DAYS, 'days'] : [rule.years, MAX_DEFAULT_RETENTION_YEARS, 'years'];
  if (!Number.isInteger(count) || count < 1) fail('InvalidRetentionPeriod', 'Default retention period must be a positive integer value');
  if (count > max) fail('InvalidRetentionPeriod', `Default retention period is too large: at most ${max} ${unit}`);
}

/**
 * Whether changing a version's retention from `before` to `after` (null: removed) at `now` weakens it: an
 * earlier date, or a removal, while the current one still holds; COMPLIANCE turned into GOVERNANCE counts too.
 */
function weakens(before: Retention | undefined, after: Retention | null, now: number): boolean {
  if (!before || before.retainUntil <= now) return false;
  if (!after) return true;
  return after.retainUntil < before.retainUntil || (before.mode === 'COMPLIANCE' && after.mode === 'GOVERNANCE');
}

/** The core API of Object Lock: a bucket's configuration, and a version's retention and legal hold. */
export class ObjectLocks {
  constructor(
    private readonly buckets: Buckets,
    private readonly objects: Objects,
    private readonly clock: Clock,
  ) {}

  /** S3's GetObjectLockConfiguration; NoSuchConfiguration (`object-lock`) for a bucket without Object Lock. */
  async getConfiguration(caller: Caller, account: string, name: string): Promise<ObjectLockConfiguration> {
    // A change on this node is seen at once (configure drops the cached row); other nodes' stores cache nothing.
    const config = (await this.buckets.forObjects(caller, account, name, 'GetBucketObjectLockConfiguration')).objectLock;
    if (!config) fail('NoSuchConfiguration', 'Object Lock configuration does not exist for this bucket', { kind: 'object-lock' });
    return config;
  }

  /**
   * S3's PutObjectLockConfiguration: enables Object Lock (once versioning is enabled: else InvalidBucketState) and
   * sets or, with null, removes the default retention. Existing versions keep the retention they have.
   */
  async putConfiguration(caller: Caller, account: string, name: string, defaultRetention: DefaultRetention | null): Promise<ObjectLockConfiguration> {
    if (defaultRetention) checkDefaultRetention(defaultRetention);
    const config: ObjectLockConfiguration = { enabled: true, ...(defaultRetention ? { defaultRetention } : {}) };
    await this.buckets.configure(
      caller,
      account,
      name,
      (_tx, bucket) => {
        if (bucket.versioning !== 'enabled') fail('InvalidBucketState', 'Versioning must be Enabled on the bucket to apply an Object Lock configuration');
        return Promise.resolve({ ...bucket, objectLock: config });
      },
      'PutBucketObjectLockConfiguration',
    );
    return config;
  }

  /** S3's GetObjectRetention; NoSuchConfiguration (`object-retention`) for a version that never had one. */
  async getRetention(caller: Caller, ref: ObjectRef): Promise<Retention> {
    const { bucket, version } = await this.objects.versionFor(caller, ref, 'GetObjectRetention');
    requireLock(bucket);
    if (!version.retention) fail('NoSuchConfiguration', 'The specified object does not have a ObjectLock configuration', { kind: 'object-retention' });
    return version.retention;
  }

  /**
   * S3's PutObjectRetention: sets the version's retention (null: removes it). A retention still in force may be
   * lengthened (or turned from GOVERNANCE into COMPLIANCE) by anyone allowed to put retention; shortening or
   * removing GOVERNANCE needs `bypassGovernance` and the permission; COMPLIANCE, never (ObjectLocked).
   */
  async putRetention(caller: Caller, ref: ObjectRef, retention: Retention | null, options: { bypassGovernance?: boolean } = {}): Promise<string> {
    if (retention) checkRetainUntil(retention, this.clock.now());
    const { version } = await this.objects.amendVersion(caller, ref, 'PutObjectRetention', (current, bucket, now) => {
      requireLock(bucket);
      if (weakens(current.retention, retention, now)) {
        const bypass = current.retention?.mode === 'GOVERNANCE' ? governanceBypass(caller, bucket, options.bypassGovernance, ref.key) : undefined;
        checkRemovable({ ...current, legalHold: false }, now, bypass);
      }
      const next: VersionRow = { ...current };
      if (retention) next.retention = retention;
      else delete next.retention;
      return next;
    });
    return versionIdOf(version);
  }

  /** S3's GetObjectLegalHold: true for ON, false for OFF; NoSuchConfiguration (`object-legal-hold`) when never set. */
  async getLegalHold(caller: Caller, ref: ObjectRef): Promise<boolean> {
    const { bucket, version } = await this.objects.versionFor(caller, ref, 'GetObjectLegalHold');
    requireLock(bucket);
    if (version.legalHold === undefined) fail('NoSuchConfiguration', 'The specified object does not have a ObjectLock configuration', { kind: 'object-legal-hold' });
    return version.legalHold;
  }

  /** S3's PutObjectLegalHold: turns the version's legal hold on or off. */
  async putLegalHold(caller: Caller, ref: ObjectRef, on: boolean): Promise<string> {
    const { version } = await this.objects.amendVersion(caller, ref, 'PutObjectLegalHold', (current, bucket) => {
      requireLock(bucket);
      return { ...current, legalHold: on };
    });
    return versionIdOf(version);
  }
}

function requireLock(bucket: BucketRow): void {
  if (!bucket.objectLock) fail('InvalidRequest', MISSING_LOCK);
}
