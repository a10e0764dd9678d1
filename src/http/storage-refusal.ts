/**
 * A log line for a request answered 503 or 507 because the storage could not serve it (the metadata database
 * stalled past its statement or lock timeout, gone, full; the server too busy): the status alone does not say why.
 * At most one line a second, saying how many such answers it stands for, so that an outage does not flood the log.
 */
import { asOnggiError } from '../core/errors.ts';
import type { RequestContext } from './context.ts';

const STATUS = { StorageUnavailable: 503, Busy: 503, InsufficientStorage: 507 } as const;
const INTERVAL_MS = 1000;

let lastAt = 0;
let unlogged = 0;

/** Called by a front end with whatever it caught; logs only storage refusals. */
export function noteStorageRefusal(ctx: RequestContext, caught: unknown): void {
  const err = asOnggiError(caught);
  if (err?.code !== 'StorageUnavailable' && err?.code !== 'Busy' && err?.code !== 'InsufficientStorage') return;
  const status = STATUS[err.code];
  unlogged++;
  const now = Date.now();
  if (now - lastAt < INTERVAL_MS) return;
  lastAt = now;
  const answers = unlogged;
  unlogged = 0;
  const cause = err.detail.cause ?? err.message;
  ctx.log.warn({ op: ctx.op, status, code: err.code, cause, answers }, `answered ${String(status)}: ${cause}`);
}
