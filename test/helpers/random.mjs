// A small seeded PRNG (mulberry32): the same numbers on every run, for generated test cases and
// the benchmark's synthetic cluster. Plain JavaScript so that bench/*.mjs can import it too.

/** @param {number} seed @returns {() => number} numbers in [0, 1) */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
