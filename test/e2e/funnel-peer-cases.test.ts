import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, type Json } from '../support/http.js';
import { type PeerCase, peerActor, peerCases, sendPeerCase, workspacesFor } from '../support/peer-cases.js';
import { removeDir, startTestServer, type TestServer, untilLoaded } from '../support/servers.js';

// Every funnel case of ../shared/reference/peer-cases.json (PostHog's funnel tests), through the
// HTTP API: the case's events go in through the Tracking API (test/support/peer-cases.ts says how
// they are translated), each case in a workspace of its own, and the funnel's counts, times,
// breakdown rows and people must be what the peer asserts.

const CASES = peerCases('funnel');
let s: TestServer;
let keys: Map<string, { write: string; admin: string }>;
let dir: string;

beforeAll(async () => {
  const made = await workspacesFor(CASES.map((c) => c.name));
  dir = made.dir;
  keys = made.keys;
  s = await startTestServer(dir);
  for (const c of CASES) await sendPeerCase(s.url, c, keys.get(c.name)?.write);
  // Acknowledged is durable, not yet loaded: the funnels read what the loader has stored.
  await untilLoaded(s.url);
}, 120_000);

afterAll(async () => {
  await s?.close();
  if (dir) removeDir(dir);
});

// biome-ignore lint/suspicious/noExplicitAny: peer params are loosely typed JSON.
type Params = any;

const stepOf = (s: Params) => {
  const m = s.matches ?? s;
  const where: Json[] = [];
  const name = s.action ?? s.event;
  let event: string | undefined = m.event;
  if (event === '$pageview') {
    where.push({ field: 'type', op: 'eq', value: 'page' });
    event = undefined;
  }
  for (const k of ['tag_name', 'text', 'href'])
    if (m[k] !== undefined) where.push({ field: `properties.${k}`, op: 'eq', value: m[k] });
  for (const [k, v] of Object.entries(m.properties ?? s.properties ?? {}))
    where.push(
      Array.isArray(v)
        ? { field: `properties.${k}`, op: 'in', value: v }
        : { field: `properties.${k}`, op: 'eq', value: v },
    );
  return {
    name,
    ...(event !== undefined ? { event } : {}),
    ...(where.length ? { where: where.length === 1 ? where[0] : { all: where } } : {}),
  };
};

/** The funnel query a case's params describe. */
function queryOf(c: PeerCase, p: Params): Json {
  const times = c.events.map((e) => Date.parse(e.timestamp));
  const [from, to] = p.date_range ?? [
    new Date(Math.min(...times) - 86_400_000).toISOString(),
    new Date(Math.max(...times) + 86_400_000).toISOString(),
  ];
  return {
    steps: p.steps.map(stepOf),
    order: p.order,
    ...(p.conversion_window
      ? { window: { value: p.conversion_window.value, unit: p.conversion_window.unit } }
      : {}),
    from,
    to,
    ...(p.team_timezone ? { timezone: p.team_timezone } : {}),
    ...(p.exclusions
      ? {
          exclusions: p.exclusions.map((x: Params) => {
            const st = stepOf(x);
            return {
              ...(st.event ? { event: st.event } : {}),
              ...(st.where ? { where: st.where } : {}),
              fromStep: x.from_step,
              toStep: x.to_step,
            };
          }),
        }
      : {}),
    ...(p.breakdown
      ? {
          breakdown: {
            field: `properties.${p.breakdown.property}`,
            ...(p.breakdown.attribution
              ? { attribution: p.breakdown.attribution, step: p.breakdown.attribution_value }
              : {}),
          },
        }
      : {}),
  };
}

