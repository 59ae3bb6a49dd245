import type { Condition } from '../journey/conditions.js';
import { conditionSql, type FieldResolver, sqlString } from '../journey/rules-sql.js';
import { EVENT_FIELDS } from './event-fields-sql.js';

/**
 * Tests of an event's name and type, decided once per distinct (type, name) pair instead of once
 * per event.
 *
 * `journey_names` numbers each workspace's (type, event) pairs and every journey step carries
 * its pair's number (`name_code`, migration 012). A query first evaluates its tests of `event`
 * and `type` against `journey_names` (a few hundred rows), with the very SQL it would otherwise
 * run on every event (so the semantics cannot differ), and then tests the integer per event:
 * `IN` for up to four codes, else range tests when the codes are a few runs, else one bit of a
 * bit string (DuckDB turns an `IN` list of five or more into a join).
 *
 * A test is SQL over the alias `a` (columns `event`, `type`); `NameCodes.none` keeps every test
 * as it is (queries over event_facts, which has no codes).
 */

const NAME_FIELDS = new Set(['event', 'type']);

type Leaf = Extract<Condition, { field: string }>;

/** What a query matches an event by: an exact name and/or a condition. */
export interface NameMatcher {
  event?: string | undefined;
  where?: Condition | undefined;
}

/** The test of an exact event name. */
export const exactNameTest = (event: string): string => `a.event = ${sqlString(event)}`;

const leafTest = (leaf: Leaf): string => conditionSql(leaf, EVENT_FIELDS);

function leaves(c: Condition | undefined): Leaf[] {
  if (c === undefined || 'else' in c) return [];
  if ('all' in c) return c.all.flatMap(leaves);
  if ('any' in c) return c.any.flatMap(leaves);
  if ('not' in c) return leaves(c.not);
  return [c];
}

/** Every name test the matchers need, once each. */
export function nameTests(matchers: readonly (NameMatcher | undefined)[]): string[] {
  const tests = new Set<string>();
  for (const m of matchers) {
    if (m?.event !== undefined) tests.add(exactNameTest(m.event));
    for (const leaf of leaves(m?.where)) if (NAME_FIELDS.has(leaf.field)) tests.add(leafTest(leaf));
  }
  return [...tests];
}

/** One row per pair of the workspace: its code, then each test's result on it (a list of booleans). */
export function nameCodesSql(workspaceId: string, tests: readonly string[]): string {
  return `SELECT code, [${tests.map((t) => `coalesce(${t}, false)`).join(', ')}] AS hits
    FROM journey_names a WHERE workspace_id = ${sqlString(workspaceId)}`;
}

export class NameCodes {
  private constructor(
    /** Per test, the codes of the pairs it holds for; null: test the strings. */
    private readonly codes: ReadonlyMap<string, readonly number[]> | null,
    private readonly maxCode: number,
    /** Every code of the workspace at the lookup. */
    private readonly universe: readonly number[] = [],
  ) {}

  /** Every test left as SQL over the strings. */
  static none(): NameCodes {
    return new NameCodes(null, 0);
  }

  /** From `nameCodesSql`'s rows (code, hits) for these tests. */
  static fromRows(tests: readonly string[], rows: readonly [number, readonly boolean[]][]): NameCodes {
    const codes = new Map<string, number[]>(tests.map((t) => [t, []]));
    let max = 0;
    const universe: number[] = [];
    for (const [code, hits] of rows) {
      max = Math.max(max, code);
      universe.push(code);
      tests.forEach((t, i) => {
        if (hits[i]) codes.get(t)?.push(code);
      });
    }
    for (const list of codes.values()) list.sort((x, y) => x - y);
    return new NameCodes(codes, max, universe);
  }

  /** A test as SQL over the step row `a` (its `name_code`, or its strings). */
  sql(test: string): string {
    if (this.codes === null) return test;
    const codes = this.codes.get(test);
    if (codes === undefined) throw new Error(`name test not resolved: ${test}`);
    const column = 'a.name_code';
    if (codes.length === 0) return 'FALSE';
    if (codes.length <= 4) return `coalesce(${column} IN (${codes.join(', ')}), false)`;
    // Codes are numbered in (type, event) order, so a test of the type (all page views) or of a
    // prefix is a few runs of codes: range tests then, several times cheaper per row than the bit lookup.
    const ranges = runsOf(codes);
    return ranges.length <= 4 ? `coalesce(${rangesSql(ranges)}, false)` : this.bitTest(codes);
  }

