/**
 * A log line for a request answered 503 or 507 because the storage could not serve it (the metadata database
 * stalled past its statement or lock timeout, gone, full; the server too busy): the status alone does not say why.
 * At most one line a second, saying how many such answers it stands for, so that an outage does not flood the log.
 */
import { asOnggiError, type ErrorCode } from '../core/errors.ts';
import type { RequestContext } from './context.ts';

const STATUS: Partial<Record<ErrorCode, number>> = { StorageUnavailable: 503, Busy: 503, InsufficientStorage: 507 };
const INTERVAL_MS = 1000;

let lastAt = 0;
let unlogged = 0;

/** Called by a front end with whatever it caught; logs only storage refusals. */
export function noteStorageRefusal(ctx: RequestContext, caught: unknown): void {
  const err = asOnggiError(caught);
  const status = err ? STATUS[err.code] : undefined;
  if (!err || status === undefined) return;
  unlogged++;
  const now = Date.now();
  if (now - lastAt < INTERVAL_MS) return;
  lastAt = now;
  const answers = unlogged;
  unlogged = 0;
  const cause = typeof err.detail.cause === 'string' ? err.detail.cause : err.message;
  ctx.log.warn({ op: ctx.op, status, code: err.code, cause, answers }, `answered ${String(status)}: ${cause}`);
}
