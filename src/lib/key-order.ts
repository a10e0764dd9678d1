/**
 * Key order as the stores keep it: code point order, which is UTF-8 byte order (SQLite's BINARY collation,
 * PostgreSQL's COLLATE "C"). JavaScript's `<` on strings compares UTF-16 units instead, which puts U+E000–U+FFFF
 * after the astral characters (U+10000 and up): never use it on keys.
 */

/** Compares two strings in code point order (= UTF-8 byte order). */
export function compareKeys(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (U+D800–U+DFFF) only occur in pairs encoding code points above U+FFFF: rank them after U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** The smallest string greater than every string that starts with `prefix` (in code point order), or null. */
export function prefixUpperBound(prefix: string): string | null {
  const chars = Array.from(prefix);
  while (chars.length > 0) {
    const code = chars.pop()?.codePointAt(0) ?? 0;
    if (code < 0x10ffff) {
      const next = code + 1 === 0xd800 ? 0xe000 : code + 1;
      return chars.join('') + String.fromCodePoint(next);
    }
  }
  return null;
}
