import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, type Json, post } from '../support/http.js';
import { ADMIN_KEY, removeDir, startTestServer, type TestServer } from '../support/servers.js';

// Stage analytics (POST /api/analytics/stages) over stage histories the server derives itself from
// events sent through the Tracking API (default workspace: the b2b-saas stage model, in order
// awareness, engaged, lead, opportunity, customer, onboarded, retained, advocate, churned).
// Day n is n days after Monday 2026-01-05, noon UTC. The histories, by hand:
//   ann  awareness d0, engaged d2, lead d5, opportunity d10, lead d20 (a lost deal: regression),
//        opportunity d25, customer d40, churned d220 (180 days without activity after d40: the
//        inactivity rule, due long before now and taken as of now)
//   bob  awareness d1, opportunity d4 (skip), customer d11, churned d31 (cancelled; a skip by order)
//   cy   awareness d3 (never moved on)
//   dee  awareness d35, lead d36 (skip)
//   the account "annco" (ann its only member): ann's history.
//   robo  a bot (45 page views in 45 seconds) who signs up: no journey, so no stage history.

let s: TestServer;
const DAY = 86_400_000;
const BASE = Date.UTC(2026, 0, 5, 12);
const at = (day: number, hour = 0) => new Date(BASE + day * DAY + hour * 3_600_000).toISOString();
const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const PAID = 'https://app.example/pricing?utm_source=google&utm_medium=cpc';
const view = (userId: string, day: number) => ({
  type: 'page',
  userId,
  timestamp: at(day),
  context: { userAgent: UA, page: { url: PAID, referrer: '' } },
});
const track = (userId: string, event: string, day: number) => ({
  type: 'track',
  userId,
  event,
  timestamp: at(day),
});
const EVENTS = [
  view('ann', 0),
  { type: 'identify', userId: 'ann', traits: { plan: 'pro' }, timestamp: at(0, 1) },
  { type: 'group', userId: 'ann', groupId: 'annco', traits: { name: 'Ann Co' }, timestamp: at(0, 2) },
  track('ann', 'Newsletter Subscribed', 2),
  track('ann', 'Signed Up', 5),
  track('ann', 'Demo Requested', 10),
  track('ann', 'Deal Closed Lost', 20),
  track('ann', 'Demo Requested', 25),
  track('ann', 'Deal Closed Won', 40),
  view('bob', 1),
  { type: 'identify', userId: 'bob', traits: { plan: 'free' }, timestamp: at(1, 1) },
  track('bob', 'Demo Requested', 4),
  track('bob', 'Deal Closed Won', 11),
  track('bob', 'Subscription Cancelled', 31),
  view('cy', 3),
  view('dee', 35),
  track('dee', 'Signed Up', 36),
  ...Array.from({ length: 45 }, (_, i) => ({
    ...view('robo', 2),
    timestamp: new Date(BASE + 2 * DAY + i * 1000).toISOString(),
  })),
  track('robo', 'Signed Up', 3),
].map((m, i) => ({ ...m, messageId: `st-${i}` }));

/** The stage analytics of a query, once the journey tables include every event. */
async function stages(body: Json = {}): Promise<Json> {
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await adminApi(s.url, 'POST', '/api/analytics/stages', body);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    if (r.json.freshness.current) return r.json;
    if (Date.now() > end) throw new Error('the journey tables never became current');
    await new Promise((res) => setTimeout(res, 200));
  }
}

beforeAll(async () => {
  s = await startTestServer();
  const sent = await post(s.url, '/v1/batch', { batch: EVENTS });
  expect(sent.json.accepted, JSON.stringify(sent.json)).toBe(EVENTS.length);
  // "Current" tables can still miss events whose facts the loader holds back a moment: wait until
  // every stage entry of the fixture is there (15 for persons, 8 for the account).
  const entries = (r: Json) => r.transitions.reduce((n: number, t: Json) => n + t.count, 0);
  const end = Date.now() + 60_000;
  for (;;) {
    const [persons, accounts] = [await stages(), await stages({ subject: 'account' })];
    if (entries(persons) === 15 && entries(accounts) === 8) break;
    if (Date.now() > end)
      throw new Error(
        `the fixture's stage entries never all arrived: ${entries(persons)}, ${entries(accounts)}`,
      );
    await new Promise((res) => setTimeout(res, 200));
  }
}, 120_000);
afterAll(async () => {
  await s?.close();
  if (s) removeDir(s.dataDir);
});

