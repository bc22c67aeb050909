/** DNS numbers used across the codebase (RFC 1035, 3596, 2782, 6891). */

export const Type = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

export const Class = { IN: 1, CH: 3, NONE: 254, ANY: 255 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (needs OPT): upper 8 bits go in the OPT TTL field. */
  BADVERS: 16,
} as const;

export const Opcode = { QUERY: 0 } as const;

const typeNames: Record<number, string> = {};
for (const [k, v] of Object.entries(Type)) typeNames[v] = k;
const rcodeNames: Record<number, string> = {};
for (const [k, v] of Object.entries(Rcode)) rcodeNames[v] = k;

export function typeName(t: number): string {
  return typeNames[t] ?? `TYPE${t}`;
}

export function rcodeName(r: number): string {
  return rcodeNames[r] ?? `RCODE${r}`;
}

/** Parses "A", "aaaa", "TYPE65" or a number; returns undefined when unknown. */
export function parseType(s: string): number | undefined {
  const up = s.toUpperCase();
  if (up in Type) return Type[up as keyof typeof Type];
  const m = /^(?:TYPE)?(\d{1,5})$/.exec(up);
  if (m) {
    const n = Number(m[1]);
    if (n <= 0xffff) return n;
  }
  return undefined;
}

/** UDP payload limit when the client sends no EDNS (RFC 1035). */
export const UDP_CLASSIC_LIMIT = 512;
/** Our ceiling for UDP replies whatever the client offers (DNS Flag Day 2020). */
export const UDP_EDNS_LIMIT = 1232;
