/** Reading PostgreSQL errors, and the retry policy for serialization failures. */
import { StoreFault } from '../index.ts';

/** True when `error` is a database error whose SQLSTATE is one of `states`. */
export function isSqlState(error: unknown, states: readonly string[]): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = error.code;
  return typeof code === 'string' && states.includes(code);
}

/**
 * The transaction lost to a concurrent one and may simply be re-run: serialization_failure (40001, also what
 * PostgreSQL reports at COMMIT and what CockroachDB/YugabyteDB report for their restarts) and
 * deadlock_detected (40P01). Not 40003 (statement_completion_unknown): the commit may have happened, and
 * re-running could apply it twice.
 */
export function isSerializationFailure(error: unknown): boolean {
  return isSqlState(error, ['40001', '40P01']);
}

/**
 * Something the transaction read changed before it could commit (found by the commit's validation): like a
 * serialization failure, the transaction is re-run.
 */
export class StaleRead extends Error {
  constructor(what: string) {
    super(`read changed before commit: ${what}`);
    this.name = 'StaleRead';
  }
}

/** Errors after which `transact` re-runs the work. */
export function isRetryable(error: unknown): boolean {
  return error instanceof StaleRead || isSerializationFailure(error);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Full jitter, growing with the attempt: 0–2 ms, 0–4 ms, … up to 0–100 ms. */
export function backoffMs(attempt: number): number {
  return Math.random() * Math.min(100, 2 ** attempt);
}

/** SQLSTATEs of a database that cannot serve right now (any other error is the statement's own). */
const FULL_STATES = ['53100']; // disk_full
const UNAVAILABLE_STATES = [
  '53000', // insufficient_resources
  '53200', // out_of_memory
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
  '57P01', // admin_shutdown: the server is stopping, or our connection was terminated
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, or in recovery
  '25006', // read_only_sql_transaction: a standby (e.g. the old primary after a failover)
  '58000', // system_error
  '58030', // io_error
];
/** Socket errors of the connection to the database (never a client of ours: those are another layer's). */
const SOCKET_CODES = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT'];
/** node-postgres reports a lost or unusable connection with these messages and no code. */
const LOST_CONNECTION = /^(Connection terminated|timeout exceeded when trying to connect|timeout expired|Client has encountered a connection error|Client was closed)/;

/**
 * What an error of a statement, or of the connection under it, amounts to for the store's callers: a
 * `StoreFault` when the database cannot serve (full, gone, restarting, read-only), else null (the error is passed
 * on as it is). Class 08 (connection_exception) is always a fault.
 */
export function storeFaultOf(error: unknown): StoreFault | null {
  if (error instanceof StoreFault) return error;
  if (!(error instanceof Error)) return null;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : '';
  // statement_timeout and lock_timeout (also what a cancel request reports): the database is stalled or blocked.
  if (code === '57014') return new StoreFault('unavailable', `the metadata database did not answer in time (statement_timeout): ${error.message} (57014)`, { cause: error });
  if (code === '55P03') return new StoreFault('unavailable', `the metadata database held a lock too long (lock_timeout): ${error.message} (55P03)`, { cause: error });
  if (FULL_STATES.includes(code)) return new StoreFault('full', `the metadata database is out of space: ${error.message}`, { cause: error });
  const unavailable = UNAVAILABLE_STATES.includes(code) || code.startsWith('08') || SOCKET_CODES.includes(code) || LOST_CONNECTION.test(error.message);
  return unavailable ? unavailableFault(error) : null;
}

/** A connection could not be had at all (refused, unknown database, authentication, pool timeout): unavailable. */
export function connectFault(error: unknown): StoreFault {
  if (error instanceof StoreFault) return error;
  return unavailableFault(error instanceof Error ? error : new Error(String(error)));
}

function unavailableFault(error: Error): StoreFault {
  const code = 'code' in error && typeof error.code === 'string' ? ` (${error.code})` : '';
  return new StoreFault('unavailable', `the metadata database is unavailable: ${error.message}${code}`, { cause: error });
}
