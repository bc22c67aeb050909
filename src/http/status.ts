import { DURATION_BUCKETS, DURATION_SLOTS, RCODE_LABELS, type DnsStats } from '../metrics/dns-stats.js';

/**
 * What the status page shows, as JSON: a per-second history of queries and latency sampled
 * from the per-query counters (read once a second, never on the query path), and the
 * snapshot the page polls.
 */

export interface SeriesPoint {
  /** Epoch ms at the end of the second. */
  readonly t: number;
  readonly qps: number;
  /** Mean and 99th percentile (from the histogram, upper bucket bound) of the queries in this interval, ms. */
  readonly avgMs: number;
  readonly p99Ms: number;
}

interface Totals {
  readonly t: number;
  readonly count: number;
  readonly durationSum: number;
  readonly buckets: Float64Array;
}

function totals(stats: DnsStats, t: number): Totals {
  const buckets = new Float64Array(DURATION_SLOTS);
  let count = 0;
  for (let i = 0; i < stats.duration.length; i++) {
    const v = stats.duration[i];
    if (v === 0) continue;
    buckets[i % DURATION_SLOTS] += v;
    count += v;
  }
  let durationSum = 0;
  for (const v of stats.durationSum) durationSum += v;
  return { t, count, durationSum, buckets };
}

/** The upper bound (ms) of the bucket holding quantile q of these counts. */
export function quantileMs(buckets: Float64Array, q: number): number {
  let total = 0;
  for (const v of buckets) total += v;
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i];
    if (seen >= rank) return i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i] * 1000 : DURATION_BUCKETS[DURATION_BUCKETS.length - 1] * 2000;
  }
  return 0;
}

/** A ring of the last `capacity` seconds of query rate and latency. */
export class StatusHistory {
  private readonly points: SeriesPoint[] = [];
  private last: Totals;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stats: DnsStats,
    readonly capacity = 120,
    private readonly now: () => number = Date.now,
  ) {
    this.last = totals(stats, now());
  }

  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Adds one point: what happened since the previous sample. */
  sample(): SeriesPoint {
    const cur = totals(this.stats, this.now());
    const dt = Math.max(cur.t - this.last.t, 1) / 1000;
    const n = cur.count - this.last.count;
    const delta = new Float64Array(DURATION_SLOTS);
    for (let i = 0; i < DURATION_SLOTS; i++) delta[i] = cur.buckets[i] - this.last.buckets[i];
    const p: SeriesPoint = {
      t: cur.t,
      qps: n / dt,
      avgMs: n > 0 ? ((cur.durationSum - this.last.durationSum) / n) * 1000 : 0,
      p99Ms: quantileMs(delta, 0.99),
    };
    this.last = cur;
    this.points.push(p);
    if (this.points.length > this.capacity) this.points.shift();
    return p;
  }

  series(): readonly SeriesPoint[] {
    return this.points;
  }
}

/** Responses by rcode since start (only rcodes seen). */
export function rcodeCounts(stats: DnsStats): Record<string, number> {
  const out: Record<string, number> = {};
  const n = RCODE_LABELS.length;
  for (let i = 0; i < stats.responses.length; i++) {
    const v = stats.responses[i];
    if (v > 0) out[RCODE_LABELS[i % n]] = (out[RCODE_LABELS[i % n]] ?? 0) + v;
  }
  return out;
}
