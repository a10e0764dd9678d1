/** The one core service layer every front end calls. */
import { newId } from '../lib/ids.ts';
import type { BlobStore } from '../store/blob/index.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import { AccessLog, accessLogDeliveryMs } from './access-log.ts';
import { Accounts } from './accounts.ts';
import { Buckets, foldTotals } from './buckets.ts';
import { clockFromEnv } from './clock.ts';
import type { NamingProfile } from './constraints.ts';
import { Directory } from './directory.ts';
import { Emptying } from './emptying.ts';
import { Identity } from './identity.ts';
import { JobRunner, type Job } from './jobs.ts';
import { Lifecycle, lifecycleIntervalMs } from './lifecycle.ts';
import { Cipher, sealSchemeFromEnv } from './cipher.ts';
import { EncryptionMigration, type MigrationReport } from './encryption-maintenance.ts';
import { BodyOffload } from './body-offload.ts';
import { BodyIntake } from './object-intake.ts';
import { Objects } from './objects.ts';
import { ObjectLocks } from './object-lock.ts';
import { Tagging } from './tagging.ts';
import { minPartSizeFromEnv, Uploads } from './uploads.ts';
import { S3Credentials } from './s3-credentials.ts';
import type { ServerKeys } from './server-keys.ts';
import { fsck, type Finding, type FsckOptions, type FsckReport } from './fsck.ts';
import { Scrubber, scrubBytesPerHour, scrubIntervalMs } from './scrubber.ts';

export interface JobOptions {
  startedAt: number;
  report?: (message: string, detail: Record<string, number>) => void;
  /** Hears what the scrubber finds wrong with stored bytes. */
  reportDamage?: (finding: Finding) => void;
  canRun?: () => boolean;
}

/** On a shared store, blobs younger than this may belong to another node's write that has not committed yet. */
const SHARED_SWEEP_GRACE_MS = 15 * 60 * 1000;

/** How long a node trusts account settings (quotas) it read, on a store no other process writes. */
const ACCOUNT_SETTINGS_TTL_MS = 1000;

export class Core {
  readonly directory: Directory;
  readonly identity: Identity;
  readonly s3Credentials: S3Credentials;
  readonly accounts: Accounts;
  readonly buckets: Buckets;
  readonly objects: Objects;
  readonly uploads: Uploads;
  /** S3's Object Lock: a bucket's configuration, a version's retention and legal hold. */
  readonly objectLock: ObjectLocks;
  /** S3's object and bucket tags. */
  readonly tagging: Tagging;
  readonly lifecycle: Lifecycle;
  readonly emptying: Emptying;
  readonly accessLog: AccessLog;
  /** Checks stored bytes in the background, a bounded amount per hour (null until the jobs start, or when off). */
  scrubber: Scrubber | null = null;
  /** This process, among the nodes sharing a store. */
  readonly nodeId = newId();
  private readonly jobs: JobRunner;
  private collector: Job | null = null;
  private emptier: Job | null = null;
  private loggingRefresh: NodeJS.Timeout | null = null;
  private readonly cipher: Cipher;

  constructor(
    readonly store: MetadataStore,
    readonly blobs: BlobStore,
    private readonly keys: ServerKeys,
    naming: NamingProfile,
    private readonly onBackgroundError: (err: unknown) => void,
    /** True when other nodes write the same blob directory (not this node's own `<data dir>/blobs`). */
    private readonly blobsShared = store.shared,
  ) {
    this.directory = new Directory(store);
    this.identity = new Identity(this.directory, keys);
    this.s3Credentials = new S3Credentials(store, this.directory, keys);
    this.accounts = new Accounts(this.directory, store.shared ? 0 : ACCOUNT_SETTINGS_TTL_MS);
    this.buckets = new Buckets(store, naming, this.directory);
    const clock = clockFromEnv();
    // One worker thread hashes and seals large bodies coming in and opens large sealed ranges going out.
    const offload = new BodyOffload();
    const cipher = (this.cipher = new Cipher(keys, sealSchemeFromEnv(), offload));
    const intake = new BodyIntake(blobs, cipher, offload, onBackgroundError);
    const nudge = (): void => {
      this.nudgeCollector();
    };
    this.objects = new Objects(store, blobs, this.buckets, cipher, intake, nudge, clock);
    this.uploads = new Uploads(store, blobs, this.buckets, intake, clock, nudge, minPartSizeFromEnv());
    this.objectLock = new ObjectLocks(this.buckets, this.objects, clock);
    this.tagging = new Tagging(store, this.buckets, this.objects);
    this.lifecycle = new Lifecycle(store, this.buckets, this.objects, this.uploads, clock);
    this.emptying = new Emptying(store, this.buckets, this.objects, this.uploads, () => {
      if (this.emptier) this.jobs.kick(this.emptier);
    });
    this.accessLog = new AccessLog(store, this.buckets, this.objects, onBackgroundError);
    this.jobs = new JobRunner(store, this.nodeId, (_job, err) => {
      onBackgroundError(err);
    });
  }

