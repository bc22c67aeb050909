/**
 * Exponential backoff with jitter, for sources that retry: each failure doubles the wait up to a
 * cap, and the wait actually used is drawn from its upper half, so many clients that lost the
 * same server at the same moment do not come back in step.
 */
export interface BackoffOptions {
  /** First wait after a failure, ms. */
  readonly initialMs: number;
  /** Longest wait, ms. */
  readonly maxMs: number;
  /** Injected for tests; Math.random by default. */
  readonly random?: () => number;
}

export class Backoff {
  #attempt = 0;
  readonly #initial: number;
  readonly #max: number;
  readonly #random: () => number;

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got ${options.initialMs} and ${options.maxMs}`);
    }
    this.#initial = options.initialMs;
    this.#max = options.maxMs;
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The wait before the next try, ms: in [cap/2, cap] where cap = min(max, initial * 2^attempts). */
  next(): number {
    const cap = Math.min(this.#max, this.#initial * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(cap / 2 + (cap / 2) * this.#random());
  }

  reset(): void {
    this.#attempt = 0;
  }
}
