/**
 * Response rate limiting for UDP (`--rate-limit N`, `--rate-limit-slip K`), as BIND's RRL and
 * Knot's rrl module do it: each client prefix (/24 for IPv4, /56 for IPv6) may get N replies a
 * second, with bursts up to N. Past that, replies are dropped, except every K-th, which is sent
 * truncated (TC=1, no records) so that a real client behind the prefix retries over TCP and
 * still gets its answer, while a forged source address gets no amplified traffic. TCP is
 * exempt: its handshake proves the address.
 *
 * The table is fixed in size (typed arrays, open addressing, 8 probes) and a check allocates
 * nothing. A prefix unseen for a second has its full allowance back, so its slot is reused
 * without losing anything; only when all 8 probed slots were used within the last second is the
 * one used longest ago replaced (counted as an eviction: the table is too small for the load).
 */

export const enum Verdict {
  Pass = 0,
  Drop = 1,
  Slip = 2,
}

export interface RateLimitOptions {
  /** Replies a second per client prefix. */
  readonly perSecond: number;
  /** Every slip-th limited reply is sent truncated; 0 never, 1 always. */
  readonly slip: number;
  /** Slots in the table, a power of two (default 32768: about 1 MiB). */
  readonly slots?: number;
}

export interface RateLimitCounters {
  /** Replies not sent. */
  dropped: number;
  /** Replies sent truncated instead. */
  slipped: number;
  /** Prefixes pushed out of the table while still active. */
  evictions: number;
}

const PROBES = 8;
const V6 = 0x1000000;

/** The prefix of the address parsed last: k0, k1 (k1 = 0 for IPv4, bit 24 set for IPv6); ok false when unparseable. */
export const prefixKey = { k0: 0, k1: 0, ok: false };

/**
 * Parses an address as node gives it (dotted quad, IPv6 text, IPv4-mapped IPv6) into prefixKey
 * without allocating: IPv4 /24 as k0 = a.b.c; IPv6 /56 as k0 = the first two groups, k1 = the
 * third group and the high byte of the fourth, with bit 24 set.
 */
export function parsePrefix(a: string): typeof prefixKey {
  const out = prefixKey;
  out.ok = false;
  const n = a.length;
  if (a.indexOf(':') < 0) return parseV4(a, 0, n);
  // IPv4-mapped (::ffff:a.b.c.d) counts as the IPv4 address.
  if (n > 7 && a.charCodeAt(n - 1) !== 0x3a && a.indexOf('.') > 0 && a.startsWith('::ffff:')) return parseV4(a, 7, n);
  // Groups before "::" go from the left; groups after it are counted first, to place them from the right.
  const dbl = a.indexOf('::');
  let right = 0;
  if (dbl >= 0 && dbl + 2 < n) {
    right = 1;
    for (let i = dbl + 2; i < n; i++) if (a.charCodeAt(i) === 0x3a) right++;
  }
  const g = groups;
  g[0] = g[1] = g[2] = g[3] = 0;
  let group = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? a.charCodeAt(i) : 0x3a;
    // A colon, the end or a zone (%eth0) closes the group being read.
    if (c === 0x3a || c === 0x25) {
      if (digits > 0) {
        if (digits > 4 || group > 7) return out;
        if (group < 4) g[group] = value;
        group++;
      } else if (i !== dbl && i !== dbl + 1 && !(i === n && dbl === n - 2)) return out;
      value = 0;
      digits = 0;
      if (i === dbl) {
        group = 8 - right;
        i++;
      }
      if (c === 0x25) break;
      continue;
    }
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return out;
    value = (value << 4) | d;
    digits++;
  }
  out.k0 = ((g[0] << 16) | g[1]) >>> 0;
  out.k1 = V6 | (g[2] << 8) | (g[3] >> 8);
  out.ok = true;
  return out;
}

/** The first four groups of the IPv6 address being parsed. */
const groups = new Uint16Array(4);

