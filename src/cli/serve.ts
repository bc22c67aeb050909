import cluster from 'node:cluster';
import type { BlockList } from 'node:net';
import { aclHandler } from '../dns/acl.js';
import { QueryLog } from '../dns/query-log.js';
import type { RateLimitOptions } from '../dns/rate-limit.js';
import type { Logger } from 'pino';
import { chain, protocolGuard, type Next } from '../dns/handler.js';
import { DnsServer, formatAddress, type ListenAddress, type TcpLimits } from '../dns/server.js';
import { DnsStats } from '../metrics/dns-stats.js';
import { buildRegistry } from '../metrics/registry.js';
import { answerMetricsRequests } from '../metrics/cluster.js';
import { VERSION } from './version.js';
import { HttpServer } from '../http/server.js';
import type { ClusterZone } from '../records/kubernetes.js';
import { ClusterState } from '../sources/cluster-state.js';
import { ManifestSource } from '../sources/manifests/source.js';
import type { KubernetesSource } from '../sources/kubernetes/source.js';
import type { EtcdSource } from '../sources/etcd/source.js';
import { SkyDnsState } from '../sources/etcd/state.js';
import { apexRecords } from '../records/kubernetes.js';
import type { Source } from '../sources/source.js';
import { clusterHandler, type AnswerCacheCounters } from '../zone/handler.js';
import { explain, type ExplainQuery } from '../explain/explain.js';
import { rcodeCounts, StatusHistory } from '../http/status.js';
import type { ServiceObject } from '../records/objects.js';
import { autopathHandler } from '../zone/autopath.js';
import { Forwarder, type Policy } from '../forward/forwarder.js';
import { forwardHandler, stubFor } from '../forward/handler.js';
import { LoopDetector } from '../forward/loop.js';
import { ForwardCache, type CacheOptions } from '../cache/cache.js';
import { cacheHandler } from '../cache/handler.js';
import { ZoneLookup } from '../zone/lookup.js';
import { RecordStore } from '../zone/store.js';

/** `serve --kubernetes` and the flags that go with it. */
export interface KubernetesSettings {
  /** A kubeconfig path; undefined for $KUBECONFIG or the in-cluster configuration. */
  readonly kubeconfig?: string;
  /** Only these namespaces; empty for all. */
  readonly namespaces: readonly string[];
  readonly labelSelector?: string;
  readonly startupTimeoutMs: number;
  readonly resyncMs: number;
}

/** Everything `clusterdns serve` needs, validated. */
export interface ServeConfig {
  readonly zone: ClusterZone;
  readonly listen: readonly ListenAddress[];
  /** The manifests directory, or '' when the records come from etcd or the Kubernetes API. */
  readonly manifests: string;
  /** Serve SkyDNS-format keys from etcd instead of manifests. */
  readonly etcd?: { readonly endpoints: readonly string[]; readonly prefix: string } | null;
  /** Watch the Kubernetes API instead of manifests. */
  readonly kubernetes?: KubernetesSettings | null;
  readonly upstreams: readonly ListenAddress[];
  /** Per-domain upstreams (lowercase domain, no trailing dot). */
  readonly stubDomains: ReadonlyMap<string, readonly ListenAddress[]>;
  readonly policy: Policy;
  readonly maxConcurrent: number;
  readonly upstreamTimeoutMs: number;
  /** Cache of forwarded replies; maxEntries 0 turns it off. */
  readonly cache: CacheOptions;
  /** Walk the asking pod's search path on the server (needs pods verified). */
  readonly autopath: boolean;
  readonly tcp: TcpLimits;
  /** Clients allowed to ask; null for everyone. */
  readonly allow: BlockList | null;
  /** Response rate limiting over UDP per client prefix; null when off. */
  readonly rateLimit: RateLimitOptions | null;
  /** Query log lines a second at most; 0 turns the query log off. */
  readonly logQueries: number;
  readonly http: ListenAddress | null;
  /** What /config shows: the active configuration's hash, load time and last reload error. */
  readonly configStatus?: () => unknown;
}

