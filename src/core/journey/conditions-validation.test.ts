import { describe, expect, it } from 'vitest';
import { CONDITION_OPS, conditionSchema, parseRules, RuleError } from './conditions.js';
import { compileJourneySettings } from './journey-settings.js';
import { isKnownField, JOURNEY_FIELDS, RULE_FIELDS } from './touch-fields.js';

/** The message compileJourneySettings throws for the settings (null: accepted). */
function problem(settings: unknown): string | null {
  try {
    compileJourneySettings(settings);
    return null;
  } catch (e) {
    if (!(e instanceof RuleError)) throw e;
    return e.message;
  }
}

const rule = (when: unknown) => ({ channels: { rules: [{ channel: 'X', when }] } });

describe('validation errors name what is allowed', () => {
  it('an unknown op is reported at its path with every op allowed', () => {
    const message = problem(rule({ field: 'medium', op: 'inn', value: ['cpc'] }));
    expect(message).toBe(`channels.rules[0].when.op: unknown op "inn": one of ${CONDITION_OPS.join(', ')}`);
  });

  it('inside all / any / not too, and a missing op says so', () => {
    const message = problem(
      rule({
        all: [
          { field: 'medium', op: 'eq', value: 'cpc' },
          { any: [{ not: { field: 'source', value: 'x' } }] },
        ],
      }),
    );
    expect(message).toMatch(
      /^channels\.rules\[0\]\.when\.all\[1\]\.any\[0\]\.not\.op: an op: one of eq, neq, in, /,
    );
  });

  it('an unknown field lists the fields, the journey annotations and the JSON paths', () => {
    const message = problem(rule({ field: 'utm_content', op: 'eq', value: 'x' })) ?? '';
    expect(message).toMatch(
      /^channels\.rules\[0\]\.when\.field: unknown field "utm_content": one of source, medium, /,
    );
    for (const f of [...RULE_FIELDS, ...JOURNEY_FIELDS]) expect(message).toContain(f);
    expect(message).toContain('properties.<path>, traits.<path>, context.<path>');
    // Stage triggers get the same list.
    const stage = problem({
      stageModel: {
        stages: [{ id: 'lead', name: 'Lead', enter: [{ when: { field: 'evnt', op: 'eq', value: 'x' } }] }],
      },
    });
    expect(stage).toMatch(/^stageModel\.stages\[0\]\.enter\[0\]\.when\.field: unknown field "evnt": one of /);
  });

  it('something that is no condition at all lists the forms a condition takes', () => {
    expect(problem(rule('medium = cpc'))).toBe(
      'channels.rules[0].when: a condition is {"field", "op", "value"}, {"all": [...]}, {"any": [...]}, {"not": {...}} or {"else": true}',
    );
    expect(problem(rule({ either: [] }))).toMatch(/^channels\.rules\[0\]\.when: a condition is /);
    expect(problem(rule({ all: [] }))).toBe('channels.rules[0].when.all: at least one condition');
    expect(problem(rule({ else: false }))).toBe('channels.rules[0].when.else: "else" must be true');
    expect(problem(rule({ field: 'medium', op: 'eq', value: { a: 1 } }))).toBe(
      'channels.rules[0].when.value: a value: a string, number, boolean, or a list of strings and numbers',
    );
    expect(problem(rule({ field: 'medium', op: 'eq', value: 'x', vale: 1 }))).toMatch(
      /^channels\.rules\[0\]\.when: Unrecognized key: "vale"/,
    );
  });

  it('every problem is reported, each at its own path', () => {
    const message = problem({
      channels: {
        rules: [
          { channel: 'A', when: { field: 'medium', op: 'like' } },
          { channel: 'B', when: { field: 'sauce', op: 'eq', value: 'x' } },
        ],
      },
    });
    expect(message?.split('; ').map((m) => m.split(':')[0])).toEqual([
      'channels.rules[0].when.op',
      'channels.rules[1].when.field',
    ]);
  });

  it('accepts every op, every known field and message paths, and keeps the condition as given', () => {
    for (const op of CONDITION_OPS) {
      const c = {
        field: 'medium',
        op,
        value: op === 'in' ? ['a'] : op === 'in_category' ? 'SOURCE_CATEGORY_SEARCH' : 'a',
      };
      expect(parseRules(conditionSchema, c)).toEqual(c);
    }
    for (const field of [
      ...RULE_FIELDS,
      ...JOURNEY_FIELDS,
      'properties.plan',
      'traits.a.b',
      'context.page.url',
    ]) {
      expect(isKnownField(field)).toBe(true);
      expect(problem(rule({ any: [{ field, op: 'present' }, { not: { else: true } }] }))).toBeNull();
    }
    for (const field of ['properties', 'properties.', 'utm_content', 'page.url', 'Source'])
      expect(isKnownField(field)).toBe(false);
  });
});
