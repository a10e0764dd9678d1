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
