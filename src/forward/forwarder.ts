import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { Type } from '../dns/constants.js';
import { encodeQuery, type Query } from '../dns/wire.js';
import { exchangeTcp, exchangeUdp, formatUpstream, UpstreamError, type Upstream } from './exchange.js';
import { truncated, upstreamQuery } from './message.js';
import { DURATION_BUCKETS, DURATION_SLOTS } from '../metrics/dns-stats.js';

/**
 * Sends questions for names outside the cluster to a set of upstreams.
 *
 * - Order: `random` (default) shuffles the healthy upstreams for every question, `sequential`
 *   keeps the configured order. Upstreams that failed go last, and are tried only when no
 *   upstream has been tried yet for the question: when all are down one is still tried rather
 *   than nothing. A question's tries share one timeout (a try gets half of what is left when a
 *   healthy upstream is next), so with every upstream silent clients get SERVFAIL within
 *   --upstream-timeout, even for questions asked as they fell silent.
 * - Health: an upstream that times out or errs is marked down and probed (a query for ". NS")
 *   with backoff until it answers again.
 * - At most maxConcurrent questions are upstream at once; past that a question fails at once
 *   (the caller answers SERVFAIL), so a dead upstream cannot pile up memory.
 * - Identical questions asked while one is upstream share its answer.
 * - A truncated UDP reply is asked again over TCP.
 */
export type Policy = 'random' | 'sequential';

/** A try with less time than this left is not started. */
const MIN_TRY_MS = 50;

export interface ForwarderOptions {
  readonly upstreams: readonly Upstream[];
  readonly policy?: Policy;
  /** A question's time upstream, over all its tries (default 2000). */
  readonly timeoutMs?: number;
  readonly maxConcurrent?: number;
  readonly logger: Logger;
}

export interface ForwardCounters {
  requests: number;
  responses: number;
  /** Replies dropped: wrong source, ID or question. */
  dropped: number;
  failures: number;
  /** Questions failed at once because maxConcurrent were already upstream. */
  overloaded: number;
  /** Questions answered by another identical question's exchange. */
  shared: number;
  tcpRetries: number;
  healthcheckFailures: number;
  /** Questions for which every upstream failed. */
  broken: number;
  /** Upstream replies by rcode (index = rcode, 0-15). */
  readonly rcodes: Float64Array;
  /** Time from sending to the reply: counts per DURATION_BUCKETS slot (+Inf last), and their sum. */
  readonly duration: Float64Array;
  durationSum: number;
}

interface Health {
  readonly upstream: Upstream;
  down: boolean;
  probeDelayMs: number;
  probe: NodeJS.Timeout | null;
}

const PROBE_MIN_MS = 250;
const PROBE_MAX_MS = 5000;

export class Forwarder {
  readonly counters: ForwardCounters = {
    requests: 0,
    responses: 0,
    dropped: 0,
    failures: 0,
    overloaded: 0,
    shared: 0,
    tcpRetries: 0,
    healthcheckFailures: 0,
    broken: 0,
    rcodes: new Float64Array(16),
    duration: new Float64Array(DURATION_SLOTS),
    durationSum: 0,
  };
  private readonly health: Health[];
  private readonly inflight = new Map<string, Promise<Buffer | null>>();
  private active = 0;
  /** Which down upstream goes first in the next question's order. */
  private downTurn = 0;
  private readonly policy: Policy;
  private readonly timeoutMs: number;
  private readonly maxConcurrent: number;
  private stopped = false;

  constructor(private readonly opts: ForwarderOptions) {
    if (opts.upstreams.length === 0) throw new Error('a forwarder needs at least one upstream');
    this.health = opts.upstreams.map((upstream) => ({ upstream, down: false, probeDelayMs: PROBE_MIN_MS, probe: null }));
    this.policy = opts.policy ?? 'random';
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxConcurrent = opts.maxConcurrent ?? 1000;
  }

  /** The upstream reply to q, or null when no upstream answered (the caller answers SERVFAIL). */
  resolve(q: Query): Promise<Buffer | null> {
    this.counters.requests++;
    const key = `${q.lname}|${q.qtype}|${q.qclass}|${q.cd ? 1 : 0}|${q.edns?.do ? 1 : 0}`;
    const same = this.inflight.get(key);
    if (same) {
      this.counters.shared++;
      return same;
    }
    if (this.active >= this.maxConcurrent) {
      this.counters.overloaded++;
      return Promise.resolve(null);
    }
    this.active++;
    const p = this.ask(q).finally(() => {
      this.active--;
      this.inflight.delete(key);
    });
    this.inflight.set(key, p);
    return p;
  }

