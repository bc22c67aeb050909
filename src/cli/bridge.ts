import type { Logger } from 'pino';
import { BridgeSink } from '../bridge/bridge.js';
import type { LayoutOptions } from '../bridge/layout.js';
import { BridgeWriter } from '../bridge/writer.js';
import { ManifestSource } from '../sources/manifests/source.js';
import type { Source } from '../sources/source.js';

export interface BridgeConfig {
  readonly manifests: string;
  readonly endpoints: readonly string[];
  readonly layout: LayoutOptions;
  readonly leaseTtl: number;
  readonly identity: string;
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
  const source: Source = new ManifestSource({ dir: cfg.manifests, sink, logger: logger.child({ component: 'manifests' }) });
  writer.start();
  await source.start();
  logger.info({ identity: cfg.identity, etcd: cfg.endpoints, prefix: cfg.layout.prefix, domain: cfg.layout.domain, objects: sink.size }, 'bridging');
  void writer.firstSync.then(() => logger.info({ keys: writer.counters.keys }, 'etcd in sync'));
  return {
    writer,
    source,
    async stop() {
      sink.stop();
      await source.stop();
      await writer.stop();
    },
  };
}
