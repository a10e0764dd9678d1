/**
 * `onggi admin fsck`: every version's bytes checked against its row (data-check.ts), and every blob file checked
 * for a row that refers to it. With `repair`, orphan blobs are removed and damaged versions marked (`damaged` on
 * the version row: reads of it fail with ObjectDamaged before any byte; a marked version that checks clean again,
 * its blob restored, is unmarked). Safe beside a running server: blobs younger than the grace period may belong to
 * a write not committed yet and are left alone, and a finding about a version changed meanwhile is dropped.
 */
import type { BlobStore } from '../store/blob/index.ts';
import type { MetadataStore } from '../store/meta/index.ts';
import type { BlobCipher } from './cipher.ts';
import { DataChecker, walkVersions, type Problem, type WalkedVersion } from './data-check.ts';
import { ALL, TABLES, type DamageReason, type VersionRow } from './model.ts';
import { versionIdOf } from './versions.ts';

export type FindingKind = DamageReason | 'orphan';

/** One thing fsck found, named so an operator can find it: the object's version, or the orphan blob. */
export interface Finding {
  kind: FindingKind;
  detail: string;
  /** The project (Swift account) id and name, the bucket, key and version (S3's id; `null` for the null version). */
  account?: string;
  project?: string;
  bucket?: string;
  key?: string;
  versionId?: string;
  /** False for a version that is no longer the key's current one. */
  current?: boolean;
  /** The part of a multipart object, counting from 1. */
  part?: number;
  blobId?: string;
  /** Marked damaged by an earlier repair. */
  marked?: boolean;
  /** What `repair` did about it. */
  repaired?: 'marked' | 'removed';
}

export interface FsckOptions {
  repair: boolean;
  /** Blob files modified less than this long ago are not called orphans (a write may be about to commit). */
  graceMs: number;
  /** Hears each finding as it is made (a long run prints as it goes). */
  onFinding?: (finding: Finding) => void;
}

export interface FsckReport {
  versions: number;
  bytesChecked: number;
  /** Blobs read, by the digest they were checked against: the CRC-32 kept since it was, the MD5 before, none (size only). */
  /** Blobs by what they were checked against; `customer`: under an SSE-C key, present and of their size but not decrypted. */
  blobsBy: { crc32: number; md5: number; gcm: number; none: number; customer: number };
  blobFiles: number;
  findings: Finding[];
  /** Versions marked damaged before that checked clean now, unmarked by `repair` (or that would be). */
  cleared: { bucket: string; key: string; versionId: string }[];
}

export async function fsck(store: MetadataStore, blobs: BlobStore, cipher: BlobCipher, options: FsckOptions): Promise<FsckReport> {
  const report: FsckReport = { versions: 0, bytesChecked: 0, blobsBy: { crc32: 0, md5: 0, gcm: 0, none: 0, customer: 0 }, blobFiles: 0, findings: [], cleared: [] };
  const found = (finding: Finding): void => {
    report.findings.push(finding);
    options.onFinding?.(finding);
  };
  const projectNames = new Map((await store.scan(TABLES.projects, ALL, { prefix: '', limit: Number.MAX_SAFE_INTEGER, reverse: false })).map((row) => [row.sk, row.value.name]));
  const checker = new DataChecker(store, blobs, cipher, { rememberBlobs: true });
  for await (const walked of walkVersions(store, null)) {
    report.versions++;
    const problems = await confirmed(store, walked, await checker.check(walked));
    if (problems.length === 0) {
      if (walked.version.damaged) {
        report.cleared.push({ bucket: walked.bucket.name, key: walked.key, versionId: versionIdOf(walked.version) });
        if (options.repair) await setDamage(store, walked, null);
      }
      continue;
    }
    const marked = walked.version.damaged !== undefined;
    const repaired = options.repair && !marked && (await setDamage(store, walked, problems[0]?.reason ?? 'hash')) ? 'marked' : undefined;
    for (const problem of problems) found(versionFinding(walked, problem, projectNames.get(walked.bucket.projectId), marked, repaired));
  }
  report.bytesChecked = checker.bytesRead;
  report.blobsBy = { ...checker.blobsBy };
  await findOrphans(store, blobs, options, report, found);
  return report;
}

/** A finding about a version, named. */
export function versionFinding(walked: WalkedVersion, problem: Problem, project: string | undefined, marked: boolean, repaired?: 'marked'): Finding {
  const { bucket, key, version, table } = walked;
  return {
    kind: problem.reason,
    detail: problem.detail,
    account: bucket.projectId,
    ...(project === undefined ? {} : { project }),
    bucket: bucket.name,
    key,
    versionId: versionIdOf(version),
    current: table === 'objects',
    ...(problem.part === undefined ? {} : { part: problem.part }),
    ...(problem.blobId === undefined ? {} : { blobId: problem.blobId }),
    ...(marked ? { marked } : {}),
    ...(repaired ? { repaired } : {}),
  };
}

/**
 * The problems, unless the version is no longer where the walk found it: overwritten or deleted meanwhile, its
 * blob may have gone with it, which is no damage.
 */
export async function confirmed(store: MetadataStore, walked: WalkedVersion, problems: Problem[]): Promise<Problem[]> {
  if (problems.length === 0) return problems;
  const row = await store.get(TABLES[walked.table], walked.bucket.id, walked.sk);
  return row?.value.id === walked.version.id ? problems : [];
}

/** Marks the version damaged (or, `null`, unmarks it) where it is, if it is still there; true when it did. */
async function setDamage(store: MetadataStore, walked: WalkedVersion, reason: DamageReason | null): Promise<boolean> {
  const table = TABLES[walked.table];
  return store.transact(async (tx) => {
    const row = await tx.getAttached(table, walked.bucket.id, walked.sk);
    if (row?.value.id !== walked.version.id) return false;
    const next: VersionRow = { ...row.value };
    if (reason === null) delete next.damaged;
    else next.damaged = { reason, at: Date.now() };
    if (row.attachment) tx.putAttached(table, walked.bucket.id, walked.sk, next, row.attachment);
    else tx.put(table, walked.bucket.id, walked.sk, next);
    return true;
  });
}

/** Blob files no row refers to (nor the removal queue holds), older than the grace period; removed with `repair`. */
async function findOrphans(store: MetadataStore, blobs: BlobStore, options: FsckOptions, report: FsckReport, found: (finding: Finding) => void): Promise<void> {
  const before = Date.now() - options.graceMs;
  const referenced = async (blobId: string): Promise<boolean> =>
    (await store.get(TABLES.blobRefs, ALL, blobId)) !== null || (await store.get(TABLES.blobGc, ALL, blobId)) !== null;
  for await (const blob of blobs.list()) {
    report.blobFiles++;
    if (blob.modifiedAt >= before || (await referenced(blob.blobId))) continue;
    let repaired: 'removed' | undefined;
    // Looked at once more right before it goes: nothing can come to refer to a blob no row refers to but its own write.
    if (options.repair && !(await referenced(blob.blobId))) {
      await blobs.delete(blob.blobId);
      repaired = 'removed';
    }
    found({ kind: 'orphan', detail: `${blob.size} bytes, no object refers to it`, blobId: blob.blobId, ...(repaired ? { repaired } : {}) });
  }
}
