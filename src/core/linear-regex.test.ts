import { describe, expect, it } from 'vitest';
import { compileLinearRegex, MAX_PROGRAM_SIZE } from './linear-regex.js';

const compiled = (source: string) => {
  const r = compileLinearRegex(source);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('compileLinearRegex', () => {
  it('matches anywhere in the value, ignoring case, like regexp_matches(x, p, i)', () => {
    expect(compiled('cpc').test('Google-CPC-brand')).toBe(true);
    expect(compiled('^cpc$').test('cpc ')).toBe(false);
    expect(compiled('push$').test('web_PUSH')).toBe(true);
    expect(compiled('^(.*cp.*|ppc|retargeting|paid.*)$').test('Paid_Social')).toBe(true);
    expect(compiled('\\bshop\\b').test('the shop')).toBe(true);
    expect(compiled('^[a-z]+\\d{2}$').test('Spring24')).toBe(true);
  });

  it('keeps $ at the very end and . off newlines, as RegExp without flags does', () => {
    expect(compiled('cpc$').test('cpc\n')).toBe(/cpc$/i.test('cpc\n'));
    expect(compiled('^a.b$').test('a\nb')).toBe(/^a.b$/i.test('a\nb'));
  });

  it('runs a catastrophic backtracking pattern in linear time', () => {
    const re = compiled('^(a+)+$');
    const started = performance.now();
    expect(re.test(`${'a'.repeat(28)}!`)).toBe(false);
    expect(re.test(`${'a'.repeat(30_000)}!`)).toBe(false);
    // A backtracking engine needs seconds for the first value alone (2^28 paths).
    expect(performance.now() - started).toBeLessThan(500);
  });

  it.each([
    ['(a)\\1', /backreference/],
    ['(?=a)b', /lookahead|lookaround/],
    ['(?!a)b', /lookahead|lookaround/],
    ['(?<=a)b', /lookbehind|lookaround/],
    ['(?<!a)b', /lookbehind|lookaround/],
    ['a++', /possessive|nested repetition/],
  ])('refuses %s, which it cannot run in linear time, saying why', (source, reason) => {
    const r = compileLinearRegex(source);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(reason);
      expect(r.error).toMatch(/RE2/);
    }
  });

  it('refuses malformed patterns with the parser reason', () => {
    const r = compileLinearRegex('(');
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/missing closing \)/) });
  });

  it('refuses patterns whose program is too large to run cheaply', () => {
    const r = compileLinearRegex(`(${'x'.repeat(1000)}|${'y'.repeat(1000)}){2}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(new RegExp(`${MAX_PROGRAM_SIZE}`));
  });

  it('compiles a pattern once and reuses it', () => {
    expect(compiled('^(.*video.*)$')).toBe(compiled('^(.*video.*)$'));
  });
});