  /**
   * A filter on `a.name_code` that lets through every event any of the matchers can match (and
   * maybe more), or null when that is every event (or there are no codes). It is one range test
   * DuckDB applies inside its scan, before anything else is computed per row. `exact`: the
   * matchers test nothing but names, so it lets through exactly the events they match.
   */
  prefilter(matchers: readonly NameMatcher[]): { sql: string; exact: boolean } | null {
    if (this.codes === null) return null;
    let exact = true;
    const wide = (m: NameMatcher): Set<number> | null => {
      const byName = m.event !== undefined ? this.set(exactNameTest(m.event)) : null;
      const where = m.where !== undefined ? this.bounds(m.where) : null;
      if (where && (where.sup === null || where.sub.size !== where.sup.size)) exact = false;
      const byWhere = where?.sup ?? null;
      if (byName && byWhere) return new Set([...byName].filter((c) => byWhere.has(c)));
      return byName ?? byWhere;
    };
    const codes = new Set<number>();
    for (const m of matchers) {
      const w = wide(m);
      if (w === null) return null;
      for (const c of w) codes.add(c);
    }
    return { sql: this.scanFilter(codes), exact };
  }

  /**
   * A test as a filter on `a.name_code` that DuckDB applies inside its scan (ranges of codes, no
   * `coalesce`): for a WHERE clause, where NULL counts as false. Without codes, the test itself.
   */
  where(test: string): string {
    return this.codes === null ? test : this.scanFilter(this.set(test));
  }

  private scanFilter(codes: ReadonlySet<number>): string {
    if (codes.size === 0) return 'FALSE';
    const sorted = [...codes].sort((x, y) => x - y);
    const ranges = runsOf(sorted);
    if (ranges.length > 16) return this.bitTest(sorted);
    return `(${rangesSql(ranges)})`;
  }

  private set(test: string): Set<number> {
    const codes = this.codes?.get(test);
    if (codes === undefined) throw new Error(`name test not resolved: ${test}`);
    return new Set(codes);
  }

  /**
   * The codes a condition surely holds for (`sub`) and may hold for (`sup`, null: any event),
   * judging only its tests of names: any other test may go either way.
   */
  private bounds(c: Condition): { sub: Set<number>; sup: Set<number> | null } {
    const none = new Set<number>();
    if ('else' in c) return { sub: none, sup: null };
    if ('all' in c || 'any' in c) {
      const parts = ('all' in c ? c.all : c.any).map((p) => this.bounds(p));
      const meet = (a: Set<number> | null, b: Set<number> | null) =>
        a === null ? b : b === null ? a : new Set([...a].filter((x) => b.has(x)));
      const join = (a: Set<number> | null, b: Set<number> | null) =>
        a === null || b === null ? null : new Set([...a, ...b]);
      if ('all' in c)
        return {
          sub: parts.reduce<Set<number> | null>((acc, p) => meet(acc, p.sub), null) ?? none,
          sup: parts.reduce<Set<number> | null>((acc, p) => meet(acc, p.sup), null),
        };
      return {
        sub: parts.reduce<Set<number>>((acc, p) => join(acc, p.sub) ?? acc, new Set()),
        sup: parts.reduce<Set<number> | null>((acc, p) => join(acc, p.sup), new Set()),
      };
    }
    if ('not' in c) {
      // Complements within the workspace's codes at the lookup (names numbered later match no
      // test of this query, as in `sql`).
      const inner = this.bounds(c.not);
      const outside = (x: Set<number>) => new Set([...this.universe].filter((k) => !x.has(k)));
      return { sub: inner.sup === null ? none : outside(inner.sup), sup: outside(inner.sub) };
    }
    if (NAME_FIELDS.has(c.field)) {
      const codes = this.set(leafTest(c));
      return { sub: codes, sup: codes };
    }
    return { sub: none, sup: null };
  }

  private bitTest(codes: readonly number[]): string {
    // Codes numbered after this query's lookup (a build running meanwhile) match nothing.
    const bits = Array.from({ length: this.maxCode + 1 }, () => '0');
    for (const c of codes) bits[c] = '1';
    return `coalesce(a.name_code <= ${this.maxCode} AND get_bit('${bits.join('')}'::BIT, a.name_code) = 1, false)`;
  }

  /** A matcher as SQL over alias `a` ('TRUE' when it matches every event). */
  matcherSql(m: NameMatcher): string {
    const parts = [
      m.event !== undefined ? this.sql(exactNameTest(m.event)) : '',
      m.where !== undefined ? conditionSql(m.where, this.fields) : '',
    ].filter(Boolean);
    return parts.length ? parts.map((p) => `(${p})`).join(' AND ') : 'TRUE';
  }

  /** The event fields with every leaf on `event` or `type` tested by code. */
  private readonly fields: FieldResolver = {
    ...EVENT_FIELDS,
    leaf: (leaf) => (NAME_FIELDS.has(leaf.field) ? this.sql(leafTest(leaf)) : null),
  };
}

/** Sorted codes as runs of consecutive codes, [first, last]. */
function runsOf(sorted: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const c of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === c - 1) last[1] = c;
    else ranges.push([c, c]);
  }
  return ranges;
}

/** Runs of codes as plain range tests on `a.name_code`, which DuckDB can push into its scan. */
const rangesSql = (ranges: readonly [number, number][]): string =>
  ranges
    .map(([lo, hi]) => (lo === hi ? `a.name_code = ${lo}` : `a.name_code BETWEEN ${lo} AND ${hi}`))
    .join(' OR ');
