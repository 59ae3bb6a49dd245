import { z } from 'zod';
import { compileLinearRegex } from '../linear-regex.js';
import { type SourceCategory, sourceCategoryOf } from './source-categories.js';
import { isKnownField, JOURNEY_FIELDS, MESSAGE_FIELD_ROOTS, RULE_FIELDS } from './touch-fields.js';

/**
 * The one condition language of channel rules and lifecycle stages: plain data (JSON in config
 * files and over the API), compiled once into a predicate.
 *
 * A leaf compares one field: `{ field: 'medium', op: 'in', value: ['cpc', 'ppc'] }`.
 * `all`, `any` and `not` combine; `{ else: true }` always matches. String comparisons ignore
 * case (GA4: "channel definitions aren't case sensitive"); regexes are used as written
 * (anchor them with ^…$ for a full match), in RE2 syntax and linear time (see linear-regex.ts).
 */

export const CONDITION_OPS = [
  'eq',
  'neq',
  'in',
  'contains',
  'starts_with',
  'ends_with',
  'regex',
  'in_category',
  'present',
  'absent',
  'gt',
  'gte',
  'lt',
  'lte',
] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

export type Condition =
  | { field: string; op: ConditionOp; value?: string | number | boolean | (string | number)[] }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { else: true };

/** The forms a condition takes, for error messages. */
const CONDITION_FORMS =
  'a condition is {"field", "op", "value"}, {"all": [...]}, {"any": [...]}, {"not": {...}} or {"else": true}';

const list = (xs: readonly string[]) => xs.join(', ');

const leafSchema = z
  .object({
    field: z
      .string({ error: 'a field name (string)' })
      .min(1, 'a field name')
      .refine(isKnownField, {
        error: (issue) =>
          `unknown field ${JSON.stringify(issue.input)}: one of ${list(RULE_FIELDS)}, ${list(JOURNEY_FIELDS)} ` +
          `(stage triggers), or ${MESSAGE_FIELD_ROOTS.map((r) => `${r}.<path>`).join(', ')}`,
      }),
    op: z.enum(CONDITION_OPS, {
      error: (issue) =>
        issue.input === undefined
          ? `an op: one of ${list(CONDITION_OPS)}`
          : `unknown op ${JSON.stringify(issue.input)}: one of ${list(CONDITION_OPS)}`,
    }),
    value: z
      .union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))], {
        error: 'a value: a string, number, boolean, or a list of strings and numbers',
      })
      .optional(),
  })
  .strict();

const BRANCHES = {
  all: z.object({ all: z.array(z.lazy(() => conditionSchema)).min(1, 'at least one condition') }).strict(),
  any: z.object({ any: z.array(z.lazy(() => conditionSchema)).min(1, 'at least one condition') }).strict(),
  not: z.object({ not: z.lazy(() => conditionSchema) }).strict(),
  else: z.object({ else: z.literal(true, { error: '"else" must be true' }) }).strict(),
};

/** The schema a value must match, chosen by its keys, so that errors speak of that form. */
function schemaFor(v: unknown): z.ZodType | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  if ('field' in v || 'op' in v) return leafSchema;
  for (const key of ['all', 'any', 'not', 'else'] as const) if (key in v) return BRANCHES[key];
  return null;
}

/**
 * A condition, validated form by form: a wrong op or field is reported at its path with what
 * is allowed (`rules[0].when.any[1].op: unknown op "inn": one of eq, neq, …`), not as a bare
 * "Invalid input" of a union.
 */
export const conditionSchema: z.ZodType<Condition> = z.unknown().transform((v, ctx) => {
  const schema = schemaFor(v);
  if (schema === null) {
    ctx.addIssue({ code: 'custom', message: CONDITION_FORMS, input: v });
    return z.NEVER;
  }
  const parsed = schema.safeParse(v);
  if (parsed.success) return parsed.data as Condition;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
}) as unknown as z.ZodType<Condition>;

/** A field's value for a condition: what the thing being classified says, or null. */
export type FieldValue = string | number | boolean | null;
export type Fields = (field: string) => FieldValue;
export type Predicate = (fields: Fields) => boolean;

/** A rule or model that cannot be used; the message names where (`rules[2].when.any[0]: …`). */
export class RuleError extends Error {}

