/**
 * Swift's quotas (its container_quotas and account_quotas middleware):
 *   `X-Container-Meta-Quota-Bytes`, `X-Container-Meta-Quota-Count`: container metadata its writers set, digits only;
 *   `X-Account-Meta-Quota-Bytes`: the operator's (Swift's reseller admin's: `onggi admin project quota`), refused
 *   with 403 to every token, as Swift refuses it to account owners.
 * A write (PUT, COPY and X-Copy-From, SLO/DLO segments and manifests, FormPost files) that would take the
 * container past a quota or the account past its own gets 413 `Upload exceeds quota.` and stores nothing. As Swift
 * counts: the bytes already held plus the body's, and the objects held plus one (an overwrite too). A body of
 * unknown length (chunked) is cut off where it passes the room left. Two writes racing each other may both fit
 * alone and pass it together, as in Swift.
 */
import type { IncomingMessage } from 'node:http';
import { fail } from '../../core/errors.ts';
import type { BucketRow } from '../../core/model.ts';
import type { Core } from '../../core/index.ts';
import type { Project } from '../../core/types.ts';
import { headerValue } from '../../http/context.ts';
import { registerInfo } from './info.ts';

registerInfo('container_quotas', () => ({}));
registerInfo('account_quotas', () => ({}));

/** The metadata names, as stored (their X-…-Meta- prefix taken off). */
export const QUOTA_BYTES = 'quota-bytes';
export const QUOTA_COUNT = 'quota-count';

/** A container PUT or POST's quotas: digits, or empty to remove one; anything else is Swift's 400. */
export function checkContainerQuotas(req: IncomingMessage): void {
  const bytes = headerValue(req, `x-container-meta-${QUOTA_BYTES}`);
  if (bytes && !/^\d+$/.test(bytes)) fail('InvalidArgument', 'Invalid bytes quota.');
  const count = headerValue(req, `x-container-meta-${QUOTA_COUNT}`);
  if (count && !/^\d+$/.test(count)) fail('InvalidArgument', 'Invalid count quota.');
}

/** An account POST setting or removing the account's quota: only the operator may (Swift: the reseller admin). */
export function refuseAccountQuota(req: IncomingMessage): void {
  if (headerValue(req, `x-account-meta-${QUOTA_BYTES}`) !== undefined || headerValue(req, `x-remove-account-meta-${QUOTA_BYTES}`) !== undefined) {
    fail('AccessDenied', 'The account quota (X-Account-Meta-Quota-Bytes) is set by the operator: onggi admin project quota');
  }
}

/**
 * The bytes a write of `length` (null: not known yet) may still put into `bucket` (undefined: no quota applies);
 * throws 413 when the write cannot fit whatever its size. Costs nothing more than a cached read of the account's
 * settings unless a quota is set.
 */
export function quotaRoom(core: Core, bucket: BucketRow, length: number | null): Promise<number | undefined> | undefined {
  const settings = core.accounts.settings(bucket.projectId);
  if (settings instanceof Promise) return settings.then((project) => roomIn(core, bucket, project, length));
  // The usual case, on the hot path: no quota, and the account's settings at hand; no turn of the event loop.
  if (bucket.meta[QUOTA_BYTES] === undefined && bucket.meta[QUOTA_COUNT] === undefined && settings?.meta[QUOTA_BYTES] === undefined) return undefined;
  return roomIn(core, bucket, settings, length);
}

async function roomIn(core: Core, bucket: BucketRow, project: Project | null, length: number | null): Promise<number | undefined> {
  const bytesQuota = quotaOf(bucket.meta[QUOTA_BYTES]);
  const countQuota = quotaOf(bucket.meta[QUOTA_COUNT]);
  const accountQuota = quotaOf(project?.meta[QUOTA_BYTES]);
  if (bytesQuota === undefined && countQuota === undefined && accountQuota === undefined) return undefined;
  let room = Number.MAX_SAFE_INTEGER;
  if (bytesQuota !== undefined || countQuota !== undefined) {
    const usage = await core.buckets.usage(bucket);
    if (countQuota !== undefined && usage.objects + 1 > countQuota) exceeded();
    if (bytesQuota !== undefined) room = bytesQuota - usage.bytes;
  }
  if (accountQuota !== undefined) room = Math.min(room, accountQuota - (await core.buckets.usageOfAccount(bucket.projectId)).bytes);
  if (room < 0 || (length !== null && length > room)) exceeded();
  return room;
}

function quotaOf(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function exceeded(): never {
  fail('EntityTooLarge', 'Upload exceeds quota.', { quota: true });
}
