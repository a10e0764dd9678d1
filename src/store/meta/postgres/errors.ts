/** Reading PostgreSQL errors, and the retry policy for serialization failures. */

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
