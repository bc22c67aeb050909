import { isIP } from 'node:net';
import { Type } from '../dns/constants.js';
import { addressBytes, ipv4Number, type RR, type SrvRecord } from '../dns/rr.js';
import type { OwnerSet } from '../zone/store.js';

/**
 * The SkyDNS layout and message format, as SkyDNS and CoreDNS's etcd plugin read them. Pure:
 * no client, no I/O.
 *
 * A name lives at its labels reversed under the prefix: `a.svc.cluster.local` is the key
 * `/skydns/local/cluster/svc/a`. The value is JSON: `host` (an IP address, or a name), `port`,
 * `priority`, `weight`, `ttl`, `text`, `targetstrip`, `group`. From a key's value:
 * - an IPv4/IPv6 `host` gives A/AAAA; with a `port`, an SRV record whose target is the key's
 *   own name (`targetstrip` labels taken off its left) with the address as glue;
 * - a `host` that is a name gives, with a `port`, an SRV record pointing at it; without one, a
 *   CNAME (kept only when it is the name's sole record: a CNAME cannot share its name);
 * - `text` gives TXT; under in-addr.arpa/ip6.arpa, `host` gives PTR (exact name only).
 * A name answers with its own key's records and those of the keys one label below it (the
 * instances of a service: `1.rails.east.skydns.local` is an instance of `rails.east...`).
 * SRV weights are SkyDNS's percentages per priority (0 counts as 100); `group` keeps only the
 * group of the shortest keys. A key whose first label is `*` is a wildcard (RFC 4592).
 */

export interface SkyDnsService {
  readonly host: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
  readonly text: string;
  readonly ttl: number;
  readonly targetstrip: number;
  readonly group: string;
}

/** A value that is not a SkyDNS message; names the key, never thrown by the parser. */
export class SkyDnsValueError extends Error {
  readonly code = 'CLUSTERDNS_ERR_SKYDNS_VALUE';
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`etcd key ${key}: ${reason}`);
    this.name = 'SkyDnsValueError';
  }
}

const U16 = 0xffff;
const U32 = 0xffffffff;

function intField(o: Record<string, unknown>, name: string, max: number): number | string {
  const v = o[name];
  if (v === undefined || v === null) return 0;
  // SkyDNS's own examples write "ttl":"60"; a string of digits is read as its number.
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) return `"${name}" must be an integer 0-${max}, got ${JSON.stringify(v)}`;
  return n;
}

