import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, basic, type Json, post } from '../support/http.js';
import { workspacesFor } from '../support/peer-cases.js';
import { ADMIN_KEY, removeDir, startTestServer, type TestServer } from '../support/servers.js';

// Retention, churn and activation (POST /api/analytics/retention) on a hand-checkable fixture
// sent through the Tracking API (default workspace), and a property test: the same events in a
// shuffled arrival order, or split over two identities of one person that a later identify call
// merges, give the same table. Day n is n days after Monday 2026-03-02 (before DST in New York).
//   p1  signs up d0 12:00, uses d1 12:00 and d2 12:00, signs up again d2 13:00, uses d7 (03-09)
//   p2  signs up d0 12:00, uses d2 12:00
//   p3  signs up d1 12:00, uses d1 14:00 and d3 12:00
//   p4  signs up 03-03 03:00 UTC (03-02 22:00 in New York), uses 03-03 20:00 UTC

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 2, 2);
const at = (day: number, hour: number) => new Date(BASE + day * DAY + hour * 3_600_000).toISOString();
const track = (userId: string, event: string, day: number, hour = 12) => ({
  type: 'track',
  userId,
  event,
  timestamp: at(day, hour),
});
const EVENTS = [
  track('p1', 'Signed Up', 0),
  track('p1', 'Used', 1),
  track('p1', 'Used', 2),
  track('p1', 'Signed Up', 2, 13),
  track('p1', 'Used', 7),
  track('p2', 'Signed Up', 0),
  track('p2', 'Used', 2),
  track('p3', 'Signed Up', 1),
  track('p3', 'Used', 1, 14),
  track('p3', 'Used', 3),
  track('p4', 'Signed Up', 1, 3),
  track('p4', 'Used', 1, 20),
].map((m, i) => ({ ...m, messageId: `rt-${i}` }));

const PROPERTY_RUNS = 4;
let s: TestServer;
let dir: string;
let keys: Map<string, { write: string; admin: string }>;

/** The retention of a query in a workspace, once the journey tables include its events. */
async function retention(body: Json, admin?: string): Promise<Json> {
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await adminApi(s.url, 'POST', '/api/analytics/retention', body, admin);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    if (r.json.freshness.current) return r.json;
    if (Date.now() > end) throw new Error('the journey tables never became current');
    await new Promise((res) => setTimeout(res, 200));
  }
}

const BASE_QUERY = {
  period: 'day',
  intervals: 4,
  targetEvent: { event: 'Signed Up' },
  returningEvent: { event: 'Used' },
  to: '2026-03-05',
};
const values = (r: Json) => r.rows.map((x: Json) => x.values);

beforeAll(async () => {
  const names = Array.from({ length: PROPERTY_RUNS }, (_, i) => [`shuffled-${i}`, `merged-${i}`]).flat();
  const made = await workspacesFor(names);
  dir = made.dir;
  keys = made.keys;
  s = await startTestServer(dir);
  const sent = await post(s.url, '/v1/batch', { batch: EVENTS });
  expect(sent.json.accepted, JSON.stringify(sent.json)).toBe(EVENTS.length);
  // "Current" tables can still miss events whose facts the loader holds back a moment: wait until
  // all twelve events count (four signups, one of them again; and the week after).
  await settled(
    BASE_QUERY,
    undefined,
    (r) =>
      JSON.stringify(values(r)) ===
      JSON.stringify([
        [2, 1, 2, 0],
        [2, 0, 1, 0],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
      ]),
  );
  await settled(
    { ...BASE_QUERY, period: 'week', intervals: 2, to: '2026-03-10' },
    undefined,
    (r) => r.rows[0].values[1] === 1,
  );
}, 120_000);