  /**
   * Starts the background jobs; `startedAt` bounds the first orphan sweep on a store of its own. `report` hears
   * what a job did when it is worth a line in the log; no job runs a round while `canRun` says no.
   */
  startJobs({ startedAt, report = () => undefined, reportDamage = () => undefined, canRun = () => true }: JobOptions): void {
    // Not a leased job: every node needs to know which buckets log.
    const refreshLogging = (): void => {
      void this.accessLog.refresh().catch(this.onBackgroundError);
    };
    refreshLogging();
    this.loggingRefresh = setInterval(refreshLogging, 5000);
    this.loggingRefresh.unref();
    // Blobs in this node's own directory are this node's work; in a shared one, one node at a time does it.
    const local = !this.blobsShared;
    this.collector = { name: 'blob-collector', everyMs: 2000, local, run: async () => (await this.objects.collectBlobs()) + (await this.uploads.collect()) + (await this.objects.large.collect()) };
    this.emptier = { name: 'emptying', everyMs: 5000, firstAfterMs: 0, run: () => this.emptying.work() };
    const scrubbing = scrubBytesPerHour();
    if (scrubbing > 0) this.scrubber = this.newScrubber(scrubbing, scrubIntervalMs(), reportDamage);
    const scrubber = this.scrubber;
    this.jobs.start(canRun, [
      ...(scrubber ? [{ name: 'scrub', everyMs: scrubber.everyMs, run: () => scrubber.round() }] : []),
      this.collector,
      this.emptier,
      { name: 'expiry', everyMs: expiryIntervalMs(), run: () => this.objects.reapExpired() },
      { name: 'totals', everyMs: 1000, run: () => foldTotals(this.store) },
      { name: 'lifecycle', everyMs: lifecycleIntervalMs(), run: () => this.lifecycle.applyRules() },
      { name: 'access-log-delivery', everyMs: accessLogDeliveryMs(), run: () => this.accessLog.deliver() },
      {
        name: 'orphan-sweep',
        everyMs: 3_600_000,
        firstAfterMs: 0,
        local,
        run: async () => {
          report('swept leftovers of interrupted writes', await this.sweep(startedAt));
          return 0;
        },
      },
    ]);
  }

  /** `onggi admin encryption migrate`: blobs sealed the earlier way (AES-256-CTR) into authenticated chunks. */
  migrateEncryption(): Promise<MigrationReport> {
    return new EncryptionMigration(this.store, this.blobs, this.keys, this.cipher).run();
  }

  stopJobs(): void {
    this.jobs.stop();
    if (this.loggingRefresh) clearInterval(this.loggingRefresh);
  }

  /**
   * Removes leftovers of interrupted writes: temp files, and blobs nothing references. In a blob directory of
   * its own, everything older than this process's start is fair game; in a shared one, only what is clearly stale.
   */
  async sweep(startedAt: number): Promise<{ temps: number; orphans: number }> {
    const olderThan = this.blobsShared ? Date.now() - SHARED_SWEEP_GRACE_MS : startedAt;
    return this.blobs.sweep((blobId) => this.objects.isBlobReferenced(blobId), olderThan);
  }

  /** A scrubber over this core's stores (the jobs run one; see scrubber.ts). */
  newScrubber(bytesPerHour: number, everyMs: number, report: (finding: Finding) => void): Scrubber {
    return new Scrubber(this.store, this.blobs, this.cipher, bytesPerHour, everyMs, report);
  }

  /** Checks every version's bytes and every blob file (see fsck.ts). */
  async fsck(options: FsckOptions): Promise<FsckReport> {
    return fsck(this.store, this.blobs, this.cipher, options);
  }

  /** Resolves when both stores answer. */
  async ready(): Promise<void> {
    await Promise.all([this.store.ping(), this.blobs.ping()]);
  }

  private nudgeCollector(): void {
    if (this.collector) this.jobs.kick(this.collector);
  }
}

/** How often expired objects are reaped (ONGGI_EXPIRY_INTERVAL_MS; tests shorten it). */
function expiryIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ONGGI_EXPIRY_INTERVAL_MS);
  return Number.isInteger(value) && value > 0 ? value : 10_000;
}
