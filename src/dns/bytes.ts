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
