import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, basic, type Json, post } from '../support/http.js';
import { workspacesFor } from '../support/peer-cases.js';
import { removeDir, startTestServer, type TestServer } from '../support/servers.js';

// Every KPI on a hand-checkable fixture sent through the Tracking API (the b2b-saas stage model,
// the default conversions). The range is days 0–30; the period before it, days −30–0.
//   ann  Paid Search visit day −5, Email visit day 2, Signed Up day 3, Onboarding Completed day 4,
//        account acme; Deal Closed Won day 10 (customer), Subscription Started day 11 (MRR 60);
//        NPS 10, CSAT 5 day 12
//   bob  Paid Search visit day 1, Signed Up day 2, account acme; NPS 5, CSAT 3 day 12
//   cy   a direct visit day −3 only (active before the range, not in it)
//   dee  Subscription Started day −20 (MRR 100), Subscription Cancelled day 5 (churned)
//   eve  Subscription Started day −10 (MRR 50), MRR Changed day 15 (80), NPS 9 day 12
//   fay  Paid Search visit day 6, Deal Closed Won day 8 (customer)
//   ad spend: 300 on Paid Search day 1 (Ad Spend Reported, as imported, on the ad-spend system
//   identity), 100 on Email day 2 (Ad Spend with an amount)

let s: TestServer;
let dir: string;
let keys: Map<string, { write: string; admin: string }>;

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 0, 5, 12);
const at = (day: number, minute = 0) => new Date(BASE + day * DAY + minute * 60_000).toISOString();
const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const track = (userId: string, event: string, day: number, properties: Json = {}) => ({
  type: 'track',
  userId,
  event,
  timestamp: at(day),
  properties,
});
const view = (userId: string, day: number, query = '') => ({
  type: 'page',
  userId,
  timestamp: at(day),
  context: { userAgent: UA, page: { url: `https://app.example/pricing${query}`, referrer: '' } },
});
const PAID = '?utm_source=google&utm_medium=cpc&utm_campaign=brand';
const EMAIL = '?utm_source=newsletter&utm_medium=email&utm_campaign=jan';

const FIXTURE = [
  view('ann', -5, PAID),
  { type: 'group', userId: 'ann', groupId: 'acme', timestamp: at(1) },
  view('ann', 2, EMAIL),
  track('ann', 'Signed Up', 3),
  track('ann', 'Onboarding Completed', 4),
  track('ann', 'Deal Closed Won', 10),
  track('ann', 'Subscription Started', 11, { mrr: 60 }),
  track('ann', 'Survey Responded', 12, { survey: 'NPS', score: 10 }),
  track('ann', 'Survey Responded', 12.5, { survey: 'CSAT', score: 5 }),
  view('bob', 1, PAID),
  { type: 'group', userId: 'bob', groupId: 'acme', timestamp: at(1.5) },
  track('bob', 'Signed Up', 2),
  track('bob', 'Survey Responded', 12, { survey: 'NPS', score: 5 }),
  track('bob', 'Survey Responded', 12.5, { survey: 'CSAT', score: 3 }),
  view('cy', -3),
  track('dee', 'Subscription Started', -20, { mrr: 100 }),
  track('dee', 'Subscription Cancelled', 5),
  track('eve', 'Subscription Started', -10, { mrr: 50 }),
  track('eve', 'MRR Changed', 15, { mrr: 80, previous_mrr: 50 }),
  track('eve', 'Survey Responded', 12, { survey: 'NPS', score: 9 }),
  view('fay', 6, PAID),
  track('fay', 'Deal Closed Won', 8),
  {
    type: 'track',
    anonymousId: 'ads:system:ad-spend',
    event: 'Ad Spend Reported',
    timestamp: at(1),
    properties: {
      date: at(1).slice(0, 10),
      channel: 'Paid Search',
      source: 'google',
      campaign: 'brand',
      cost: 300,
    },
  },
  // The plain convention: `Ad Spend` with an amount.
  {
    type: 'track',
    anonymousId: 'ads:system:ad-spend',
    event: 'Ad Spend',
    timestamp: at(2),
    properties: { date: at(2).slice(0, 10), channel: 'Email', amount: 100 },
  },
];

const RANGE = `from=${at(0)}&to=${at(30)}`;

/** The KPIs once the journey tables hold everything sent. */
async function kpis(path: string): Promise<Json> {
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await adminApi(s.url, 'GET', path, undefined, keys.get('main')?.admin);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    if (r.json.freshness.current) return r.json;
    if (Date.now() > end) throw new Error('the journey tables never became current');
    await new Promise((res) => setTimeout(res, 200));
  }
}
const bad = (path: string) => adminApi(s.url, 'GET', path, undefined, keys.get('main')?.admin);

