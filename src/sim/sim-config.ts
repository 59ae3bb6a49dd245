import { z } from 'zod';

/**
 * What a simulation run is made of. Every number here is a knob: defaults per scenario below,
 * overridable with `--config file.json` (deep-merged) and the `--people/--days/--seed` flags.
 */

const rate = z.number().min(0).max(1);

const realism = z.object({
  /** Mean number of devices per person (1 = everyone on one browser). */
  devicesPerPerson: z.number().min(1).max(6),
  /** Share of persons who also use a device of another person in their unit (office PC, family tablet). */
  sharedDeviceRate: rate,
  /** Share of persons who never convert who also never identify. */
  neverIdentifyRate: rate,
  /** Share of identify calls that send the email in a different letter case. */
  emailCaseVariantRate: rate,
  /** Bot visitors per 100 human persons. */
  botsPer100: z.number().min(0).max(100),
  /** Share of messages delivered twice (same messageId). */
  duplicateRate: rate,
  /** Share of client messages flushed 1–12 hours late (offline devices). */
  lateRate: rate,
  /** Share of devices whose clock is off by minutes to days. */
  clockSkewRate: rate,
});

const channel = z.object({
  /** Expected touches per unit over its journey, at average intent. */
  reach: z.number().min(0).max(50),
  /** How strongly intent drives exposure (confounding): touches scale with exp(confounding × intent). */
  confounding: z.number().min(-2).max(2),
  /** True incremental effect on the conversion's log-odds when the unit was exposed (0 = none). */
  effect: z.number().min(-3).max(5),
});

const conversion = z.object({
  /** Log-odds of converting with no channel exposure at average intent. */
  baseline: z.number().min(-12).max(6),
  /** How much intent (a standard normal per unit) raises the log-odds. */
  intentWeight: z.number().min(0).max(5),
});

const patterns = z.object({
  /** b2b-saas: multiplier on the close-won rate of deals with a podcast touch 28–42 days before the first demo request. */
  podcastWindowWinLift: z.number().min(0).max(5),
  /** b2b-saas: multiplier on the renewal rate of accounts whose kickoff questionnaire was done within 5 days of signing. */
  kickoffRenewalMultiple: z.number().min(0).max(5),
  /** b2b-saas: multiplier on expansion for customers who contacted support in their first 14 days (raises lifetime value). */
  earlySupportLtvMultiple: z.number().min(0).max(10),
});

/** Hazard ratios of behaviours on the monthly churn hazard (subscription scenarios). */
const churn = z.object({
  baseMonthlyHazard: rate,
  notActivated: z.number().min(0).max(10),
  pushDisabled: z.number().min(0).max(10),
  supportTicketUnresolved: z.number().min(0).max(10),
  weeklyActive: z.number().min(0).max(10),
});

export const simConfigSchema = z.object({
  scenario: z.enum(['b2b-saas', 'ecommerce', 'subscription-app']),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Human persons to simulate (bots come on top). */
  people: z.number().int().min(1).max(50_000_000),
  /** Length of the simulated period; journeys start anywhere in it. */
  days: z.number().int().min(7).max(3650),
  /** First day of the period, ISO date. */
  start: z.iso.date(),
  /** Removes every planted effect (patterns and churn drivers): for false-discovery checks. */
  null: z.boolean(),
  realism,
  channels: z.record(z.string(), channel),
  conversion,
  patterns,
  churn,
  /** Contract term for subscriptions, days (renewals happen at each term's end). */
  termDays: z.number().int().min(7).max(730),
});

export type SimConfig = z.infer<typeof simConfigSchema>;
export type Realism = SimConfig['realism'];
export type ChannelSpec = z.infer<typeof channel>;
export type ScenarioName = SimConfig['scenario'];
export const SCENARIOS: readonly ScenarioName[] = simConfigSchema.shape.scenario.options;

const REALISM: Realism = {
  devicesPerPerson: 1.8,
  sharedDeviceRate: 0.03,
  neverIdentifyRate: 0.6,
  emailCaseVariantRate: 0.05,
  botsPer100: 3,
  duplicateRate: 0.01,
  lateRate: 0.02,
  clockSkewRate: 0.03,
};

const NO_PATTERNS = { podcastWindowWinLift: 1, kickoffRenewalMultiple: 1, earlySupportLtvMultiple: 1 };
const CHURN = {
  baseMonthlyHazard: 0.04,
  notActivated: 2.5,
  pushDisabled: 1.4,
  supportTicketUnresolved: 1.8,
  weeklyActive: 0.5,
};

type Defaults = Omit<SimConfig, 'seed' | 'start' | 'null'>;

