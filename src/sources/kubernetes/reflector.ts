import type { Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterObject, Origin } from '../../records/objects.js';
import { objectKey } from '../../records/objects.js';
import { convertObject } from '../manifests/kinds.js';
import { Backoff } from '../backoff.js';
import type { KubernetesCounters } from './counters.js';
import { describeRequestError, type KubernetesRequestError } from './errors.js';
import type { Resource } from './resources.js';
import { compact } from '../../records/compact.js';

/**
 * One list-then-watch loop for one resource in one namespace (or all), owned here rather than
 * by the client library's informer, so that every restart, relist and backoff is ours:
 *
 * - The first list and every relist read the whole collection in pages and are delivered as
 *   one batch holding only the differences from what was held (unchanged objects are kept by
 *   resourceVersion without converting them again), so nothing vanishes and nothing stale stays.
 * - The watch resumes from the last resourceVersion seen (bookmarks included). A stream the
 *   server ends is started again at once; a failed one after a jittered backoff; an expired
 *   resourceVersion (410 Gone, as an HTTP status or as an ERROR event) leads to a relist.
 * - A periodic resync stops the watch, relists (closing any gap a lost event left) and watches
 *   again from the list's resourceVersion.
 *
 * Objects are cut down to slim DNS objects as they arrive; the API objects are not retained.
 */

/** Retry waits after a failed list or watch: initialMs doubling to maxMs, jittered. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export type RelistReason = 'initial' | 'expired' | 'resync' | 'error';

/** One batch for the sink, with the trigger times of endpoint changes (for the programming-duration metric). */
export interface Delivery {
  readonly upserts: readonly ClusterObject[];
  readonly deletes: readonly string[];
  /** Epoch ms at which each changed EndpointSlice's change was triggered in the cluster, from watch events only. */
  readonly triggers?: readonly { readonly namespace: string; readonly service: string; readonly at: number }[];
}

export interface ReflectorOptions {
  readonly resource: Resource;
  /** '' for all namespaces (and for cluster-scoped resources). */
  readonly namespace: string;
  readonly labelSelector?: string;
  /** Keeps only the objects whose name this accepts (the namespace filter, for Namespace objects). */
  readonly keepName?: (name: string) => boolean;
  readonly watch: Watch;
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly logger: Logger;
  readonly counters: KubernetesCounters;
  readonly backoff: BackoffOptions;
  readonly pageSize: number;
  readonly listTimeoutMs: number;
  /** Watches ask the server to end them after a random time between this and twice this. */
  readonly watchTimeoutSeconds: number;
  /** Applies one batch; must not throw. */
  readonly deliver: (batch: Delivery) => void;
  /** Called once, after the first list has been delivered. */
  readonly onSynced: () => void;
  readonly now: () => number;
  readonly random: () => number;
}

interface Entry {
  /** The API object's resourceVersion (a number when it is one, which takes less memory). */
  readonly rv: string | number;
  /** Its slim object, or null when it has nothing for DNS (an FQDN slice, a filtered namespace). */
  readonly obj: ClusterObject | null;
}

type WatchEnd =
  | { readonly kind: 'closed'; readonly events: number; readonly ms: number }
  | { readonly kind: 'expired' }
  | { readonly kind: 'error'; readonly error: KubernetesRequestError }
  | { readonly kind: 'resync' }
  | { readonly kind: 'stopped' };

interface RawMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

const TRIGGER_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Repeats of one error are logged at most this often; every attempt is still counted. */
const ERROR_LOG_INTERVAL_MS = 60_000;

function compactRV(rv: string | undefined): string | number {
  if (rv === undefined) return '';
  return /^[1-9]\d{0,14}$/.test(rv) ? Number(rv) : rv;
}

export class Reflector {
  readonly #o: ReflectorOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  /** Held objects by "<namespace>/<name>". */
  #items = new Map<string, Entry>();
  /** Entries of #items that hold an object (kept as it changes: status() is read often). */
  #count = 0;
  #rv = '';
  #synced = false;
  #stopped = false;
  #resyncDue = false;
  #running: Promise<void> | null = null;
  #abortWatch: ((end: WatchEnd) => void) | null = null;
  #wake: (() => void) | null = null;
  /** Rejects the list request in flight, so that stop() does not wait for a slow server. */
  #cancelList: ((err: Error) => void) | null = null;
  readonly #origins = new Map<string, Origin>();

  #lastError = '';
  #errorLoggedAt = 0;
  #failures = 0;
  #lastChange = 0;
  /** Conversions already warned about, by key and resourceVersion. */
  #invalidWarned = new Set<string>();

