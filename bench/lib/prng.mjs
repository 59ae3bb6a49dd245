// A tiny seeded PRNG (xorshift32): the probe's inputs are a function of the seed alone, so a
// failure found once can be replayed with the same seed.

export function xorshift(seed) {
  let s = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    next,
    int,
    /** An integer in [lo, hi]. */
    between: (lo, hi) => lo + int(hi - lo + 1),
    pick: (xs) => xs[int(xs.length)],
    chance: (p) => next() < p,
    /** Picks a key of `weights` ({ name: weight }) in proportion to its weight. */
    weighted: (weights) => {
      const entries = Object.entries(weights);
      let x = next() * entries.reduce((a, [, w]) => a + w, 0);
      for (const [k, w] of entries) {
        x -= w;
        if (x < 0) return k;
      }
      return entries[entries.length - 1][0];
    },
  };
}
