import type { Campaign, Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import { Backoff } from '../sources/backoff.js';
import { etcdClient, readPrefix } from '../sources/etcd/client.js';
import { isOwnedKey, type LayoutOptions } from './layout.js';
import { batches, diffKeys, type Op } from './reconcile.js';

/** Transactions in flight at once during a reconcile. */
const IN_FLIGHT = 4;

/**
 * Writes the wanted keys into etcd while this bridge leads. Bridges campaign in an etcd
 * election (one lease each, `leaseTtl` seconds); the leader reads the keys it owns, writes
 * the difference in transactions, and keeps a mirror of what it wrote so later changes cost
 * only their own difference. Every transaction is guarded by the leader's election key (it
 * exists only while the lease lives), so a bridge that lost its lease cannot write. The
 * leader re-reads etcd and reconciles when elected, after any failed write, and every
 * `resyncMs`. A leader that dies stops renewing its lease; the next candidate is elected
 * within the lease TTL and reconciles.
 */

export interface BridgeWriterOptions {
  readonly endpoints: readonly string[];
  readonly layout: LayoutOptions;
  /** Lease TTL of the election, seconds. */
  readonly leaseTtl: number;
  /** This bridge's name in the election (host name and pid by default). */
  readonly identity: string;
  readonly logger: Logger;
  readonly resyncMs?: number;
}

export interface BridgeCounters {
  /** 1 while this bridge leads. */
  leader: number;
  /** Times this bridge was elected. */
  elections: number;
  /** Full reads of the owned keys followed by a reconcile. */
  reconciles: number;
  txns: number;
  puts: number;
  deletes: number;
  errors: number;
  /** Keys in etcd as last written or read. */
  keys: number;
}

export class BridgeWriter {
  readonly counters: BridgeCounters = { leader: 0, elections: 0, reconciles: 0, txns: 0, puts: 0, deletes: 0, errors: 0, keys: 0 };
  readonly client: Etcd3;
  private readonly log: Logger;
  private readonly backoff = new Backoff(100, 1000);
  private wanted: ReadonlyMap<string, string> | null = null;
  /** The owned keys as they are in etcd; null when they must be read again. */
  private mirror: Map<string, string> | null = null;
  /** Read etcd again before the next write (elected; periodic resync). */
  private resyncDue = true;
  private campaign: Campaign | null = null;
  private campaignKey: string | null = null;
  /**
   * Election keys of campaigns this bridge gave up while etcd was away. etcd renews every lease
   * when it restarts, so such a key would stand in the queue for a whole TTL; it is deleted
   * before campaigning again.
   */
  private staleKeys = new Set<string>();
  private readonly keyOf = new WeakMap<Campaign, () => string | null>();
  private running = false;
  private again = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private lastError = '';
  /** Resolves the first time the wanted keys are all in etcd (for tests and the CLI's log). */
  private inSync: (() => void) | null = null;
  readonly firstSync: Promise<void>;

  constructor(private readonly opts: BridgeWriterOptions) {
    this.client = etcdClient(opts.endpoints);
    this.log = opts.logger;
    this.firstSync = new Promise((r) => (this.inSync = r));
  }

  get isLeader(): boolean {
    return this.counters.leader === 1;
  }

  start(): void {
    this.campaignOnce();
    const every = this.opts.resyncMs ?? 30_000;
    this.resyncTimer = setInterval(() => {
      this.resyncDue = true;
      this.kick();
    }, every);
    this.resyncTimer.unref();
  }

  /** The complete set of keys wanted now; written once this bridge leads. */
  setWanted(wanted: ReadonlyMap<string, string>): void {
    this.wanted = wanted;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    const c = this.campaign;
    this.campaign = null;
    this.counters.leader = 0;
    // Resigning revokes the lease: another bridge takes over at once instead of after the TTL.
    await c?.resign().catch(() => undefined);
    this.client.close();
  }

  private campaignOnce(): void {
    if (this.stopped) return;
    if (this.staleKeys.size > 0) {
      const keys = [...this.staleKeys];
      Promise.all(keys.map((k) => this.client.delete().key(k).then(() => this.staleKeys.delete(k)))).then(
        () => this.campaignOnce(),
        (e: unknown) => {
          this.log.debug({ err: message(e) }, 'etcd still unreachable; campaigning later');
          setTimeout(() => this.campaignOnce(), this.backoff.next());
        },
      );
      return;
    }
    const { prefix, domain } = this.opts.layout;
    const election = this.client.election(`clusterdns-bridge${prefix}/${domain}`, this.opts.leaseTtl);
    const c = election.campaign(this.opts.identity);
    this.campaign = c;
    let key: string | null = null;
    c.getCampaignKey().then(
      (k) => (key = k),
      () => undefined,
    );
    this.keyOf.set(c, () => key);
    c.on('elected', () => {
      if (this.campaign !== c || this.stopped) return;
      c.getCampaignKey().then(
        (key) => {
          if (this.campaign !== c || this.stopped) return;
          this.campaignKey = key;
          this.counters.leader = 1;
          this.counters.elections++;
          this.resyncDue = true;
          this.log.info({ identity: this.opts.identity, key }, 'elected: this bridge writes to etcd');
          this.kick();
        },
        (e: unknown) => this.lose(c, e),
      );
    });
    c.on('error', (e: unknown) => this.lose(c, e));
  }

  /** The campaign failed or the lease was lost: stop writing, campaign again after a pause. */
  private lose(c: Campaign, e: unknown): void {
    if (this.campaign !== c) return;
    const was = this.isLeader;
    this.campaign = null;
    this.campaignKey = null;
    this.counters.leader = 0;
    c.removeAllListeners();
    c.on('error', () => undefined);
    // The lease may not be revocable now (etcd away): its key is deleted before the next campaign.
    const key = this.keyOf.get(c)?.() ?? null;
    if (key) this.staleKeys.add(key);
    c.resign().catch(() => undefined);
    if (this.stopped) return;
    this.counters.errors++;
    this.log.warn({ err: message(e), wasLeader: was }, was ? 'lost leadership; campaigning again' : `campaign failed (${message(e)}); retrying`);
    setTimeout(() => this.campaignOnce(), this.backoff.next());
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.again = true;
    void this.loop().finally(() => (this.running = false));
  }

  private async loop(): Promise<void> {
    while (this.again && !this.stopped) {
      this.again = false;
      const wanted = this.wanted;
      const key = this.campaignKey;
      if (!wanted || !this.isLeader || key === null) return;
      try {
        if (this.resyncDue || !this.mirror) {
          this.resyncDue = false;
          this.mirror = null;
          this.mirror = await this.readOwned();
          this.counters.reconciles++;
        }
        const mirror = this.mirror;
        const ops = diffKeys(wanted, mirror);
        // Every put lands before the first delete is sent; the transactions of one phase go
        // a few at a time (they touch different keys).
        await this.commitAll(key, mirror, batches(ops.filter((o) => o.type === 'put')));
        await this.commitAll(key, mirror, batches(ops.filter((o) => o.type === 'delete')));
        this.counters.keys = mirror.size;
        if (ops.length > 0) this.log.debug({ ops: ops.length }, 'etcd updated');
        if (this.lastError) this.log.info({}, 'etcd writes work again');
        this.lastError = '';
        this.backoff.reset();
        if (this.wanted === wanted) this.inSync?.();
      } catch (e) {
        this.mirror = null;
        this.counters.errors++;
        const msg = message(e);
        if (msg !== this.lastError) this.log.warn({ err: msg }, `writing to etcd failed; retrying: ${msg}`);
        this.lastError = msg;
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.kick(), this.backoff.next());
        return;
      }
    }
  }

  /** Commits the transactions, at most IN_FLIGHT at once, each guarded by the election key; the mirror follows. */
  private async commitAll(leaderKey: string, mirror: Map<string, string>, txns: readonly Op[][]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < txns.length) {
        const batch = txns[next++];
        const txn = this.client.if(leaderKey, 'Create', '>', 0);
        txn.then(...batch.map((op) => (op.type === 'put' ? this.client.put(op.key).value(op.value!) : this.client.delete().key(op.key))));
        const r = await txn.commit();
        if (!r.succeeded) throw new Error('the election key is gone: this bridge no longer leads');
        this.counters.txns++;
        for (const op of batch) {
          if (op.type === 'put') {
            mirror.set(op.key, op.value!);
            this.counters.puts++;
          } else {
            mirror.delete(op.key);
            this.counters.deletes++;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, txns.length) }, worker));
  }

  /** The keys under the prefix that this bridge owns, as they are in etcd now. */
  private async readOwned(): Promise<Map<string, string>> {
    const { prefix } = this.opts.layout;
    const p = prefix.endsWith('/') ? prefix : prefix + '/';
    const { kvs } = await readPrefix(this.client, p);
    const out = new Map<string, string>();
    for (const [k, buf] of kvs) {
      const v = buf.toString('utf8');
      if (isOwnedKey(k, v, this.opts.layout)) out.set(k, v);
    }
    return out;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