export interface Running {
  readonly dns: readonly ListenAddress[];
  readonly http: ListenAddress | null;
  readonly store: RecordStore;
  readonly state: ClusterState;
  readonly sources: readonly Source[];
  /** Lame duck: /ready fails from now on, while DNS keeps answering. */
  lameDuck(): void;
  /**
   * Applies a new configuration without dropping a query: forwarding, caching, client ranges,
   * autopath, the query log and rate limiting are rebuilt and swapped in at once. Returns the settings that
   * changed but take effect only after a restart.
   */
  reload(next: ServeConfig): string[];
  stop(): Promise<void>;
}

/**
 * Wires a server: store <- sources, and the handler chain that reads the store. The order
 * of the chain is listed here and nowhere else.
 */
export async function startServe(cfg: ServeConfig, logger: Logger): Promise<Running> {
  const store = new RecordStore();
  const k8s = cfg.kubernetes ?? null;
  const state = new ClusterState(store, cfg.zone, k8s ? 'kubernetes' : 'manifests');
  // Reverse names the cluster does not know go upstream when there is one; else NXDOMAIN here.
  const lookup = new ZoneLookup(store, { zone: cfg.zone, fallthroughReverse: cfg.upstreams.length > 0, wildcards: !!cfg.etcd });
  let etcd: { source: EtcdSource; state: SkyDnsState } | null = null;
  let kubernetes: KubernetesSource | null = null;
  const sources: Source[] = [];
  if (cfg.etcd) {
    // The zone's own records (SOA, NS, dns-version) are the server's; everything else is etcd's.
    store.apply([{ owner: 'zone:apex', set: apexRecords(cfg.zone, []) }]);
    const log = logger.child({ component: 'etcd' });
    const sky = new SkyDnsState(store, { prefix: cfg.etcd.prefix, zoneOf: (n) => lookup.zoneOf(n), defaultTtl: cfg.zone.ttl, logger: log });
    // Each source's client library is loaded only when that source is used: the Kubernetes and
    // etcd clients add tens of MB to a server that reads manifests.
    const { EtcdSource } = await import('../sources/etcd/source.js');
    etcd = { state: sky, source: new EtcdSource({ endpoints: cfg.etcd.endpoints, prefix: cfg.etcd.prefix, sink: sky, logger: log }) };
    sources.push(etcd.source);
  } else if (k8s) {
    const { KubernetesSource } = await import('../sources/kubernetes/source.js');
    kubernetes = new KubernetesSource({
      sink: state,
      logger: logger.child({ component: 'kubernetes' }),
      kubeconfig: k8s.kubeconfig,
      namespaces: k8s.namespaces,
      labelSelector: k8s.labelSelector,
      pods: cfg.zone.pods === 'verified',
      startupTimeoutMs: k8s.startupTimeoutMs,
      resyncMs: k8s.resyncMs,
    });
    sources.push(kubernetes);
  } else {
    sources.push(new ManifestSource({ dir: cfg.manifests, sink: state, logger: logger.child({ component: 'manifests' }) }));
  }
  // Ready once every source has loaded once; it stays so (a source keeps its last state when it loses sync).
  let ready = false;
  const isReady = () => ready || (ready = sources.every((s) => s.status().synced));
  // Once every source's start() has returned (synced, or its startup wait is over), known names are answered.
  let started = false;
  const isStarted = () => started;

  const answerCache: AnswerCacheCounters = { hits: 0, misses: 0 };
  const parts = { lookup, store, state, isReady, isStarted, answerCache };
  let current = buildChain(cfg, parts, logger);
  // The configuration in force (forwarding settings change on reload).
  let active = cfg;
  const zones = [`${cfg.zone.domain}.`, 'in-addr.arpa.', 'ip6.arpa.', '.'];
  const zoneIndex = (name: string) => {
    const z = lookup.zoneOf(name);
    return z === null ? 3 : z === cfg.zone.domain ? 0 : z === 'in-addr.arpa' ? 1 : 2;
  };
  const servers = cfg.listen.map((a) => `dns://${formatAddress(a)}`);
  const stats = new DnsStats(servers, zones);
  const dns = new DnsServer({ listen: cfg.listen, handle: current.handle, logger: logger.child({ component: 'dns' }), stats, zoneIndex, tcp: cfg.tcp, queryLog: current.queryLog, rateLimit: cfg.rateLimit });
  const registry = buildRegistry({
    stats,
    version: VERSION,
    cache: () => (current.cache ? { counters: current.cache.counters, size: current.cache.size, server: stats.servers[0] } : null),
    forwarders: () => current.forwarders.map((f) => ({ counters: f.counters, upstreams: f.upstreams.map(formatAddress), inFlight: f.inFlight })),
    store: () => ({ ...store.size, objects: state.objectCount + (etcd?.state.size ?? 0), generation: store.generation }),
    etcd: etcd ? () => ({ ...etcd!.source.counters, badValues: etcd!.state.badValues }) : undefined,
    rateLimit: () => dns.rateLimitCounters,
    sources: () => sources.map((s) => s.status()),
    kubernetes: kubernetes ? { counters: kubernetes.counters, synced: () => kubernetes!.status().synced } : undefined,
  });
  const metrics = async () => ({ contentType: registry.contentType, body: await registry.metrics() });
  // A worker's counts reach /metrics through the primary, which sums them over all workers.
  const stopAnswering = cluster.isWorker ? answerMetricsRequests(registry) : () => undefined;
  let draining = false;
  const history = cfg.http ? new StatusHistory(stats) : null;
  // The Services list is rebuilt only when the data moved: a page polling every second costs a
  // large cluster nothing between changes.
  let serviceCache: { gen: number; value: ReturnType<typeof serviceList> } | null = null;
  const services = () => {
    if (serviceCache?.gen !== store.generation) serviceCache = { gen: store.generation, value: serviceList(state) };
    return serviceCache.value;
  };
  const startedAt = Date.now();
  const forwarding = (name: string) => forwardingFor(active, name);
  const status = () => ({
    version: VERSION,
    startedAt,
    now: Date.now(),
    ready: isReady(),
    draining,
    domain: cfg.zone.domain,
    pods: cfg.zone.pods,
    ttl: cfg.zone.ttl,
    zones: zoneList(active),
    sources: sources.map((s) => s.status()),
    store: { ...store.size, objects: state.objectCount, generation: store.generation, lastChange: store.lastChange },
    queries: {
      rcodes: rcodeCounts(stats),
      answerCache: { ...answerCache },
      forwardCache: current.cache ? { hits: current.cache.counters.hits, misses: current.cache.counters.misses, entries: current.cache.size } : null,
    },
    series: history?.series() ?? [],
    sampleEvery: stats.sampleEvery,
    topNames: stats.topNames.top(10),
    topNxdomain: stats.topNxdomain.top(10),
    ...services(),
    changes: state.changes.recent(),
  });
  const explainHere = (q: ExplainQuery) => explain({ zone: cfg.zone, lookup, index: state, ready: isReady(), forwarding }, q);
  const http = cfg.http
    ? new HttpServer({ listen: cfg.http, logger, isReady: () => !draining && isReady(), metrics, config: cfg.configStatus, status, explain: explainHere })
    : null;

  const boundHttp = http ? await http.start() : null;
  history?.start();
  let bound: ListenAddress[];
  try {
    bound = await dns.start();
    stats.servers = bound.map((a) => `dns://${formatAddress(a)}`);
  } catch (e) {
    await http?.stop();
    throw e;
  }
  // The DNS port answers (SERVFAIL for cluster names) while the sources load.
  logger.info({ listen: bound, http: boundHttp }, 'listening; loading sources');
  try {
    for (const s of sources) await s.start();
    started = true;
    collectAfterLoad();
  } catch (e) {
    for (const s of sources) await s.stop();
    await dns.stop();
    await http?.stop();
    throw e;
  }
  // A worker's line is not the process's "serving" line: the primary prints that once all serve.
  const msg = cluster.isWorker ? 'worker serving' : 'serving';
  current.loop?.start(current.forwarders);
  logger.info({ domain: cfg.zone.domain, listen: bound, http: boundHttp, objects: state.objectCount + (etcd?.state.size ?? 0), ...store.size }, msg);
  return {
    dns: bound,
    http: boundHttp,
    store,
    state,
    sources,
    lameDuck() {
      draining = true;
    },
    reload(next: ServeConfig): string[] {
      const fixed = restartOnly(cfg, next);
      active = next;
      const old = current;
      current = buildChain({ ...next, zone: cfg.zone, autopath: next.autopath && cfg.zone.pods === 'verified' }, parts, logger);
      dns.setHandle(current.handle, current.queryLog);
      dns.setRateLimit(next.rateLimit);
      current.loop?.start(current.forwarders);
      // Questions already upstream finish on the old forwarders; their timers stop now.
      for (const f of old.forwarders) f.stop();
      return fixed;
    },
    async stop() {
      stopAnswering();
      for (const f of current.forwarders) f.stop();
      history?.stop();
      for (const s of sources) await s.stop();
      await dns.stop();
      await http?.stop();
    },
  };
}