/** The retention of a query once `ready` holds (or, after 30 s, as it is: the test then says why). */
async function settled(body: Json, admin: string | undefined, ready: (r: Json) => boolean): Promise<Json> {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await retention(body, admin);
    if (ready(r) || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}
afterAll(async () => {
  await s?.close();
  if (dir) removeDir(dir);
});

describe('POST /api/analytics/retention: cohorts', () => {
  it('gives recurring daily cohorts, values[0] the cohort size, zeros past the range', async () => {
    const r = await retention(BASE_QUERY);
    expect(r.labels).toEqual(['Day 0', 'Day 1', 'Day 2', 'Day 3']);
    expect(r.rows.map((x: Json) => x.date)).toEqual([
      '2026-03-02T00:00:00.000Z',
      '2026-03-03T00:00:00.000Z',
      '2026-03-04T00:00:00.000Z',
      '2026-03-05T00:00:00.000Z',
    ]);
    // p1 signed up again on day 2: a recurring cohort counts him there too.
    expect(values(r)).toEqual([
      [2, 1, 2, 0],
      [2, 0, 1, 0],
      [1, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    expect(r.rows[0].percentages).toEqual([1, 0.5, 1, 0]);
    expect(r.rows[3].percentages).toEqual([null, null, null, null]);
    expect(r.range).toEqual({ from: '2026-03-02T00:00:00.000Z', to: '2026-03-06T00:00:00.000Z' });
  });

  it('puts each person in the cohort of the first-ever target event only with first_time', async () => {
    const r = await retention({ ...BASE_QUERY, retentionType: 'first_time' });
    expect(values(r)).toEqual([
      [2, 1, 2, 0],
      [2, 0, 1, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('rounds `to` down to the start of its interval, and takes from..to when from is given', async () => {
    const r = await retention({ ...BASE_QUERY, to: '2026-03-05T18:30:00Z' });
    expect(values(r)).toEqual(values(await retention(BASE_QUERY)));
    const ranged = await retention({ ...BASE_QUERY, from: '2026-03-03', to: '2026-03-04T09:00:00Z' });
    expect(ranged.labels).toEqual(['Day 0', 'Day 1']);
    expect(values(ranged)).toEqual([
      [2, 0],
      [1, 0],
    ]);
  });

  it('draws cohort boundaries in the query time zone', async () => {
    // In New York p4 signed up on 03-02 (22:00) and came back on 03-03.
    const r = await retention({ ...BASE_QUERY, timezone: 'America/New_York' });
    expect(r.rows[0].date).toBe('2026-03-02T05:00:00.000Z');
    expect(values(r)).toEqual([
      [3, 2, 2, 0],
      [1, 0, 1, 0],
      [1, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('gives weekly and monthly cohorts (weeks from Sunday by default, or Monday)', async () => {
    const week = { ...BASE_QUERY, period: 'week', intervals: 2, to: '2026-03-10' };
    const sunday = await retention(week);
    expect(sunday.labels).toEqual(['Week 0', 'Week 1']);
    expect(sunday.rows.map((x: Json) => x.date)).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-08T00:00:00.000Z',
    ]);
    expect(values(sunday)).toEqual([
      [4, 1],
      [0, 0],
    ]);
    const monday = await retention({ ...week, weekStart: 'monday' });
    expect(monday.rows[0].date).toBe('2026-03-02T00:00:00.000Z');
    expect(values(monday)).toEqual(values(sunday));
    const month = await retention({ ...BASE_QUERY, period: 'month', intervals: 2, to: '2026-03-31' });
    expect(month.rows.map((x: Json) => x.date)).toEqual([
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    expect(values(month)).toEqual([
      [0, 0],
      [4, 0],
    ]);
  });

  it('filters target and returning events with conditions', async () => {
    const r = await retention({
      ...BASE_QUERY,
      targetEvent: { where: { field: 'event', op: 'eq', value: 'Signed Up' } },
      returningEvent: {
        where: {
          all: [
            { field: 'event', op: 'eq', value: 'Used' },
            { field: 'type', op: 'eq', value: 'track' },
          ],
        },
      },
    });
    expect(values(r)).toEqual(values(await retention(BASE_QUERY)));
  });
});

describe('POST /api/analytics/retention: churn and activation', () => {
  it('gives churn by period: of the previous period active persons, those not active now', async () => {
    const r = await retention(BASE_QUERY);
    expect(r.churn).toEqual([
      { date: '2026-03-03T00:00:00.000Z', previousActive: 0, retained: 0, churned: 0, rate: null },
      { date: '2026-03-04T00:00:00.000Z', previousActive: 3, retained: 1, churned: 2, rate: 2 / 3 },
      { date: '2026-03-05T00:00:00.000Z', previousActive: 2, retained: 0, churned: 2, rate: 1 },
    ]);
  });

  it('gives the activation rate: an activation event within N days of the first signup', async () => {
    const r = await retention({
      ...BASE_QUERY,
      activation: { signupEvent: { event: 'Signed Up' }, activationEvent: { event: 'Used' }, withinDays: 1 },
    });
    // p1 after exactly a day, p3 after 2 hours, p4 after 17; p2 after 2 days: too late.
    expect(r.activation).toEqual({
      withinDays: 1,
      signedUp: 4,
      activated: 3,
      rate: 0.75,
      medianTimeToActivateS: 17 * 3600,
    });
    const sameEvent = await retention({
      ...BASE_QUERY,
      activation: {
        signupEvent: { event: 'Signed Up' },
        activationEvent: { event: 'Signed Up' },
        withinDays: 3,
      },
    });
    // The signup itself does not activate; p1's second signup (2 days later) does.
    expect(sameEvent.activation).toMatchObject({ signedUp: 4, activated: 1 });
  });
});

describe('POST /api/analytics/retention: bad queries', () => {
  const bad = async (body: Json) => (await adminApi(s.url, 'POST', '/api/analytics/retention', body)).json;
  it('answers 400 naming the path', async () => {
    for (const [body, field] of [
      [{ period: 'year' }, 'period'],
      [{ intervals: 0 }, 'intervals'],
      [{ intervals: 2.5 }, 'intervals'],
      [{ targetEvent: { where: { field: 'event', op: 'nope', value: 1 } } }, 'targetEvent.where.op'],
      [
        { returningEvent: { where: { field: 'stage', op: 'eq', value: 'lead' } } },
        'returningEvent.where.field',
      ],
      [{ returningEvent: { name: 'x' } }, 'returningEvent'],
      [{ retentionType: 'first_ever' }, 'retentionType'],
      [{ timezone: 'Nowhere/Land' }, 'timezone'],
      [{ to: 'soon' }, 'to'],
      [{ from: '2026-03-05', to: '2026-03-01' }, 'from'],
      [{ from: '2000-01-01', to: '2026-03-01' }, 'from'],
      [{ activation: { signupEvent: {}, activationEvent: {}, withinDays: 0 } }, 'activation.withinDays'],
    ] as [Json, string][]) {
      const r = await bad(body);
      expect(r.error?.code, JSON.stringify(body)).toBe('invalid_query');
      expect(r.error.details.field, JSON.stringify(r)).toBe(field);
    }
  });
});

describe('throughline retention', () => {
  const access = () => ['--data', s.dataDir, '--url', s.url, '--admin-key', ADMIN_KEY];
  const flags = [
    '--period',
    'day',
    '--intervals',
    '4',
    '--to',
    '2026-03-05',
    '--target',
    'Signed Up',
    '--returning',
    'Used',
  ];

  it('gives the API answer with --json', async () => {
    const api = await retention({
      ...BASE_QUERY,
      activation: { signupEvent: { event: 'Signed Up' }, activationEvent: { event: 'Used' }, withinDays: 1 },
    });
    const out = await cliAsync([
      'retention',
      ...access(),
      ...flags,
      '--signup',
      'Signed Up',
      '--activation',
      'Used',
      '--within-days',
      '1',
      '--json',
    ]);
    expect(out.code, out.stderr).toBe(0);
    const got = JSON.parse(out.stdout);
    expect(got.rows).toEqual(api.rows);
    expect(got.activation).toEqual(api.activation);
  });

  it('draws the triangle in percentages, churn with bars, activation; CSV; a bad flag is an error', async () => {
    await retention(BASE_QUERY); // the tables are current
    const out = await cliAsync([
      'retention',
      ...access(),
      ...flags,
      '--signup',
      'Signed Up',
      '--activation',
      'Used',
      '--within-days',
      '1',
    ]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^2026-03-02\s+2\s+▓50%\s+█100%\s+0%$/m);
    expect(out.stdout).toMatch(/^2026-03-03\s+2\s+0%\s+▓50%$/m);
    expect(out.stdout).toMatch(/^2026-03-05\s+0$/m);
    expect(out.stdout).toMatch(/^2026-03-04\s+3\s+2\s+66\.7%\s+█+/m);
    expect(out.stdout).toMatch(/Activation within 1 days: 3 of 4 signed up \(75\.0%\)/);
    const csvOut = await cliAsync(['retention', ...access(), ...flags, '--csv']);
    expect(csvOut.stdout.split('\n').slice(0, 2)).toEqual([
      'date,label,size,day_1,day_2,day_3',
      '2026-03-02T00:00:00.000Z,Day 0,2,1,2,0',
    ]);
    const bad = await cliAsync(['retention', ...access(), '--period', 'year']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/period: /);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: arrival order and identity merges do not change the table.

const HOUR = 3_600_000;
interface Ev {
  person: number;
  event: 'Signed Up' | 'Used';
  hour: number;
}
const evArb = fc.record({
  person: fc.integer({ min: 0, max: 3 }),
  event: fc.constantFrom<'Signed Up' | 'Used'>('Signed Up', 'Used'),
  hour: fc.integer({ min: 0, max: 6 * 24 - 1 }),
});

const messageOf = (e: Ev, i: number, who: Record<string, string>, run: number) => ({
  type: 'track',
  ...who,
  event: e.event,
  timestamp: new Date(BASE + e.hour * HOUR).toISOString(),
  messageId: `prop-${run}-${i}`,
});

describe('POST /api/analytics/retention: properties', () => {
  it('is the same under shuffled arrival order, and counts a merged person once', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(evArb, { minLength: 1, maxLength: 30 }),
        fc.infiniteStream(fc.integer()),
        async (events, randoms) => {
          const r = run++;
          const query = { ...BASE_QUERY, intervals: 6, to: '2026-03-07', retentionType: 'recurring' };
          // In order, each person under its user id (the default workspace's query shape).
          const ordered = events.map((e, i) => messageOf(e, i, { userId: `u${e.person}` }, r));
          // Shuffled: the same messages in another order, in another workspace.
          const shuffled = ordered
            .map((m) => ({ m, k: randoms.next().value as number }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.m);
          // Merged: person 0's events under two anonymous ids, joined to u0 only at the end.
          const split = events.map((e, i) =>
            messageOf(
              e,
              i,
              e.person === 0 ? { anonymousId: `anon-${i % 2}` } : { userId: `u${e.person}` },
              r,
            ),
          );
          const joins = [0, 1].map((k) => ({
            type: 'identify',
            userId: 'u0',
            anonymousId: `anon-${k}`,
            timestamp: new Date(BASE + 20 * DAY).toISOString(),
            messageId: `prop-${r}-join-${k}`,
          }));
          const send = async (name: string, batch: Json[]) => {
            const res = await post(
              s.url,
              '/v1/batch',
              { batch },
              { authorization: basic(keys.get(name)?.write) },
            );
            expect(res.status).toBe(200);
          };
          await send(`shuffled-${r}`, shuffled);
          await send(`merged-${r}`, [...split, ...joins]);
          const expected = expectedTable(events, 6);
          // Polled: "current" tables can still miss events whose facts the loader holds back.
          const same = (x: Json) => JSON.stringify(values(x)) === JSON.stringify(expected);
          const a = await settled(query, keys.get(`shuffled-${r}`)?.admin, same);
          expect(values(a)).toEqual(expected);
          // The merged person's rows appear once the merge has reached the tables.
          const b = await settled(query, keys.get(`merged-${r}`)?.admin, same);
          expect(values(b)).toEqual(expected);
        },
      ),
      { numRuns: PROPERTY_RUNS },
    );
  }, 240_000);
});

/** The recurring daily table, by brute force in JavaScript (days 0..n-1 from BASE, UTC). */
function expectedTable(events: Ev[], n: number): number[][] {
  const day = (e: Ev) => Math.floor(e.hour / 24);
  const did = (event: Ev['event'], d: number) =>
    new Set(events.filter((e) => e.event === event && day(e) === d).map((e) => e.person));
  return Array.from({ length: n }, (_, i) => {
    const cohort = did('Signed Up', i);
    return Array.from({ length: n }, (_, k) => {
      if (k === 0) return cohort.size;
      if (i + k >= n) return 0;
      const back = did('Used', i + k);
      return [...cohort].filter((p) => back.has(p)).length;
    });
  });
}
