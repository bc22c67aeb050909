import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterObject } from '../../records/objects.js';
import type { ObjectSink, Source, SourceStatus } from '../source.js';
import { loadKubeConfig } from './config.js';
import { KubernetesCounters, type ServiceKind } from './counters.js';
import { Reflector, type BackoffOptions, type Delivery } from './reflector.js';
import { resources, type Resource, type ResourceName } from './resources.js';

/**
 * Options of the Kubernetes API source. Only `sink` and `logger` are required: the rest
 * default to what `clusterdns serve --kubernetes` uses.
 */
export interface KubernetesSourceOptions {
  /**
   * Receives the slim objects: once every collection is listed, one reset() with all of them;
   * then one apply() per change and one apply() of the differences per relist. When the startup
   * timeout passes before that, what has arrived is delivered with apply() (reset() still
   * follows at the full sync), so a sink can take reset() as "this is the complete set".
   */
  readonly sink: ObjectSink;
  readonly logger: Logger;
  /**
   * The API client configuration: a KubeConfig already loaded, or a kubeconfig file path.
   * Absent: $KUBECONFIG, else the in-cluster configuration of a pod.
   */
  readonly kubeconfig?: KubeConfig | string;
  /** Only these namespaces (their Services, EndpointSlices, Pods and Namespace objects); empty or absent: all. */
  readonly namespaces?: readonly string[];
  /** Label selector for Services and EndpointSlices (the EndpointSlice controller copies a Service's labels to its slices). */
  readonly labelSelector?: string;
  /** Watch Pods too (for `--pods verified`). */
  readonly pods?: boolean;
  /** start() resolves after this long even when the first lists have not completed (default 5000 ms). */
  readonly startupTimeoutMs?: number;
  /** Full relist of every resource this often, diffed against what is held; 0 turns it off (default 300000 ms). */
  readonly resyncMs?: number;
  /** Items per list page (default 500). */
  readonly pageSize?: number;
  /** Retry waits after a failed list or watch (default 250 ms doubling to 1000 ms, jittered: an API back from an outage is seen within a second). */
  readonly backoff?: BackoffOptions;
  /** Watches are asked to end after 1-2x this many seconds, then resumed (default 300). */
  readonly watchTimeoutSeconds?: number;
  /** One list page must arrive within this (default 60000 ms). */
  readonly listTimeoutMs?: number;
  /** Counters for /metrics; a fresh set when absent. */
  readonly counters?: KubernetesCounters;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Watches Services, EndpointSlices (discovery.k8s.io/v1), Namespaces and, when asked, Pods,
 * and delivers them to its sink as slim objects. Each collection (per namespace when
 * `namespaces` is given) has a Reflector that owns its list-then-watch loop; this class
 * merges their batches, keeps the status, and runs the periodic resync.
 *
 * It never throws into its caller after construction (which throws KubeconfigError for an
 * unusable configuration): failures are logged, counted, retried with backoff, and the last
 * delivered state stays.
 */
export class KubernetesSource implements Source {
  readonly counters: KubernetesCounters;
  /** The API server's URL. */
  readonly server: string;
  /** Where the configuration came from: a kubeconfig path, or "in-cluster". */
  readonly configuredFrom: string;
  readonly #sink: ObjectSink;
  readonly #log: Logger;
  readonly #reflectors: Reflector[] = [];
  readonly #services: Reflector[] = [];
  readonly #startupTimeoutMs: number;
  readonly #resyncMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #resyncTimer: NodeJS.Timeout | null = null;
  #started = false;
  #synced = false;
  #syncedAt = 0;
  #startedAt = 0;
  #resolveSynced!: () => void;
  readonly #syncedPromise = new Promise<void>((r) => (this.#resolveSynced = r));
  /** The sink threw: deliver everything with reset() on the next batch. */
  #resetPending = false;
  #sinkError = '';
  /** Deliveries pass to the sink: after the full sync, or after the startup timeout. */
  #delivering = false;

  constructor(options: KubernetesSourceOptions) {
    this.#sink = options.sink;
    this.#log = options.logger.child({ source: 'kubernetes' });
    this.#startupTimeoutMs = options.startupTimeoutMs ?? 5000;
    this.#resyncMs = options.resyncMs ?? 300_000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.counters = options.counters ?? new KubernetesCounters();

    const loaded =
      typeof options.kubeconfig === 'object' ? { config: options.kubeconfig, from: 'the given configuration' } : loadKubeConfig({ path: options.kubeconfig });
    this.configuredFrom = loaded.from;
    this.server = loaded.config.getCurrentCluster()?.server ?? '';
    const res = resources(loaded.config);
    const watch = new Watch(loaded.config);
    const namespaces = [...new Set(options.namespaces ?? [])];
    const only = namespaces.length > 0 ? new Set(namespaces) : null;
    const add = (resource: Resource, namespace: string, extra: { labelSelector?: string; keepName?: (n: string) => boolean } = {}) => {
      const r = new Reflector({
        resource,
        namespace,
        ...extra,
        watch,
        server: this.server,
        logger: this.#log,
        counters: this.counters,
        backoff: options.backoff ?? { initialMs: 250, maxMs: 1000 },
        pageSize: options.pageSize ?? 500,
        listTimeoutMs: options.listTimeoutMs ?? 60_000,
        watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
        deliver: (batch) => this.#deliver(batch),
        onSynced: () => this.#checkSynced(),
        now: this.#now,
        random: this.#random,
      });
      this.#reflectors.push(r);
      return r;
    };
    const perNamespace = (name: ResourceName, extra: { labelSelector?: string } = {}) =>
      (only ? namespaces : ['']).map((ns) => add(res[name], ns, extra));
    this.#services.push(...perNamespace('services', { labelSelector: options.labelSelector }));
    perNamespace('endpointslices', { labelSelector: options.labelSelector });
    add(res.namespaces, '', only ? { keepName: (n) => only.has(n) } : {});
    if (options.pods) perNamespace('pods');
  }

