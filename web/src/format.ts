/** Numbers, sizes and times as people read them, in the console's language. */
import type { Lang } from './i18n.ts';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number, lang: Lang): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toLocaleString(lang, { maximumFractionDigits: digits })} ${UNITS[unit] ?? ''}`;
}

export function formatCount(count: number, lang: Lang): string {
  return count.toLocaleString(lang);
}

export function formatTime(ms: number, lang: Lang): string {
  if (!Number.isFinite(ms)) return '–';
  return new Date(ms).toLocaleString(lang, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** The last segment of a key (`a/b/c.jpg` → `c.jpg`; a folder `a/b/` → `b/`). */
export function baseName(key: string): string {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  return key.slice(trimmed.lastIndexOf('/') + 1);
}
