import type { ClusterObject } from '../records/objects.js';
import { objectKey } from '../records/objects.js';
import type { ObjectSink } from '../sources/source.js';
import { wantedKeys, type LayoutOptions } from './layout.js';

/**
 * The bridge's side of a source: holds the objects any Source delivers and, after each batch
 * (bursts gathered for `debounceMs`), hands the complete set of wanted SkyDNS keys to the
 * writer. Nothing is handed over before the source's first full load, so a bridge that
 * starts never deletes keys for objects it has not read yet.
 */
export class BridgeSink implements ObjectSink {
  private objects = new Map<string, ClusterObject>();
  private synced = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly layout: LayoutOptions,
    private readonly deliver: (wanted: Map<string, string>) => void,
    private readonly debounceMs = 20,
  ) {}

  get size(): number {
    return this.objects.size;
  }

  reset(objects: readonly ClusterObject[]): void {
    this.objects = new Map(objects.map((o) => [objectKey(o), o]));
    this.synced = true;
    this.schedule();
  }

  apply(upserts: readonly ClusterObject[], deletes: readonly string[]): void {
    for (const k of deletes) this.objects.delete(k);
    for (const o of upserts) this.objects.set(objectKey(o), o);
    this.schedule();
  }

  /** The wanted keys for the objects held now. */
  wanted(): Map<string, string> {
    return wantedKeys([...this.objects.values()], this.layout);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (!this.synced || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.deliver(this.wanted());
    }, this.debounceMs);
  }
}