interface ChainParts {
  readonly lookup: ZoneLookup;
  readonly store: RecordStore;
  readonly state: ClusterState;
  readonly isReady: () => boolean;
  readonly isStarted: () => boolean;
  readonly answerCache: AnswerCacheCounters;
}

interface BuiltChain {
  readonly handle: Next;
  readonly forwarders: readonly Forwarder[];
  readonly cache: ForwardCache | null;
  readonly loop: LoopDetector | null;
  readonly queryLog: QueryLog | undefined;
}

/** The handler chain for a configuration: its order is listed here and nowhere else. */
function buildChain(cfg: ServeConfig, parts: ChainParts, logger: Logger): BuiltChain {
  const { lookup, store, state, isReady, isStarted, answerCache } = parts;
  const forwarder = (upstreams: readonly ListenAddress[]) =>
    new Forwarder({ upstreams, policy: cfg.policy, maxConcurrent: cfg.maxConcurrent, timeoutMs: cfg.upstreamTimeoutMs, logger: logger.child({ component: 'forward' }) });
  const defaults = cfg.upstreams.length > 0 ? forwarder(cfg.upstreams) : null;
  const stubs = new Map([...cfg.stubDomains].map(([domain, ups]) => [domain, forwarder(ups)]));
  const forwarders = [...(defaults ? [defaults] : []), ...stubs.values()];
  const forwarding = forwarders.length > 0;
  const cache = forwarding && cfg.cache.maxEntries > 0 ? new ForwardCache(cfg.cache) : null;
  const loop = forwarding ? new LoopDetector(logger.child({ component: 'forward' })) : null;
  const handle = chain([
    ...(loop ? [loop.handler(() => forwarders.flatMap((f) => f.upstreams.map(formatAddress)).join(','))] : []),
    ...(cfg.allow ? [aclHandler(cfg.allow)] : []),
    protocolGuard,
    ...(cfg.autopath ? [autopathHandler({ lookup, domain: cfg.zone.domain, ttl: cfg.zone.ttl, podNamespace: (ip) => state.podNamespace(ip) })] : []),
    clusterHandler(lookup, store, isReady, answerCache, isStarted),
    ...(cache ? [cacheHandler(cache)] : []),
    forwardHandler(defaults, stubs, loop ?? undefined),
  ]);
  const queryLog = cfg.logQueries > 0 ? new QueryLog(logger.child({ component: 'query' }), cfg.logQueries) : undefined;
  return { handle, forwarders, cache, loop, queryLog };
}