beforeAll(async () => {
  const made = await workspacesFor(['main', 'empty']);
  dir = made.dir;
  keys = made.keys;
  s = await startTestServer(dir);
  const batch = FIXTURE.map((m, i) => ({ messageId: `kpi-${i}`, ...m }));
  const r = await post(s.url, '/v1/batch', { batch }, { authorization: basic(keys.get('main')?.write) });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
}, 120_000);

afterAll(async () => {
  await s?.close();
  if (dir) removeDir(dir);
});

describe('KPIs on a hand-checkable fixture', () => {
  let all: Json;
  const kpi = (metric: string) => all.kpis.find((k: Json) => k.metric === metric);
  beforeAll(async () => {
    all = await kpis(`/api/kpis?${RANGE}`);
  }, 90_000);

  it('returns every metric with its range, unit, formula and freshness', () => {
    expect(all.from).toBe(at(0));
    expect(all.to).toBe(at(30));
    expect(all.kpis.map((k: Json) => k.metric)).toHaveLength(14);
    for (const k of all.kpis) {
      expect(k).toMatchObject({ from: at(0), to: at(30) });
      expect(typeof k.formula).toBe('string');
      expect(typeof k.unit).toBe('string');
      expect(k.freshness.current).toBe(true);
    }
  });

  it('conversion rate: ann, bob, fay converted of the 5 active (ad spend is not a person)', () => {
    expect(kpi('conversion-rate')).toMatchObject({
      value: 60,
      unit: 'percent',
      inputs: { converting: 3, active: 5 },
    });
    const trend = kpi('conversion-rate').trend;
    expect(trend).toHaveLength(31); // daily buckets from midnight of day 0 to midnight of day 30
    expect(trend[2]).toMatchObject({
      at: new Date(Date.UTC(2026, 0, 7)).toISOString(),
      active: 2,
      converting: 1,
    });
  });

  it('time to conversion: ann 15 days (awareness day −5 → customer day 10), fay 2 days: median 8.5', () => {
    expect(kpi('time-to-conversion')).toMatchObject({
      value: 8.5,
      unit: 'days',
      inputs: { converted: 2, meanDays: 8.5 },
    });
  });

  it('touchpoints per closed deal: acme won on day 10 after ann’s two visits and bob’s one', () => {
    expect(kpi('touchpoints-per-deal')).toMatchObject({ value: 3, inputs: { deals: 1, touches: 3 } });
  });

  it('assisted conversions: Paid Search assists ann’s three conversions whose last touch is Email', () => {
    const k = kpi('assisted-conversions');
    expect(k).toMatchObject({ value: 3, inputs: { conversions: 5, withTouch: 5, assisted: 3 } });
    expect(k.breakdown).toEqual([
      { channel: 'Paid Search', lastTouch: 2, assisted: 3 },
      { channel: 'Email', lastTouch: 3, assisted: 0 },
    ]);
  });

  it('drop-off: of bob and fay (awareness in range) only fay became a customer', () => {
    const k = kpi('stage-drop-off');
    expect(k).toMatchObject({
      value: 50,
      inputs: { firstStage: 'awareness', enteredFirst: 2, reachedConversion: 1 },
    });
    expect(k.breakdown[0]).toMatchObject({ stage: 'awareness', entered: 2, advanced: 2, dropOff: 0 });
  });

  it('activation: ann onboarded a day after signing up, bob did not', () => {
    expect(kpi('activation-rate')).toMatchObject({ value: 50, inputs: { signups: 2, activated: 1 } });
  });

  it('retention: ann, dee, eve of the four active before (cy left)', () => {
    expect(kpi('retention')).toMatchObject({ value: 75, inputs: { activePrevious: 4, retained: 3 } });
  });

  it('churn: dee of the two customers at the start', () => {
    expect(kpi('churn-rate')).toMatchObject({
      value: 50,
      inputs: { customersAtStart: 2, churnedFromStart: 1, churnedInRange: 1 },
    });
  });

  it('NRR: dee 100 → 0, eve 50 → 80: 80 / 150', () => {
    expect(kpi('nrr').value).toBeCloseTo((100 * 80) / 150, 10);
    expect(kpi('nrr').inputs).toEqual({
      customers: 2,
      startMrr: 150,
      endMrr: 80,
      expansion: 30,
      contraction: 0,
      churnedMrr: 100,
    });
  });

  it('CAC: 400 of spend (Ad Spend Reported and Ad Spend) over ann and fay; payback over ann’s MRR of 60', () => {
    expect(kpi('cac')).toMatchObject({
      value: 200,
      unit: 'currency',
      inputs: { spend: 400, newCustomers: 2 },
    });
    expect(kpi('cac').breakdown).toEqual([
      { channel: 'Paid Search', spend: 300 },
      { channel: 'Email', spend: 100 },
    ]);
    expect(kpi('cac-payback').value).toBeCloseTo(200 / 60, 10);
    expect(kpi('cac-payback')).toMatchObject({ unit: 'months', inputs: { cac: 200, averageNewMrr: 60 } });
  });

  it('NPS: two promoters and one detractor of three; CSAT: one of two satisfied', () => {
    expect(kpi('nps').value).toBeCloseTo(100 / 3, 10);
    expect(kpi('nps').inputs).toEqual({ responses: 3, promoters: 2, passives: 0, detractors: 1 });
    expect(kpi('csat')).toMatchObject({ value: 50, inputs: { responses: 2, satisfied: 1, averageScore: 4 } });
  });

  it('LTV: ARPA 70 (eve 80, ann 60) over a monthly churn of 50%', () => {
    expect(kpi('ltv')).toMatchObject({
      value: 140,
      inputs: { method: 'arpa_over_churn', arpa: 70, monthlyChurnRate: 0.5, payingCustomers: 2 },
    });
  });

  it('one metric alone, with a query parameter', async () => {
    const one = await kpis(`/api/kpis/cac-payback?${RANGE}&grossMargin=0.5`);
    expect(one).toMatchObject({ metric: 'cac-payback', from: at(0), to: at(30) });
    expect(one.value).toBeCloseTo(400 / 60, 10);
    const act = await kpis(
      `/api/kpis/activation-rate?${RANGE}&activationEvents=Signed%20Up,Deal%20Closed%20Won&activationDays=7`,
    );
    expect(act).toMatchObject({ value: 100, inputs: { signups: 2, activated: 2 } });
  });
});

