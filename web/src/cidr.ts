/** The IP allow list's entries: an IPv4 or IPv6 address, optionally with a /prefix (what the server accepts). */
import ipaddr from 'ipaddr.js';

export function isIpOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined) return false;
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address);
  if (!v4 && !ipaddr.IPv6.isValid(address)) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (v4 ? 32 : 128));
}

/** One entry per line (commas and spaces also separate); blank lines are ignored. */
export function parseAllowList(text: string): { entries: string[]; invalid: string[] } {
  const entries = text.split(/[\s,]+/).filter((entry) => entry !== '');
  return { entries, invalid: entries.filter((entry) => !isIpOrCidr(entry)) };
}
