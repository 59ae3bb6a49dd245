import { describe, expect, it } from 'vitest';
import { KPI_METRICS, parseKpiQuery } from './kpi-query.js';
import { type KpiInputs, kpiValue } from './kpis.js';

const q = (() => {
  const r = parseKpiQuery({ from: '2026-01-01T00:00:00Z', to: '2026-01-31T00:00:00Z' }, 0);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
})();

const EMPTY: Required<KpiInputs> = {
  activity: { activePrevious: 0, active: 0, retained: 0, converting: 0 },
  trend: [],
  stages: {
    converted: 0,
    medianDays: null,
    meanDays: null,
    firstStage: 'awareness',
    enteredFirst: 0,
    reachedConversion: 0,
    perStage: [],
    newCustomers: 0,
  },
  churn: { customersAtStart: 0, churnedFromStart: 0, churned: 0 },
  deals: { deals: 0, touches: 0, medianTouches: null },
  assists: { conversions: 0, withTouch: 0, assisted: 0, channels: [] },
  activation: { signups: 0, activated: 0 },
  billing: {
    cohort: 0,
    startMrr: 0,
    endMrr: 0,
    expansion: 0,
    contraction: 0,
    churnedMrr: 0,
    payingAtEnd: 0,
    mrrAtEnd: 0,
    newWithMrr: 0,
    newMrr: 0,
  },
  surveys: {
    npsResponses: 0,
    promoters: 0,
    passives: 0,
    detractors: 0,
    csatResponses: 0,
    satisfied: 0,
    csatSum: 0,
  },
  spend: { spend: 0, rows: 0, channels: [] },
  revenue: { customers: 0, revenue: 0 },
};

describe('kpiValue', () => {
  it('never answers 0 for a missing input: null with the reason', () => {
    for (const m of KPI_METRICS) {
      const k = kpiValue(m, EMPTY, q);
      expect(k.value, m).toBeNull();
      expect(k.missing, m).toMatch(/\w/);
    }
  });

  it('zero spend that was reported is a CAC of 0, not a missing one', () => {
    const k = kpiValue(
      'cac',
      { ...EMPTY, spend: { spend: 0, rows: 2, channels: [] }, stages: { ...EMPTY.stages, newCustomers: 4 } },
      q,
    );
    expect(k.value).toBe(0);
    expect(k.missing).toBeUndefined();
  });

  it('LTV falls back to revenue per customer without MRR, and says why', () => {
    const k = kpiValue('ltv', { ...EMPTY, revenue: { customers: 4, revenue: 1000 } }, q);
    expect(k).toMatchObject({
      value: 250,
      inputs: { method: 'revenue_per_customer', why: 'no MRR at the end of the range' },
    });
    const noChurn = kpiValue(
      'ltv',
      {
        ...EMPTY,
        billing: { ...EMPTY.billing, payingAtEnd: 2, mrrAtEnd: 100 },
        churn: { customersAtStart: 5, churnedFromStart: 0, churned: 0 },
        revenue: { customers: 4, revenue: 1000 },
      },
      q,
    );
    expect(noChurn.inputs).toMatchObject({ method: 'revenue_per_customer', why: 'no churn in the range' });
  });

  it('LTV is ARPA over the monthly churn rate when both are known', () => {
    // 30-day range: 1 of 4 churned = 25 % a month; ARPA 150 / 0.25 = 600.
    const k = kpiValue(
      'ltv',
      {
        ...EMPTY,
        billing: { ...EMPTY.billing, payingAtEnd: 2, mrrAtEnd: 300 },
        churn: { customersAtStart: 4, churnedFromStart: 1, churned: 1 },
      },
      q,
    );
    expect(k.value).toBeCloseTo(600, 10);
    expect(k.inputs.method).toBe('arpa_over_churn');
  });
});

describe('parseKpiQuery', () => {
  it('splits lists, applies defaults, picks a bucket for the range', () => {
    const r = parseKpiQuery({ from: '2026-01-01', to: '2026-06-30', activationEvents: 'A, B ,' }, 0);
    expect(r.ok && r.value).toMatchObject({
      activationEvents: ['A', 'B'],
      activationDays: 7,
      grossMargin: 1,
      stage: 'customer',
      bucket: 'week',
    });
  });

  it('names the parameter at fault', () => {
    const bad = (raw: Record<string, string>) => {
      const r = parseKpiQuery(raw, 0);
      return r.ok ? null : r.error.field;
    };
    expect(bad({ activationDays: '2.5' })).toBe('activationDays');
    expect(bad({ grossMargin: 'x' })).toBe('grossMargin');
    expect(bad({ from: '2026-02-01', to: '2026-01-01' })).toBe('from');
    expect(bad({ from: '2000-01-01', to: '2026-01-01' })).toBe('from');
  });
});
