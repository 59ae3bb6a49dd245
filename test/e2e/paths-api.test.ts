import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, type Json, post } from '../support/http.js';
import { ADMIN_KEY, removeDir, startTestServer, type TestServer } from '../support/servers.js';

// The journey map API on a hand-checkable fixture: six persons' clicks through one session each.
//   p1, p2: Visit → Pricing → Signup      p3: Visit → Pricing      p4: Visit → Docs
//   p5: Visit                             p6: Pricing → Signup (never visited)
// From the Visit anchor the map reads Visit 5 → Pricing 3 → Signup 2, which is exactly the strict
// funnel over the same steps (strict: the next step right after, as a path's next node is).
let s: TestServer;
const T = Date.UTC(2026, 2, 2, 10);
const JOURNEYS: Record<string, string[]> = {
  p1: ['Visit', 'Pricing', 'Signup'],
  p2: ['Visit', 'Pricing', 'Signup'],
  p3: ['Visit', 'Pricing'],
  p4: ['Visit', 'Docs'],
  p5: ['Visit'],
  p6: ['Pricing', 'Signup'],
};
const RANGE = { from: '2026-03-01T00:00:00Z', to: '2026-03-05T00:00:00Z' };
const api = (path: string, body: unknown) => adminApi(s.url, 'POST', path, body);

