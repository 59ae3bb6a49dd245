import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CausalLedger, type OutcomeFn } from './causal.js';

describe('CausalLedger', () => {
  it('gives an additive channel its own effect, and a channel with none nothing', () => {
    // Converts only when channel 0 is on; channel 1 (exposed too) changes nothing.
    const ledger = new CausalLedger(['Podcast', 'Direct']);
    ledger.add(0b11, (on) => ({ conversions: on & 1 ? 1 : 0, value: on & 1 ? 100 : 0 }));
    const t = ledger.totals();
    expect(t.conversions).toBe(1);
    expect(t.baselineConversions).toBe(0);
    expect(t.channels[0]).toMatchObject({
      incrementalConversions: 1,
      shapleyConversions: 1,
      shapleyValue: 100,
    });
    expect(t.channels[1]).toMatchObject({ incrementalConversions: 0, shapleyConversions: 0 });
  });

  it('splits a conversion that needs both channels evenly; one-at-a-time credits each fully', () => {
    const ledger = new CausalLedger(['A', 'B']);
    ledger.add(0b11, (on) => ({ conversions: on === 0b11 ? 1 : 0, value: 0 }));
    const [a, b] = ledger.totals().channels;
    expect(a?.shapleyConversions).toBeCloseTo(0.5);
    expect(b?.shapleyConversions).toBeCloseTo(0.5);
    expect(a?.incrementalConversions).toBe(1);
    expect(b?.incrementalConversions).toBe(1);
  });

  it('ignores channels a unit was not exposed to, and baseline conversions go to no channel', () => {
    const ledger = new CausalLedger(['A', 'B']);
    ledger.add(0b01, () => ({ conversions: 1, value: 5 }));
    const t = ledger.totals();
    expect(t.baselineConversions).toBe(1);
    expect(t.channels.map((c) => c.shapleyConversions)).toEqual([0, 0]);
    expect(t.channels.map((c) => c.exposedUnits)).toEqual([1, 0]);
  });

  it('Shapley credits always sum to conv(all on) − conv(all off) (efficiency)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 31 }), fc.array(fc.nat(3), { minLength: 32, maxLength: 32 })),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        (units) => {
          const ledger = new CausalLedger(['a', 'b', 'c', 'd', 'e']);
          for (const [exposed, table] of units) {
            // Outcomes may depend only on exposed channels that are on.
            const outcome: OutcomeFn = (on) => ({ conversions: table[on & exposed] ?? 0, value: 0 });
            ledger.add(exposed, outcome);
          }
          const t = ledger.totals();
          const credited = t.channels.reduce((s, c) => s + c.shapleyConversions, 0);
          expect(credited).toBeCloseTo(t.conversions - t.baselineConversions, 4);
        },
      ),
    );
  });
});
