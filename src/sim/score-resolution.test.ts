import { describe, expect, it } from 'vitest';
import { scoreIdentity } from './identity-score.js';
import { scoreResolution } from './score-resolution.js';
import { resolveSimConfig } from './sim-config.js';
import { Simulation } from './simulate.js';

const NOW = Date.UTC(2026, 10, 22);

describe('identity quality against the simulator truth (shared devices on)', () => {
  it.each([
    ['b2b-saas', 1500],
    ['ecommerce', 3000],
  ])('%s: pairwise precision ≥ 0.999 and recall ≥ 0.98', (scenario, people) => {
    const config = resolveSimConfig(scenario, { people, seed: 4 });
    if (!config.ok) throw new Error(config.error);
    expect(config.value.realism.sharedDeviceRate).toBeGreaterThan(0);
    const score = scoreResolution(new Simulation(config.value).units(), NOW);
    expect(score.knowablePairs).toBeGreaterThan(people / 2);
    expect(score.precision).toBeGreaterThanOrEqual(0.999);
    expect(score.recall).toBeGreaterThanOrEqual(0.98);
  });
});

describe('the score itself', () => {
  const truth = new Map([
    ['user_id:u1', ['p1']],
    ['anonymous_id:a1', ['p1']],
    ['user_id:u2', ['p2']],
    ['anonymous_id:shared', ['p1', 'p2']],
  ]);
  const messages = [
    { truePerson: 'p1', identifiers: ['user_id:u1', 'anonymous_id:a1'] },
    { truePerson: 'p1', identifiers: ['user_id:u1', 'anonymous_id:shared'] },
    { truePerson: 'p2', identifiers: ['user_id:u2', 'anonymous_id:shared'] },
  ];

  it('is perfect for the truth itself, shared device aside', () => {
    const cluster: Record<string, string> = {
      'user_id:u1': 'A',
      'anonymous_id:a1': 'A',
      'anonymous_id:shared': 'A',
      'user_id:u2': 'B',
    };
    const s = scoreIdentity(messages, truth, (k) => cluster[k]);
    expect(s.precision).toBe(1);
    // p1 has 3 knowable pairs, p2 has 1 (u2–shared) that no single person can hold.
    expect(s.knowablePairs).toBe(4);
    expect(s.recalledPairs).toBe(3);
  });

  it('punishes over-merging in precision and under-merging in recall', () => {
    const all = scoreIdentity(messages, truth, () => 'X');
    expect(all.precision).toBeCloseTo(3 / 6);
    expect(all.recall).toBe(1);
    const none = scoreIdentity(messages, truth, (k) => k);
    expect(none.precision).toBe(1);
    expect(none.recall).toBe(0);
  });
});