  /**
   * Starts every watch. Resolves once all first lists are delivered, or after the startup
   * timeout (logging a warning) with whatever has arrived; the lists go on in the background.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error('KubernetesSource.start() called twice');
    this.#started = true;
    this.#startedAt = this.#now();
    this.#log.info(
      { server: this.server, config: this.configuredFrom, watches: this.#reflectors.map((r) => r.label) },
      `watching the Kubernetes API at ${this.server} (${this.configuredFrom})`,
    );
    for (const r of this.#reflectors) r.start();
    if (this.#resyncMs > 0) this.#scheduleResync();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.#startupTimeoutMs);
    });
    const late = await Promise.race([this.#syncedPromise.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late && !this.#synced) {
      // Serve what has arrived: deliver it now, and each change from here on.
      this.#delivering = true;
      this.#deliver({ upserts: this.#held(), deletes: [] });
      const pending = this.#reflectors.filter((r) => !r.synced).map((r) => r.label);
      const errors = [...new Set(this.#reflectors.map((r) => r.lastError).filter((e) => e !== ''))];
      this.#log.warn(
        { event: 'startup_timeout', pending, errors, timeoutMs: this.#startupTimeoutMs },
        `not synced with the Kubernetes API after ${this.#startupTimeoutMs} ms (still listing ${pending.join(', ')}${errors.length ? `; ${errors[0]}` : ''}): answering from what has arrived, cluster names not found get SERVFAIL until synced`,
      );
    }
  }

  /** Resolves once every watched collection has been listed and delivered once. */
  synced(): Promise<void> {
    return this.#syncedPromise;
  }

  /** Relists every collection now (as the periodic resync does). */
  resync(): void {
    for (const r of this.#reflectors) r.resync();
  }

  async stop(): Promise<void> {
    if (this.#resyncTimer) clearTimeout(this.#resyncTimer);
    this.#resyncTimer = null;
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }

  status(): SourceStatus {
    let objects = 0;
    let lastChange = 0;
    for (const r of this.#reflectors) {
      objects += r.size;
      lastChange = Math.max(lastChange, r.lastChange);
    }
    return {
      name: 'kubernetes',
      synced: this.#synced,
      lastChange,
      lastError: this.#sinkError || this.#reflectors.find((r) => r.lastError !== '')?.lastError || '',
      objects,
    };
  }

  // -------------------------------------------------------------------------------------------

  #scheduleResync(): void {
    // Jittered by up to a tenth, so replicas started together do not relist together.
    const ms = Math.round(this.#resyncMs * (0.9 + 0.2 * this.#random()));
    this.#resyncTimer = setTimeout(() => {
      this.resync();
      this.#scheduleResync();
    }, ms);
    this.#resyncTimer.unref?.();
  }

  #checkSynced(): void {
    if (this.#synced || !this.#reflectors.every((r) => r.synced)) return;
    this.#synced = true;
    // The complete set, in one swap.
    this.#delivering = true;
    this.#resetPending = true;
    this.#deliver({ upserts: [], deletes: [] });
    this.#syncedAt = this.#now();
    this.#log.info(
      { event: 'synced', objects: this.status().objects, ms: this.#syncedAt - this.#startedAt },
      `synced with the Kubernetes API: ${this.status().objects} objects in ${this.#syncedAt - this.#startedAt} ms`,
    );
    this.#resolveSynced();
  }

  #held(): ClusterObject[] {
    const all: ClusterObject[] = [];
    for (const r of this.#reflectors) for (const o of r.objects()) all.push(o);
    return all;
  }

  #deliver(batch: Delivery): void {
    // Before the full sync (and the startup timeout) the reflectors only hold what they list.
    if (!this.#delivering) return;
    try {
      if (this.#resetPending) {
        this.#sink.reset(this.#held());
        this.#resetPending = false;
      } else {
        this.#sink.apply(batch.upserts, batch.deletes);
      }
      if (this.#sinkError) this.#log.info({ event: 'sink_recovered' }, 'delivering Kubernetes objects works again');
      this.#sinkError = '';
    } catch (err) {
      this.counters.errors.inc('sink', 'sink');
      this.#resetPending = true;
      const message = `delivering Kubernetes objects failed: ${(err as Error)?.message ?? String(err)}`;
      if (message !== this.#sinkError) this.#log.error({ err, event: 'error', reason: 'sink' }, `${message}; delivering everything again with the next change`);
      this.#sinkError = message;
      return;
    }
    if (batch.triggers) {
      const now = this.#now();
      for (const t of batch.triggers) this.counters.observeProgramming(this.#serviceKind(t.namespace, t.service), Math.max(0, now - t.at) / 1000);
    }
  }

  #serviceKind(namespace: string, name: string): ServiceKind {
    for (const r of this.#services) {
      const svc = r.get(namespace, name);
      if (svc?.kind === 'Service') return svc.type === 'Headless' ? 'headless_with_selector' : 'cluster_ip';
    }
    return 'headless_without_selector';
  }
}