async function eventually(what: string, check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}: ${(e as Error).message}`, { cause: e });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const userIdsOf = (actors: Json[]) =>
  actors.map((a) => a.identifiers.find((i: Json) => i.type === 'user_id').value).sort();

beforeAll(async () => {
  s = await startTestServer();
  const batch = Object.entries(JOURNEYS).flatMap(([userId, events], p) =>
    events.map((event, i) => ({
      type: 'track',
      userId,
      event,
      timestamp: new Date(T + p * 3_600_000 + i * 60_000).toISOString(),
      messageId: `${userId}-${i}`,
    })),
  );
  // p1 and p2 work at acme: its account journey holds both persons' clicks.
  const groups = ['p1', 'p2'].map((userId, i) => ({
    type: 'group',
    userId,
    groupId: 'acme',
    timestamp: new Date(T - 60_000).toISOString(),
    messageId: `group-${i}`,
  }));
  const res = await post(s.url, '/v1/batch', { batch: [...groups, ...batch] });
  expect(res.status).toBe(200);
  await eventually('the events to be in the journey tables', async () => {
    const r = await api('/api/analytics/paths', RANGE);
    expect(r.json.total).toBe(6);
  });
}, 60_000);

afterAll(async () => {
  await s?.close();
  removeDir(s.dataDir);
});

describe('POST /api/analytics/paths', () => {
  it('counts unique persons per edge, with drop-offs, and names the freshness of the tables', async () => {
    const r = await api('/api/analytics/paths', RANGE);
    expect(r.status).toBe(200);
    expect(r.json.edges.map((e: Json) => [e.source, e.target, e.value])).toEqual([
      ['1_Visit', '2_Pricing', 3],
      ['2_Pricing', '3_Signup', 2],
      ['1_Pricing', '2_Signup', 1],
      ['1_Visit', '2_Docs', 1],
    ]);
    expect(r.json.edges[0].averageConversionTimeMs).toBe(60_000);
    expect(r.json.nodes.find((n: Json) => n.key === '1_Visit')).toEqual({
      key: '1_Visit',
      position: 1,
      item: 'Visit',
      kind: 'item',
      count: 5,
      dropOff: 1,
    });
    expect(r.json.dropOffs).toContainEqual({
      source: '2_Pricing',
      target: '3_(drop-off)',
      value: 1,
      averageConversionTimeMs: null,
    });
    expect(r.json.freshness).toMatchObject({ current: true });
    expect(r.json.query).toMatchObject({
      item: 'event',
      count: 'persons',
      stepLimit: 5,
      from: RANGE.from.replace('Z', '.000Z'),
    });
  });

  it('reconciles with the funnel over the same steps: counts and people', async () => {
    const steps = ['Visit', 'Pricing', 'Signup'];
    const map = (await api('/api/analytics/paths', { ...RANGE, startPoint: 'Visit' })).json;
    const funnel = await api('/api/analytics/funnel', {
      ...RANGE,
      steps: steps.map((event) => ({ event })),
      order: 'strict',
    });
    expect(funnel.status, JSON.stringify(funnel.json)).toBe(200);
    const counts = funnel.json.steps.map((x: Json) => x.count);
    expect(counts).toEqual([5, 3, 2]);
    // Along the path: the first node, then the edge into each next step.
    const node = (k: string) => map.nodes.find((n: Json) => n.key === k).count;
    const edge = (a: string, b: string) =>
      map.edges.find((e: Json) => e.source === a && e.target === b).value;
    expect([node('1_Visit'), edge('1_Visit', '2_Pricing'), edge('2_Pricing', '3_Signup')]).toEqual(counts);
    // The people reaching the last step are the people on the last edge.
    const funnelPeople = await api('/api/analytics/funnel/people', {
      ...RANGE,
      steps: steps.map((event) => ({ event })),
      order: 'strict',
      step: 2,
    });
    expect(funnelPeople.status, JSON.stringify(funnelPeople.json)).toBe(200);
    const pathPeople = await api('/api/analytics/paths/people', {
      ...RANGE,
      startPoint: 'Visit',
      edge: { source: '2_Pricing', target: '3_Signup' },
    });
    expect(userIdsOf(pathPeople.json.actors)).toEqual(['p1', 'p2']);
    expect(userIdsOf(funnelPeople.json.actors)).toEqual(['p1', 'p2']);
  });

  it('lists the people behind a node, an edge and a drop-off, page by page', async () => {
    const people = async (body: Json) => {
      const r = await api('/api/analytics/paths/people', { ...RANGE, ...body });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      return r.json;
    };
    const first = await people({ node: '1_Visit', limit: 2 });
    expect(first.total).toBe(5);
    expect(first.actors).toHaveLength(2);
    expect(first.actors[0]).toMatchObject({
      kind: 'person',
      journey: expect.stringMatching(/^\/api\/persons\/p_/),
    });
    const all = [...first.actors];
    for (let cursor = first.nextCursor; cursor; ) {
      const page = await people({ node: '1_Visit', limit: 2, cursor });
      all.push(...page.actors);
      cursor = page.nextCursor;
    }
    expect(userIdsOf(all)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    expect(userIdsOf((await people({ dropOff: '1_Visit' })).actors)).toEqual(['p5']);
    expect(userIdsOf((await people({ dropOff: '2_Pricing' })).actors)).toEqual(['p3']);
    expect(userIdsOf((await people({ edge: { source: '1_Visit', target: '2_Docs' } })).actors)).toEqual([
      'p4',
    ]);
  });

  it('maps accounts (their members’ clicks, split where idle) and bot-inclusive reads', async () => {
    // acme: p1's session at 10:00 (Visit → Pricing → Signup), p2's an hour later: two paths.
    await eventually('the account journeys', async () => {
      const accounts = await api('/api/analytics/paths', {
        ...RANGE,
        aggregateBy: 'account',
        count: 'paths',
      });
      expect(accounts.status).toBe(200);
      expect(accounts.json.edges.map((e: Json) => [e.source, e.target, e.value])).toEqual([
        ['1_Visit', '2_Pricing', 2],
        ['2_Pricing', '3_Signup', 2],
      ]);
    });
    const once = await api('/api/analytics/paths', { ...RANGE, aggregateBy: 'account' });
    expect(once.json.total).toBe(1);
    const who = await api('/api/analytics/paths/people', {
      ...RANGE,
      aggregateBy: 'account',
      node: '1_Visit',
    });
    expect(who.json.actors).toEqual([{ id: 'acme', kind: 'account', journey: '/api/accounts/acme/journey' }]);
    // No bots here: reading every identifier's events gives the same map.
    const all = await api('/api/analytics/paths', { ...RANGE, includeBots: true });
    const plain = await api('/api/analytics/paths', RANGE);
    expect(all.json.edges).toEqual(plain.json.edges);
    expect(all.json.nodes).toEqual(plain.json.nodes);
  });

  it('answers a bad query with 400 naming the path', async () => {
    const cases: [Json, string, RegExp][] = [
      [{ item: 'url' }, 'item', /one of event, page, stage, channel/],
      [{ stepLimit: 1 }, 'stepLimit', /at least 2/],
      [{ stepLimit: 2.5 }, 'stepLimit', /whole number/],
      [{ from: 'yesterday' }, 'from', /ISO-8601/],
      [{ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'from', /before to/],
      [{ pathGroupings: ['/a/*', ''] }, 'pathGroupings[1]', /not empty/],
      [{ colour: 'red' }, 'colour', /unknown field/],
      [{ excludePersons: { field: 'event', op: 'eq', value: 'x' } }, 'excludePersons.field', /traits/],
      [
        { excludePersons: { all: [{ field: 'traits.email', op: 'regex', value: '(' }] } },
        'excludePersons.all[0]',
        /./,
      ],
      [
        { excludePersons: { field: 'traits.email', op: 'equals', value: 'x' } },
        'excludePersons.op',
        /unknown op/,
      ],
    ];
    for (const [body, field, message] of cases) {
      const r = await api('/api/analytics/paths', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe('invalid_query');
      expect(r.json.error.details.field, JSON.stringify(r.json)).toBe(field);
      expect(r.json.error.message).toMatch(message);
    }
    const people: [Json, string][] = [
      [{}, 'node'],
      [{ node: '1_Visit', dropOff: '1_Visit' }, 'node'],
      [{ node: 'Visit' }, 'node'],
      [{ edge: { source: '1_Visit', target: '3_Signup' } }, 'edge.target'],
      [{ node: '1_Visit', cursor: 'abc' }, 'cursor'],
      [{ node: '1_Visit', limit: 0 }, 'limit'],
      [{ node: '1_Visit', stepLimit: 'five' }, 'stepLimit'],
    ];
    for (const [body, field] of people) {
      const r = await api('/api/analytics/paths/people', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.details.field, JSON.stringify(r.json)).toBe(field);
    }
    const notJson = await fetch(`${s.url}/api/analytics/paths`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: '[1, 2]',
    });
    expect(notJson.status).toBe(400);
  });
});
