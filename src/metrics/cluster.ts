import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, type Registry } from 'prom-client';

/**
 * /metrics with `serve --workers N`: the primary, which owns the HTTP port, asks every worker
 * for its metrics over the cluster's IPC channel and serves their aggregate: counters and
 * histograms summed (the totals of all workers), gauges as each metric says (see registry.ts).
 * A worker that does not answer within the timeout is left out of that scrape and counted.
 */

const REQUEST = 'clusterdns:metrics-request';
const REPLY = 'clusterdns:metrics-reply';

interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: number;
}
interface MetricsReply {
  readonly type: typeof REPLY;
  readonly id: number;
  readonly metrics?: unknown[];
  readonly error?: string;
}

/** In a worker: answers the primary's requests from this registry. Returns a function that stops it. */
export function answerMetricsRequests(registry: Registry): () => void {
  const onMessage = (msg: MetricsRequest) => {
    if (msg?.type !== REQUEST) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: REPLY, id: msg.id, metrics } satisfies MetricsReply),
      (e: unknown) => process.send?.({ type: REPLY, id: msg.id, error: e instanceof Error ? e.message : String(e) } satisfies MetricsReply),
    );
  };
  process.on('message', onMessage);
  return () => process.off('message', onMessage);
}

interface Pending {
  readonly waiting: Set<number>;
  readonly replies: unknown[][];
  readonly done: () => void;
}

/** In the primary: collects and aggregates the workers' metrics. */
export class WorkerMetrics {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs = 5000) {
    cluster.on('message', (worker: Worker, msg: MetricsReply) => {
      if (msg?.type !== REPLY) return;
      const p = this.pending.get(msg.id);
      if (!p || !p.waiting.delete(worker.id)) return;
      if (msg.metrics) p.replies.push(msg.metrics);
      if (p.waiting.size === 0) p.done();
    });
    // A worker that dies while asked is no longer waited for.
    cluster.on('exit', (worker: Worker) => {
      for (const p of this.pending.values()) if (p.waiting.delete(worker.id) && p.waiting.size === 0) p.done();
    });
  }

  /** Prometheus text of the sum over `workers` (those serving), plus how many were asked and answered. */
  async scrape(workers: readonly Worker[], stats: { restarts: number }): Promise<{ contentType: string; body: string }> {
    const id = this.nextId++;
    const asked = workers.filter((w) => w.isConnected());
    const p = await new Promise<Pending>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const pending: Pending = {
        waiting: new Set(asked.map((w) => w.id)),
        replies: [],
        done: () => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(pending);
        },
      };
      this.pending.set(id, pending);
      if (pending.waiting.size === 0) return pending.done();
      timer = setTimeout(pending.done, this.timeoutMs);
      for (const w of asked) w.send({ type: REQUEST, id } satisfies MetricsRequest);
    });
    const registry = AggregatorRegistry.aggregate(p.replies as never);
    const gauge = (name: string, help: string, value: number) => new Gauge({ name, help, registers: [registry] }).set(value);
    gauge('clusterdns_workers', 'Worker processes serving DNS.', asked.length);
    gauge('clusterdns_workers_scraped', 'Workers whose metrics this scrape sums (fewer than clusterdns_workers when one did not answer in time).', p.replies.length);
    new Counter({ name: 'clusterdns_worker_restarts_total', help: 'Workers started again after one exited.', registers: [registry] }).inc(stats.restarts);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
}