  constructor(options: ReflectorOptions) {
    this.#o = options;
    this.#backoff = new Backoff(options.backoff.initialMs, options.backoff.maxMs, options.random);
    this.#log = options.logger.child({ resource: options.resource.name, ...(options.namespace ? { namespace: options.namespace } : {}) });
  }

  /** "services", or "services in ns1". */
  get label(): string {
    return this.#o.namespace ? `${this.#o.resource.name} in ${this.#o.namespace}` : this.#o.resource.name;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get lastError(): string {
    return this.#lastError;
  }

  get lastChange(): number {
    return this.#lastChange;
  }

  get size(): number {
    return this.#count;
  }

  /** The held slim object of this namespace and name, if any. */
  get(namespace: string, name: string): ClusterObject | null {
    return this.#items.get(itemKey(namespace, name))?.obj ?? null;
  }

  *objects(): Iterable<ClusterObject> {
    for (const e of this.#items.values()) if (e.obj) yield e.obj;
  }

  start(): void {
    if (this.#running) throw new Error('Reflector.start() called twice');
    this.#running = this.#run().catch((err: unknown) => {
      // A bug, not an API failure (those are handled in the loop): say so loudly.
      this.#log.error({ err }, `the ${this.label} watch loop stopped on an unexpected error`);
    });
  }

