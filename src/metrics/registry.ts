import { collectDefaultMetrics, Registry } from 'prom-client';
import type { CacheCounters } from '../cache/cache.js';
import type { ForwardCounters } from '../forward/forwarder.js';
import type { RateLimitCounters } from '../dns/rate-limit.js';
import type { SourceStatus } from '../sources/source.js';
import { PROGRAMMING_BUCKETS, SERVICE_KINDS, type KubernetesCounters } from '../sources/kubernetes/counters.js';
import { DURATION_BUCKETS, DURATION_SLOTS, RCODE_LABELS, SIZE_BUCKETS, SIZE_SLOTS, TYPE_LABELS, type DnsStats } from './dns-stats.js';

/**
 * The /metrics registry. Metric names and labels are CoreDNS's, so dashboards and alerts built
 * for it work unchanged; clusterdns's own metrics are named clusterdns_*. Values are read from
 * the counters the server keeps when Prometheus scrapes, never computed per query.
 */

type Labels = Record<string, string | number>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}
/**
 * How `serve --workers` combines a metric over the workers (prom-client's aggregators):
 * counts add up; what each worker holds a copy of (the zone) is the same in all, so one is shown.
 */
type Aggregator = 'sum' | 'max' | 'first';
interface Collected {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: Value[];
  aggregator: Aggregator;
}

/** A metric whose values are read from elsewhere at scrape time. */
export function readMetric(name: string, help: string, type: Collected['type'], read: () => Value[], aggregator: Aggregator = 'sum') {
  return { name, help, type, aggregator, get: async (): Promise<Collected> => ({ name, help, type, aggregator, values: read() }) };
}

function histogram(name: string, counts: Float64Array, sums: Float64Array, series: number, bounds: readonly number[], slots: number, labelsOf: (i: number) => Labels): Value[] {
  const out: Value[] = [];
  for (let i = 0; i < series; i++) {
    let total = 0;
    for (let b = 0; b < slots; b++) total += counts[i * slots + b];
    if (total === 0) continue;
    const labels = labelsOf(i);
    let acc = 0;
    for (let b = 0; b < bounds.length; b++) {
      acc += counts[i * slots + b];
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bounds[b] }, value: acc });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: total });
    out.push({ metricName: `${name}_sum`, labels, value: sums[i] });
    out.push({ metricName: `${name}_count`, labels, value: total });
  }
  return out;
}

export interface MetricSources {
  readonly stats: DnsStats;
  readonly version: string;
  /** The current cache and forwarders (a reload replaces them). */
  readonly cache: () => { counters: CacheCounters; size: number; server: string } | null;
  readonly forwarders: () => readonly { counters: ForwardCounters; upstreams: readonly string[]; inFlight?: number }[];
  /** Gauges of the record store and sources. */
  readonly store: () => { names: number; owners: number; objects: number; generation: number };
  /** Each source's status: synced, last change, last error. */
  readonly sources?: () => readonly SourceStatus[];
  /** Response rate limiting's counts (zero while it is off). */
  readonly rateLimit?: () => RateLimitCounters;
  /** The etcd source, when serving from etcd. */
  readonly etcd?: () => { reads: number; compactions: number; disconnects: number; readErrors: number; connected: number; badValues: number };
  /** The Kubernetes API source's counters, when it is the source. */
  readonly kubernetes?: { readonly counters: KubernetesCounters; readonly synced: () => boolean };
}

