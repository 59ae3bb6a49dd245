import { describe, expect, it } from 'vitest';
import { compileCondition, RuleError } from './conditions.js';

const fieldsOf = (v: Record<string, string>) => (f: string) => v[f] ?? null;

describe('the regex op', () => {
  it('matches anywhere in the value, ignoring case', () => {
    const p = compileCondition({ field: 'utm_medium', op: 'regex', value: '^(cpc|ppc)$' });
    expect(p(fieldsOf({ utm_medium: 'CPC' }))).toBe(true);
    expect(p(fieldsOf({ utm_medium: 'cpm' }))).toBe(false);
    expect(p(fieldsOf({}))).toBe(false);
  });

  it('evaluates a catastrophic backtracking pattern in linear time', () => {
    const p = compileCondition({ field: 'utm_medium', op: 'regex', value: '^(a+)+$' });
    const started = performance.now();
    expect(p(fieldsOf({ utm_medium: 'aaaaaaaaaaaaaaaaaaaaaaaaaaa!' }))).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses a backreference, naming the rule path and the field', () => {
    const compile = () =>
      compileCondition({ any: [{ field: 'utm_medium', op: 'regex', value: '^(a)\\1$' }] }, 'rules[3].when');
    expect(compile).toThrow(RuleError);
    expect(compile).toThrow(/rules\[3\]\.when\.any\[0\].*utm_medium.*backreference/);
  });

  it('refuses lookaround, naming the field', () => {
    expect(() => compileCondition({ field: 'campaign', op: 'regex', value: 'brand(?!-test)' })).toThrow(
      /condition.*campaign.*lookahead/,
    );
  });
});
