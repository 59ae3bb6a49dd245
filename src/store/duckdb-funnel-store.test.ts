import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunnelQuery, parseFunnelQuery } from '../core/analytics/funnel-query.js';
import {
  type ActorOutcome,
  type CandidateRow,
  funnelResult,
  outcomeOf,
} from '../core/analytics/funnel-result.js';
import { funnelNameTests, funnelSql } from '../core/analytics/funnel-sql.js';
import type { NameCodes } from '../core/analytics/name-codes.js';
import { readNameCodes } from '../services/analytics-reader.js';
import { type Database, openDatabase } from './duckdb-database.js';
import { DuckDBFunnelStore } from './duckdb-funnel-store.js';

// The funnel's SQL against a reference written without SQL: random journeys go straight into the
// journey tables of a real DuckDB; the same journeys, matched and ordered in JavaScript, are
// folded directly. The SQL's candidates (step masks, the range, actors who only did step 0
// counted in SQL, the rows an ordered funnel can skip) must give the very same funnel.

let db: Database;
let store: DuckDBFunnelStore;
beforeAll(async () => {
  const opened = await openDatabase(':memory:');
  if (!opened.ok) throw new Error(opened.error.message);
  db = opened.value;
  store = new DuckDBFunnelStore(db.reader);
});
afterAll(() => db.close());

const T0 = Date.UTC(2025, 0, 1);
const MIN = 60_000;
// Now: inside the windows of some tries (who only did step 0 at minute 25 or later with a
// 15-minute window is still within it), so `stillInWindow` is checked against the reference.
const NOW = T0 + 40 * MIN;
const NAMES = ['a', 'b', 'c', 'x'] as const;

interface Ev {
  person: number;
  seq: number;
  ms: number;
  event: string;
  channel: string | null;
}

const journeys = fc
  .array(
    fc.record({
      person: fc.integer({ min: 1, max: 12 }),
      // Minutes, few distinct: many events share a timestamp.
      minute: fc.integer({ min: 0, max: 40 }),
      event: fc.constantFrom(...NAMES),
      channel: fc.constantFrom('Email', 'Paid Search', null),
    }),
    { maxLength: 120 },
  )
  .map((xs) =>
    xs.map(
      (x, i): Ev => ({
        person: x.person,
        seq: i + 1,
        ms: T0 + x.minute * MIN,
        event: x.event,
        channel: x.channel,
      }),
    ),
  );

const queries = fc.record({
  steps: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 4 }),
  order: fc.constantFrom('ordered', 'strict', 'unordered'),
  windowMinutes: fc.integer({ min: 1, max: 30 }),
  exclude: fc.boolean(),
  breakdown: fc.constantFrom(undefined, 'first_touch', 'last_touch', 'all_events', 'step'),
  toMinute: fc.integer({ min: 10, max: 41 }),
  // How each step names its event: the same test written five ways (name-codes.ts resolves the
  // conditions on names by code, bounds included).
  forms: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 4, maxLength: 4 }),
});

async function load(events: readonly Ev[]): Promise<void> {
  await db.writer.run('DELETE FROM journey_steps');
  await db.writer.run('DELETE FROM journey_persons');
  for (const e of events)
    await db.writer.run(
      `INSERT INTO journey_steps (workspace_id, person_key, seq, event_at, session, touchpoint, channel, event, type)
       VALUES ('w', $p, $s, make_timestamp($ms::BIGINT * 1000), 0, NULL, $ch, $ev, 'track')`,
      { p: e.person, s: e.seq, ms: e.ms, ch: e.channel, ev: e.event },
    );
  // The names' codes, as migration 012 numbers them.
  await db.writer.run('DELETE FROM journey_names');
  await db.writer.run(`INSERT INTO journey_names SELECT 'w', row_number() OVER (ORDER BY type, event), type, event
    FROM (SELECT DISTINCT type, event FROM journey_steps)`);
  await db.writer.run(`UPDATE journey_steps s SET name_code = n.code FROM journey_names n
    WHERE n.type = s.type AND n.event = s.event`);
}

type QueryArgs = typeof queries extends fc.Arbitrary<infer T> ? T : never;

function queryOf(x: QueryArgs): FunnelQuery {
  const steps = x.steps;
  const body = {
    steps: steps.map((event, k) => stepOf(event, x.forms[k] ?? 0)),
    order: x.order,
    window: { value: x.windowMinutes, unit: 'minute' },
    from: new Date(T0).toISOString(),
    to: new Date(T0 + x.toMinute * MIN).toISOString(),
    ...(x.exclude && steps.length > 1 ? { exclusions: [{ event: 'x' }] } : {}),
    ...(x.breakdown ? { breakdown: { field: 'channel', attribution: x.breakdown, step: 0 } } : {}),
  };
  const q = parseFunnelQuery(body);
  if (!q.ok) throw new Error(q.error.message);
  return q.value;
}