export function buildRegistry(src: MetricSources): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r });
  const { stats } = src;
  const S = stats.servers.length;
  const Z = stats.zones.length;
  const T = TYPE_LABELS.length;
  const sz = (i: number) => ({ server: stats.servers[Math.floor(i / Z)], zone: stats.zones[i % Z], view: '' });

  r.registerMetric(
    readMetric('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.', 'counter', () => {
      const out: Value[] = [];
      stats.requests.forEach((v, i) => {
        if (v === 0) return;
        const t = i % T;
        const family = Math.floor(i / T) % 2;
        const proto = Math.floor(i / T / 2) % 2;
        out.push({ labels: { ...sz(Math.floor(i / T / 4)), proto: proto ? 'tcp' : 'udp', family: family ? 2 : 1, type: TYPE_LABELS[t] }, value: v });
      });
      return out;
    }) as never,
  );
  r.registerMetric(
    readMetric('coredns_dns_responses_total', 'Counter of response status codes.', 'counter', () => {
      const out: Value[] = [];
      stats.responses.forEach((v, i) => {
        if (v > 0) out.push({ labels: { ...sz(Math.floor(i / RCODE_LABELS.length)), rcode: RCODE_LABELS[i % RCODE_LABELS.length], plugin: '' }, value: v });
      });
      return out;
    }) as never,
  );
  r.registerMetric(
    readMetric('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took.', 'histogram', () =>
      histogram('coredns_dns_request_duration_seconds', stats.duration, stats.durationSum, S * Z * T, DURATION_BUCKETS, DURATION_SLOTS, (i) => ({ ...sz(Math.floor(i / T)), type: TYPE_LABELS[i % T] })),
    ) as never,
  );
  for (const [name, counts, sums, help] of [
    ['coredns_dns_request_size_bytes', stats.requestSize, stats.requestSizeSum, 'Size of the request in bytes.'],
    ['coredns_dns_response_size_bytes', stats.responseSize, stats.responseSizeSum, 'Size of the returned response in bytes.'],
  ] as const) {
    r.registerMetric(
      readMetric(name, help, 'histogram', () =>
        histogram(name, counts, sums, S * Z * 2, SIZE_BUCKETS, SIZE_SLOTS, (i) => ({ ...sz(Math.floor(i / 2)), proto: i % 2 ? 'tcp' : 'udp' })),
      ) as never,
    );
  }
  r.registerMetric(readMetric('coredns_panics_total', 'A metrics that counts the number of panics.', 'counter', () => [{ labels: {}, value: stats.panics }]) as never);
  r.registerMetric(
    readMetric('coredns_build_info', 'A metric with a constant 1 value labeled by version, revision, and goversion from which CoreDNS was built.', 'gauge', () => [
      { labels: { version: src.version, revision: '', goversion: `node${process.versions.node}` }, value: 1 },
    ], 'first') as never,
  );
  const cached = (pick: (c: NonNullable<ReturnType<MetricSources['cache']>>) => Value[]) => () => {
    const c = src.cache();
    return c ? pick(c) : [];
  };
  const labels = (c: { server: string }) => ({ server: c.server, zones: '.', view: '' });
  r.registerMetric(readMetric('coredns_cache_entries', 'The number of elements in the cache.', 'gauge', cached((c) => [{ labels: { ...labels(c), type: 'success' }, value: c.size }])) as never);
  r.registerMetric(readMetric('coredns_cache_hits_total', 'The count of cache hits.', 'counter', cached((c) => [{ labels: { ...labels(c), type: 'success' }, value: c.counters.hits }])) as never);
  r.registerMetric(readMetric('coredns_cache_misses_total', 'The count of cache misses.', 'counter', cached((c) => [{ labels: labels(c), value: c.counters.misses }])) as never);
  r.registerMetric(readMetric('coredns_cache_served_stale_total', 'The number of requests served from stale cache entries.', 'counter', cached((c) => [{ labels: labels(c), value: c.counters.stale }])) as never);
  r.registerMetric(readMetric('coredns_cache_prefetch_total', 'The number of times the cache has prefetched a cached item.', 'counter', cached((c) => [{ labels: labels(c), value: c.counters.prefetches }])) as never);
  r.registerMetric(readMetric('coredns_cache_evictions_total', 'The count of cache evictions.', 'counter', cached((c) => [{ labels: { ...labels(c), type: 'success' }, value: c.counters.evictions }])) as never);
  const per = (pick: (c: ForwardCounters) => number) => () => src.forwarders().map((f) => ({ labels: { to: f.upstreams.join(',') }, value: pick(f.counters) }));
  r.registerMetric(readMetric('coredns_forward_requests_total', 'Counter of requests made per upstream.', 'counter', per((c) => c.requests)) as never);
  r.registerMetric(
    readMetric('coredns_forward_responses_total', 'Counter of responses received per upstream.', 'counter', () =>
      src.forwarders().flatMap((f) => [...f.counters.rcodes].flatMap((v, rc) => (v > 0 ? [{ labels: { to: f.upstreams.join(','), rcode: RCODE_LABELS[rc] }, value: v }] : []))),
    ) as never,
  );
  r.registerMetric(
    readMetric('coredns_forward_request_duration_seconds', 'Histogram of the time each request took.', 'histogram', () =>
      src.forwarders().flatMap((f) =>
        histogram('coredns_forward_request_duration_seconds', f.counters.duration, Float64Array.of(f.counters.durationSum), 1, DURATION_BUCKETS, DURATION_SLOTS, () => ({ to: f.upstreams.join(',') })),
      ),
    ) as never,
  );
  r.registerMetric(readMetric('coredns_forward_healthcheck_broken_total', 'Counter of the number of complete failures of the healthchecks.', 'counter', () => [{ labels: {}, value: src.forwarders().reduce((n, f) => n + f.counters.broken, 0) }]) as never);
  r.registerMetric(readMetric('coredns_forward_healthcheck_failures_total', 'Counter of the number of failed healthchecks.', 'counter', per((c) => c.healthcheckFailures)) as never);
  r.registerMetric(readMetric('coredns_forward_max_concurrent_rejects_total', 'Counter of the number of queries rejected because the concurrent queries were at maximum.', 'counter', per((c) => c.overloaded)) as never);
  r.registerMetric(readMetric('clusterdns_forward_dropped_replies_total', 'Upstream replies dropped: from another address or port, or not answering the question sent.', 'counter', per((c) => c.dropped)) as never);
  r.registerMetric(
    readMetric('clusterdns_store_names', 'Names in the record store.', 'gauge', () => [{ labels: {}, value: src.store().names }], 'max') as never,
  );
  r.registerMetric(readMetric('clusterdns_source_objects', 'Kubernetes objects held from the sources.', 'gauge', () => [{ labels: {}, value: src.store().objects }], 'max') as never);
  r.registerMetric(readMetric('clusterdns_store_generation', 'Batches applied to the record store.', 'counter', () => [{ labels: {}, value: src.store().generation }], 'max') as never);
  r.registerMetric(
    readMetric('clusterdns_forward_in_flight', 'Questions upstream now (bounded by --max-concurrent).', 'gauge', () =>
      src.forwarders().map((f) => ({ labels: { to: f.upstreams.join(',') }, value: f.inFlight ?? 0 })),
    ) as never,
  );
  const sources = src.sources;
  if (sources) {
    r.registerMetric(readMetric('clusterdns_source_synced', '1 once the source has loaded in full at least once.', 'gauge', () => sources().map((s) => ({ labels: { source: s.name }, value: s.synced ? 1 : 0 })), 'max') as never);
    r.registerMetric(
      readMetric('clusterdns_source_error', '1 while the source\'s last attempt failed (answers come from its last good state); see the log for the reason.', 'gauge', () =>
        sources().map((s) => ({ labels: { source: s.name }, value: s.lastError === '' ? 0 : 1 })),
        'max',
      ) as never,
    );
    r.registerMetric(
      readMetric('clusterdns_source_last_change_timestamp_seconds', 'When the source last applied a change (Unix seconds; 0 for never).', 'gauge', () =>
        sources().map((s) => ({ labels: { source: s.name }, value: s.lastChange / 1000 })),
        'max',
      ) as never,
    );
  }
  const rl = src.rateLimit;
  if (rl) {
    r.registerMetric(readMetric('clusterdns_ratelimit_dropped_total', 'UDP replies not sent: the client prefix was over --rate-limit.', 'counter', () => [{ labels: {}, value: rl().dropped }]) as never);
    r.registerMetric(readMetric('clusterdns_ratelimit_slipped_total', 'UDP replies sent truncated (TC) instead of dropped, so real clients retry over TCP (--rate-limit-slip).', 'counter', () => [{ labels: {}, value: rl().slipped }]) as never);
    r.registerMetric(
      readMetric('clusterdns_ratelimit_evictions_total', 'Client prefixes pushed out of the rate-limit table while still active (more active prefixes than the table holds).', 'counter', () => [{ labels: {}, value: rl().evictions }]) as never,
    );
  }
  if (src.etcd) {
    const etcd = src.etcd;
    const one = (name: string, help: string, type: Collected['type'], pick: (e: ReturnType<typeof etcd>) => number) =>
      r.registerMetric(readMetric(name, help, type, () => [{ labels: {}, value: pick(etcd()) }], name === 'clusterdns_etcd_connected' ? 'max' : 'sum') as never);
    one('clusterdns_etcd_connected', '1 while the etcd watch is attached, 0 while etcd is unreachable (answers come from the last state).', 'gauge', (e) => e.connected);
    one('clusterdns_etcd_disconnects_total', 'Times the etcd watch lost its server.', 'counter', (e) => e.disconnects);
    one('clusterdns_etcd_reads_total', 'Full reads of the etcd prefix (the first, and re-reads).', 'counter', (e) => e.reads);
    one('clusterdns_etcd_read_errors_total', 'Failed reads of the etcd prefix (retried with backoff).', 'counter', (e) => e.readErrors);
    one('clusterdns_etcd_compactions_total', 'Re-reads because the watched revision was compacted.', 'counter', (e) => e.compactions);
    one('clusterdns_etcd_bad_values_total', 'etcd values that are not SkyDNS messages (logged with their key; the key keeps its last good value).', 'counter', (e) => e.badValues);
  }
  if (src.kubernetes) registerKubernetes(r, src.kubernetes);
  return r;
}

