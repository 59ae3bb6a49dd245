import { z } from 'zod';
import {
  type Condition,
  compileCondition,
  conditionSchema,
  type Fields,
  type Predicate,
  parseRules,
  RuleError,
} from './conditions.js';

/**
 * Channel rules as data: an ordered list, the first match wins.
 *
 * A rule with `scope: 'arrival'` (the default) classifies how a visit arrived (a session's
 * landing, or a new campaign in the middle of one). A rule with `scope: 'event'` makes any event
 * it matches a touchpoint by itself: a sales call from the CRM, a webinar attended, a support
 * ticket, "heard about you on a podcast" on a sign-up form. Event rules are also tried on
 * arrivals, in their place in the list.
 */

export const channelRuleSchema = z
  .object({
    channel: z.string().min(1, 'a channel name').max(100),
    when: conditionSchema,
    scope: z.enum(['arrival', 'event']).default('arrival'),
    /** Why the rule exists; shown in explanations. */
    note: z.string().max(500).optional(),
  })
  .strict();
export type ChannelRule = z.input<typeof channelRuleSchema>;

export const RULESETS = ['journey', 'ga4', 'posthog'] as const;
export type RulesetName = (typeof RULESETS)[number];

/** A workspace's channel settings: a base rule set plus its own rules, tried first. */
export const channelSettingsSchema = z
  .object({
    ruleset: z.enum(RULESETS).default('journey'),
    rules: z.array(channelRuleSchema).max(500).default([]),
  })
  .strict();
export type ChannelSettings = z.input<typeof channelSettingsSchema>;

export interface CompiledRule {
  index: number;
  channel: string;
  scope: 'arrival' | 'event';
  test: Predicate;
}

export interface ChannelMatch {
  channel: string;
  /** Position of the rule in the effective list (workspace rules first). */
  rule: number;
  scope: 'arrival' | 'event';
}

export class ChannelRules {
  private constructor(readonly rules: readonly CompiledRule[]) {}

  /** Compiles rules; a bad rule throws RuleError naming `rules[i]`. */
  static compile(rules: readonly ChannelRule[]): ChannelRules {
    return new ChannelRules(
      rules.map((r, index) => {
        const parsed = parseRules(channelRuleSchema, r, `rules[${index}]`);
        return {
          index,
          channel: parsed.channel,
          scope: parsed.scope,
          test: compileCondition(parsed.when as Condition, `rules[${index}].when`),
        };
      }),
    );
  }

  /**
   * The channel of an arrival (every rule applies; falls back to `fallback` when none matches)
   * or of any other event (event rules only; null when none matches: not a touchpoint).
   */
  classify(fields: Fields, isArrival: boolean, fallback = 'Unassigned'): ChannelMatch | null {
    for (const r of this.rules) {
      if (!isArrival && r.scope !== 'event') continue;
      if (r.test(fields)) return { channel: r.channel, rule: r.index, scope: r.scope };
    }
    return isArrival ? { channel: fallback, rule: -1, scope: 'arrival' } : null;
  }
}

export { RuleError };
