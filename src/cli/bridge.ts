import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { readMetric } from '../metrics/registry.js';
import type { ListenAddress } from '../dns/server.js';
import { HttpServer } from '../http/server.js';
import { BridgeSink } from '../bridge/bridge.js';
import type { LayoutOptions } from '../bridge/layout.js';
import { BridgeWriter } from '../bridge/writer.js';
import { ManifestSource } from '../sources/manifests/source.js';
import type { ObjectSink, Source } from '../sources/source.js';

/** Builds the bridge's input: any Source that delivers to the sink it is given. */
export type SourceFactory = (sink: ObjectSink, logger: Logger) => Source;

/** A directory of manifests as the bridge's input. */
export const manifestInput =
  (dir: string): SourceFactory =>
  (sink, logger) =>
    new ManifestSource({ dir, sink, logger: logger.child({ component: 'manifests' }) });

export interface BridgeConfig {
  /** The objects' source (manifests today; the Kubernetes API source plugs in the same way). */
  readonly input: SourceFactory;
  readonly endpoints: readonly string[];
  readonly layout: LayoutOptions;
  readonly leaseTtl: number;
  readonly identity: string;
  /** /health, /ready (the source has loaded once) and /metrics; null for none. */
  readonly http?: ListenAddress | null;
}

export interface RunningBridge {
  readonly writer: BridgeWriter;
  readonly source: Source;
  stop(): Promise<void>;
}

/** Wires a bridge: source -> objects -> wanted keys -> writer (which writes while it leads). */
export async function startBridge(cfg: BridgeConfig, logger: Logger): Promise<RunningBridge> {
  const writer = new BridgeWriter({ endpoints: cfg.endpoints, layout: cfg.layout, leaseTtl: cfg.leaseTtl, identity: cfg.identity, logger: logger.child({ component: 'writer' }) });
  const sink = new BridgeSink(cfg.layout, (wanted) => writer.setWanted(wanted));
  const source = cfg.input(sink, logger);
  const http = cfg.http ? new HttpServer({ listen: cfg.http, logger, isReady: () => source.status().synced, metrics: bridgeMetrics(writer, () => sink.size) }) : null;
  const boundHttp = http ? await http.start() : null;
  writer.start();
  await source.start();
  logger.info({ identity: cfg.identity, etcd: cfg.endpoints, prefix: cfg.layout.prefix, domain: cfg.layout.domain, objects: sink.size, http: boundHttp }, 'bridging');
  void writer.firstSync.then(() => logger.info({ keys: writer.counters.keys }, 'etcd in sync'));
  return {
    writer,
    source,
    async stop() {
      sink.stop();
      await source.stop();
      await writer.stop();
      await http?.stop();
    },
  };
}

/** The bridge's /metrics: its election, writes and errors, read from the writer's counters at scrape time. */
function bridgeMetrics(writer: BridgeWriter, objects: () => number): () => Promise<{ contentType: string; body: string }> {
  const r = new Registry();
  collectDefaultMetrics({ register: r });
  const c = writer.counters;
  const metric = (name: string, help: string, read: () => number) =>
    r.registerMetric(readMetric(name, help, name.endsWith('_total') ? 'counter' : 'gauge', () => [{ labels: {}, value: read() }]) as never);
  metric('clusterdns_bridge_leader', '1 while this bridge leads the election and writes to etcd.', () => c.leader);
  metric('clusterdns_bridge_elections_total', 'Times this bridge was elected.', () => c.elections);
  metric('clusterdns_bridge_reconciles_total', 'Reads of the owned keys followed by a reconcile (elected, resync, after errors).', () => c.reconciles);
  metric('clusterdns_bridge_txns_total', 'etcd transactions committed.', () => c.txns);
  metric('clusterdns_bridge_puts_total', 'Keys written.', () => c.puts);
  metric('clusterdns_bridge_deletes_total', 'Keys deleted.', () => c.deletes);
  metric('clusterdns_bridge_errors_total', 'Failed writes, reads and campaigns (each retried with backoff).', () => c.errors);
  metric('clusterdns_bridge_keys', 'Keys this bridge owns in etcd, as last written or read.', () => c.keys);
  metric('clusterdns_source_objects', 'Kubernetes objects held from the source.', objects);
  return async () => ({ contentType: r.contentType, body: await r.metrics() });
}
