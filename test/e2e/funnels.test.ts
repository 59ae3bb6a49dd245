import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, basic, type Json, post } from '../support/http.js';
import { workspacesFor } from '../support/peer-cases.js';
import { removeDir, startTestServer, type TestServer, untilLoaded } from '../support/servers.js';

// Funnels beyond the peer cases, through the API: bad queries, strict order, stage steps,
// accounts and sessions, a merge that joins two halves of one journey, arrival order, and the
// people behind a step. Each part has its own workspace.

let s: TestServer;
let dir: string;
let keys: Map<string, { write: string; admin: string }>;
const PARTS = ['main', 'shuffled', 'merge'] as const;

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 0, 5, 12);
const at = (day: number, minute = 0) => new Date(BASE + day * DAY + minute * 60_000).toISOString();
const track = (userId: string, event: string, day: number, minute = 0, properties: Json = {}) => ({
  type: 'track',
  userId,
  event,
  timestamp: at(day, minute),
  properties,
});
const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const view = (userId: string, day: number, minute: number, url: string) => ({
  type: 'page',
  userId,
  timestamp: at(day, minute),
  context: { userAgent: UA, page: { url, referrer: '' } },
});

// ann: signs up, requests a demo, buys (a customer); bob: signs up, then a blog visit breaks a
// strict chain before his demo; cy: demo without sign-up (not in the funnel); dee: signs up only.
// ann and bob join account acme, dee globex (after their funnel events: in a strict funnel a
// group call is an event like any other).
const MAIN = [
  track('ann', 'Signed Up', 1, 0, { plan: 'pro' }),
  track('ann', 'Demo Requested', 1, 30),
  track('ann', 'Deal Closed Won', 3),
  track('bob', 'Signed Up', 2, 0, { plan: 'free' }),
  view('bob', 2, 10, 'https://app.example/blog'),
  track('bob', 'Demo Requested', 2, 40),
  track('cy', 'Demo Requested', 2),
  track('dee', 'Signed Up', 4, 0, { plan: 'free' }),
  { type: 'group', userId: 'ann', groupId: 'acme', timestamp: at(3, 1) },
  { type: 'group', userId: 'bob', groupId: 'acme', timestamp: at(2, 41) },
  { type: 'group', userId: 'dee', groupId: 'globex', timestamp: at(4, 1) },
];

const FUNNEL = {
  steps: [{ event: 'Signed Up' }, { event: 'Demo Requested' }, { event: 'Deal Closed Won' }],
  from: at(0),
  to: at(10),
};

async function send(part: string, batch: Json[]): Promise<void> {
  const msgs = batch.map((m, i) => ({ messageId: `${part}-${i}-${m.timestamp}-${m.type}`, ...m }));
  const r = await post(s.url, '/v1/batch', { batch: msgs }, { authorization: basic(keys.get(part)?.write) });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  await untilLoaded(s.url);
}

/** A funnel once the tables hold everything sent. */
async function funnel(part: string, q: Json): Promise<Json> {
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await adminApi(s.url, 'POST', '/api/analytics/funnel', q, keys.get(part)?.admin);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    if (r.json.freshness.current) return r.json;
    if (Date.now() > end) throw new Error('the journey tables never became current');
    await new Promise((res) => setTimeout(res, 200));
  }
}
const counts = (r: Json) => r.steps.map((x: Json) => x.count);
const bad = (q: Json, path = '/api/analytics/funnel') =>
  adminApi(s.url, 'POST', path, q, keys.get('main')?.admin);

beforeAll(async () => {
  const made = await workspacesFor(PARTS);
  dir = made.dir;
  keys = made.keys;
  s = await startTestServer(dir);
  await send('main', MAIN);
}, 120_000);

afterAll(async () => {
  await s?.close();
  if (dir) removeDir(dir);
});

