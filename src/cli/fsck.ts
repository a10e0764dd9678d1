/** `onggi admin fsck`: checks every object's stored bytes and every blob file; see core/fsck.ts. */
import type { Command } from 'commander';
import type { Core } from '../core/index.ts';
import type { Finding, FsckReport } from '../core/fsck.ts';

type Action = (core: Core, print: (rows: unknown) => void) => Promise<void>;

/** Exit status when problems were found that are still there (a damaged object stays damaged once marked). */
export const FSCK_PROBLEMS_EXIT = 3;
const DEFAULT_GRACE_SECONDS = 900;

export function registerFsck(admin: Command, run: (action: Action) => () => Promise<void>): void {
  admin
    .command('fsck')
    .description('check every object version against its blobs (missing, size, MD5) and every blob file for an object that refers to it; exit status 3 when problems remain')
    .option('--repair', 'remove orphan blob files, and mark damaged versions so reads of them fail with a clear error (unmarks versions that check clean again)')
    .option('--grace <seconds>', `blob files modified more recently than this are not called orphans: writes in flight (default ${DEFAULT_GRACE_SECONDS})`)
    .option('--json', 'print the report as JSON')
    .action((options: { repair?: boolean; grace?: string; json?: boolean }) =>
      run(async (core, print) => {
        const graceSeconds = options.grace === undefined ? DEFAULT_GRACE_SECONDS : Number(options.grace);
        if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new Error('--grace is a number of seconds');
        const asJson = admin.opts<{ json?: boolean }>().json === true || options.json === true;
        const report = await core.fsck({
          repair: options.repair === true,
          graceMs: graceSeconds * 1000,
          // Printed as found: a long run shows what it found so far.
          ...(asJson ? {} : { onFinding: (finding: Finding) => print(finding) }),
        });
        if (asJson) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else print(summaryOf(report));
        if (report.findings.some(remains)) process.exitCode = FSCK_PROBLEMS_EXIT;
      })(),
    );
}

/** Removed orphans are dealt with; a damaged version, marked or not, is still damaged. */
function remains(finding: Finding): boolean {
  return finding.repaired !== 'removed';
}

function summaryOf(report: FsckReport): Record<string, number> {
  const count = (kind: Finding['kind']): number => report.findings.filter((finding) => finding.kind === kind).length;
  return {
    versions: report.versions,
    bytes_checked: report.bytesChecked,
    blobs_by_crc32: report.blobsBy.crc32,
    blobs_by_md5: report.blobsBy.md5,
    blobs_by_gcm_tags: report.blobsBy.gcm,
    // Under an SSE-C key: present and of their sealed size, not decrypted (the server does not have the key).
    unverifiable_sse_c: report.blobsBy.customer,
    blob_files: report.blobFiles,
    missing: count('missing'),
    size_mismatches: count('size'),
    hash_mismatches: count('hash'),
    orphans: count('orphan'),
    cleared: report.cleared.length,
  };
}
