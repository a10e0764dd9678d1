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
