import { z } from 'zod';

/**
 * Per-workspace identity resolution rules. Defaults follow Segment Unify: `user_id` may appear
 * once on a person, every other type five times; priority `user_id`, `email`, then the rest.
 */

export const BUILT_IN_TYPES = [
  'user_id',
  'email',
  'phone',
  'anonymous_id',
  'device_id',
  'advertising_id',
] as const;

/**
 * Placeholder values that SDKs and forms send when there is no real id. Case-insensitive ones
 * come from PostHog's illegal distinct ids and Segment's suggested blocks; quoted variants too.
 */
const BLOCKED_INSENSITIVE = [
  'anonymous',
  'guest',
  'distinctid',
  'distinct_id',
  'id',
  'not_authenticated',
  'email',
  'undefined',
  'true',
  'false',
  'null',
  'none',
  'nan',
  'nil',
  'unknown',
  'n/a',
  'na',
  '[object object]',
  '-1',
];
const BLOCKED_PATTERN = /^[0-]*$/;

/**
 * Most links one region may hold. A region (identifiers connected by any link, rules ignored)
 * is what a late event replays, so its size is the cost of that event. Real persons hold a few
 * links each, and even a family tablet or a shared office email joins tens of persons; a region
 * of thousands of links has an identifier that thousands of people share (a hard-coded
 * anonymous id, a test email, a replayed device id), which the limits already refuse to merge.
 * The identifier that would grow a region past this is marked untrusted (`REGION_TOO_LARGE`).
 */
export const MAX_REGION_LINKS = 2_000;

/** Why an identifier was marked untrusted by the graph itself, and why its links drop it. */
export const REGION_TOO_LARGE = 'region_too_large';

export const customIdentifierSchema = z
  .object({
    /** The identifier type to create, e.g. `hubspot_contact_id`. */
    type: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _'),
    /** Where to read it: a dotted path into the message, e.g. `traits.hubspot_contact_id`. */
    path: z.string().regex(/^(traits|context\.traits|properties|context)\.[A-Za-z0-9_.$-]+$/, {
      message: 'a dotted path under traits., context.traits., properties. or context.',
    }),
  })
  .strict();

export const identityRulesSchema = z
  .object({
    /** Most identifiers of a type one person may hold. Types not listed: `defaultLimit`. */
    limits: z.record(z.string(), z.number().int().min(1).max(1000)).default({ user_id: 1 }),
    defaultLimit: z.number().int().min(1).max(1000).default(5),
    /** Highest priority first; types not listed follow alphabetically. */
    priority: z.array(z.string()).default(['user_id', 'email']),
    /** Extra values (case-insensitive, exact) never to treat as identifiers. */
    blockedValues: z.array(z.string()).default([]),
    customIdentifiers: z.array(customIdentifierSchema).default([]),
    /** ISO country for phone numbers written without a country code, e.g. "US". */
    phoneDefaultCountry: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .optional(),
  })
  .strict();

export type IdentityRulesInput = z.input<typeof identityRulesSchema>;
export type IdentityRules = z.output<typeof identityRulesSchema>;

export const DEFAULT_RULES: IdentityRules = identityRulesSchema.parse({});

/** A compiled view of the rules for hot loops. */
export class CompiledRules {
  private readonly blocked: Set<string>;
  private readonly priorities = new Map<string, number>();

  constructor(readonly rules: IdentityRules) {
    this.blocked = new Set([...BLOCKED_INSENSITIVE, ...rules.blockedValues.map((v) => v.toLowerCase())]);
    for (const [i, t] of rules.priority.entries()) this.priorities.set(t, i);
  }

  limitOf(type: string): number {
    return this.rules.limits[type] ?? this.rules.defaultLimit;
  }

  /**
   * Lower sorts first. Listed types in order, then the others alphabetically, as Segment does;
   * the alphabetical tail is encoded by the caller's tie-break on the type name.
   */
  rankOf(type: string): number {
    return this.priorities.get(type) ?? this.rules.priority.length;
  }

  /** True for values that must never become identifiers (placeholders, QA values). */
  isBlocked(value: string): boolean {
    const v = value.trim();
    if (v === '' || BLOCKED_PATTERN.test(v)) return true;
    const lower = v.toLowerCase();
    if (this.blocked.has(lower)) return true;
    const unquoted = lower.replace(/^(['"])(.*)\1$/, '$2');
    return unquoted !== lower && (this.blocked.has(unquoted) || BLOCKED_PATTERN.test(unquoted));
  }
}

/** Orders identifier types by priority: rank, then name. */
export function compareTypes(rules: CompiledRules, a: string, b: string): number {
  return rules.rankOf(a) - rules.rankOf(b) || (a < b ? -1 : a > b ? 1 : 0);
}