/** Where a name outside the cluster goes under this configuration (as forwardHandler picks), or null when nowhere. */
function forwardingFor(cfg: ServeConfig, name: string): { upstreams: string[]; stubDomain?: string } | null {
  const stub = stubFor(name, cfg.stubDomains);
  if (stub) return { upstreams: stub[1].map(formatAddress), stubDomain: stub[0] };
  return cfg.upstreams.length > 0 ? { upstreams: cfg.upstreams.map(formatAddress) } : null;
}

/** The zones this server answers, and how, for the status page. */
function zoneList(cfg: ServeConfig): { zone: string; how: string }[] {
  const up = cfg.upstreams.map(formatAddress).join(', ');
  return [
    { zone: `${cfg.zone.domain}.`, how: 'authoritative, from the sources' },
    { zone: 'in-addr.arpa.', how: cfg.upstreams.length > 0 ? 'cluster addresses here, the rest forwarded' : 'cluster addresses here, the rest NXDOMAIN' },
    { zone: 'ip6.arpa.', how: cfg.upstreams.length > 0 ? 'cluster addresses here, the rest forwarded' : 'cluster addresses here, the rest NXDOMAIN' },
    ...[...cfg.stubDomains].map(([d, ups]) => ({ zone: `${d}.`, how: `stub domain: forwarded to ${ups.map(formatAddress).join(', ')}` })),
    { zone: '.', how: up ? `forwarded to ${up}` : 'REFUSED (no upstream)' },
  ];
}

