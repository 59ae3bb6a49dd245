import type { KpiMetric, KpiUnit, KpiValue } from './kpi-metrics.js';
import type { KpiQuery } from './kpi-query.js';

export type { KpiUnit, KpiValue } from './kpi-metrics.js';

/**
 * The journey KPIs from the counts SQL gives (store: duckdb-kpi-store.ts): each metric's formula,
 * unit and inputs, and an explained `null` when an input it needs is absent (no spend imported, no
 * surveys answered) rather than a misleading 0. Formulas are documented in docs/metrics.md.
 */

/** What one SQL pass per table gives; a section is present when a requested metric needs it. */
export interface KpiInputs {
  activity?: { activePrevious: number; active: number; retained: number; converting: number };
  trend?: { at: number; active: number; converting: number }[];
  stages?: {
    converted: number;
    medianDays: number | null;
    meanDays: number | null;
    firstStage: string | null;
    enteredFirst: number;
    reachedConversion: number;
    perStage: { stage: string; entered: number; advanced: number }[];
    newCustomers: number;
  };
  churn?: { customersAtStart: number; churnedFromStart: number; churned: number };
  deals?: { deals: number; touches: number; medianTouches: number | null };
  assists?: {
    conversions: number;
    withTouch: number;
    assisted: number;
    channels: { channel: string; lastTouch: number; assisted: number }[];
  };
  activation?: { signups: number; activated: number };
  billing?: {
    cohort: number;
    startMrr: number;
    endMrr: number;
    expansion: number;
    contraction: number;
    churnedMrr: number;
    payingAtEnd: number;
    mrrAtEnd: number;
    newWithMrr: number;
    newMrr: number;
  };
  surveys?: {
    npsResponses: number;
    promoters: number;
    passives: number;
    detractors: number;
    csatResponses: number;
    satisfied: number;
    csatSum: number;
  };
  spend?: { spend: number; rows: number; channels: { channel: string; spend: number }[] };
  revenue?: { customers: number; revenue: number };
}
export type KpiSection = keyof KpiInputs;

export const SECTIONS_OF: Record<KpiMetric, KpiSection[]> = {
  'conversion-rate': ['activity', 'trend'],
  'time-to-conversion': ['stages'],
  'touchpoints-per-deal': ['deals'],
  'assisted-conversions': ['assists'],
  'stage-drop-off': ['stages'],
  'activation-rate': ['activation'],
  retention: ['activity'],
  'churn-rate': ['churn'],
  nrr: ['billing'],
  cac: ['spend', 'stages'],
  'cac-payback': ['spend', 'stages', 'billing'],
  nps: ['surveys'],
  csat: ['surveys'],
  ltv: ['billing', 'churn', 'revenue'],
};

const DAY = 86_400_000;
const pct = (n: number, d: number): number | null => (d > 0 ? (100 * n) / d : null);