  /** Relists now (at the next opportunity), diffing against what is held. */
  resync(): void {
    if (this.#stopped || !this.#synced) return;
    this.#resyncDue = true;
    this.#abortWatch?.({ kind: 'resync' });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abortWatch?.({ kind: 'stopped' });
    this.#wake?.();
    this.#cancelList?.(new Error('stopped'));
    await this.#running;
  }

  // -------------------------------------------------------------------------------------------

  async #run(): Promise<void> {
    let relist: RelistReason | null = 'initial';
    while (!this.#stopped) {
      if (this.#resyncDue) {
        this.#resyncDue = false;
        relist ??= 'resync';
      }
      if (relist) {
        try {
          await this.#relist(relist);
          relist = null;
          this.#recovered();
        } catch (err) {
          if (this.#stopped) return;
          const e = describeRequestError(err, 'list', this.label, this.#o.server);
          this.#failed(e);
          if (relist !== 'initial') relist = 'error';
          await this.#sleep(this.#backoff.next());
          continue;
        }
      }
      if (this.#stopped) return;
      const end = await this.#watchOnce();
      switch (end.kind) {
        case 'stopped':
          return;
        case 'resync':
          this.#restarted('resync');
          relist = 'resync';
          this.#resyncDue = false;
          break;
        case 'expired':
          this.#restarted('expired');
          relist = 'expired';
          break;
        case 'closed':
          this.#restarted('closed', { events: end.events, ms: end.ms });
          // A stream the server ends at once, again and again, gets a backoff too.
          if (end.events === 0 && end.ms < 1000) await this.#sleep(this.#backoff.next());
          else this.#backoff.reset();
          break;
        case 'error':
          this.#failed(end.error);
          this.#restarted('error');
          if (end.error.reason === 'expired') relist = 'expired';
          else await this.#sleep(this.#backoff.next());
          break;
      }
    }
  }

  /** Reads the whole collection, page by page, and delivers the differences as one batch. */
  async #relist(reason: RelistReason): Promise<void> {
    const started = this.#o.now();
    const next = new Map<string, Entry>();
    const upserts: ClusterObject[] = [];
    let continueToken = '';
    let rv = '';
    let pages = 0;
    do {
      const page = await this.#withTimeout(
        this.#o.resource.list(this.#o.namespace, { limit: this.#o.pageSize, continueToken, labelSelector: this.#o.labelSelector }),
      );
      if (this.#stopped) return;
      pages++;
      for (const raw of page.items) {
        const meta = (raw as { metadata?: RawMeta }).metadata ?? {};
        const key = itemKey(meta.namespace ?? '', meta.name ?? '');
        const old = this.#items.get(key);
        const entryRV = compactRV(meta.resourceVersion);
        if (old && old.rv === entryRV) {
          next.set(key, old);
          continue;
        }
        const obj = this.#convert(raw, meta, old);
        next.set(key, { rv: entryRV, obj });
        if (obj && obj !== old?.obj) upserts.push(obj);
      }
      continueToken = page.continueToken;
      rv = page.resourceVersion;
    } while (continueToken !== '');

    const deletes: string[] = [];
    for (const [key, old] of this.#items) {
      if (!old.obj) continue;
      const now = next.get(key);
      if (!now?.obj) deletes.push(objectKey(old.obj));
    }
    const first = !this.#synced;
    this.#items = next;
    this.#count = 0;
    for (const e of next.values()) if (e.obj) this.#count++;
    this.#rv = rv;
    if (upserts.length > 0 || deletes.length > 0 || first) {
      this.#o.deliver({ upserts, deletes });
      this.#lastChange = this.#o.now();
    }
    this.#o.counters.relists.inc(this.#o.resource.name, reason);
    this.#log.info(
      { event: 'relist', reason, objects: this.size, upserts: upserts.length, deletes: deletes.length, pages, resourceVersion: rv, ms: this.#o.now() - started },
      `listed ${this.label} (${reason}): ${this.size} objects, ${upserts.length} changed, ${deletes.length} removed`,
    );
    if (first) {
      this.#synced = true;
      this.#o.onSynced();
    }
  }

  /** Runs one watch from the last resourceVersion until it ends, for whatever reason. */
  #watchOnce(): Promise<WatchEnd> {
    const started = this.#o.now();
    let events = 0;
    let controller: AbortController | null = null;
    let finished = false;
    return new Promise<WatchEnd>((resolve) => {
      const timeoutSeconds = Math.round(this.#o.watchTimeoutSeconds * (1 + this.#o.random()));
      const finish = (end: WatchEnd) => {
        if (finished) return;
        finished = true;
        clearTimeout(watchdog);
        this.#abortWatch = null;
        controller?.abort();
        resolve(end);
      };
      // The client sets no timeout of its own: a connection that silently died is ended here.
      const watchdog = setTimeout(() => finish({ kind: 'closed', events, ms: this.#o.now() - started }), (timeoutSeconds + 30) * 1000);
      watchdog.unref?.();
      this.#abortWatch = finish;
      const onEvent = (type: string, object: unknown) => {
        if (finished) return;
        try {
          events++;
          this.#o.counters.events.inc(this.#o.resource.name, type);
          const end = this.#handleEvent(type, object);
          if (end) finish(end);
        } catch (err) {
          // The client library swallows what a callback throws: report it here instead.
          this.#log.error({ err, type }, `handling a ${this.#o.resource.name} watch event failed`);
        }
      };
      const onDone = (err: unknown) => {
        if (finished) return;
        if (err == null) finish({ kind: 'closed', events, ms: this.#o.now() - started });
        else finish({ kind: 'error', error: describeRequestError(err, 'watch', this.label, this.#o.server) });
      };
      const params: Record<string, string | number | boolean> = {
        resourceVersion: this.#rv,
        allowWatchBookmarks: true,
        timeoutSeconds,
      };
      if (this.#o.labelSelector) params.labelSelector = this.#o.labelSelector;
      this.#o.watch.watch(this.#o.resource.path(this.#o.namespace), params, onEvent, onDone).then(
        (c) => {
          controller = c;
          if (finished) c.abort();
          // The stream is open: the API server answers again.
          else this.#clearError();
        },
        (err: unknown) => onDone(err ?? new Error('watch failed')),
      );
    });
  }

  /** Applies one watch event; returns how the watch ends when the event ends it. */
  #handleEvent(type: string, object: unknown): WatchEnd | null {
    const meta = ((object as { metadata?: RawMeta } | null)?.metadata ?? {}) as RawMeta;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const key = itemKey(meta.namespace ?? '', meta.name ?? '');
        const old = this.#items.get(key);
        const rv = compactRV(meta.resourceVersion);
        if (meta.resourceVersion) this.#rv = meta.resourceVersion;
        if (old && old.rv === rv) return null;
        const obj = this.#convert(object, meta, old);
        this.#items.set(key, { rv, obj });
        this.#count += (obj ? 1 : 0) - (old?.obj ? 1 : 0);
        const upserts = obj && obj !== old?.obj ? [obj] : [];
        const deletes = !obj && old?.obj ? [objectKey(old.obj)] : [];
        if (upserts.length === 0 && deletes.length === 0) return null;
        const triggers = this.#trigger(meta);
        this.#o.deliver({ upserts, deletes, triggers });
        this.#lastChange = this.#o.now();
        return null;
      }
      case 'DELETED': {
        const key = itemKey(meta.namespace ?? '', meta.name ?? '');
        if (meta.resourceVersion) this.#rv = meta.resourceVersion;
        const old = this.#items.get(key);
        if (!old) return null;
        this.#items.delete(key);
        if (old.obj) {
          this.#count--;
          this.#o.deliver({ upserts: [], deletes: [objectKey(old.obj)], triggers: this.#trigger(meta) });
          this.#lastChange = this.#o.now();
        }
        return null;
      }
      case 'BOOKMARK':
        if (meta.resourceVersion) this.#rv = meta.resourceVersion;
        return null;
      case 'ERROR': {
        const status = object as { code?: number; reason?: string; message?: string } | null;
        if (status?.code === 410) return { kind: 'expired' };
        const err = Object.assign(new Error(status?.message ?? 'watch ERROR event'), { statusCode: status?.code });
        return { kind: 'error', error: describeRequestError(err, 'watch', this.label, this.#o.server) };
      }
      default:
        return null;
    }
  }

  #trigger(meta: RawMeta): Delivery['triggers'] {
    if (this.#o.resource.kind !== 'EndpointSlice') return undefined;
    const at = Date.parse(meta.annotations?.[TRIGGER_ANNOTATION] ?? '');
    const service = meta.labels?.[SERVICE_NAME_LABEL];
    if (!Number.isFinite(at) || !service) return undefined;
    return [{ namespace: meta.namespace ?? '', service, at }];
  }

  /** The slim object of an API object; a refused one keeps its last good version. */
  #convert(raw: unknown, meta: RawMeta, old: Entry | undefined): ClusterObject | null {
    const kind = this.#o.resource.kind;
    if (this.#o.keepName && !this.#o.keepName(meta.name ?? '')) return null;
    const result = convertObject(kind, raw as Record<string, unknown>, this.#origin(meta.namespace ?? ''));
    if (result.ok) return result.objects[0] ? compact(result.objects[0]) : null;
    this.#o.counters.errors.inc(this.#o.resource.name, 'invalid_object');
    const id = `${meta.namespace ?? ''}/${meta.name ?? ''}@${meta.resourceVersion ?? ''}`;
    if (!this.#invalidWarned.has(id)) {
      if (this.#invalidWarned.size > 1000) this.#invalidWarned.clear();
      this.#invalidWarned.add(id);
      const issue = result.issues[0];
      const where = issue ? `${issue.path.join('.')}` : '';
      this.#log.warn(
        { event: 'invalid_object', object: `${kind} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name}`, resourceVersion: meta.resourceVersion, issues: result.issues },
        `${kind} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name} not applied: ${where}${where ? ': ' : ''}${issue?.message ?? 'invalid'}; keeping its last good version`,
      );
    }
    return old?.obj ?? null;
  }

  /** One shared origin per collection: the object's own name completes the API path. */
  #origin(namespace: string): Origin {
    let o = this.#origins.get(namespace);
    if (!o) this.#origins.set(namespace, (o = { source: 'kubernetes', ref: this.#o.resource.path(namespace) }));
    return o;
  }

  #restarted(reason: string, extra: Record<string, unknown> = {}): void {
    this.#o.counters.watchRestarts.inc(this.#o.resource.name, reason);
    // A stream the server ended on schedule is routine: debug; anything else is worth a line.
    // (A failed one was logged as an error already.)
    const level = reason === 'closed' || reason === 'error' ? 'debug' : 'info';
    this.#log[level]({ event: 'watch_restart', reason, resourceVersion: this.#rv, ...extra }, `${this.label} watch ended (${reason}); watching again`);
  }

  #failed(e: KubernetesRequestError): void {
    this.#failures++;
    this.#o.counters.errors.inc(this.#o.resource.name, e.reason);
    const now = this.#o.now();
    if (e.message !== this.#lastError || now - this.#errorLoggedAt >= ERROR_LOG_INTERVAL_MS) {
      this.#errorLoggedAt = now;
      this.#log.error(
        { event: 'error', reason: e.reason, status: e.status, code: e.code, failures: this.#failures },
        `${e.message}; retrying with backoff, serving the last known state`,
      );
    }
    this.#lastError = e.message;
  }

  #recovered(): void {
    this.#backoff.reset();
    this.#clearError();
  }

  #clearError(): void {
    if (this.#failures > 0) this.#log.info({ event: 'recovered', failures: this.#failures }, `${this.label}: the API server answers again after ${this.#failures} failed attempts`);
    this.#failures = 0;
    this.#lastError = '';
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  #withTimeout<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = (err: Error) => (done(), reject(err));
      const done = () => {
        clearTimeout(timer);
        if (this.#cancelList === cancel) this.#cancelList = null;
      };
      const timer = setTimeout(() => cancel(new Error(`timed out after ${this.#o.listTimeoutMs} ms`)), this.#o.listTimeoutMs);
      this.#cancelList = cancel;
      p.then(
        (v) => (done(), resolve(v)),
        (e: unknown) => (done(), reject(e)),
      );
    });
  }
}

/** "<ns>/<name>" as one flat string: a template literal makes a rope of two, and 75,000 keys are held. */
function itemKey(namespace: string, name: string): string {
  return [namespace, name].join('/');
}