const MAX_SERVICES_SHOWN = 500;

/** Services for the status page: the first MAX_SERVICES_SHOWN by namespace and name, and how many there are. */
function serviceList(state: ClusterState): { services: object[]; servicesTotal: number } {
  const all: ServiceObject[] = [...state.allServices()];
  all.sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
  const services = all.slice(0, MAX_SERVICES_SHOWN).map((s) => {
    let ready = 0;
    let notReady = 0;
    for (const slice of state.slicesOf(s.namespace, s.name)) for (const ep of slice.endpoints) (ep.ready ? (ready += ep.addresses.length) : (notReady += ep.addresses.length));
    return {
      namespace: s.namespace,
      name: s.name,
      type: s.type,
      addresses: s.type === 'ExternalName' ? [s.externalName] : s.clusterIPs,
      ports: s.ports.map((p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol}`),
      endpoints: { ready, notReady },
      source: s.origin?.source ?? '',
      ref: s.origin?.ref ?? '',
    };
  });
  return { services, servicesTotal: all.length };
}

/** Settings that changed between two configurations but are only read at start. */
function restartOnly(a: ServeConfig, b: ServeConfig): string[] {
  const out: string[] = [];
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (!same(a.zone, b.zone)) out.push('domain, ttl, pods or endpoint-pod-names');
  if (!same(a.listen, b.listen)) out.push('listen');
  if (a.manifests !== b.manifests) out.push('manifests');
  if (!same(a.etcd ?? null, b.etcd ?? null)) out.push('etcd');
  if (!same(a.kubernetes ?? null, b.kubernetes ?? null)) out.push('kubernetes, kubeconfig, namespaces, labels, startup-timeout or resync');
  if (!same(a.http, b.http)) out.push('http');
  if (!same(a.tcp, b.tcp)) out.push('tcp limits');
  if ((a.upstreams.length > 0) !== (b.upstreams.length > 0)) out.push('upstream (on or off: reverse names of the cluster)');
  return out;
}

/**
 * One full garbage collection once the sources have loaded, before the "serving" line. Parsing a
 * large cluster leaves the heap sized for the parse's garbage, and nothing else would shrink it
 * while the server only answers: at 75,000 objects the collection took RSS from 150 to 131 MB.
 * It needs node's --expose-gc, which the command's first line and the image's entrypoint give;
 * without it this does nothing.
 */
function collectAfterLoad(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