/** One metric from the inputs. */
export function kpiValue(metric: KpiMetric, x: KpiInputs, q: KpiQuery): KpiValue {
  const v = (
    label: string,
    unit: KpiUnit,
    formula: string,
    value: number | null,
    inputs: Record<string, unknown>,
    missing: string,
    extra: Partial<KpiValue> = {},
  ): KpiValue => ({
    metric,
    label,
    value: value !== null && Number.isFinite(value) ? value : null,
    unit,
    formula,
    inputs,
    ...(value === null || !Number.isFinite(value) ? { missing } : {}),
    ...extra,
  });
  const need = <K extends KpiSection>(k: K): NonNullable<KpiInputs[K]> => {
    const s = x[k];
    if (!s) throw new Error(`kpi ${metric}: section ${k} was not computed`);
    return s as NonNullable<KpiInputs[K]>;
  };
  switch (metric) {
    case 'conversion-rate': {
      const a = need('activity');
      return v(
        'Conversion rate',
        'percent',
        '100 × persons with a conversion event in range / persons active in range',
        pct(a.converting, a.active),
        { converting: a.converting, active: a.active },
        'no person was active in the range',
        {
          trend: need('trend').map((t) => ({
            at: new Date(t.at).toISOString(),
            value: pct(t.converting, t.active),
            converting: t.converting,
            active: t.active,
          })),
        },
      );
    }
    case 'time-to-conversion': {
      const s = need('stages');
      return v(
        'Time to conversion',
        'days',
        `median days from a person's first stage entry to their first entry into "${q.stage}", over persons entering "${q.stage}" in range`,
        s.medianDays,
        { converted: s.converted, meanDays: s.meanDays, stage: q.stage },
        `no person entered the stage "${q.stage}" in the range`,
      );
    }
    case 'touchpoints-per-deal': {
      const d = need('deals');
      return v(
        'Touchpoints per closed deal',
        'touchpoints',
        `touchpoints on all contacts of an account up to its first entry into "${q.stage}" / accounts entering "${q.stage}" in range`,
        d.deals > 0 ? d.touches / d.deals : null,
        { deals: d.deals, touches: d.touches, medianTouches: d.medianTouches, stage: q.stage },
        `no account entered the stage "${q.stage}" in the range (accounts come from group calls)`,
      );
    }
    case 'assisted-conversions': {
      const a = need('assists');
      return v(
        'Channel-assisted conversions',
        'conversions',
        'conversion events in range whose touchpoint path (up to the conversion) holds a channel other than the last-touch channel',
        a.conversions > 0 ? a.assisted : null,
        { conversions: a.conversions, withTouch: a.withTouch, assisted: a.assisted },
        'no conversion event in the range',
        { breakdown: a.channels },
      );
    }
    case 'stage-drop-off': {
      const s = need('stages');
      return v(
        'Drop-off before conversion',
        'percent',
        `100 × (1 − persons entering the first stage in range who later reached "${q.stage}" / persons entering the first stage in range)`,
        s.enteredFirst > 0 ? 100 - (100 * s.reachedConversion) / s.enteredFirst : null,
        { firstStage: s.firstStage, enteredFirst: s.enteredFirst, reachedConversion: s.reachedConversion },
        'no person entered the first stage in the range',
        {
          breakdown: s.perStage.map((p) => ({
            ...p,
            dropOff: p.entered > 0 ? 100 - (100 * p.advanced) / p.entered : null,
          })),
        },
      );
    }
    case 'activation-rate': {
      const a = need('activation');
      return v(
        'Activation rate',
        'percent',
        `100 × persons who signed up in range (first ${q.signupEvents.join(' | ')}) and did ${q.activationEvents.join(' | ')} within ${q.activationDays} days / those who signed up`,
        pct(a.activated, a.signups),
        {
          signups: a.signups,
          activated: a.activated,
          signupEvents: q.signupEvents,
          activationEvents: q.activationEvents,
          activationDays: q.activationDays,
        },
        'no person signed up in the range',
      );
    }
    case 'retention': {
      const a = need('activity');
      return v(
        'Retention',
        'percent',
        '100 × persons active in the previous period of equal length who are active in range / persons active in the previous period',
        pct(a.retained, a.activePrevious),
        { activePrevious: a.activePrevious, retained: a.retained },
        'no person was active in the previous period',
      );
    }
    case 'churn-rate': {
      const c = need('churn');
      return v(
        'Churn rate',
        'percent',
        `100 × customers at the start of the range who churned in it (entered ${q.churnStages.join(' | ')} or sent ${q.churnEvents.join(' | ')}) / customers at the start`,
        pct(c.churnedFromStart, c.customersAtStart),
        {
          customersAtStart: c.customersAtStart,
          churnedFromStart: c.churnedFromStart,
          churnedInRange: c.churned,
        },
        `no customer (a person whose stage at the start was "${q.stage}" or later, not churned) at the start of the range`,
      );
    }
    case 'nrr': {
      const b = need('billing');
      return v(
        'Net revenue retention',
        'percent',
        '100 × MRR at the end of the range of the customers paying at its start / their MRR at the start',
        pct(b.endMrr, b.startMrr),
        {
          customers: b.cohort,
          startMrr: b.startMrr,
          endMrr: b.endMrr,
          expansion: b.expansion,
          contraction: b.contraction,
          churnedMrr: b.churnedMrr,
        },
        'no customer had MRR at the start of the range (MRR comes from billing events: Subscription Started, MRR Changed, Subscription Renewed, Subscription Cancelled)',
      );
    }
    case 'cac': {
      const sp = need('spend');
      const s = need('stages');
      return v(
        'Customer acquisition cost',
        'currency',
        `ad spend in range (Ad Spend Reported cost) / persons first entering "${q.stage}" in range`,
        sp.rows === 0 || s.newCustomers === 0 ? null : sp.spend / s.newCustomers,
        { spend: sp.spend, newCustomers: s.newCustomers },
        sp.rows === 0
          ? 'no ad spend in the range (import it with the ad-spend source: Ad Spend Reported)'
          : `no new customer (first entry into "${q.stage}") in the range`,
        { breakdown: sp.channels },
      );
    }
    case 'cac-payback': {
      const sp = need('spend');
      const s = need('stages');
      const b = need('billing');
      const cac = sp.rows === 0 || s.newCustomers === 0 ? null : sp.spend / s.newCustomers;
      const avgNewMrr = b.newWithMrr > 0 ? b.newMrr / b.newWithMrr : null;
      const value = cac !== null && avgNewMrr ? cac / (avgNewMrr * q.grossMargin) : null;
      return v(
        'CAC payback',
        'months',
        'CAC / (average first MRR of the new customers × gross margin)',
        value,
        { cac, averageNewMrr: avgNewMrr, newCustomersWithMrr: b.newWithMrr, grossMargin: q.grossMargin },
        cac === null
          ? sp.rows === 0
            ? 'no ad spend in the range (import it with the ad-spend source: Ad Spend Reported)'
            : `no new customer (first entry into "${q.stage}") in the range`
          : 'no new customer has MRR from billing events',
      );
    }
    case 'nps': {
      const s = need('surveys');
      return v(
        'Net Promoter Score',
        'score',
        '100 × (promoters (9–10) − detractors (0–6)) / NPS responses in range',
        s.npsResponses > 0 ? (100 * (s.promoters - s.detractors)) / s.npsResponses : null,
        { responses: s.npsResponses, promoters: s.promoters, passives: s.passives, detractors: s.detractors },
        'no NPS survey response in the range (Survey Responded with survey "NPS")',
      );
    }
    case 'csat': {
      const s = need('surveys');
      return v(
        'Customer satisfaction',
        'percent',
        '100 × CSAT responses scoring 4 or 5 / CSAT responses in range',
        pct(s.satisfied, s.csatResponses),
        {
          responses: s.csatResponses,
          satisfied: s.satisfied,
          averageScore: s.csatResponses > 0 ? s.csatSum / s.csatResponses : null,
        },
        'no CSAT survey response in the range (Survey Responded with survey "CSAT")',
      );
    }
    case 'ltv': {
      const b = need('billing');
      const c = need('churn');
      const r = need('revenue');
      const months = (q.toMs - q.fromMs) / (30 * DAY);
      const arpa = b.payingAtEnd > 0 ? b.mrrAtEnd / b.payingAtEnd : null;
      const monthlyChurn =
        c.customersAtStart > 0 && c.churnedFromStart > 0
          ? c.churnedFromStart / c.customersAtStart / months
          : null;
      if (arpa !== null && monthlyChurn !== null)
        return v(
          'Lifetime value',
          'currency',
          'ARPA (average MRR of paying customers at the end of the range) / monthly churn rate (churn rate of the range ÷ its length in 30-day months)',
          arpa / monthlyChurn,
          { method: 'arpa_over_churn', arpa, monthlyChurnRate: monthlyChurn, payingCustomers: b.payingAtEnd },
          '',
        );
      return v(
        'Lifetime value',
        'currency',
        `revenue to the end of the range of persons who reached "${q.stage}" / those persons (used when ARPA or churn is unknown)`,
        r.customers > 0 ? r.revenue / r.customers : null,
        {
          method: 'revenue_per_customer',
          revenue: r.revenue,
          customers: r.customers,
          why: arpa === null ? 'no MRR at the end of the range' : 'no churn in the range',
        },
        `no person reached "${q.stage}" by the end of the range`,
      );
    }
  }
}
