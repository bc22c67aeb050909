/**
 * What the Kubernetes source counts, read by /metrics at scrape time. Plain maps keyed by
 * label values: the source adds to them on events that are rare next to queries (a relist,
 * a watch restart, an error), and the metrics registry turns them into samples.
 */

/** Upper bounds (s) of coredns_kubernetes_dns_programming_duration_seconds: CoreDNS's 1 ms x2 .. 524 s. */
export const PROGRAMMING_BUCKETS: readonly number[] = Array.from({ length: 20 }, (_, i) => 0.001 * 2 ** i);

/** service_kind label values of the programming-duration histogram, as CoreDNS names them. */
export const SERVICE_KINDS = ['cluster_ip', 'headless_with_selector', 'headless_without_selector'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

export class LabeledCounter {
  readonly #values = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(readonly labelNames: readonly string[]) {}

  inc(...values: string[]): void {
    const key = values.join('\0');
    const v = this.#values.get(key);
    if (v) v.value++;
    else this.#values.set(key, { labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] ?? ''])), value: 1 });
  }

  get(...values: string[]): number {
    return this.#values.get(values.join('\0'))?.value ?? 0;
  }

  samples(): { labels: Record<string, string>; value: number }[] {
    return [...this.#values.values()].map((v) => ({ labels: v.labels, value: v.value }));
  }
}

export class KubernetesCounters {
  /** Watches started again, by resource and why the last one ended (closed, expired, error, resync). */
  readonly watchRestarts = new LabeledCounter(['resource', 'reason']);
  /** Full lists, by resource and why (initial, expired, resync, error). */
  readonly relists = new LabeledCounter(['resource', 'reason']);
  /** Failed requests and refused objects, by resource and reason (unreachable, unauthorized, ...). */
  readonly errors = new LabeledCounter(['resource', 'reason']);
  /** Watch events received, by resource and type. */
  readonly events = new LabeledCounter(['resource', 'type']);
  /** Histogram counts per service kind: PROGRAMMING_BUCKETS.length + 1 slots each (the last is +Inf). */
  readonly programming = new Float64Array(SERVICE_KINDS.length * (PROGRAMMING_BUCKETS.length + 1));
  readonly programmingSum = new Float64Array(SERVICE_KINDS.length);

  /** Time from an endpoint change in the cluster to its records being served, in seconds. */
  observeProgramming(kind: ServiceKind, seconds: number): void {
    const k = SERVICE_KINDS.indexOf(kind);
    let b = PROGRAMMING_BUCKETS.findIndex((bound) => seconds <= bound);
    if (b < 0) b = PROGRAMMING_BUCKETS.length;
    this.programming[k * (PROGRAMMING_BUCKETS.length + 1) + b]++;
    this.programmingSum[k] += seconds;
  }
}
