import { Rcode, Type } from '../dns/constants.js';
import { readName, WireError } from '../dns/wire.js';
import { ownCopy } from '../dns/bytes.js';

/**
 * Replies from upstream, kept until their TTL runs out (RFC 1035, RFC 2308 for negative answers),
 * in at most maxEntries entries with least-recently-used eviction. Served copies have their TTLs
 * counted down. What is not cached, and why:
 * - truncated replies: they are not the answer, only a request to ask over TCP;
 * - SERVFAIL, REFUSED and other failures: they say nothing about the name (RFC 2308 7.1 allows
 *   a short cache of SERVFAIL; upstream health already stops hammering a failing server);
 * - NXDOMAIN and NODATA without an SOA: RFC 2308 5 gives them no TTL to keep them by;
 * - replies that do not parse.
 */

export interface CacheOptions {
  readonly maxEntries: number;
  /** Bounds on the TTL an entry is kept by, seconds. */
  readonly minTtl: number;
  readonly maxTtl: number;
  /** Keep entries this many seconds past expiry, for serving stale when upstreams fail (RFC 8767). */
  readonly staleSeconds: number;
  readonly now?: () => number;
}

export interface CacheEntry {
  readonly msg: Buffer;
  /** Epoch ms when stored. */
  readonly stored: number;
  /** Seconds the entry is fresh for. */
  readonly ttl: number;
  /** Offsets of each record's TTL field, with the TTL it had. */
  readonly ttls: readonly (readonly [number, number])[];
  hits: number;
  prefetching: boolean;
}

export interface CacheCounters {
  hits: number;
  misses: number;
  stale: number;
  evictions: number;
  prefetches: number;
}

export class ForwardCache {
  private readonly entries = new Map<string, CacheEntry>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, stale: 0, evictions: 0, prefetches: 0 };
  readonly now: () => number;

  constructor(readonly opts: CacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry for key, fresh or (within the stale window) expired; undefined when there is none. */
  lookup(key: string): CacheEntry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.age(e) > e.ttl + this.opts.staleSeconds) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e;
  }

  /** Seconds since the entry was stored. */
  age(e: CacheEntry): number {
    return Math.floor((this.now() - e.stored) / 1000);
  }

  fresh(e: CacheEntry): boolean {
    return this.age(e) < e.ttl;
  }

  /** Stores a reply if it may be cached; returns whether it was. */
  store(key: string, msg: Buffer): boolean {
    if (this.opts.maxEntries <= 0) return false;
    const parsed = cacheable(msg);
    if (!parsed) return false;
    const ttl = Math.min(Math.max(parsed.ttl, this.opts.minTtl), this.opts.maxTtl);
    if (ttl <= 0) return false;
    this.entries.delete(key);
    this.entries.set(key, { msg: ownCopy(msg), stored: this.now(), ttl, ttls: parsed.ttls, hits: 0, prefetching: false });
    while (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.counters.evictions++;
    }
    return true;
  }

  /**
   * A copy of the entry's message with every TTL counted down by its age; a stale entry's
   * records get staleTtl (RFC 8767 recommends 30 seconds).
   */
  render(e: CacheEntry, staleTtl = 30): Buffer {
    const out = Buffer.from(e.msg);
    const age = this.age(e);
    const stale = age >= e.ttl;
    for (const [off, ttl] of e.ttls) out.writeUInt32BE(stale ? staleTtl : Math.max(0, ttl - age), off);
    return out;
  }
}

/** The TTL to keep a reply by and its records' TTL fields, or null when it must not be cached. */
export function cacheable(msg: Buffer): { ttl: number; ttls: [number, number][] } | null {
  if (msg.length < 12 || (msg[2] & 0x02) !== 0) return null;
  const rcode = msg[3] & 0x0f;
  if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) return null;
  const an = msg.readUInt16BE(6);
  const ns = msg.readUInt16BE(8);
  const ar = msg.readUInt16BE(10);
  const ttls: [number, number][] = [];
  let minTtl = Infinity;
  let soaTtl = -1;
  try {
    let p = readName(msg, 12).end + 4;
    for (let i = 0; i < an + ns + ar; i++) {
      p = readName(msg, p).end;
      if (p + 10 > msg.length) return null;
      const type = msg.readUInt16BE(p);
      const ttl = msg.readUInt32BE(p + 4);
      const rdlen = msg.readUInt16BE(p + 8);
      if (p + 10 + rdlen > msg.length) return null;
      if (type !== Type.OPT) {
        ttls.push([p + 4, ttl]);
        if (i < an) minTtl = Math.min(minTtl, ttl);
        if (i >= an && i < an + ns && type === Type.SOA) {
          // RFC 2308 5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM field.
          const minimum = msg.readUInt32BE(p + 10 + rdlen - 4);
          soaTtl = Math.min(ttl, minimum);
        }
      }
      p += 10 + rdlen;
    }
  } catch (e) {
    if (e instanceof WireError) return null;
    throw e;
  }
  if (rcode === Rcode.NOERROR && an > 0) return { ttl: minTtl, ttls };
  if (soaTtl >= 0) return { ttl: soaTtl, ttls };
  return null;
}
