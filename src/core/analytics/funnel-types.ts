/** A funnel's answer as the API gives it (types only: the dashboard reads them too). */

export interface FunnelStepResult {
  index: number;
  name: string;
  count: number;
  /** Of those who did step 0. */
  conversionRate: number;
  /** Of those who did the step before. */
  stepConversionRate: number;
  /** Who did the step before but not this one (0 at step 0), … */
  dropOff: number;
  /** … of whom this many are still within the conversion window (they may yet do it). */
  stillInWindow: number;
  averageTimeToConvertS: number | null;
  medianTimeToConvertS: number | null;
  p75TimeToConvertS: number | null;
}

export interface FunnelResult {
  steps: FunnelStepResult[];
  /** Time from step 0 to the last step, of the actors who completed the funnel. */
  timeToConvert: { bins: [number, number][]; averageS: number | null; medianS: number | null };
  breakdown?: { value: string; steps: FunnelStepResult[] }[];
}