function parseV4(a: string, from: number, n: number): typeof prefixKey {
  const out = prefixKey;
  let k = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < n; i++) {
    const c = a.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || octet > 255) return out;
      if (dots < 3) k = (k << 8) | octet;
      dots++;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + (c - 0x30);
      digits++;
    } else return out;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return out;
  out.k0 = k >>> 0;
  out.k1 = 0;
  out.ok = true;
  return out;
}

export class RateLimiter {
  private readonly mask: number;
  private readonly k0: Uint32Array;
  private readonly k1: Uint32Array;
  /** Allowance left, in replies (fractions accrue between checks). */
  private readonly credit: Float64Array;
  /** When the slot was last checked (ms); 0 for a free slot. */
  private readonly seen: Float64Array;
  /** Limited replies since the last slip. */
  private readonly limited: Uint32Array;
  private readonly perMs: number;

  /** counters may be shared by the limiters that replace one another on reloads. */
  constructor(
    readonly opts: RateLimitOptions,
    readonly counters: RateLimitCounters = { dropped: 0, slipped: 0, evictions: 0 },
  ) {
    const slots = opts.slots ?? 32768;
    if (!Number.isInteger(opts.perSecond) || opts.perSecond < 1) throw new RangeError(`rate limit must be a positive integer, got ${opts.perSecond}`);
    if (!Number.isInteger(opts.slip) || opts.slip < 0) throw new RangeError(`slip must be a non-negative integer, got ${opts.slip}`);
    if (slots < PROBES || (slots & (slots - 1)) !== 0) throw new RangeError(`slots must be a power of two of at least ${PROBES}, got ${slots}`);
    this.mask = slots - 1;
    this.k0 = new Uint32Array(slots);
    this.k1 = new Uint32Array(slots);
    this.credit = new Float64Array(slots);
    this.seen = new Float64Array(slots);
    this.limited = new Uint32Array(slots);
    this.perMs = opts.perSecond / 1000;
  }

  /** Whether a reply to this address may go out now (nowMs from a monotonic clock, above 0). */
  check(address: string, nowMs: number): Verdict {
    const p = parsePrefix(address);
    // An address that does not parse cannot be told apart from others: it is not limited.
    if (!p.ok) return Verdict.Pass;
    const k0 = p.k0;
    const k1 = p.k1;
    const start = Math.imul(k0 ^ Math.imul(k1 + 0x632be5ab, 0x9e3779b1), 0x85ebca6b) >>> 0;
    let slot = -1;
    let victim = -1;
    let oldest = Infinity;
    for (let j = 0; j < PROBES; j++) {
      const s = (start + j) & this.mask;
      const seen = this.seen[s];
      if (seen !== 0 && this.k0[s] === k0 && this.k1[s] === k1) {
        slot = s;
        break;
      }
      // Else the slot used longest ago: a free one (0), or one quiet for a second, whose
      // allowance is full again, is taken at no loss.
      if (seen < oldest) {
        victim = s;
        oldest = seen;
      }
    }
    const limit = this.opts.perSecond;
    if (slot < 0) {
      slot = victim;
      if (oldest !== 0 && oldest > nowMs - 1000) this.counters.evictions++;
      this.k0[slot] = k0;
      this.k1[slot] = k1;
      this.credit[slot] = limit;
      this.limited[slot] = 0;
    } else {
      const c = this.credit[slot] + (nowMs - this.seen[slot]) * this.perMs;
      this.credit[slot] = c > limit ? limit : c;
    }
    this.seen[slot] = nowMs;
    if (this.credit[slot] >= 1) {
      this.credit[slot] -= 1;
      return Verdict.Pass;
    }
    const slip = this.opts.slip;
    if (slip > 0 && ++this.limited[slot] >= slip) {
      this.limited[slot] = 0;
      this.counters.slipped++;
      return Verdict.Slip;
    }
    this.counters.dropped++;
    return Verdict.Drop;
  }
}
