import { z } from 'zod';
import type { Condition } from '../journey/conditions.js';
import { isKnownField } from '../journey/touch-fields.js';
import { err, ok, type Result } from '../result.js';
import { analyticsCondition } from './analytics-condition.js';
import { commonQueryFields, parseQuery, type QueryProblem } from './analytics-query.js';

/**
 * A funnel query (`POST /api/analytics/funnel`), validated: 1–20 steps, each an event (name
 * and/or condition) or a lifecycle stage entered; the order; the conversion window from step 1
 * (inclusive); exclusions between steps; the aggregation; a breakdown.
 */

export const WINDOW_UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month'] as const;
export type WindowUnit = (typeof WINDOW_UNITS)[number];
/** Seconds per unit; a month is 30 days, as the peer counts it (DST never shortens a window). */
export const UNIT_SECONDS: Record<WindowUnit, number> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86_400,
  week: 604_800,
  month: 2_592_000,
};

export const BREAKDOWN_ATTRIBUTIONS = ['first_touch', 'last_touch', 'all_events', 'step'] as const;

/** Fields a breakdown may name besides `properties.*`, `traits.*`, `context.*`. */
export const BREAKDOWN_FIELDS = [
  'event',
  'type',
  'channel',
  'source',
  'medium',
  'campaign',
  'stage',
] as const;

export const isQueryField = (f: string): boolean =>
  (BREAKDOWN_FIELDS as readonly string[]).includes(f) || isKnownField(f);

const condition = analyticsCondition;

const name = z.string().min(1, 'a non-empty name').max(200, 'at most 200 characters');

const stepSchema = z
  .object({
    name: name.optional(),
    event: name.optional(),
    stage: name.optional(),
    where: condition.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.stage !== undefined && (s.event !== undefined || s.where !== undefined))
      ctx.addIssue({
        code: 'custom',
        message: 'a stage step is the stage entered: no event or where with it',
      });
    else if (s.stage === undefined && s.event === undefined && s.where === undefined)
      ctx.addIssue({ code: 'custom', message: 'a step needs an event, a where condition, or a stage' });
  });

const exclusionSchema = z
  .object({
    event: name.optional(),
    where: condition.optional(),
    fromStep: z.number().int().min(0).optional(),
    toStep: z.number().int().min(1).optional(),
  })
  .strict()
  .refine(
    (x) => x.event !== undefined || x.where !== undefined,
    'an exclusion needs an event or a where condition',
  );

const schema = z
  .object({
    steps: z.array(stepSchema).min(1, 'at least one step').max(20, 'at most 20 steps'),
    order: z.enum(['ordered', 'strict', 'unordered']).default('ordered'),
    window: z
      .object({
        value: z.number().int('a whole number').positive('more than 0').max(100_000),
        unit: z.enum(WINDOW_UNITS).default('day'),
      })
      .strict()
      .default({ value: 14, unit: 'day' }),
    exclusions: z.array(exclusionSchema).max(20).default([]),
    breakdown: z
      .object({
        field: z.string().refine(isQueryField, {
          error: (i) =>
            `unknown field ${JSON.stringify(i.input)}: one of ${BREAKDOWN_FIELDS.join(', ')}, or properties.<path>, traits.<path>, context.<path>`,
        }),
        attribution: z.enum(BREAKDOWN_ATTRIBUTIONS).default('first_touch'),
        step: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(100).default(25),
      })
      .strict()
      .optional(),
    ...commonQueryFields,
  })
  .strict();

export type FunnelQuery = Omit<z.output<typeof schema>, 'steps' | 'exclusions'> & {
  steps: (z.output<typeof stepSchema> & { name: string })[];
  exclusions: (z.output<typeof exclusionSchema> & { fromStep: number; toStep: number })[];
};
export type FunnelStep = FunnelQuery['steps'][number];
export type FunnelExclusion = FunnelQuery['exclusions'][number];

/** A funnel query from a request body, or the first problem with its path. */
export function parseFunnelQuery(body: unknown): Result<FunnelQuery, QueryProblem> {
  const parsed = parseQuery(schema, body);
  if (!parsed.ok) return parsed;
  const q = parsed.value;
  const last = q.steps.length - 1;
  const problem = (message: string, field: string) => err({ message: `${field}: ${message}`, field });
  const exclusions: FunnelQuery['exclusions'] = [];
  for (const [i, x] of q.exclusions.entries()) {
    const fromStep = x.fromStep ?? 0;
    const toStep = x.toStep ?? last;
    const at = `exclusions[${i}]`;
    if (last === 0) return problem('a one-step funnel has nothing to exclude between', at);
    if (toStep > last) return problem(`the last step is ${last}`, `${at}.toStep`);
    if (fromStep >= toStep) return problem('must be before toStep', `${at}.fromStep`);
    if (q.order === 'unordered' && (fromStep !== 0 || toStep !== last))
      return problem(`an unordered funnel excludes over the whole funnel (fromStep 0, toStep ${last})`, at);
    exclusions.push({ ...x, fromStep, toStep });
  }
  if (q.breakdown) {
    if (q.breakdown.attribution === 'step' && q.breakdown.step > last)
      return problem(`the last step is ${last}`, 'breakdown.step');
    if (q.order === 'unordered' && q.breakdown.attribution === 'step' && q.breakdown.step !== 0)
      return problem('an unordered funnel attributes a breakdown to step 0 only', 'breakdown.step');
  }
  const stageSteps = q.steps.some((s) => s.stage !== undefined);
  if (stageSteps && q.aggregateBy === 'session')
    return problem('stages are entered by persons and accounts, not sessions', 'aggregateBy');
  if (q.includeBots && q.aggregateBy === 'session')
    return problem('sessions are derived without bot traffic: aggregate by person or account', 'includeBots');
  const steps = q.steps.map((s) => ({ ...s, name: s.name ?? defaultName(s) }));
  return ok({ ...q, steps, exclusions });
}

function defaultName(s: {
  event?: string | undefined;
  stage?: string | undefined;
  where?: Condition | undefined;
}): string {
  if (s.stage !== undefined) return s.stage;
  if (s.event !== undefined) return s.event;
  return describe(s.where as Condition);
}

/** A short readable name for a condition-only step (`type eq page`). */
function describe(c: Condition): string {
  if ('else' in c) return 'any event';
  if ('all' in c) return c.all.map(describe).join(' and ');
  if ('any' in c) return c.any.map(describe).join(' or ');
  if ('not' in c) return `not (${describe(c.not)})`;
  return c.value === undefined ? `${c.field} ${c.op}` : `${c.field} ${c.op} ${JSON.stringify(c.value)}`;
}

/** The conversion window in ms. */
export const windowMs = (q: FunnelQuery): number => q.window.value * UNIT_SECONDS[q.window.unit] * 1000;
