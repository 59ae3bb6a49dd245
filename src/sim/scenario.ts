import type { JsonObject } from '../core/spec/message.js';
import type { OutcomeFn } from './causal.js';
import type { Random } from './random.js';
import type { SimConfig } from './sim-config.js';
import type { Action, Person } from './world.js';

/** What the simulator knows about a person beyond the messages. */
export interface PersonRecord {
  person: Person;
  /** Whether the person ever identified (on a device or in a server-side tool). */
  identified: boolean;
  /** Every spelling of the email the data carries. */
  emails: Set<string>;
  stages: { stage: string; at: number }[];
  conversions: { event: string; at: number; value: number }[];
  facts?: JsonObject;
}

/** One independently simulated unit: an account (b2b) or a household. */
export interface UnitResult {
  actions: Action[];
  people: PersonRecord[];
  account: JsonObject | null;
  /** A bit per channel (in `Scenario.channels` order) the unit was touched by. */
  exposedMask: number;
  /** The unit's conversions for any set of switched-on channels, with all draws fixed. */
  outcome: OutcomeFn;
}

export interface UnitStreams {
  /** Who the unit is and what reaches it (people, devices, exposures, timing). */
  world: Random;
  /** The draws that decide outcomes: fixed up front so counterfactual runs reuse them. */
  outcome: Random;
  /** Details that never change outcomes (page paths, ids). */
  detail: Random;
}

export interface Scenario {
  readonly channels: readonly string[];
  /** The site the web touches land on. */
  readonly site: string;
  readonly sitePages: readonly string[];
  /** Human persons in unit `index`, decided before the unit is built (so `--people` is exact). */
  unitSize(index: number, world: Random): number;
  unit(index: number, size: number, streams: UnitStreams): UnitResult;
  /** Planted patterns and churn drivers: what was configured and what the data realised. */
  plantedTruth(): JsonObject;
}

export type ScenarioFactory = (config: SimConfig) => Scenario;

export const record = (person: Person): PersonRecord => ({
  person,
  identified: false,
  emails: new Set(),
  stages: [],
  conversions: [],
});

/** Adds a stage once, at its first time. */
export function enterStage(rec: PersonRecord, stage: string, at: number): void {
  if (!rec.stages.some((s) => s.stage === stage)) rec.stages.push({ stage, at });
}

/** Exposure draws: touches per channel, scaled by intent where the channel is confounded. */
export function drawTouches(
  config: SimConfig,
  channels: readonly string[],
  world: Random,
  intent: number,
): number[] {
  return channels.map((c) => {
    const spec = config.channels[c];
    if (!spec) return 0;
    // exp(k·z − k²/2) has mean 1 over z ~ N(0,1): `reach` stays the average.
    return world.poisson(
      spec.reach * Math.exp(spec.confounding * intent - (spec.confounding * spec.confounding) / 2),
    );
  });
}

/** Log-odds of the scenario's first conversion given switched-on channels the unit was exposed to. */
export function conversionLogit(
  config: SimConfig,
  channels: readonly string[],
  intent: number,
  exposedMask: number,
  onMask: number,
): number {
  let logit = config.conversion.baseline + config.conversion.intentWeight * intent;
  const active = exposedMask & onMask;
  for (let c = 0; c < channels.length; c++) {
    if (active & (1 << c)) logit += config.channels[channels[c] as string]?.effect ?? 0;
  }
  return logit;
}
