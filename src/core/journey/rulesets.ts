import { type ChannelRule, ChannelRules, type ChannelSettings, type RulesetName } from './channel-rules.js';
import { GA4_CHANNEL_RULES } from './ga4-channel-rules.js';
import { JOURNEY_CHANNEL_RULES } from './journey-channel-rules.js';
import { POSTHOG_CHANNEL_RULES } from './posthog-channel-rules.js';

/** The base rule sets a workspace can start from. */
export const BASE_RULES: Record<RulesetName, readonly ChannelRule[]> = {
  journey: JOURNEY_CHANNEL_RULES,
  ga4: GA4_CHANNEL_RULES,
  posthog: POSTHOG_CHANNEL_RULES,
};

/** A workspace's effective rules: its own first, then its base rule set. */
export function effectiveChannelRules(settings: ChannelSettings): ChannelRule[] {
  return [...(settings.rules ?? []), ...BASE_RULES[settings.ruleset ?? 'journey']];
}

export function compileChannelSettings(settings: ChannelSettings): ChannelRules {
  return ChannelRules.compile(effectiveChannelRules(settings));
}
