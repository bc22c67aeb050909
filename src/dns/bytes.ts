/**
 * A copy of b in memory of its own, for bytes that are kept (cache entries).
 *
 * Small Buffers (Buffer.from, Buffer.allocUnsafe) are slices of shared 8 KiB slabs, and a
 * slice keeps its whole slab alive. A cache that keeps one 100-byte reply out of every few
 * dozen sent would pin a slab per entry: up to 80 MiB for 10,000 entries holding 1 MiB of
 * replies. Measured under the mutation fuzzer, the slabs pinned by the negative part of the
 * answer cache were most of the memory outside the V8 heap that grew.
 */
export function ownCopy(b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(b.length);
  out.set(b);
  return out;
}

const EMPTY = Buffer.alloc(0);

/**
 * Copies kept bytes into slabs of its own, for a cache whose entries go all at once (the
 * answer cache is dropped whole when the data moves). One Buffer of its own per reply costs an
 * ArrayBuffer, a backing store and a malloc'd block each, about 200 bytes beyond the reply: a
 * cache of 60,000 replies paid more for that than for the replies. A slab stays alive while any
 * reply in it does, so `reset` is called when the entries are dropped, and later copies start
 * a new slab.
 */
export class ByteArena {
  private slab: Buffer = EMPTY;
  private used = 0;

  constructor(private readonly slabSize = 64 * 1024) {}

  copy(b: Uint8Array): Buffer {
    // A large reply would waste the rest of a slab: it gets memory of its own.
    if (b.length > this.slabSize >> 3) return ownCopy(b);
    if (this.used + b.length > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(this.slabSize);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + b.length);
    out.set(b);
    this.used += (b.length + 7) & ~7;
    return out;
  }

  /** Later copies go to a new slab; the old ones are freed with the last reply that uses them. */
  reset(): void {
    this.slab = EMPTY;
    this.used = 0;
  }
}
