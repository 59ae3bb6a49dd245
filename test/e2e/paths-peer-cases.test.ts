import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, type Json } from '../support/http.js';
import {
  type PeerCase,
  peerActor,
  peerCase,
  peerCases,
  sendPeerCase,
  workspacesFor,
} from '../support/peer-cases.js';
import { removeDir, startTestServer, type TestServer } from '../support/servers.js';

// Every `path` case of the shared reference (PostHog's paths tests) through POST
// /api/analytics/paths, one workspace per case. Translation of the peer's parameters:
// - date ranges → from/to (PostHog's "last 7 days" of a frozen clock → from the start of the
//   day 7 days before it);
// - no includeEventTypes → item "event" (page views → path, other events → name);
//   includeEventTypes ["$pageview"] → item "page";
// - startPoint/endPoint, stepLimit, pathGroupings as they are; excludeEvents → excludeItems;
// - PostHog counts session-paths: count "paths" gives its numbers exactly (where each person has
//   one path, "persons" — our default — gives the same, checked too);
// - PostHog's test-account filter (persons with an @posthog.com email) → excludePersons on traits.
const CASES = peerCases('path');
let s: TestServer;
let dir: string;
let keys: Map<string, { write: string; admin: string }>;

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

const adminOf = (c: PeerCase) => keys.get(c.name)!.admin;
const paths = (c: PeerCase, query: Json) =>
  adminApi(s.url, 'POST', '/api/analytics/paths', query, adminOf(c));
const edgesOf = (r: { status: number; json: Json }) => {
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.edges.map((e: Json) => ({ source: e.source, target: e.target, value: e.value }));
};
const timed = (r: { json: Json }) =>
  r.json.edges.map((e: Json) => ({
    source: e.source,
    target: e.target,
    value: e.value,
    average_conversion_time_ms: e.averageConversionTimeMs,
  }));

/** The peer's names of the persons on an edge. */
async function peopleOn(c: PeerCase, query: Json, source: string, target: string): Promise<string[]> {
  const r = await adminApi(
    s.url,
    'POST',
    '/api/analytics/paths/people',
    { ...query, edge: { source, target } },
    adminOf(c),
  );
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  expect(r.json.total).toBe(r.json.actors.length);
  return r.json.actors.map((p: Json) => peerActor(c, p.identifiers)).sort();
}

beforeAll(async () => {
  ({ dir, keys } = await workspacesFor(CASES.map((c) => c.name)));
  s = await startTestServer(dir);
  for (const c of CASES) await sendPeerCase(s.url, c, keys.get(c.name)!.write);
}, 120_000);

afterAll(async () => {
  await s?.close();
  removeDir(dir);
});

describe('journey maps match the peer (PostHog) cases', () => {
  it('has the four path cases', () => {
    expect(CASES.map((c) => c.name).sort()).toEqual([
      'paths_current_url_basic',
      'paths_exclude_grouped_items',
      'paths_session_split_and_trailing_slash',
      'paths_start_and_end_point_with_long_path_collapse',
    ]);
  });

  it('paths_current_url_basic: edges in order, test accounts left out, a later range is empty', async () => {
    const c = peerCase('paths_current_url_basic');
    // "Last 7 days" from 2012-01-15T03:21:34Z: the fake person's events (1 January) are outside.
    const range = { from: '2012-01-08T00:00:00Z', to: '2012-01-15T03:21:34Z' };
    await eventually('the case to be loaded', async () => {
      expect(edgesOf(await paths(c, { ...range, count: 'paths' }))).toEqual(c.expected.edges_in_order);
    });
    expect(edgesOf(await paths(c, range))).toEqual(c.expected.edges_in_order);
    const noTest = await paths(c, {
      ...range,
      excludePersons: { field: 'traits.email', op: 'ends_with', value: '@posthog.com' },
    });
    expect(edgesOf(noTest)).toHaveLength(c.expected.edge_count_with_filterTestAccounts);
    expect(edgesOf(await paths(c, { ...range, from: '2012-01-15T00:00:00Z' }))).toHaveLength(
      c.expected.edge_count_date_from_plus_7d,
    );
  });

  it('paths_session_split_and_trailing_slash: each session is a path; persons count once', async () => {
    const c = peerCase('paths_session_split_and_trailing_slash');
    const query = { from: '2012-01-01T00:00:00Z', count: 'paths' };
    await eventually('the case to be loaded', async () => {
      expect(timed(await paths(c, query))).toEqual(c.expected.edges_in_order);
    });
    // One person: counted once, on its first session's path (/1 → /2 in 60 s, /2 → /3 in 120 s).
    expect(timed(await paths(c, { from: '2012-01-01T00:00:00Z' }))).toEqual([
      { source: '1_/1', target: '2_/2', value: 1, average_conversion_time_ms: 60_000 },
      { source: '2_/2', target: '3_/3', value: 1, average_conversion_time_ms: 120_000 },
    ]);
  });

  it('paths_start_and_end_point_with_long_path_collapse: anchors, the "..." node and its people', async () => {
    const c = peerCase('paths_start_and_end_point_with_long_path_collapse');
    const base = { item: 'page', from: '2012-05-01T00:00:00Z', to: '2021-05-07T00:00:00Z' };
    for (const [i, variant] of (c.params.variants as Json[]).entries()) {
      const expected = c.expected.variants[i];
      for (const count of ['paths', 'persons']) {
        const query = { ...base, ...variant, count };
        await eventually('the case to be loaded', async () => {
          expect(timed(await paths(c, query))).toEqual(expected.edges);
        });
      }
      const query = { ...base, ...variant };
      const [key, people] = Object.entries(expected).find(([k]) => k.startsWith('people_on_edge_'))! as [
        string,
        string[],
      ];
      const [source, target] = key.slice('people_on_edge_'.length).split('->') as [string, string];
      expect(await peopleOn(c, query, source, target)).toEqual(people);
    }
  });

  it('paths_exclude_grouped_items: exclusions compare to the grouped item', async () => {
    const c = peerCase('paths_exclude_grouped_items');
    const base = {
      item: 'page',
      stepLimit: c.params.stepLimit,
      excludeItems: c.params.excludeEvents,
      from: '2012-01-01T00:00:00Z',
    };
    const [grouped, invalid] = c.params.variants as Json[];
    await eventually('the case to be loaded', async () => {
      expect(timed(await paths(c, { ...base, ...grouped, count: 'paths' }))).toEqual(
        c.expected.variants[0].edges,
      );
    });
    expect(timed(await paths(c, { ...base, ...grouped }))).toEqual(c.expected.variants[0].edges);
    expect(edgesOf(await paths(c, { ...base, ...invalid, count: 'paths' }))).toHaveLength(
      c.expected.variants[1].edge_count,
    );
  });
});
