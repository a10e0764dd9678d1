/**
 * The key-wrapping seam: what wraps each blob's data key for its version row, and unwraps it to read. The server's
 * master key does it by default (server-keys.ts); a hardware module (PKCS#11) can take its place, the master key
 * then never leaving it. Wrapping is synchronous: a read unwraps its blob's key as it opens it.
 */
export interface KeyWrapper {
  wrapDataKey(dataKey: Buffer): string;
  unwrapDataKey(wrapped: string): Buffer;
}

/** What marks a data key wrapped by a hardware module (PKCS#11); a master key's wrapping is bare base64. */
export const MODULE_WRAPPED_PREFIX = 'p11:';
