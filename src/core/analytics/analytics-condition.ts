import { z } from 'zod';
import { compileCondition, conditionSchema, RuleError } from '../journey/conditions.js';

/**
 * A condition in an analytics query (the project's one condition language), checked at parse
 * time so a bad one is a 400 naming its path rather than an error in SQL.
 */
export const analyticsCondition = conditionSchema.superRefine((c, ctx) => {
  try {
    compileCondition(c, '');
  } catch (e) {
    if (e instanceof RuleError) ctx.addIssue({ code: 'custom', message: e.message.replace(/^:\s*/, '') });
    else throw e;
  }
});

/** An event matcher: a name and/or a condition; `{}` matches every event. */
export const eventMatcherSchema = z
  .object({
    event: z.string().min(1, 'a non-empty name').max(200, 'at most 200 characters').optional(),
    where: analyticsCondition.optional(),
  })
  .strict();
export type EventMatcher = z.output<typeof eventMatcherSchema>;
