/**
 * The KPI names and the shape of one KPI: shared by the API, the CLI and the dashboard (which
 * imports these types only). No imports, so the dashboard's type check stays within this file.
 */

export const KPI_METRICS = [
  'conversion-rate',
  'time-to-conversion',
  'touchpoints-per-deal',
  'assisted-conversions',
  'stage-drop-off',
  'activation-rate',
  'retention',
  'churn-rate',
  'nrr',
  'cac',
  'cac-payback',
  'nps',
  'csat',
  'ltv',
] as const;
export type KpiMetric = (typeof KPI_METRICS)[number];

export type KpiUnit = 'percent' | 'days' | 'touchpoints' | 'conversions' | 'currency' | 'months' | 'score';

export interface KpiValue {
  metric: KpiMetric;
  label: string;
  value: number | null;
  unit: KpiUnit;
  formula: string;
  inputs: Record<string, unknown>;
  /** Why `value` is null. */
  missing?: string;
  trend?: { at: string; value: number | null; [input: string]: unknown }[];
  breakdown?: Record<string, unknown>[];
}
