import type { ClusterObject, Origin } from '../records/objects.js';
import { objectKey } from '../records/objects.js';

/**
 * The last few batches a source applied, for the status page: a fixed-size ring, so a busy
 * cluster costs a bounded amount of memory, and each batch lists at most a few objects by name.
 */

export interface ChangeEntry {
  /** Epoch ms when the batch was applied. */
  readonly at: number;
  /** The source that delivered it. */
  readonly source: string;
  /** 'reset' for a full load or relist, 'apply' for an incremental batch. */
  readonly op: 'reset' | 'apply';
  /** How many objects were upserted and deleted (a reset counts every object it holds as upserted). */
  readonly upserts: number;
  readonly deletes: number;
  /** The first few objects, by objectKey, with where they came from. */
  readonly objects: readonly { readonly key: string; readonly op: 'upsert' | 'delete'; readonly origin?: Origin }[];
}

/** Objects named per batch; the counts say how many more there were. */
export const NAMED_PER_BATCH = 8;

export class ChangeLog {
  private readonly ring: (ChangeEntry | undefined)[];
  private next = 0;
  /** Batches recorded since start. */
  total = 0;

  constructor(
    readonly capacity = 32,
    private readonly now: () => number = Date.now,
  ) {
    this.ring = new Array<ChangeEntry | undefined>(capacity);
  }

  record(source: string, op: 'reset' | 'apply', upserts: readonly ClusterObject[], deletes: readonly string[]): void {
    const objects: ChangeEntry['objects'][number][] = [];
    for (const o of upserts) {
      if (objects.length >= NAMED_PER_BATCH) break;
      objects.push({ key: objectKey(o), op: 'upsert', ...(o.origin ? { origin: o.origin } : {}) });
    }
    for (const key of deletes) {
      if (objects.length >= NAMED_PER_BATCH) break;
      objects.push({ key, op: 'delete' });
    }
    this.ring[this.next] = { at: this.now(), source, op, upserts: upserts.length, deletes: deletes.length, objects };
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }

  /** The recorded batches, newest first. */
  recent(): ChangeEntry[] {
    const out: ChangeEntry[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (e) out.push(e);
    }
    return out;
  }
}