const D = 86_400;
const bins = (...pairs: [number, number][]) =>
  [0, 3_600, D, 3 * D, 7 * D, 14 * D, 30 * D, 60 * D, 90 * D, 180 * D, 365 * D].map((lo) => [
    lo,
    pairs.find(([l]) => l === lo)?.[1] ?? 0,
  ]);
const byId = (r: Json) => Object.fromEntries(r.stages.map((x: Json) => [x.id, x]));
const pair = (r: Json, from: string, to: string) =>
  r.conversions.find((c: Json) => c.from === from && c.to === to);
const matrix = (r: Json) => r.transitions.map((t: Json) => [t.from, t.to, t.count, t.subjects, t.kind]);

describe('POST /api/analytics/stages', () => {
  it('counts every transition, flagging skips and regressions by the stage order', async () => {
    const r = await stages();
    expect(r.subject).toBe('person');
    expect(r.model.map((m: Json) => m.id)).toEqual([
      'awareness',
      'engaged',
      'lead',
      'opportunity',
      'customer',
      'onboarded',
      'retained',
      'advocate',
      'churned',
    ]);
    expect(matrix(r)).toEqual([
      ['(none)', 'awareness', 4, 4, 'entry'],
      ['awareness', 'engaged', 1, 1, 'forward'],
      ['awareness', 'lead', 1, 1, 'skip'],
      ['awareness', 'opportunity', 1, 1, 'skip'],
      ['engaged', 'lead', 1, 1, 'forward'],
      ['lead', 'opportunity', 2, 1, 'forward'],
      ['opportunity', 'lead', 1, 1, 'regression'],
      ['opportunity', 'customer', 2, 2, 'forward'],
      ['customer', 'churned', 2, 2, 'skip'],
    ]);
  });

  it('gives entries, drop-off and time in stage per stage (the inactivity due after the last event included)', async () => {
    const st = byId(await stages());
    const counts = (id: string) => {
      const x = st[id];
      return [x.entered, x.entries, x.advanced, x.dropped, x.current];
    };
    expect(counts('awareness')).toEqual([4, 4, 3, 1, 1]);
    expect(counts('engaged')).toEqual([1, 1, 1, 0, 0]);
    expect(counts('lead')).toEqual([2, 3, 1, 1, 1]);
    expect(counts('opportunity')).toEqual([2, 3, 2, 0, 0]);
    expect(counts('customer')).toEqual([2, 2, 2, 0, 0]);
    expect(counts('churned')).toEqual([2, 2, 0, 2, 2]);
    expect(counts('onboarded')).toEqual([0, 0, 0, 0, 0]);
    expect(st.awareness.dropOffRate).toBe(0.25);
    expect(st.onboarded.dropOffRate).toBeNull();
    // Awareness: ann 2 days, bob 3, dee 1 (cy is still there).
    expect(st.awareness.timeInStage).toEqual({
      count: 3,
      medianS: 2 * D,
      p75S: 2.5 * D,
      meanS: 2 * D,
      bins: bins([D, 2], [3 * D, 1]),
    });
    // Opportunity: ann 10 and 15 days, bob 7.
    expect(st.opportunity.timeInStage).toMatchObject({ count: 3, medianS: 10 * D, p75S: 12.5 * D });
    expect(st.opportunity.timeInStage.bins).toEqual(bins([7 * D, 2], [14 * D, 1]));
    // Customer: ann 180 days (then churned by inactivity), bob 20.
    expect(st.customer.timeInStage).toMatchObject({
      count: 2,
      medianS: 100 * D,
      p75S: 140 * D,
      meanS: 100 * D,
    });
    expect(st.churned.timeInStage).toMatchObject({ count: 0, medianS: null, p75S: null });
  });

  it('gives conversion and time between any two stages', async () => {
    const r = await stages();
    const conv = (a: string, b: string) => {
      const c = pair(r, a, b);
      return [c.entered, c.converted, c.rate, c.time.medianS];
    };
    expect(conv('awareness', 'engaged')).toEqual([4, 1, 0.25, 2 * D]);
    expect(conv('awareness', 'lead')).toEqual([4, 2, 0.5, 3 * D]);
    expect(conv('awareness', 'opportunity')).toEqual([4, 2, 0.5, 6.5 * D]);
    expect(conv('awareness', 'customer')).toEqual([4, 2, 0.5, 25 * D]);
    expect(conv('awareness', 'churned')).toEqual([4, 2, 0.5, 125 * D]);
    expect(conv('lead', 'opportunity')).toEqual([2, 1, 0.5, 5 * D]);
    expect(conv('opportunity', 'lead')).toEqual([2, 1, 0.5, 10 * D]);
    expect(conv('customer', 'churned')).toEqual([2, 2, 1, 100 * D]);
    expect(conv('engaged', 'awareness')).toEqual([1, 0, 0, null]);
    expect(pair(r, 'customer', 'churned').time.bins).toEqual(bins([14 * D, 1], [180 * D, 1]));
    // No pairs from a stage no one entered.
    expect(pair(r, 'onboarded', 'churned')).toBeUndefined();
  });

  it('gives velocity by the month of entering the first stage', async () => {
    expect((await stages()).velocity).toEqual([
      {
        cohort: '2026-01',
        subjects: 3,
        stages: [
          { stage: 'engaged', reached: 1, medianDays: 2, p75Days: 2 },
          { stage: 'lead', reached: 1, medianDays: 5, p75Days: 5 },
          { stage: 'opportunity', reached: 2, medianDays: 6.5, p75Days: 8.25 },
          { stage: 'customer', reached: 2, medianDays: 25, p75Days: 32.5 },
          { stage: 'churned', reached: 2, medianDays: 125, p75Days: 172.5 },
        ],
      },
      { cohort: '2026-02', subjects: 1, stages: [{ stage: 'lead', reached: 1, medianDays: 1, p75Days: 1 }] },
    ]);
  });

  it('counts the entries in [from, to) only', async () => {
    const r = await stages({ from: '2026-02-01', to: '2026-02-28' });
    expect(r.range).toEqual({ from: '2026-02-01T00:00:00.000Z', to: '2026-03-01T00:00:00.000Z' });
    expect(matrix(r)).toEqual([
      ['(none)', 'awareness', 1, 1, 'entry'],
      ['awareness', 'lead', 1, 1, 'skip'],
      ['opportunity', 'customer', 1, 1, 'forward'],
      ['customer', 'churned', 1, 1, 'skip'],
    ]);
    // Ann became a customer on Feb 14 and churned (by inactivity) in August, after the range.
    expect(pair(r, 'customer', 'churned')).toMatchObject({ entered: 1, converted: 1 });
    expect(r.velocity.map((v: Json) => [v.cohort, v.subjects])).toEqual([['2026-02', 1]]);
  });

  it('filters subjects by their traits', async () => {
    const r = await stages({ where: { field: 'traits.plan', op: 'eq', value: 'pro' } });
    expect(byId(r).awareness.entered).toBe(1);
    expect(matrix(r)).toEqual([
      ['(none)', 'awareness', 1, 1, 'entry'],
      ['awareness', 'engaged', 1, 1, 'forward'],
      ['engaged', 'lead', 1, 1, 'forward'],
      ['lead', 'opportunity', 2, 1, 'forward'],
      ['opportunity', 'lead', 1, 1, 'regression'],
      ['opportunity', 'customer', 1, 1, 'forward'],
      ['customer', 'churned', 1, 1, 'skip'],
    ]);
    const none = await stages({ where: { field: 'traits.plan', op: 'eq', value: 'enterprise' } });
    expect(none.transitions).toEqual([]);
  });

  it('leaves bots out: a bot judged by its behaviour has no stage history to add', async () => {
    // The journey tables hold no journey for a bot person (its journey is empty unless bots are
    // included), so its stage history is empty too: includeBots finds nothing more.
    const withBots = await stages({ includeBots: true });
    const without = await stages();
    expect(matrix(withBots)).toEqual(matrix(without));
    expect(withBots.velocity[0].subjects).toBe(3);
  });

  it('gives accounts their own stage flow', async () => {
    const r = await stages({ subject: 'account' });
    expect(r.subject).toBe('account');
    expect(matrix(r)).toEqual([
      ['(none)', 'awareness', 1, 1, 'entry'],
      ['awareness', 'engaged', 1, 1, 'forward'],
      ['engaged', 'lead', 1, 1, 'forward'],
      ['lead', 'opportunity', 2, 1, 'forward'],
      ['opportunity', 'lead', 1, 1, 'regression'],
      ['opportunity', 'customer', 1, 1, 'forward'],
      ['customer', 'churned', 1, 1, 'skip'],
    ]);
    expect(byId(r).customer.timeInStage.medianS).toBe(180 * D);
    // Accounts are filtered by their own traits (the group call's).
    const named = await stages({
      subject: 'account',
      where: { field: 'traits.name', op: 'eq', value: 'Ann Co' },
    });
    expect(matrix(named)).toEqual(matrix(r));
    const other = await stages({
      subject: 'account',
      where: { field: 'traits.name', op: 'eq', value: 'Bob Co' },
    });
    expect(other.transitions).toEqual([]);
  });

  it('rejects a bad query with 400 naming the path', async () => {
    const bad = async (body: Json) =>
      (await adminApi(s.url, 'POST', '/api/analytics/stages', body)).json.error;
    expect(await bad({ subject: 'session' })).toMatchObject({
      code: 'invalid_query',
      details: { field: 'subject' },
    });
    expect(await bad({ where: { field: 'event', op: 'eq', value: 'x' } })).toMatchObject({
      details: { field: 'where.field' },
    });
    expect(await bad({ where: { all: [{ field: 'traits.plan', op: 'nope', value: 1 }] } })).toMatchObject({
      code: 'invalid_query',
    });
    expect(await bad({ from: 'yesterday' })).toMatchObject({ details: { field: 'from' } });
    expect(await bad({ from: '2026-03-01', to: '2026-02-01' })).toMatchObject({ details: { field: 'from' } });
    expect(await bad({ timezone: 'Mars/Olympus' })).toMatchObject({ details: { field: 'timezone' } });
    expect(await bad({ nope: 1 })).toMatchObject({ code: 'invalid_query' });
  });
});

