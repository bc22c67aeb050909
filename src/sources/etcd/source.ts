import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import { Backoff } from '../backoff.js';
import type { Source, SourceStatus } from '../source.js';
import { etcdClient, readPrefix } from './client.js';
import type { KvSink } from './state.js';

/**
 * etcd as a live source: reads every key under the prefix, then watches the prefix from the
 * read's revision + 1. A compacted revision (the watch fell too far behind) or any other end
 * of the watch leads to a fresh read, delivered as one reset, and a new watch. While etcd is
 * unreachable the sink keeps the last state; the watch reconnects on its own (within about a
 * second of etcd's return) and replays what changed meanwhile. Every handler given to the
 * client is wrapped: an exception in one would otherwise crash the process.
 */

export interface EtcdSourceOptions {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly sink: KvSink;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly backoff?: Backoff;
}

/** Counters for /metrics. */
export interface EtcdSourceCounters {
  /** Full reads of the prefix (the first, and every re-read). */
  reads: number;
  /** Re-reads forced by a compacted watch revision. */
  compactions: number;
  /** Times the watch lost etcd. */
  disconnects: number;
  /** Failed reads. */
  readErrors: number;
  /** 1 while the watch is attached, 0 otherwise. */
  connected: number;
}

export class EtcdSource implements Source {
  readonly counters: EtcdSourceCounters = { reads: 0, compactions: 0, disconnects: 0, readErrors: 0, connected: 0 };
  private readonly client: Etcd3;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly backoff: Backoff;
  private readonly prefix: string;
  private watcher: Watcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private synced = false;
  private lastChange = 0;
  private lastError = '';
  /** The revision the sink's state reflects: the read's, then each applied event's. */
  private applied = 0n;
  /** Bumped by every cycle: events of an older watcher are ignored. */
  private epoch = 0;

  constructor(private readonly opts: EtcdSourceOptions) {
    this.client = etcdClient(opts.endpoints);
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.backoff = opts.backoff ?? new Backoff(100, 1000);
    this.prefix = opts.prefix.endsWith('/') ? opts.prefix : opts.prefix + '/';
  }

  async start(): Promise<void> {
    await this.cycle('start');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const w = this.watcher;
    this.watcher = null;
    await w?.cancel().catch(() => undefined);
    this.client.close();
  }

  status(): SourceStatus {
    return { name: 'etcd', synced: this.synced, lastChange: this.lastChange, lastError: this.lastError, objects: this.opts.sink.size };
  }

  /** Read the prefix, deliver it as one reset, watch from the next revision. Never throws. */
  private async cycle(why: string): Promise<void> {
    if (this.stopped) return;
    const epoch = ++this.epoch;
    const old = this.watcher;
    this.watcher = null;
    this.counters.connected = 0;
    old?.removeAllListeners();
    old?.on('error', () => undefined);
    void old?.cancel().catch(() => undefined);
    try {
      const res = await readPrefix(this.client, this.prefix);
      if (this.stopped || epoch !== this.epoch) return;
      const revision = res.revision;
      this.opts.sink.reset(res.kvs);
      this.applied = revision;
      this.counters.reads++;
      this.synced = true;
      this.lastChange = this.now();
      this.lastError = '';
      this.log.info({ why, keys: res.kvs.length, revision: revision.toString() }, `read ${res.kvs.length} keys under ${this.prefix}`);
      await this.watch(epoch, revision + 1n);
      this.backoff.reset();
    } catch (e) {
      if (this.stopped || epoch !== this.epoch) return;
      this.counters.readErrors++;
      this.fail(`reading ${this.prefix} from ${this.opts.endpoints.join(',')}: ${message(e)}`);
      const wait = this.backoff.next();
      this.timer = setTimeout(() => void this.cycle('retry after error'), wait);
    }
  }

  private async watch(epoch: number, from: bigint): Promise<void> {
    const w = await this.client.watch().prefix(this.prefix).startRevision(from.toString()).create();
    if (this.stopped || epoch !== this.epoch) {
      void w.cancel().catch(() => undefined);
      return;
    }
    this.watcher = w;
    this.counters.connected = 1;
    const guard = <A extends unknown[]>(what: string, f: (...a: A) => void) => (...a: A) => {
      if (epoch !== this.epoch) return;
      try {
        f(...a);
      } catch (e) {
        this.log.error({ err: message(e), what }, `etcd ${what} handler failed; re-reading`);
        this.restart(`${what} handler failed`);
      }
    };
    w.on('data', guard('data', (res: IWatchResponse) => this.onEvents(res)));
    w.on(
      'disconnected',
      guard('disconnected', (err: Error) => {
        if (this.counters.connected === 1) {
          this.counters.disconnects++;
          this.fail(`watch lost etcd (${message(err)}); answering from the last state, reconnecting`);
        }
        this.counters.connected = 0;
      }),
    );
    w.on(
      'connected',
      guard('connected', () => {
        if (this.counters.connected === 0) this.log.info({}, 'etcd watch reconnected; replaying changes since the last revision');
        this.counters.connected = 1;
        this.lastError = '';
      }),
    );
    w.on(
      'error',
      guard('error', (err: Error) => {
        this.fail(`watch ended: ${message(err)}`);
        // etcd cancels a watch whose revision was compacted without saying so to this client:
        // ask for the revision the watch needed; a compaction error tells.
        const needed = this.applied + 1n;
        this.client
          .getAll()
          .prefix(this.prefix)
          .revision(needed.toString())
          .limit(1)
          .exec()
          .then(
            () => false,
            (e: unknown) => /compact/i.test(message(e)),
          )
          .then((compacted) => {
            if (epoch !== this.epoch) return;
            if (compacted || /compact/i.test(message(err))) this.counters.compactions++;
            this.restart(compacted ? `watch revision ${needed} compacted` : 'watch ended');
          });
      }),
    );
  }

  private onEvents(res: IWatchResponse): void {
    if (res.compact_revision && res.compact_revision !== '0') {
      this.counters.compactions++;
      this.restart('watch revision compacted');
      return;
    }
    if (!res.events || res.events.length === 0) return;
    // One response is one batch, applied in order: the last event for a key wins.
    const latest = new Map<string, IKeyValue | null>();
    for (const ev of res.events) {
      const key = ev.kv.key.toString('utf8');
      const rev = BigInt(ev.kv.mod_revision);
      if (rev > this.applied) this.applied = rev;
      latest.set(key, ev.type === 'Delete' ? null : ev.kv);
    }
    const puts: [string, Buffer][] = [];
    const deletes: string[] = [];
    for (const [key, kv] of latest) {
      if (kv) puts.push([key, kv.value]);
      else deletes.push(key);
    }
    this.opts.sink.apply(puts, deletes);
    this.lastChange = this.now();
  }

  private restart(why: string): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.cycle(why), this.backoff.next());
  }

  private fail(msg: string): void {
    if (msg !== this.lastError) this.log.warn({ endpoints: this.opts.endpoints }, msg);
    this.lastError = msg;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
