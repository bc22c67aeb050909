import { Type, typeName } from './constants.js';
import { isIP } from 'node:net';
import { formatIPv6, ipv6Groups } from './ip.js';

/**
 * Resource records as the server holds them. Owner names and targets are lowercase,
 * absolute, written without the trailing dot ("" is the root). Addresses are kept as
 * wire bytes so encoding a reply copies them instead of parsing text.
 */
export interface AddressRecord {
  readonly type: typeof Type.A | typeof Type.AAAA;
  readonly name: string;
  readonly ttl: number;
  /**
   * 4 bytes for A, 16 for AAAA; an A record may instead hold its address as one unsigned
   * 32-bit number, which a large zone stores far more cheaply than a byte array per record.
   */
  readonly address: Uint8Array | number;
}

export interface TargetRecord {
  readonly type: typeof Type.CNAME | typeof Type.PTR | typeof Type.NS;
  readonly name: string;
  readonly ttl: number;
  readonly target: string;
}

export interface SrvRecord {
  readonly type: typeof Type.SRV;
  readonly name: string;
  readonly ttl: number;
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export interface TxtRecord {
  readonly type: typeof Type.TXT;
  readonly name: string;
  readonly ttl: number;
  readonly texts: readonly string[];
}

export interface HinfoRecord {
  readonly type: typeof Type.HINFO;
  readonly name: string;
  readonly ttl: number;
  readonly cpu: string;
  readonly os: string;
}

export interface SoaRecord {
  readonly type: typeof Type.SOA;
  readonly name: string;
  readonly ttl: number;
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

export type RR = AddressRecord | TargetRecord | SrvRecord | TxtRecord | HinfoRecord | SoaRecord;

/** Wire bytes of an IPv4 or IPv6 address in text form; throws on anything else. */
export function addressBytes(ip: string): Uint8Array {
  const family = isIP(ip);
  if (family === 4) return Uint8Array.from(ip.split('.').map(Number));
  const groups = family === 6 ? ipv6Groups(ip) : null;
  if (groups === null) throw new TypeError(`not an IP address: ${ip}`);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** An IPv4 address in text form as one unsigned 32-bit number. */
export function ipv4Number(ip: string): number {
  // By character: records of a large cluster are built from text addresses on every lookup miss.
  let n = 0;
  let part = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + part;
      part = 0;
    } else part = part * 10 + (c - 48);
  }
  return n * 256 + part;
}

/** An IPv4 address held as one unsigned 32-bit number, in dotted text. */
export function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Text form of address bytes: dotted IPv4, or RFC 5952 IPv6. */
export function addressText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  return formatIPv6(groups);
}

/** The reverse-lookup name for an address: "1.0.0.10.in-addr.arpa" or the nibble form under ip6.arpa. */
export function reverseName(ip: string): string {
  const b = addressBytes(ip);
  if (b.length === 4) return [b[3], b[2], b[1], b[0], 'in-addr', 'arpa'].join('.');
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((b[i] & 0xf).toString(16), (b[i] >> 4).toString(16));
  nibbles.push('ip6', 'arpa');
  return nibbles.join('.');
}

/** One record as a zone-file line ("name. 5 IN A 10.0.0.1"), for people: explain, logs. */
export function rrText(rr: RR): string {
  const head = `${rr.name}. ${rr.ttl} IN ${typeName(rr.type)}`;
  switch (rr.type) {
    case Type.A:
    case Type.AAAA: {
      const a = rr.address;
      return `${head} ${typeof a === 'number' ? ipv4Text(a) : addressText(a)}`;
    }
    case Type.CNAME:
    case Type.PTR:
    case Type.NS:
      return `${head} ${rr.target}.`;
    case Type.SRV:
      return `${head} ${rr.priority} ${rr.weight} ${rr.port} ${rr.target}.`;
    case Type.TXT:
      return `${head} ${rr.texts.map((t) => JSON.stringify(t)).join(' ')}`;
    case Type.HINFO:
      return `${head} ${JSON.stringify(rr.cpu)} ${JSON.stringify(rr.os)}`;
    case Type.SOA:
      return `${head} ${rr.mname}. ${rr.rname}. ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
  }
}
