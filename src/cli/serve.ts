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
import { VERSION } from './version.js';
import { HttpServer } from '../http/server.js';
import type { ClusterZone } from '../records/kubernetes.js';
import { ClusterState } from '../sources/cluster-state.js';
import { ManifestSource } from '../sources/manifests/source.js';
import type { Source } from '../sources/source.js';
import { clusterHandler } from '../zone/handler.js';
import { autopathHandler } from '../zone/autopath.js';
import { Forwarder, type Policy } from '../forward/forwarder.js';
import { forwardHandler } from '../forward/handler.js';
import { LoopDetector } from '../forward/loop.js';
import { ForwardCache, type CacheOptions } from '../cache/cache.js';
import { cacheHandler } from '../cache/handler.js';
import { ZoneLookup } from '../zone/lookup.js';
import { RecordStore } from '../zone/store.js';

/** Everything `clusterdns serve` needs, validated. */
export interface ServeConfig {
  readonly zone: ClusterZone;
  readonly listen: readonly ListenAddress[];
  readonly manifests: string;
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
  const state = new ClusterState(store, cfg.zone, 'manifests');
  const sources: Source[] = [new ManifestSource({ dir: cfg.manifests, sink: state, logger: logger.child({ component: 'manifests' }) })];
  // Ready once every source has loaded once; it stays so (a source keeps its last state when it loses sync).
  let ready = false;
  const isReady = () => ready || (ready = sources.every((s) => s.status().synced));

  // Reverse names the cluster does not know go upstream when there is one; else NXDOMAIN here.
  const lookup = new ZoneLookup(store, { zone: cfg.zone, fallthroughReverse: cfg.upstreams.length > 0 });
  const parts = { lookup, store, state, isReady };
  let current = buildChain(cfg, parts, logger);
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
    store: () => ({ ...store.size, objects: state.objectCount, generation: store.generation }),
    rateLimit: () => dns.rateLimitCounters,
    sources: () => sources.map((s) => s.status()),
  });
  const metrics = async () => ({ contentType: registry.contentType, body: await registry.metrics() });
  let draining = false;
  const http = cfg.http ? new HttpServer({ listen: cfg.http, logger, isReady: () => !draining && isReady(), metrics, config: cfg.configStatus }) : null;

  const boundHttp = http ? await http.start() : null;
  let bound: ListenAddress[];
  try {
    bound = await dns.start();
    stats.servers = bound.map((a) => `dns://${formatAddress(a)}`);
  } catch (e) {
    await http?.stop();
    throw e;
  }
  try {
    for (const s of sources) await s.start();
  } catch (e) {
    await dns.stop();
    await http?.stop();
    throw e;
  }
  // A worker's line is not the process's "serving" line: the primary prints that once all serve.
  const msg = cluster.isWorker ? 'worker serving' : 'serving';
  current.loop?.start(current.forwarders);
  logger.info({ domain: cfg.zone.domain, listen: bound, http: boundHttp, objects: state.objectCount, ...store.size }, msg);
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
      for (const f of current.forwarders) f.stop();
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
  const { lookup, store, state, isReady } = parts;
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
    clusterHandler(lookup, store, isReady),
    ...(cache ? [cacheHandler(cache)] : []),
    forwardHandler(defaults, stubs, loop ?? undefined),
  ]);
  const queryLog = cfg.logQueries > 0 ? new QueryLog(logger.child({ component: 'query' }), cfg.logQueries) : undefined;
  return { handle, forwarders, cache, loop, queryLog };
}

/** Settings that changed between two configurations but are only read at start. */
function restartOnly(a: ServeConfig, b: ServeConfig): string[] {
  const out: string[] = [];
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (!same(a.zone, b.zone)) out.push('domain, ttl, pods or endpoint-pod-names');
  if (!same(a.listen, b.listen)) out.push('listen');
  if (a.manifests !== b.manifests) out.push('manifests');
  if (!same(a.http, b.http)) out.push('http');
  if (!same(a.tcp, b.tcp)) out.push('tcp limits');
  if ((a.upstreams.length > 0) !== (b.upstreams.length > 0)) out.push('upstream (on or off: reverse names of the cluster)');
  return out;
}
