import { describe, expect, it } from 'vitest';
import { ChannelRules } from '../core/journey/channel-rules.js';
import { BASE_RULES } from '../core/journey/rulesets.js';
import { scoreJourneys } from './score-journeys.js';
import { resolveSimConfig, SCENARIOS } from './sim-config.js';
import { Simulation } from './simulate.js';

const NOW = Date.UTC(2026, 10, 22);

describe('touchpoints against the simulator truth (issue 13)', () => {
  it.each([
    ['b2b-saas', 600],
    ['ecommerce', 1200],
    ['subscription-app', 1000],
  ])('%s: touchpoint precision and recall ≥ 0.95, every channel found', (scenario, people) => {
    const config = resolveSimConfig(scenario, { people, seed: 3 });
    if (!config.ok) throw new Error(config.error);
    const score = scoreJourneys(new Simulation(config.value).units(), NOW);
    expect(score.truth).toBeGreaterThan(people / 2);
    expect(score.precision).toBeGreaterThanOrEqual(0.95);
    expect(score.recall).toBeGreaterThanOrEqual(0.95);
    // No channel is a blind spot: each true channel is given, and mostly right.
    for (const c of score.channels) {
      expect(c.recall, c.channel).toBeGreaterThanOrEqual(0.9);
      expect(c.precision, c.channel).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('every true channel of every scenario is a name the default rule set can produce', () => {
    const producible = new Set(ChannelRules.compile(BASE_RULES.journey).rules.map((r) => r.channel));
    for (const scenario of SCENARIOS) {
      const config = resolveSimConfig(scenario, { people: 200, seed: 5 });
      if (!config.ok) throw new Error(config.error);
      const channels = new Set<string>(Object.keys(config.value.channels));
      for (const unit of new Simulation(config.value).units())
        for (const m of unit.messages) if (m.channel !== null) channels.add(m.channel);
      for (const c of channels) expect(producible.has(c), `${scenario}: ${c}`).toBe(true);
    }
  });
});