describe('funnels', () => {
  it('count persons step by step, with rates, drop-off and times', async () => {
    const r = await funnel('main', FUNNEL);
    expect(counts(r)).toEqual([3, 2, 1]);
    expect(r.steps[1]).toMatchObject({ conversionRate: 2 / 3, stepConversionRate: 2 / 3, dropOff: 1 });
    // ann 30 min, bob 40 min to the demo: mean 35, median 35, p75 37.5 minutes.
    expect(r.steps[1].averageTimeToConvertS).toBe(2100);
    expect(r.steps[1].medianTimeToConvertS).toBe(2100);
    expect(r.steps[1].p75TimeToConvertS).toBe(2250);
    expect(r.steps[2].averageTimeToConvertS).toBe(2 * 86_400 - 1800);
    expect(r.timeToConvert.averageS).toBe(2 * 86_400);
    expect(r.timeToConvert.bins).toEqual([
      [2 * 86_400, 1],
      [2 * 86_400 + 60, 0],
    ]);
  });

  it('strict order: any other event breaks the chain', async () => {
    const r = await funnel('main', { ...FUNNEL, order: 'strict' });
    expect(counts(r)).toEqual([3, 1, 1]);
  });

  it('a window shorter than a conversion stops it', async () => {
    const r = await funnel('main', { ...FUNNEL, window: { value: 35, unit: 'minute' } });
    expect(counts(r)).toEqual([3, 1, 0]);
  });

  it('breaks down by an event property, first touch', async () => {
    const r = await funnel('main', { ...FUNNEL, breakdown: { field: 'properties.plan' } });
    expect(r.breakdown.map((b: Json) => [b.value, counts(b)])).toEqual([
      ['pro', [1, 1, 1]],
      ['free', [2, 1, 0]],
    ]);
  });

  it('steps may be lifecycle stages entered (the b2b-saas model: lead on sign-up, customer on a won deal)', async () => {
    const r = await funnel('main', { ...FUNNEL, steps: [{ stage: 'lead' }, { stage: 'customer' }] });
    expect(counts(r)).toEqual([3, 1]);
  });

  it('aggregates by account: one row per account', async () => {
    const r = await funnel('main', { ...FUNNEL, aggregateBy: 'account' });
    expect(counts(r)).toEqual([2, 1, 1]);
    const people = await adminApi(
      s.url,
      'POST',
      '/api/analytics/funnel/people',
      { ...FUNNEL, aggregateBy: 'account', step: 0, dropped: true },
      keys.get('main')?.admin,
    );
    expect(people.json.actors.map((a: Json) => a.id)).toEqual(['globex']);
  });

  it('lists the people at a step and those who dropped after it, a page at a time', async () => {
    const page = async (extra: Json) =>
      (
        await adminApi(
          s.url,
          'POST',
          '/api/analytics/funnel/people',
          { ...FUNNEL, ...extra },
          keys.get('main')?.admin,
        )
      ).json;
    const first = await page({ step: 0, limit: 2 });
    expect(first.total).toBe(3);
    const second = await page({ step: 0, limit: 2, cursor: first.nextCursor });
    expect(second.nextCursor).toBeNull();
    const users = (xs: Json[]) =>
      xs.map((a: Json) => a.identifiers.find((i: Json) => i.type === 'user_id').value);
    expect([...users(first.actors), ...users(second.actors)].sort()).toEqual(['ann', 'bob', 'dee']);
    expect(users((await page({ step: 1, dropped: true })).actors)).toEqual(['bob']);
    expect(first.actors[0].journey).toMatch(/^\/api\/persons\/p_.+\/journey$/);
  });

  it('throughline funnel: the same funnel as a table with bars, as JSON and as CSV (through the server)', async () => {
    await funnel('main', FUNNEL);
    const args = [
      'funnel',
      ...['--step', 'Signed Up', '--step', 'Demo Requested', '--step', 'Deal Closed Won'],
      ...['--from', FUNNEL.from, '--to', FUNNEL.to, '--window', '14d'],
      ...['--data', dir, '--url', s.url, '--admin-key', keys.get('main')?.admin ?? ''],
    ];
    const json = await cliAsync([...args, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(counts(JSON.parse(json.stdout))).toEqual([3, 2, 1]);
    const table = await cliAsync(args);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/1\. Signed Up\s+█{30}\s+3\s+100%/);
    expect(table.stdout).toMatch(/2\. Demo Requested\s+█{20}\s+2\s+67%\s+−1 \(33%\)\s+median 35m/);
    const csv = await cliAsync([...args, '--csv']);
    expect(csv.stdout.split('\n').slice(0, 3)).toEqual([
      'breakdown,step,name,count,conversion_rate,step_conversion_rate,drop_off,median_time_to_convert_s',
      '(all),0,Signed Up,3,1,1,0,',
      `(all),1,Demo Requested,2,${2 / 3},${2 / 3},1,2100`,
    ]);
    const bad = await cliAsync(['funnel', '--window', '3 fortnights', '--step', 'x', '--url', s.url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--window 3 fortnights');
  }, 90_000);

  it('refuses a bad query with 400, naming where', async () => {
    const cases: [Json, string, RegExp][] = [
      [{ steps: [] }, 'steps', /at least one step/],
      [{ steps: Array.from({ length: 21 }, () => ({ event: 'x' })) }, 'steps', /at most 20/],
      [
        { steps: [{ event: 'a' }, { event: 'b' }, { where: { field: 'nope', op: 'eq', value: 1 } }] },
        'steps[2].where.field',
        /unknown field/,
      ],
      [
        { steps: [{ event: 'a' }, { where: { field: 'event', op: 'regex', value: '(' } }] },
        'steps[1].where',
        /regex/i,
      ],
      [{ steps: [{}] }, 'steps[0]', /needs an event/],
      [{ steps: [{ stage: 'lead', event: 'x' }] }, 'steps[0]', /stage step/],
      [{ ...FUNNEL, order: 'sideways' }, 'order', /ordered/],
      [{ ...FUNNEL, window: { value: 0, unit: 'day' } }, 'window.value', /more than 0/],
      [{ ...FUNNEL, window: { value: 1, unit: 'fortnight' } }, 'window.unit', /second/],
      [
        { ...FUNNEL, exclusions: [{ event: 'x', fromStep: 2, toStep: 1 }] },
        'exclusions[0].fromStep',
        /before toStep/,
      ],
      [
        { ...FUNNEL, exclusions: [{ event: 'x', fromStep: 0, toStep: 9 }] },
        'exclusions[0].toStep',
        /last step is 2/,
      ],
      [
        { ...FUNNEL, order: 'unordered', exclusions: [{ event: 'x', fromStep: 0, toStep: 1 }] },
        'exclusions[0]',
        /whole funnel/,
      ],
      [{ ...FUNNEL, breakdown: { field: 'shoe size' } }, 'breakdown.field', /unknown field/],
      [{ ...FUNNEL, from: 'yesterday' }, 'from', /.+/],
      [{ ...FUNNEL, from: at(5), to: at(1) }, 'from', /before to/],
      [{ ...FUNNEL, timezone: 'Mars/Olympus' }, 'timezone', /unknown time zone/],
      [{ ...FUNNEL, aggregateBy: 'session', steps: [{ stage: 'lead' }] }, 'aggregateBy', /sessions/],
      [{ ...FUNNEL, extra: 1 }, '', /extra/],
    ];
    for (const [q, field, message] of cases) {
      const r = await bad(q);
      expect(r.status, JSON.stringify(q)).toBe(400);
      expect(r.json.error.code).toBe('invalid_query');
      expect(r.json.error.details?.field ?? '', JSON.stringify(r.json)).toBe(field);
      expect(r.json.error.message).toMatch(message);
    }
    const people = await bad({ ...FUNNEL, step: 7 }, '/api/analytics/funnel/people');
    expect(people.status).toBe(400);
    expect(people.json.error.details.field).toBe('step');
  });

  it('gives the same answer whatever order the events arrived in', async () => {
    const reversed = [...MAIN].reverse();
    await send('shuffled', reversed);
    const a = await funnel('main', FUNNEL);
    const b = await funnel('shuffled', FUNNEL);
    expect({ ...b, freshness: null }).toEqual({ ...a, freshness: null });
  });

  it('a merge moves both halves of a journey into one funnel row', async () => {
    // An anonymous visitor signs up on one device; the same person, known by user id, requests
    // a demo. Two persons: one at step 0, none further (the demo has no sign-up before it).
    await send('merge', [
      { type: 'track', anonymousId: 'phone-1', event: 'Signed Up', timestamp: at(1) },
      track('eve', 'Demo Requested', 1, 20),
    ]);
    expect(counts(await funnel('merge', FUNNEL))).toEqual([1, 0, 0]);
    // An identify call joins them: one person who converted in 20 minutes.
    await send('merge', [{ type: 'identify', userId: 'eve', anonymousId: 'phone-1', timestamp: at(1, 30) }]);
    const end = Date.now() + 30_000;
    let r = await funnel('merge', FUNNEL);
    while (counts(r)[1] !== 1 && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 200));
      r = await funnel('merge', FUNNEL);
    }
    expect(counts(r)).toEqual([1, 1, 0]);
    expect(r.steps[1].averageTimeToConvertS).toBe(1200);
  });
});