/** The funnel of a case, once the tables include its events. */
async function funnel(c: PeerCase, q: Json): Promise<Json> {
  const admin = keys.get(c.name)?.admin;
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await adminApi(s.url, 'POST', '/api/analytics/funnel', q, admin);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    if (r.json.freshness.current) return r.json;
    if (Date.now() > end) throw new Error(`the journey tables of ${c.name} never became current`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** The peer's names of the actors at a step (0-based), or who dropped after it. */
async function actorsAt(c: PeerCase, q: Json, step: number, extra: Json = {}): Promise<string[]> {
  const r = await adminApi(
    s.url,
    'POST',
    '/api/analytics/funnel/people',
    { ...q, step, ...extra },
    keys.get(c.name)?.admin,
  );
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.actors.map((a: Json) => peerActor(c, a.identifiers)).sort();
}

const counts = (r: Json) => r.steps.map((x: Json) => x.count);

/** The steps the peer reports: none when nobody entered (the UDF returns [] then). */
const reported = (r: Json) => (r.steps[0].count === 0 ? [] : counts(r));

describe('funnels: the peer cases through the API', () => {
  for (const c of CASES) {
    const variants: Params[] = c.params.variants ?? [{}];
    variants.forEach((v, i) => {
      it(`${c.name}${variants.length > 1 ? ` (variant ${i})` : ''}`, async () => {
        const p = { ...c.params, ...v };
        const q = queryOf(c, p);
        const r = await funnel(c, q);
        const e = c.params.variants && c.expected.variants ? c.expected.variants[i] : c.expected;
        if (e.step_counts) expect(reported(r)).toEqual(e.step_counts);
        if (e.step_names) expect(r.steps.map((x: Json) => x.name)).toEqual(e.step_names);
        if (e.step1_count !== undefined) expect(r.steps[0].count).toBe(e.step1_count);
        if (e.step2_count !== undefined) expect(r.steps[1].count).toBe(e.step2_count);
        if (e.num_steps_returned !== undefined) expect(r.steps).toHaveLength(e.num_steps_returned);
        if (e.last_step_count !== undefined) expect(r.steps.at(-1).count).toBe(e.last_step_count);
        if (e.average_conversion_time_s_step2 !== undefined)
          expect(r.steps[1].averageTimeToConvertS).toBe(e.average_conversion_time_s_step2);
        if (e.median_conversion_time_s_step2 !== undefined)
          expect(r.steps[1].medianTimeToConvertS).toBe(e.median_conversion_time_s_step2);
        if (Array.isArray(e.average_conversion_time_s))
          expect(r.steps.map((x: Json) => x.averageTimeToConvertS)).toEqual(e.average_conversion_time_s);
        else if (e.average_conversion_time_s !== undefined) {
          expect(r.steps[1].averageTimeToConvertS).toBe(e.average_conversion_time_s);
          expect(r.steps[1].medianTimeToConvertS).toBe(e.median_conversion_time_s);
          // Two steps: the time to convert is step 1's; the histogram holds that one conversion.
          expect(r.timeToConvert.averageS).toBe(e.average_conversion_time_s);
        }
        for (const [step, who] of Object.entries(e.actors_at_step ?? {}))
          expect(await actorsAt(c, q, Number(step) - 1), `actors at step ${step}`).toEqual(
            [...(who as string[])].sort(),
          );
        if (e.num_breakdown_values !== undefined) expect(r.breakdown).toHaveLength(e.num_breakdown_values);
        if (e.result_order) expect(r.breakdown.map((b: Json) => b.value)).toEqual(e.result_order);
        for (const [value, b] of Object.entries(e.by_breakdown ?? {}) as [string, Json][]) {
          const row = r.breakdown.find((x: Json) => x.value === value);
          expect(row, `breakdown row ${JSON.stringify(value)}`).toBeDefined();
          expect(counts(row)).toEqual(b.step_counts);
          if (b.avg_conversion_time_s)
            expect(row.steps.map((x: Json) => x.averageTimeToConvertS)).toEqual(b.avg_conversion_time_s);
          if (b.median_conversion_time_s)
            expect(row.steps.map((x: Json) => x.medianTimeToConvertS)).toEqual(b.median_conversion_time_s);
          if (b.actors_step1)
            expect(await actorsAt(c, q, 0, { breakdownValue: value })).toEqual([...b.actors_step1].sort());
          if (b.actors_step2)
            expect(await actorsAt(c, q, 1, { breakdownValue: value })).toEqual([...b.actors_step2].sort());
        }
      }, 90_000);
    });
  }
});