/** A step matching exactly the events named `event` (the names are lower case). */
function stepOf(event: string, form: number) {
  switch (form) {
    case 1:
      return { where: { field: 'event', op: 'eq', value: event.toUpperCase() } };
    case 2:
      return { where: { not: { field: 'event', op: 'neq', value: event } } };
    case 3:
      return {
        where: {
          all: [
            { field: 'type', op: 'eq', value: 'track' },
            {
              any: [
                { field: 'event', op: 'in', value: [event, 'zz'] },
                { field: 'event', op: 'starts_with', value: 'qq' },
              ],
            },
          ],
        },
      };
    case 4:
      return { event, where: { not: { field: 'event', op: 'regex', value: '^q' } } };
    default:
      return { event };
  }
}

/** The funnel straight from the events: matched, ranged and ordered in JavaScript. */
function reference(events: readonly Ev[], q: FunnelQuery, toMs: number, names: readonly string[]) {
  const windowEnd = toMs + q.window.value * MIN + 1;
  const rows: CandidateRow[] = events
    .filter((e) => e.ms < windowEnd)
    .map((e) => {
      let steps = 0;
      q.steps.forEach((_s, k) => {
        const entry = k === 0 || q.order === 'unordered';
        if (names[k] === e.event && (!entry || e.ms < toMs)) steps |= 1 << k;
      });
      let exclusions = 0;
      for (const x of q.exclusions)
        if (x.event === e.event) for (let j = x.fromStep + 1; j <= x.toStep; j++) exclusions |= 1 << j;
      return { actor: e.person, seq: e.seq, ms: e.ms, steps, exclusions, breakdown: e.channel };
    })
    .filter((r) => q.order === 'strict' || r.steps !== 0 || r.exclusions !== 0)
    .sort((a, b) => a.actor - b.actor || a.ms - b.ms || a.seq - b.seq);
  const outcomes: ActorOutcome[] = [];
  for (const actor of new Set(rows.map((r) => r.actor))) {
    const own = rows.filter((r) => r.actor === actor);
    const enters = own.some((r) => (q.order === 'unordered' ? r.steps !== 0 : (r.steps & 1) !== 0));
    if (!enters) continue;
    const o = outcomeOf(actor, own, q);
    if (o) outcomes.push(o);
  }
  return funnelResult(outcomes, q, undefined, NOW);
}

async function viaSql(q: FunnelQuery, toMs: number, prune: boolean, codes: boolean) {
  // With codes, the names are tested by code (name-codes.ts); without, as strings.
  const names: NameCodes | undefined = codes
    ? await readNameCodes(store, 'w', funnelNameTests(q))
    : undefined;
  const { rows, onlyStep0 } = await store.candidates(
    funnelSql('w', q, { fromMs: T0, toMs }, { prune, nowMs: NOW, ...(names ? { names } : {}) }),
  );
  const outcomes: ActorOutcome[] = [];
  for (const actor of new Set(rows.map((r) => r.actor))) {
    const o = outcomeOf(
      actor,
      rows.filter((r) => r.actor === actor),
      q,
    );
    if (o) outcomes.push(o);
  }
  return funnelResult(outcomes, q, onlyStep0, NOW);
}

describe('funnel SQL', () => {
  it('gives the funnel the events give, pruned or not', async () => {
    await fc.assert(
      fc.asyncProperty(journeys, queries, async (events, x) => {
        const q = queryOf(x);
        const toMs = T0 + x.toMinute * MIN;
        await load(events);
        const expected = reference(events, q, toMs, x.steps);
        expect(await viaSql(q, toMs, false, false)).toEqual(expected);
        expect(await viaSql(q, toMs, true, false)).toEqual(expected);
        expect(await viaSql(q, toMs, true, true)).toEqual(expected);
        // Counts never increase along the steps.
        for (let k = 1; k < expected.steps.length; k++)
          expect(expected.steps[k]?.count).toBeLessThanOrEqual(expected.steps[k - 1]?.count ?? 0);
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('keeps the row that restores an attempt an exclusion spoiled', async () => {
    // a, then x (spoils that attempt), then a again: the second attempt is clean, so the person
    // counts at step 0; pruning must not drop the last a (no row of another step follows it).
    const events: Ev[] = [
      { person: 1, seq: 1, ms: T0, event: 'a', channel: null },
      { person: 1, seq: 2, ms: T0 + MIN, event: 'x', channel: null },
      { person: 1, seq: 3, ms: T0 + 2 * MIN, event: 'a', channel: null },
      { person: 1, seq: 4, ms: T0 + 3 * MIN, event: 'a', channel: null },
    ];
    await load(events);
    const q = queryOf({
      steps: ['a', 'b'],
      order: 'ordered',
      windowMinutes: 10,
      exclude: true,
      breakdown: undefined,
      toMinute: 30,
      forms: [0, 0],
    });
    const toMs = T0 + 30 * MIN;
    const r = await viaSql(q, toMs, true, true);
    expect(r.steps.map((x) => x.count)).toEqual([1, 0]);
    expect(r).toEqual(reference(events, q, toMs, ['a', 'b']));
  });
});