describe('throughline stages', () => {
  const access = () => ['--data', s.dataDir, '--url', s.url, '--admin-key', ADMIN_KEY];

  it('gives the API answer with --json, a query file and flags on top', async () => {
    const api = await stages({ subject: 'account' });
    const file = join(s.dataDir, 'stages-query.json');
    writeFileSync(file, JSON.stringify({ subject: 'person', from: '2020-01-01' }));
    const json = await cliAsync(['stages', ...access(), '--query', file, '--account', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const got = JSON.parse(json.stdout);
    expect(got.transitions).toEqual(api.transitions);
    expect(got.stages).toEqual(api.stages);
  });

  it('draws the stage table, the matrix (skips », regressions ↩) and velocity', async () => {
    const out = await cliAsync(['stages', ...access()]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^Awareness\s+4\s+█+\s+3\s+25\.0%\s+1\s+2\.0d\s+2\.5d$/m);
    expect(out.stdout).toMatch(/^Opportunity\s+·\s+·\s+1↩\s+·\s+2\s+·\s*$/m);
    expect(out.stdout).toMatch(/^Customer\s+·\s+·\s+·\s+·\s+·\s+2»$/m);
    expect(out.stdout).toMatch(/^2026-02\s+1\s+–\s+1\.0d \(1\)/m);
    const csvOut = await cliAsync(['stages', ...access(), '--csv']);
    expect(csvOut.stdout.split('\n')[1]).toBe('awareness,Awareness,4,4,3,1,0.25,1,3,172800,216000,172800');
    const bad = await cliAsync(['stages', ...access(), '--where', '{"field":"event","op":"eq","value":"x"}']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/where\.field: stage analytics filter on traits only/);
  });
});