export const SCENARIO_DEFAULTS: Record<ScenarioName, Defaults> = {
  'b2b-saas': {
    scenario: 'b2b-saas',
    people: 3000,
    days: 365,
    termDays: 90,
    realism: REALISM,
    // Direct has no effect but rides on intent: the textbook confounder.
    channels: {
      'Paid Search': { reach: 1.2, confounding: 0.8, effect: 0.5 },
      'Organic Search': { reach: 1.5, confounding: 0.6, effect: 0.3 },
      'Paid Social': { reach: 1.0, confounding: 0.1, effect: 0.35 },
      'Organic Social': { reach: 0.8, confounding: 0.2, effect: 0.1 },
      Podcast: { reach: 0.5, confounding: 0, effect: 0.8 },
      Webinar: { reach: 0.4, confounding: 0.3, effect: 0.6 },
      Events: { reach: 0.25, confounding: 0.2, effect: 0.5 },
      // Outbound calls and sequence emails from the CRM: the product's Sales channel.
      Sales: { reach: 0.8, confounding: -0.2, effect: 0.4 },
      Email: { reach: 1.0, confounding: 0.3, effect: 0.15 },
      Direct: { reach: 1.5, confounding: 1.0, effect: 0 },
    },
    conversion: { baseline: -2.0, intentWeight: 1.0 },
    patterns: { podcastWindowWinLift: 1.6, kickoffRenewalMultiple: 1.25, earlySupportLtvMultiple: 2.5 },
    churn: CHURN,
  },
  ecommerce: {
    scenario: 'ecommerce',
    people: 20_000,
    days: 90,
    termDays: 30,
    realism: { ...REALISM, devicesPerPerson: 2.0, neverIdentifyRate: 0.8, sharedDeviceRate: 0.05 },
    channels: {
      'Paid Search': { reach: 0.8, confounding: 0.8, effect: 0.5 },
      'Organic Search': { reach: 1.0, confounding: 0.5, effect: 0.2 },
      'Paid Social': { reach: 1.2, confounding: 0, effect: 0.4 },
      'Paid Shopping': { reach: 0.6, confounding: 0.6, effect: 0.45 },
      Email: { reach: 1.0, confounding: 0.4, effect: 0.3 },
      Retargeting: { reach: 0.9, confounding: 0.9, effect: 0.1 },
      Affiliates: { reach: 0.3, confounding: 0.2, effect: 0.3 },
      Direct: { reach: 1.2, confounding: 1.0, effect: 0 },
    },
    conversion: { baseline: -3.0, intentWeight: 1.2 },
    patterns: NO_PATTERNS,
    churn: CHURN,
  },
  'subscription-app': {
    scenario: 'subscription-app',
    people: 10_000,
    days: 180,
    termDays: 30,
    realism: { ...REALISM, devicesPerPerson: 1.6, neverIdentifyRate: 0.5 },
    channels: {
      'App Store Search': { reach: 0.8, confounding: 0.7, effect: 0.3 },
      'Paid Social': { reach: 1.2, confounding: 0.1, effect: 0.45 },
      Influencer: { reach: 0.4, confounding: 0, effect: 0.7 },
      'Organic Social': { reach: 0.7, confounding: 0.2, effect: 0.15 },
      Referral: { reach: 0.3, confounding: 0.3, effect: 0.6 },
      // Push notifications opened, under GA4's name for the channel.
      'Mobile Push Notifications': { reach: 2.0, confounding: 0.5, effect: 0.25 },
      Email: { reach: 1.5, confounding: 0.3, effect: 0.2 },
      Direct: { reach: 1.0, confounding: 1.0, effect: 0 },
    },
    conversion: { baseline: -2.2, intentWeight: 1.0 },
    patterns: NO_PATTERNS,
    churn: CHURN,
  },
};

export const DEFAULT_START = '2026-01-01';

/** Merges overrides into a scenario's defaults and checks the result; errors name the field at fault. */
export function resolveSimConfig(
  scenario: string,
  overrides: Record<string, unknown>,
): { ok: true; value: SimConfig } | { ok: false; error: string } {
  if (!SCENARIOS.includes(scenario as ScenarioName)) {
    return { ok: false, error: `unknown scenario "${scenario}"; choose one of ${SCENARIOS.join(', ')}` };
  }
  const base = { ...SCENARIO_DEFAULTS[scenario as ScenarioName], seed: 1, start: DEFAULT_START, null: false };
  const merged = deepMerge(base, overrides);
  const parsed = simConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}` };
  }
  const config = parsed.data;
  if (config.null) {
    config.patterns = { ...NO_PATTERNS };
    config.churn = {
      ...config.churn,
      notActivated: 1,
      pushDisabled: 1,
      supportTicketUnresolved: 1,
      weeklyActive: 1,
    };
  }
  return { ok: true, value: config };
}

function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = deepMerge(base[k], v);
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