/** Parses with a zod schema, turning its issues into one RuleError naming each path. */
export function parseRules<T extends z.ZodType>(schema: T, value: unknown, root = ''): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const where = (path: PropertyKey[]) =>
    path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
      root,
    );
  throw new RuleError(
    parsed.error.issues.map((i) => `${where(i.path) || '(root)'}: ${i.message}`).join('; '),
  );
}

const lower = (v: FieldValue): string | null => (v === null ? null : String(v).toLowerCase());

/** Compiles a condition; throws RuleError naming the problem (bad regex, missing value). */
export function compileCondition(c: Condition, where = 'condition'): Predicate {
  if ('else' in c) return () => true;
  if ('all' in c) {
    const parts = c.all.map((p, i) => compileCondition(p, `${where}.all[${i}]`));
    return (f) => parts.every((p) => p(f));
  }
  if ('any' in c) {
    const parts = c.any.map((p, i) => compileCondition(p, `${where}.any[${i}]`));
    return (f) => parts.some((p) => p(f));
  }
  if ('not' in c) {
    const inner = compileCondition(c.not, `${where}.not`);
    return (f) => !inner(f);
  }
  return compileLeaf(c, where);
}

function compileLeaf(c: Extract<Condition, { field: string }>, where: string): Predicate {
  const { field, op } = c;
  const need = <T>(ok: boolean, v: T): T => {
    if (!ok) throw new RuleError(`${where}: op "${op}" needs ${describeValue(op)}`);
    return v;
  };
  const scalar = () => need(c.value !== undefined && !Array.isArray(c.value), String(c.value).toLowerCase());
  const number = () => need(typeof c.value === 'number', c.value as number);
  switch (op) {
    case 'present':
      return (f) => lower(f(field)) !== null && f(field) !== '';
    case 'absent':
      return (f) => f(field) === null || f(field) === '';
    case 'eq': {
      const v = scalar();
      return (f) => lower(f(field)) === v;
    }
    case 'neq': {
      const v = scalar();
      return (f) => lower(f(field)) !== v;
    }
    case 'in': {
      const set = new Set(
        need(Array.isArray(c.value), c.value as (string | number)[]).map((v) => String(v).toLowerCase()),
      );
      return (f) => {
        const v = lower(f(field));
        return v !== null && set.has(v);
      };
    }
    case 'contains': {
      const v = scalar();
      return (f) => lower(f(field))?.includes(v) ?? false;
    }
    case 'starts_with': {
      const v = scalar();
      return (f) => lower(f(field))?.startsWith(v) ?? false;
    }
    case 'ends_with': {
      const v = scalar();
      return (f) => lower(f(field))?.endsWith(v) ?? false;
    }
    case 'regex': {
      const source = need(typeof c.value === 'string', c.value as string);
      const compiled = compileLinearRegex(source);
      if (!compiled.ok) {
        throw new RuleError(
          `${where}: invalid regex ${JSON.stringify(source)} for field "${field}": ${compiled.error}`,
        );
      }
      const re = compiled.value;
      return (f) => {
        const v = f(field);
        return v !== null && re.test(String(v));
      };
    }
    case 'in_category': {
      const category = need(typeof c.value === 'string' && isCategory(c.value), c.value as SourceCategory);
      return (f) => {
        const v = f(field);
        return v !== null && sourceCategoryOf(String(v)) === category;
      };
    }
    default: {
      const n = number();
      const cmp =
        op === 'gt'
          ? (x: number) => x > n
          : op === 'gte'
            ? (x: number) => x >= n
            : op === 'lt'
              ? (x: number) => x < n
              : (x: number) => x <= n;
      return (f) => {
        const v = f(field);
        if (v === null || v === '' || typeof v === 'boolean') return false;
        const x = typeof v === 'number' ? v : Number(v);
        return Number.isFinite(x) && cmp(x);
      };
    }
  }
}

function isCategory(v: string): v is SourceCategory {
  return [
    'SOURCE_CATEGORY_SEARCH',
    'SOURCE_CATEGORY_SOCIAL',
    'SOURCE_CATEGORY_VIDEO',
    'SOURCE_CATEGORY_SHOPPING',
  ].includes(v);
}

function describeValue(op: ConditionOp): string {
  if (op === 'in') return 'a list value';
  if (op === 'in_category') return 'value SOURCE_CATEGORY_SEARCH, _SOCIAL, _VIDEO or _SHOPPING';
  if (op === 'regex') return 'a regex string value';
  if (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') return 'a number value';
  return 'a single value';
}
