import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { ListenAddress } from '../dns/server.js';
import { HttpServer } from '../http/server.js';
import { WorkerMetrics } from '../metrics/cluster.js';

/**
 * `serve --workers N`: N worker processes answer DNS on the same addresses (the cluster module
 * shares each UDP socket and TCP listener between them), each with its own copy of the zone.
 * The primary answers nothing itself: it owns the HTTP port (its /metrics sums the workers'),
 * restarts a worker that dies, and stops them all on SIGTERM.
 */

/** What a worker tells the primary once it serves. */
export interface WorkerServing {
  readonly type: 'serving';
  readonly listen: readonly ListenAddress[];
}

const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;

export interface Primary {
  /** /ready fails from now on; workers keep answering until stopped. */
  lameDuck(): void;
  /** Passes a signal on to every worker. */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERMs every worker (each goes lame duck for its own --lameduck) and waits for them. */
  stop(): Promise<void>;
}

export async function startPrimary(workers: number, http: ListenAddress | null, logger: Logger): Promise<Primary> {
  const serving = new Set<number>();
  let everAll = false;
  let stopping = false;
  let restartDelay = RESTART_MIN_MS;
  let draining = false;
  const isReady = () => !draining && everAll && serving.size > 0;
  const workerMetrics = new WorkerMetrics();
  const restarts = { restarts: 0 };
  const metrics = () => workerMetrics.scrape(Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && serving.has(w.id)), restarts);
  const httpServer = http ? new HttpServer({ listen: http, logger, isReady, metrics }) : null;
  const boundHttp = httpServer ? await httpServer.start() : null;

  cluster.on('message', (worker: Worker, msg: WorkerServing) => {
    if (msg?.type !== 'serving') return;
    serving.add(worker.id);
    restartDelay = RESTART_MIN_MS;
    if (!everAll && serving.size === workers) {
      everAll = true;
      logger.info({ listen: msg.listen, http: boundHttp, workers }, 'serving');
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    serving.delete(worker.id);
    if (stopping) return;
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: restartDelay }, 'worker exited; starting another');
    setTimeout(() => {
      if (stopping) return;
      restarts.restarts++;
      cluster.fork();
    }, restartDelay).unref();
    restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
  });
  for (let i = 0; i < workers; i++) cluster.fork();

  return {
    lameDuck() {
      draining = true;
    },
    signal(sig) {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
    },
    async stop() {
      stopping = true;
      const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
      await Promise.all(
        alive.map(
          (w) =>
            new Promise<void>((resolve) => {
              w.once('exit', () => resolve());
              w.process.kill('SIGTERM');
            }),
        ),
      );
      await httpServer?.stop();
    },
  };
}

/** In a worker: tells the primary that this worker serves. */
export function reportServing(listen: readonly ListenAddress[]): void {
  const msg: WorkerServing = { type: 'serving', listen };
  process.send?.(msg);
}

export const isWorker = (): boolean => cluster.isWorker;
