import { describe, expect, it } from 'vitest';
import { mixSeed, Random } from './random.js';

describe('Random', () => {
  it('repeats exactly for the same seed and differs for another', () => {
    const draw = (seed: number) => {
      const r = Random.for(seed, 7, 2);
      return [r.float(), r.int(1, 6), r.normal(), r.uuid(), r.token(8)];
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('mixes seeds above 2^32 and unit/stream numbers into distinct seeds', () => {
    expect(mixSeed(2 ** 40, 0, 1)).not.toBe(mixSeed(0, 0, 1));
    expect(mixSeed(1, 0, 1)).not.toBe(mixSeed(1, 1, 0));
  });

  it('draws with the stated distributions (loose bounds over 200k draws)', () => {
    const r = new Random(42);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let hits = 0;
    let poisson = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      sum += x;
      sq += x * x;
      if (r.chance(0.3)) hits++;
      poisson += r.poisson(2.5);
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.02);
    expect(Math.abs(hits / n - 0.3)).toBeLessThan(0.005);
    expect(Math.abs(poisson / n - 2.5)).toBeLessThan(0.02);
  });

  it('makes v4-shaped UUIDs', () => {
    const r = new Random(3);
    for (let i = 0; i < 100; i++)
      expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
