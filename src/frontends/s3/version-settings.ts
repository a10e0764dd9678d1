/**
 * What S3 lets a write give its new version besides bytes and metadata, in headers both ways: tags
 * (`x-amz-tagging`, `x-amz-tagging-directive`; `x-amz-tagging-count` on reads) and Object Lock
 * (`x-amz-object-lock-mode`, `-retain-until-date`, `-legal-hold`). Core checks the rules; this only translates.
 */
import type { IncomingMessage } from 'node:http';
import type { Tag } from '../../core/constraints.ts';
import { RETENTION_MODES, type RetentionMode } from '../../core/model.ts';
import type { LockSettings } from '../../core/object-lock.ts';
import type { VersionSettings } from '../../core/objects.ts';
import type { ObjectRecord } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import { S3Error } from './errors.ts';

const LOCK_MODE = 'x-amz-object-lock-mode';
const LOCK_UNTIL = 'x-amz-object-lock-retain-until-date';
const LOCK_HOLD = 'x-amz-object-lock-legal-hold';

/** The tags and lock settings of a PutObject or CreateMultipartUpload (none given: an empty object, nothing checked). */
export function versionSettingsOf(req: IncomingMessage): VersionSettings {
  const tagging = headerValue(req, 'x-amz-tagging');
  const lock = lockSettingsIn((name) => headerValue(req, name));
  return { ...(tagging === undefined ? {} : { tags: tagsOfQuery(tagging) }), ...(lock ? { lock } : {}) };
}

/** CopyObject's: the tags only with `x-amz-tagging-directive: REPLACE` (COPY, the default, keeps the source's). */
export function copyVersionSettingsOf(req: IncomingMessage): VersionSettings {
  const directive = (headerValue(req, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 400, 'Unknown tagging directive.');
  const lock = lockSettingsIn((name) => headerValue(req, name));
  const tags = directive === 'REPLACE' ? tagsOfQuery(headerValue(req, 'x-amz-tagging') ?? '') : undefined;
  return { ...(tags ? { tags } : {}), ...(lock ? { lock } : {}) };
}

/** `x-amz-tagging`: tags in a URL query's form (`k1=v1&k2=v2`). */
export function tagsOfQuery(text: string): Tag[] {
  const tags: Tag[] = [];
  if (text.trim() === '') return tags;
  for (const [key, value] of new URLSearchParams(text)) tags.push({ key, value });
  return tags;
}

/** Object Lock's three settings of a write, from its headers or a browser form's fields (`valueOf` by lower-case name). */
export function lockSettingsIn(valueOf: (name: string) => string | undefined): LockSettings | null {
  const mode = valueOf(LOCK_MODE);
  const until = valueOf(LOCK_UNTIL);
  const hold = valueOf(LOCK_HOLD);
  if (mode === undefined && until === undefined && hold === undefined) return null;
  if ((mode === undefined) !== (until === undefined)) {
    throw new S3Error('InvalidArgument', 400, 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied');
  }
  const settings: LockSettings = {};
  if (mode !== undefined && until !== undefined) settings.retention = { mode: retentionModeOf(mode, 'InvalidArgument'), retainUntil: retainUntilOf(until, 'InvalidArgument') };
  if (hold !== undefined) settings.legalHold = legalHoldOf(hold, 'InvalidArgument');
  return settings;
}

/** `GOVERNANCE` or `COMPLIANCE`, exactly; anything else is `code` (InvalidArgument in a header, MalformedXML in a body). */
export function retentionModeOf(value: unknown, code: string): RetentionMode {
  if (typeof value === 'string' && (RETENTION_MODES as readonly string[]).includes(value)) return value as RetentionMode;
  throw new S3Error(code, 400, 'Unknown wormMode directive.');
}

/** An ISO 8601 timestamp as ms since the epoch. */
export function retainUntilOf(value: unknown, code: string): number {
  const ms = typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new S3Error(code, 400, 'The retain until date must be provided in ISO 8601 format');
  return ms;
}

/** `ON` or `OFF`. */
export function legalHoldOf(value: unknown, code: string): boolean {
  if (value === 'ON') return true;
  if (value === 'OFF') return false;
  throw new S3Error(code, 400, 'Legal Hold must be either of ON or OFF');
}

/** A read's tag count and lock headers, added to `headers` (a field test each when the version has none). */
export function addVersionSettingHeaders(record: ObjectRecord, headers: Record<string, string | number>): void {
  if (record.tagCount) headers['x-amz-tagging-count'] = record.tagCount;
  if (record.retention) {
    headers[LOCK_MODE] = record.retention.mode;
    headers[LOCK_UNTIL] = new Date(record.retention.retainUntil).toISOString();
  }
  if (record.legalHold !== undefined) headers[LOCK_HOLD] = record.legalHold ? 'ON' : 'OFF';
}

/** `x-amz-bypass-governance-retention: true`. */
export function bypassGovernanceOf(req: IncomingMessage): boolean {
  return headerValue(req, 'x-amz-bypass-governance-retention')?.trim().toLowerCase() === 'true';
}
