import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** Mixes non-negative integers (up to 2^53) into one 32-bit seed, murmur3-style. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    for (const word of [part % 0x1_0000_0000, Math.floor(part / 0x1_0000_0000)]) {
      let k = Math.imul(word | 0, 0xcc9e2d51);
      k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
      h ^= k;
      h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * A seeded stream of random draws. Each simulated unit gets its own streams, derived from the
 * run's seed, the unit's index and the stream's purpose, so units are independent of one
 * another and of the order they are generated in, and a counterfactual run can reuse exactly
 * the draws of the factual one.
 */
export class Random {
  private readonly rng: RandomGenerator;

  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed);
  }

  static for(seed: number, unit: number, stream: number): Random {
    return new Random(mixSeed(seed, unit, stream));
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.rng);
  }

  between(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Picks by weight; weights need not sum to 1. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.float() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    const last = items[items.length - 1];
    if (last === undefined) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  normal(mean = 0, sd = 1): number {
    const u = 1 - this.float();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  /** Knuth's method for small means, a rounded normal for large ones. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(this.normal(mean, Math.sqrt(mean))));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  /** A v4-shaped UUID made from this stream, so ids are reproducible. */
  uuid(): string {
    const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);
    const a = this.rng.next();
    const b = this.rng.next();
    const c = this.rng.next();
    const d = this.rng.next();
    return (
      `${hex(a, 8)}-${hex(b >>> 16, 4)}-4${hex(b, 3)}-${hex(((c >>> 28) & 0x3) | 0x8, 1)}${hex(c, 3)}-` +
      `${hex(c >>> 12, 4)}${hex(d, 8)}`
    );
  }

  /** A short base-36 token (click ids, promo codes, ticket numbers). */
  token(length: number): string {
    let s = '';
    while (s.length < length) s += (this.rng.next() >>> 0).toString(36);
    return s.slice(0, length);
  }
}
