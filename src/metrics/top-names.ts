/**
 * The most frequent names among those offered, in a bounded map: when it is full, the less
 * frequent half is dropped, so memory stays at `capacity` names whatever the traffic. Counts are
 * of what was offered (the caller samples), not of every query.
 */
export class TopNames {
  private counts = new Map<string, number>();

  constructor(readonly capacity = 1000) {}

  add(name: string): void {
    const c = this.counts.get(name);
    if (c !== undefined) {
      this.counts.set(name, c + 1);
      return;
    }
    if (this.counts.size >= this.capacity) this.prune();
    this.counts.set(name, 1);
  }

  /** The n most frequent names, most frequent first (ties by name). */
  top(n: number): { name: string; count: number }[] {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([name, count]) => ({ name, count }));
  }

  get size(): number {
    return this.counts.size;
  }

  /** Keeps the more frequent half. */
  private prune(): void {
    const keep = [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, Math.floor(this.capacity / 2));
    this.counts = new Map(keep);
  }
}
