import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, type Json } from '../support/http.js';
import { type PeerCase, peerCases, sendPeerCase, workspacesFor } from '../support/peer-cases.js';
import { removeDir, startTestServer, type TestServer } from '../support/servers.js';

// Every retention case of ../shared/reference/peer-cases.json (PostHog's retention tests), through
// the HTTP API: each case's events go in through the Tracking API into a workspace of its own, and
// the cohort table must be what the peer asserts. `$pageview` is a page call here, so a target or
// returning `$pageview` is the condition `type = page`.

const CASES = peerCases('retention');
let s: TestServer;
let keys: Map<string, { write: string; admin: string }>;
let dir: string;

beforeAll(async () => {
  const made = await workspacesFor(CASES.map((c) => c.name));
  dir = made.dir;
  keys = made.keys;
  s = await startTestServer(dir);
  for (const c of CASES) await sendPeerCase(s.url, c, keys.get(c.name)?.write);
}, 120_000);

afterAll(async () => {
  await s?.close();
  if (dir) removeDir(dir);
});

// biome-ignore lint/suspicious/noExplicitAny: peer params are loosely typed JSON.
type Params = any;

/** A peer entity (`"$pageview"` or `{ event, properties }`) as an event matcher. */
function matcherOf(entity: Params): Json {
  const e = typeof entity === 'string' ? { event: entity } : entity;
  const where: Json[] = [];
  let event: string | undefined = e.event;
  if (event === '$pageview') {
    where.push({ field: 'type', op: 'eq', value: 'page' });
    event = undefined;
  }
  for (const [k, v] of Object.entries(e.properties ?? {}))
    where.push({ field: `properties.${k}`, op: 'eq', value: v });
  return {
    ...(event !== undefined ? { event } : {}),
    ...(where.length ? { where: where.length === 1 ? where[0] : { all: where } } : {}),
  };
}

function retentionQueryOf(c: PeerCase): Json {
  const p: Params = c.params;
  return {
    period: String(p.period).toLowerCase(),
    intervals: p.totalIntervals,
    retentionType: String(p.retentionType).startsWith('retention_first_time') ? 'first_time' : 'recurring',
    targetEvent: matcherOf(p.target_event),
    returningEvent: matcherOf(p.returning_event),
    to: p.date_to,
  };
}

/** The retention of a case, once the journey tables include its events. */
async function retention(c: PeerCase, body: Json): Promise<{ status: number; json: Json }> {
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await adminApi(s.url, 'POST', '/api/analytics/retention', body, keys.get(c.name)?.admin);
    if (r.status !== 200 || r.json.freshness.current) return r;
    if (Date.now() > end) throw new Error(`the journey tables of ${c.name} never became current`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('retention: the peer cases through the API', () => {
  it('has retention cases to run', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(2);
  });

  for (const c of CASES)
    it(`${c.name}: the cohort table is the peer's`, async () => {
      // Polled until the table is the peer's (or 30 s): "current" tables can still miss events
      // whose facts the loader holds back a moment.
      const end = Date.now() + 30_000;
      let res = await retention(c, retentionQueryOf(c));
      while (
        res.status === 200 &&
        JSON.stringify(res.json.rows.map((r: Json) => r.values)) !== JSON.stringify(c.expected.values) &&
        Date.now() < end
      ) {
        await new Promise((r) => setTimeout(r, 200));
        res = await retention(c, retentionQueryOf(c));
      }
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.rows.map((r: Json) => r.values)).toEqual(c.expected.values);
      if (c.expected.labels) expect(res.json.labels).toEqual(c.expected.labels);
      if (c.expected.first_cohort_date)
        expect(res.json.rows[0].date).toBe(new Date(c.expected.first_cohort_date).toISOString());
      for (const r of res.json.rows)
        expect(r.percentages).toEqual(r.values.map((v: number) => (r.values[0] ? v / r.values[0] : null)));
    });
});