  get upstreams(): readonly Upstream[] {
    return this.opts.upstreams;
  }

  /** Down upstreams, for status and metrics. */
  downUpstreams(): Upstream[] {
    return this.health.filter((h) => h.down).map((h) => h.upstream);
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.health) if (h.probe) clearTimeout(h.probe);
  }

  private order(): Health[] {
    const up = this.health.filter((h) => !h.down);
    const down = this.health.filter((h) => h.down);
    if (this.policy === 'random') {
      for (let i = up.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [up[i], up[j]] = [up[j], up[i]];
      }
    }
    // Down ones in turn: when all are down, the one a question tries changes from question to
    // question, so one that answers again is found by the questions themselves.
    if (down.length > 1) {
      const k = this.downTurn++ % down.length;
      return [...up, ...down.slice(k), ...down.slice(0, k)];
    }
    return [...up, ...down];
  }

  /** Questions upstream now (at most maxConcurrent). */
  get inFlight(): number {
    return this.active;
  }

  private async ask(q: Query): Promise<Buffer | null> {
    const order = this.order();
    // A question's time upstream in all is one timeout, so clients get an answer or SERVFAIL
    // within --upstream-timeout even when upstreams go silent while it is asked. With another
    // healthy upstream to fall back on, a try gets half of what is left.
    const deadline = performance.now() + this.timeoutMs;
    for (let i = 0; i < order.length; i++) {
      const h = order[i];
      // Health as it is now: other questions may have found this upstream down meanwhile.
      if (i > 0 && h.down) break;
      const left = deadline - performance.now();
      if (left < MIN_TRY_MS) break;
      const next = order[i + 1];
      const wait = next !== undefined && !next.down ? left / 2 : left;
      const msg = upstreamQuery(q, randomInt(0x10000));
      const start = performance.now();
      try {
        let reply = await exchangeUdp(h.upstream, msg, wait, () => this.counters.dropped++);
        if (truncated(reply)) {
          this.counters.tcpRetries++;
          reply = await exchangeTcp(h.upstream, msg, Math.max(MIN_TRY_MS, deadline - performance.now()));
        }
        this.markUp(h);
        const c = this.counters;
        c.responses++;
        c.rcodes[reply[3] & 0x0f]++;
        const seconds = (performance.now() - start) / 1000;
        c.durationSum += seconds;
        let b = 0;
        while (b < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[b]) b++;
        c.duration[b]++;
        return reply;
      } catch (e) {
        this.markDown(h, e);
      }
    }
    this.counters.failures++;
    this.counters.broken++;
    return null;
  }

  private markUp(h: Health): void {
    if (!h.down) return;
    h.down = false;
    h.probeDelayMs = PROBE_MIN_MS;
    if (h.probe) clearTimeout(h.probe);
    h.probe = null;
    this.opts.logger.info({ upstream: formatUpstream(h.upstream) }, 'upstream answers again');
  }

  private markDown(h: Health, e: unknown): void {
    if (h.down) return;
    h.down = true;
    this.opts.logger.warn({ upstream: formatUpstream(h.upstream), err: e instanceof UpstreamError ? e.message : String(e) }, 'upstream failed; skipping it and probing until it answers');
    this.scheduleProbe(h);
  }

  private scheduleProbe(h: Health): void {
    if (this.stopped) return;
    h.probe = setTimeout(() => {
      h.probe = null;
      const msg = encodeQuery({ id: randomInt(0x10000), name: '', type: Type.NS, edns: null });
      exchangeUdp(h.upstream, msg, this.timeoutMs, () => this.counters.dropped++).then(
        () => this.markUp(h),
        () => {
          this.counters.healthcheckFailures++;
          h.probeDelayMs = Math.min(h.probeDelayMs * 2, PROBE_MAX_MS);
          if (h.down) this.scheduleProbe(h);
        },
      );
    }, h.probeDelayMs);
    h.probe.unref();
  }
}
