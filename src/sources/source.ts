import type { ClusterObject, FilteredObject } from '../records/objects.js';

/** What a source reports about itself: for /ready, logs, metrics and `explain`. */
export interface SourceStatus {
  readonly name: string;
  /** True once the first full list/load has been applied. */
  readonly synced: boolean;
  /** Epoch ms of the last change applied, 0 if none. */
  readonly lastChange: number;
  /** The last error, '' when the last attempt succeeded. */
  readonly lastError: string;
  /** Number of objects the source currently holds. */
  readonly objects: number;
}

/**
 * Where a source delivers Kubernetes objects. Each call is one atomic batch: the
 * receiver applies all of it before any query sees it.
 */
export interface ObjectSink {
  /** Replace everything this source delivered before with exactly these objects (first load, relist). */
  reset(objects: readonly ClusterObject[]): void;
  /** Upsert these objects and delete these keys (see objectKey) as one batch. */
  apply(upserts: readonly ClusterObject[], deletes: readonly string[]): void;
  /**
   * Replaces the objects the source saw but its own filters (namespaces, labels) left out, so
   * `explain` can name the filter when a name is missing. Optional: a source without filters never calls it.
   */
  reportFiltered?(objects: readonly FilteredObject[]): void;
}

export interface Source {
  /** Starts the source; resolves once the first full load has been delivered (or failed and will be retried). */
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): SourceStatus;
}