/** Parses one value; returns a typed error (naming the key) for anything that is not a SkyDNS message. */
export function parseSkyDnsValue(key: string, raw: string | Uint8Array): SkyDnsService | SkyDnsValueError {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    return new SkyDnsValueError(key, `not JSON (${(e as Error).message}): ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return new SkyDnsValueError(key, `expected a JSON object, got ${JSON.stringify(text.slice(0, 80))}`);
  const r = o as Record<string, unknown>;
  for (const f of ['host', 'text', 'group'] as const) {
    if (r[f] !== undefined && r[f] !== null && typeof r[f] !== 'string') return new SkyDnsValueError(key, `"${f}" must be a string, got ${JSON.stringify(r[f])}`);
  }
  const ints: Record<string, number> = {};
  for (const [f, max] of [['port', U16], ['priority', U16], ['weight', U16], ['ttl', U32], ['targetstrip', 255]] as const) {
    const n = intField(r, f, max);
    if (typeof n === 'string') return new SkyDnsValueError(key, n);
    ints[f] = n;
  }
  const host = ((r.host as string | undefined) ?? '').trim();
  if (host !== '' && isIP(host) === 0 && normalizeName(host) === null) return new SkyDnsValueError(key, `"host" is neither an IP address nor a domain name: ${JSON.stringify(host)}`);
  const textValue = (r.text as string | undefined) ?? '';
  return {
    host,
    port: ints.port,
    priority: ints.priority,
    weight: ints.weight,
    ttl: ints.ttl,
    targetstrip: ints.targetstrip,
    text: textValue,
    group: (r.group as string | undefined) ?? '',
  };
}

/** The JSON a writer stores: fields at their zero value are left out, as SkyDNS's encoder does. */
export function formatSkyDnsValue(s: Partial<SkyDnsService>): string {
  const o: Record<string, string | number> = {};
  if (s.host) o.host = s.host;
  if (s.port) o.port = s.port;
  if (s.priority) o.priority = s.priority;
  if (s.weight) o.weight = s.weight;
  if (s.text) o.text = s.text;
  if (s.ttl) o.ttl = s.ttl;
  if (s.targetstrip) o.targetstrip = s.targetstrip;
  if (s.group) o.group = s.group;
  return JSON.stringify(o);
}

const NAME = /^(?:[a-z0-9_*-]{1,63}\.)*[a-z0-9_*-]{1,63}$/;

/** Lowercase, no trailing dot, labels 1-63 octets, 253 at most; null when not a domain name. */
export function normalizeName(name: string): string | null {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (n === '') return '';
  if (n.length > 253 || !NAME.test(n)) return null;
  return n;
}

/** `/skydns` + `a.svc.cluster.local` -> `/skydns/local/cluster/svc/a`. */
export function nameToKey(prefix: string, name: string): string {
  const labels = name === '' ? [] : name.split('.').reverse();
  return [trimSlash(prefix), ...labels].join('/');
}

/**
 * `/skydns/local/cluster/svc/a` -> `a.svc.cluster.local`; null when the key is not under the
 * prefix or its path is not a domain name. A trailing slash (`/skydns/local/skydns/`) names
 * the zone itself, as CoreDNS reads it.
 */
export function keyToName(prefix: string, key: string): string | null {
  const p = trimSlash(prefix) + '/';
  if (!key.startsWith(p)) return null;
  const parts = key.slice(p.length).split('/');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.some((x) => x === '')) return null;
  return normalizeName(parts.reverse().join('.'));
}

function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

export function isReverseName(name: string): boolean {
  return name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa');
}

/** The name one label up: where an instance key's records are also served. */
export function parentName(name: string): string | null {
  const dot = name.indexOf('.');
  return dot < 0 ? null : name.slice(dot + 1);
}

/** One key's contribution: its name and its parsed value. */
export interface KeyedService {
  readonly key: string;
  /** The key's own name (see keyToName). */
  readonly name: string;
  readonly service: SkyDnsService;
}

/**
 * The records of one name, from the keys that contribute to it: its own key and the keys one
 * label below it (or, for a reverse name, its own key only). `defaultTtl` stands in for a
 * value without a TTL.
 */
export function nameRecords(name: string, keys: readonly KeyedService[], defaultTtl: number): OwnerSet {
  if (keys.length === 0) return { records: [], names: [] };
  const services = group(keys);
  const records: RR[] = [];
  const seen = new Set<string>();
  const add = (id: string, rr: RR) => {
    if (seen.has(id)) return;
    seen.add(id);
    records.push(rr);
  };
  const srv: { rr: Omit<SrvRecord, 'weight'>; weight: number }[] = [];
  const cnames: RR[] = [];
  const reverse = isReverseName(name);
  for (const k of services) {
    const s = k.service;
    const ttl = s.ttl || defaultTtl;
    if (s.text) add(`txt ${s.text}`, { type: Type.TXT, name, ttl, texts: split255(s.text) });
    if (!s.host) continue;
    if (reverse) {
      if (isIP(s.host) === 0) add(`ptr ${normalizeName(s.host)}`, { type: Type.PTR, name, ttl, target: normalizeName(s.host)! });
      continue;
    }
    const family = isIP(s.host);
    if (family !== 0) {
      const rr: RR = family === 4 ? { type: Type.A, name, ttl, address: ipv4Number(s.host) } : { type: Type.AAAA, name, ttl, address: addressBytes(s.host) };
      add(`${family} ${family === 4 ? s.host : Buffer.from(addressBytes(s.host)).toString('hex')}`, rr);
      if (s.port) {
        const target = stripLabels(k.name, s.targetstrip);
        srv.push({ rr: { type: Type.SRV, name, ttl, priority: s.priority, port: s.port, target }, weight: s.weight || 100 });
      }
    } else {
      const target = normalizeName(s.host)!;
      if (s.port) srv.push({ rr: { type: Type.SRV, name, ttl, priority: s.priority, port: s.port, target: stripLabels(target, s.targetstrip) }, weight: s.weight || 100 });
      else if (target !== name) cnames.push({ type: Type.CNAME, name, ttl, target });
    }
  }
  // Identical SRV records (one target reached through two addresses) count once.
  const unique = new Map<string, (typeof srv)[number]>();
  for (const x of srv) {
    const id = `${x.rr.priority} ${x.rr.port} ${x.rr.target}`;
    if (!unique.has(id)) unique.set(id, x);
  }
  const totals = new Map<number, number>();
  for (const x of unique.values()) totals.set(x.rr.priority, (totals.get(x.rr.priority) ?? 0) + x.weight);
  for (const x of unique.values()) {
    records.push({ ...x.rr, weight: Math.floor((100 / totals.get(x.rr.priority)!) * x.weight) });
  }
  const targets = new Set(cnames.map((c) => (c.type === Type.CNAME ? c.target : '')));
  if (records.length === 0 && targets.size === 1) records.push(cnames[0]);
  return { records, names: [name] };
}

/** SkyDNS groups: the shortest keys' group, if they agree, keeps only its members (and keys without a group). */
export function group(keys: readonly KeyedService[]): readonly KeyedService[] {
  if (!keys.some((k) => k.service.group !== '')) return keys;
  let depth = Infinity;
  for (const k of keys) depth = Math.min(depth, k.key.split('/').length);
  const shortest = keys.filter((k) => k.key.split('/').length === depth);
  const groups = new Set(shortest.map((k) => k.service.group).filter((g) => g !== ''));
  if (groups.size !== 1) return keys;
  const [g] = groups;
  return keys.filter((k) => k.service.group === '' || k.service.group === g);
}

function stripLabels(name: string, n: number): string {
  if (n <= 0) return name;
  const labels = name.split('.');
  // Stripping past the end keeps the name whole, as SkyDNS does.
  return n >= labels.length ? name : labels.slice(n).join('.');
}

/** Character-strings of at most 255 bytes each, never splitting a character. */
function split255(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let len = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (len + n > 255) {
      out.push(cur);
      cur = '';
      len = 0;
    }
    cur += ch;
    len += n;
  }
  out.push(cur);
  return out;
}
