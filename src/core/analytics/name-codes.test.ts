import { describe, expect, it } from 'vitest';
import type { Condition } from '../journey/conditions.js';
import { exactNameTest, NameCodes, type NameMatcher, nameTests } from './name-codes.js';

// Codes 1..6 of a workspace: which test holds for which code is given here as the lookup
// (nameCodesSql) would return it.
const leaf = (field: string, op: string, value: unknown) => ({ field, op, value }) as unknown as Condition;
const isLead = leaf('event', 'eq', 'lead');
const isPage = leaf('type', 'eq', 'page');
const plan = leaf('properties.plan', 'eq', 'pro');

/** The codes of a workspace with names 1…`count`, where each test holds for the codes `holds` gives. */
function codes(
  matchers: Parameters<typeof nameTests>[0],
  holds: Record<string, number[]>,
  count = 6,
): NameCodes {
  const tests = nameTests(matchers);
  const rows = Array.from({ length: count }, (_, i) => i + 1).map((code): [number, boolean[]] => [
    code,
    tests.map((t) => (holds[t] ?? []).includes(code)),
  ]);
  return NameCodes.fromRows(tests, rows);
}

describe('name codes', () => {
  it('collects each test of a name or type once, and only those', () => {
    const tests = nameTests([
      { event: 'Signed Up', where: { all: [isLead, plan, isLead] } },
      { where: isPage },
    ]);
    expect(tests).toHaveLength(3);
    expect(tests[0]).toBe(exactNameTest('Signed Up'));
    expect(tests.some((t) => t.includes('properties'))).toBe(false);
  });

  it('tests a code by IN up to four codes, beyond by ranges when they are few runs, else by one bit', () => {
    const lead = nameTests([{ where: isLead }])[0] as string;
    const page = nameTests([{ where: isPage }])[0] as string;
    const n = codes([{ where: isLead }, { where: isPage }], { [lead]: [2], [page]: [6, 1, 3, 4, 5] });
    expect(n.sql(lead)).toBe('coalesce(a.name_code IN (2), false)');
    expect(n.sql(page)).toBe('coalesce(a.name_code = 1 OR a.name_code BETWEEN 3 AND 6, false)');
    const scattered = codes([{ where: isPage }], { [page]: [1, 3, 5, 7, 9] }, 10);
    expect(scattered.sql(page)).toContain("get_bit('01010101010'::BIT, a.name_code)");
    expect(NameCodes.none().sql(lead)).toBe(lead);
  });

  it('filters by one test as ranges of codes (what DuckDB applies in its scan)', () => {
    const lead = nameTests([{ where: isLead }])[0] as string;
    const page = nameTests([{ where: isPage }])[0] as string;
    const n = codes([{ where: isLead }, { where: isPage }], { [lead]: [], [page]: [1, 3, 4, 5, 6] });
    expect(n.where(page)).toBe('(a.name_code = 1 OR a.name_code BETWEEN 3 AND 6)');
    expect(n.where(lead)).toBe('FALSE');
    expect(NameCodes.none().where(lead)).toBe(lead);
  });

  it('filters by the names a matcher can match, exactly when it tests nothing else', () => {
    const lead = nameTests([{ where: isLead }])[0] as string;
    const page = nameTests([{ where: isPage }])[0] as string;
    const holds = { [lead]: [2], [page]: [4, 5] };
    const n = (ms: NameMatcher[]) => codes(ms, holds).prefilter(ms);
    expect(n([{ where: isLead }, { where: isPage }])).toEqual({
      sql: '(a.name_code = 2 OR a.name_code BETWEEN 4 AND 5)',
      exact: true,
    });
    // Another test beside a name narrows nothing it can be sure of: a superset, not exact.
    expect(n([{ where: { all: [isLead, plan] } }])).toEqual({ sql: '(a.name_code = 2)', exact: false });
    // Either a name or anything else: every event may match.
    expect(n([{ where: { any: [isLead, plan] } }])).toBeNull();
    // Not a page: every code but the pages'.
    expect(n([{ where: { not: isPage } }])).toEqual({
      sql: '(a.name_code BETWEEN 1 AND 3 OR a.name_code = 6)',
      exact: true,
    });
    // Not (a page and something else): may be any code.
    expect(n([{ where: { not: { all: [isPage, plan] } } }])).toEqual({
      sql: '(a.name_code BETWEEN 1 AND 6)',
      exact: false,
    });
  });
});
