import assert from 'node:assert/strict';
import { isOnggiError, type ErrorCode } from '../../src/core/errors.ts';

/** The core error code `fn` throws, or 'ok' when it returns. */
export function codeOf(fn: () => unknown): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (isOnggiError(err)) return err.code;
    throw err;
  }
}

/** Awaits `promise` and checks that it fails with the core error `code`, and these facts of its detail. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, detail?: Record<string, unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isOnggiError(err), `not a core error: ${String(err)}`);
    assert.equal(err.code, code);
    const facts = err.detail as Readonly<Record<string, unknown>>;
    if (detail) for (const [name, value] of Object.entries(detail)) assert.deepEqual(facts[name], value, name);
    return true;
  });
}
