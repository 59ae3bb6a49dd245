import { z } from 'zod';
import { channelSettingsSchema } from './channel-rules.js';
import { parseRules } from './conditions.js';
import { STAGE_PRESETS } from './default-stages.js';
import { DEFAULT_CONVERSIONS, type JourneyConfig, journeyConfig } from './journey.js';
import { compileChannelSettings } from './rulesets.js';
import { CompiledStageModel, stageModelSchema } from './stages.js';

/**
 * A workspace's journey settings: channel rules, lifecycle stages, session boundaries and
 * touchpoint options. Every field has a default, so `{}` is valid.
 */
export const journeySettingsSchema = z
  .object({
    channels: channelSettingsSchema.default({ ruleset: 'journey', rules: [] }),
    /** A built-in stage model, unless `stageModel` gives the workspace's own. */
    stagePreset: z.enum(['b2b-saas', 'ecommerce']).default('b2b-saas'),
    stageModel: stageModelSchema.optional(),
    sessions: z
      .object({
        style: z.enum(['ga4', 'ua']).default('ga4'),
        timeoutMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .default(30),
        maxLengthHours: z
          .number()
          .positive()
          .max(24 * 7)
          .default(24),
        timeZone: z
          .string()
          .default('UTC')
          .refine((tz) => {
            try {
              new Intl.DateTimeFormat('en', { timeZone: tz });
              return true;
            } catch {
              return false;
            }
          }, 'an IANA time zone such as Europe/Berlin'),
      })
      .strict()
      .default({ style: 'ga4', timeoutMinutes: 30, maxLengthHours: 24, timeZone: 'UTC' }),
    /** The workspace's own hosts (cross-domain): referrers from them are internal. */
    ownDomains: z.array(z.string().min(1)).max(100).default([]),
    /** Referrers treated as internal (payment pages, single sign-on). */
    ignoreReferrers: z.array(z.string().min(1)).max(100).default([]),
    /** Whether a direct hit inside a session replaces the campaign it arrived with. */
    directOverridesCampaign: z.boolean().default(false),
    /** Events that make a session engaged. */
    conversions: z.array(z.string().min(1)).max(200).default(DEFAULT_CONVERSIONS),
  })
  .strict();
export type JourneySettings = z.output<typeof journeySettingsSchema>;

/** Validates settings (throws RuleError naming each bad path) and compiles them. */
export function compileJourneySettings(
  input: unknown,
  options: { includeBots?: boolean } = {},
): {
  settings: JourneySettings;
  config: JourneyConfig;
} {
  const settings = parseRules(journeySettingsSchema, input ?? {});
  const channels = compileChannelSettings(settings.channels);
  const stages = CompiledStageModel.compile(settings.stageModel ?? STAGE_PRESETS[settings.stagePreset]);
  const config = journeyConfig(channels, stages, {
    sessions: {
      style: settings.sessions.style,
      timeoutMs: settings.sessions.timeoutMinutes * 60_000,
      maxLengthMs: settings.sessions.maxLengthHours * 3_600_000,
      timeZone: settings.sessions.timeZone,
    },
    touch: { ownDomains: settings.ownDomains, ignoreReferrers: settings.ignoreReferrers },
    directOverridesCampaign: settings.directOverridesCampaign,
    conversions: new Set(settings.conversions),
    includeBots: options.includeBots ?? false,
  });
  return { settings, config };
}