describe('throughline kpis', () => {
  const flags = () => ['--data', dir, '--url', s.url, '--admin-key', keys.get('main')?.admin ?? ''];

  it('through the running server: a table with units, --json, --csv, one --metric', async () => {
    await kpis(`/api/kpis?${RANGE}`);
    const range = ['--from', at(0), '--to', at(30)];
    const table = await cliAsync(['kpis', ...range, ...flags()]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/Conversion rate\s+60\.0 %\s+█{12}░{8}/);
    expect(table.stdout).toMatch(/Touchpoints per closed deal\s+3\.0 touchpoints/);
    expect(table.stdout).toMatch(/CAC payback\s+3\.3 months/);
    const json = await cliAsync(['kpis', ...range, ...flags(), '--json']);
    expect(JSON.parse(json.stdout).kpis.find((k: Json) => k.metric === 'nrr').inputs.startMrr).toBe(150);
    const one = await cliAsync(['kpis', ...range, ...flags(), '--metric', 'csat', '--json']);
    expect(JSON.parse(one.stdout)).toMatchObject({ metric: 'csat', value: 50 });
    const csv = await cliAsync(['kpis', ...range, ...flags(), '--csv', '--gross-margin', '0.5']);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('metric,label,value,unit,missing,formula,inputs');
    expect(lines).toHaveLength(15);
    expect(lines.find((l) => l.startsWith('cac-payback,'))).toMatch(
      /^cac-payback,CAC payback,6\.666666666666\d*,months,,/,
    );
  });

  it('a bad flag is named', async () => {
    const r = await cliAsync(['kpis', '--activation-days', 'x', ...flags()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/activationDays/);
  });
});

describe('missing inputs and bad queries', () => {
  it('an empty workspace: every KPI null with the reason', async () => {
    const r = await adminApi(s.url, 'GET', `/api/kpis?${RANGE}`, undefined, keys.get('empty')?.admin);
    expect(r.status).toBe(200);
    for (const k of r.json.kpis) {
      expect(k.value, k.metric).toBeNull();
      expect(k.missing, k.metric).toMatch(/\w/);
    }
    expect(r.json.kpis.find((k: Json) => k.metric === 'cac').missing).toMatch(/ad spend/);
  });

  it.each([
    ['/api/kpis?from=yesterday', 'from'],
    [`/api/kpis?from=${at(5)}&to=${at(1)}`, 'from'],
    ['/api/kpis?to=2026-13-45', 'to'],
    ['/api/kpis?activationDays=0', 'activationDays'],
    ['/api/kpis?grossMargin=2', 'grossMargin'],
    ['/api/kpis?bucket=year', 'bucket'],
    ['/api/kpis?timezone=Mars/Base', 'timezone'],
    ['/api/kpis?colour=red', ''],
    ['/api/kpis/happiness', 'metric'],
    ['/api/kpis/nps?signupEvents=', 'signupEvents'],
  ])('%s → 400 naming %s', async (path, field) => {
    const r = await bad(path);
    expect(r.status, JSON.stringify(r.json)).toBe(400);
    expect(r.json.error.code).toBe('invalid_query');
    if (field) expect(r.json.error.details.field).toBe(field);
    else expect(r.json.error.message).toMatch(/colour/);
  });
});
