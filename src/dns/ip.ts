import { isIP } from 'node:net';

/**
 * The canonical text form of an IP address, or null when `s` is not one.
 *
 * IPv4 is returned as written (node:net already rejects leading zeros and out-of-range octets).
 * IPv6 follows RFC 5952: lowercase hex, no leading zeros, the longest run of two or more zero
 * groups (the first on a tie) written as "::", and IPv4-mapped addresses as "::ffff:a.b.c.d".
 * Zone identifiers ("fe80::1%eth0") are rejected: they have no meaning in DNS records.
 */
export function canonicalIP(s: string): string | null {
  if (typeof s !== 'string') return null;
  const family = isIP(s);
  if (family === 4) return s;
  if (family !== 6 || s.includes('%')) return null;
  const groups = ipv6Groups(s);
  return groups === null ? null : formatIPv6(groups);
}

/** The eight 16-bit groups of an address that node:net accepted as IPv6. */
export function ipv6Groups(s: string): number[] | null {
  let text = s.toLowerCase();
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const octets = last.split('.').map(Number);
    tail.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  if (halves.length === 2) {
    const head = parse(halves[0]);
    const rest = parse(halves[1]);
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    groups = parse(text);
  }
  if (tail.length > 0) groups.splice(groups.length - 2, 2, ...tail);
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  return groups;
}

export function formatIPv6(groups: readonly number[]): string {
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
