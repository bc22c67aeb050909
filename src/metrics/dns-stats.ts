import { Rcode, Type } from '../dns/constants.js';
import { TopNames } from './top-names.js';

/**
 * Per-query counts kept in flat typed arrays: recording a query is a few index computations
 * and additions, with no allocation and no label hashing. The Prometheus registry reads them
 * only when scraped (see registry.ts).
 */

/** Query types given their own label value, as CoreDNS does; the rest count as "other". */
export const TYPE_LABELS = ['A', 'AAAA', 'CNAME', 'HTTPS', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT', 'ANY', 'other'] as const;
const typeIndex = new Map<number, number>([
  [Type.A, 0],
  [Type.AAAA, 1],
  [Type.CNAME, 2],
  [65, 3],
  [15, 4],
  [Type.NS, 5],
  [Type.PTR, 6],
  [Type.SOA, 7],
  [Type.SRV, 8],
  [Type.TXT, 9],
  [Type.ANY, 10],
]);
const OTHER_TYPE = TYPE_LABELS.length - 1;

export const RCODE_LABELS = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'RCODE11', 'RCODE12', 'RCODE13', 'RCODE14', 'RCODE15', 'BADVERS'] as const;

/** CoreDNS's duration buckets: 0.25 ms doubling to 8.192 s. */
export const DURATION_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);
/** CoreDNS's size buckets (bytes). */
export const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000];
/** Slots per histogram: one per bucket plus +Inf. */
export const DURATION_SLOTS = DURATION_BUCKETS.length + 1;
export const SIZE_SLOTS = SIZE_BUCKETS.length + 1;

export class DnsStats {
  readonly requests: Float64Array;
  readonly responses: Float64Array;
  readonly duration: Float64Array;
  readonly durationSum: Float64Array;
  readonly requestSize: Float64Array;
  readonly responseSize: Float64Array;
  readonly requestSizeSum: Float64Array;
  readonly responseSizeSum: Float64Array;
  panics = 0;
  /** Sampled names asked (one query in sampleEvery), and sampled names answered NXDOMAIN. */
  readonly topNames = new TopNames();
  readonly topNxdomain = new TopNames();
  private countdown: number;
  private nxCountdown: number;

  constructor(
    /** `dns://HOST:PORT` of each listen address, in order (set again once bound: port 0 becomes the real port). */
    public servers: readonly string[],
    /** Zone label values (with trailing dot); the last is "." for everything else. */
    readonly zones: readonly string[],
    /** One query in this many is offered to topNames (and one NXDOMAIN in this many to topNxdomain). */
    readonly sampleEvery = 8,
  ) {
    this.countdown = sampleEvery;
    this.nxCountdown = sampleEvery;
    const sz = servers.length * zones.length;
    this.requests = new Float64Array(sz * 2 * 2 * TYPE_LABELS.length);
    this.responses = new Float64Array(sz * RCODE_LABELS.length);
    this.duration = new Float64Array(sz * TYPE_LABELS.length * DURATION_SLOTS);
    this.durationSum = new Float64Array(sz * TYPE_LABELS.length);
    this.requestSize = new Float64Array(sz * 2 * SIZE_SLOTS);
    this.responseSize = new Float64Array(sz * 2 * SIZE_SLOTS);
    this.requestSizeSum = new Float64Array(sz * 2);
    this.responseSizeSum = new Float64Array(sz * 2);
  }

  /** Records one answered query. rcode -1 means no reply was sent. */
  record(server: number, zone: number, tcp: boolean, v6: boolean, qtype: number, rcode: number, seconds: number, reqLen: number, respLen: number): void {
    const sz = server * this.zones.length + zone;
    const t = typeIndex.get(qtype) ?? OTHER_TYPE;
    const proto = tcp ? 1 : 0;
    this.requests[((sz * 2 + proto) * 2 + (v6 ? 1 : 0)) * TYPE_LABELS.length + t]++;
    const dt = sz * TYPE_LABELS.length + t;
    this.durationSum[dt] += seconds;
    this.duration[dt * DURATION_SLOTS + bucket(DURATION_BUCKETS, seconds)]++;
    const sp = sz * 2 + proto;
    this.requestSizeSum[sp] += reqLen;
    this.requestSize[sp * SIZE_SLOTS + bucket(SIZE_BUCKETS, reqLen)]++;
    if (rcode < 0) return;
    this.responses[sz * RCODE_LABELS.length + Math.min(rcode, RCODE_LABELS.length - 1)]++;
    this.responseSizeSum[sp] += respLen;
    this.responseSize[sp * SIZE_SLOTS + bucket(SIZE_BUCKETS, respLen)]++;
  }

  /**
   * Notes the name of an answered query for the top-names lists. Per query this is a counter
   * decrement or two; only one query in sampleEvery touches a map.
   */
  noteName(name: string, rcode: number): void {
    if (--this.countdown <= 0) {
      this.countdown = this.nextGap();
      this.topNames.add(name);
    }
    if (rcode === Rcode.NXDOMAIN && --this.nxCountdown <= 0) {
      this.nxCountdown = this.nextGap();
      this.topNxdomain.add(name);
    }
  }

  /**
   * Queries until the next sample: random between 1 and 2*sampleEvery-1 (mean sampleEvery),
   * so traffic that repeats with a period cannot line up with the sampling and hide names.
   */
  private nextGap(): number {
    return 1 + Math.floor(Math.random() * (2 * this.sampleEvery - 1));
  }
}

/** Index of the first bucket whose upper bound holds v; past the last, the +Inf slot (length). */
function bucket(bounds: readonly number[], v: number): number {
  for (let i = 0; i < bounds.length; i++) if (v <= bounds[i]) return i;
  return bounds.length;
}