function registerKubernetes(r: Registry, k: NonNullable<MetricSources['kubernetes']>): void {
  const c = k.counters;
  const slots = PROGRAMMING_BUCKETS.length + 1;
  r.registerMetric(
    readMetric('coredns_kubernetes_dns_programming_duration_seconds', 'Histogram of the time (in seconds) it took to program a dns instance.', 'histogram', () =>
      histogram('coredns_kubernetes_dns_programming_duration_seconds', c.programming, c.programmingSum, SERVICE_KINDS.length, PROGRAMMING_BUCKETS, slots, (i) => ({ service_kind: SERVICE_KINDS[i] })),
    ) as never,
  );
  r.registerMetric(readMetric('clusterdns_kubernetes_synced', '1 once every watched collection of the Kubernetes API has been listed once.', 'gauge', () => [{ labels: {}, value: k.synced() ? 1 : 0 }], 'first') as never);
  r.registerMetric(readMetric('clusterdns_kubernetes_relists_total', 'Full lists of a Kubernetes collection, by resource and reason (initial, expired, resync, error).', 'counter', () => c.relists.samples()) as never);
  r.registerMetric(readMetric('clusterdns_kubernetes_watch_restarts_total', 'Kubernetes watches started again, by resource and why the last ended (closed, expired, error, resync).', 'counter', () => c.watchRestarts.samples()) as never);
  r.registerMetric(readMetric('clusterdns_kubernetes_errors_total', 'Failed Kubernetes API requests and refused objects, by resource and reason.', 'counter', () => c.errors.samples()) as never);
  r.registerMetric(readMetric('clusterdns_kubernetes_watch_events_total', 'Kubernetes watch events received, by resource and type.', 'counter', () => c.events.samples()) as never);
}
