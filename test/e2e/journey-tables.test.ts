import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, getApi, type Json, post } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/servers.js';

/**
 * The server keeps the journey tables current by itself: built for a new workspace, extended as
 * events arrive (a journey read answers with what was acknowledged before it), corrected for
 * late events and identity merges, and rebuilt in the background when the settings change, with
 * progress in /health and GET /api/journey/build. `throughline journeys rebuild` does it by hand.
 */

const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15';
const at = (day: number, hour = 12) => new Date(Date.UTC(2026, 2, day, hour)).toISOString();
const view = (anonymousId: string, day: number, url: string, referrer?: string) => ({
  type: 'page',
  anonymousId,
  timestamp: at(day),
  context: { userAgent: UA, page: { url, ...(referrer ? { referrer } : {}) } },
});
const track = (userId: string, event: string, day: number) => ({
  type: 'track',
  userId,
  event,
  timestamp: at(day),
});

let s: TestServer;
const send = async (batch: unknown[]) => {
  const r = await post(s.url, '/v1/batch', { batch });
  expect(r.status).toBe(200);
};
const journey = async (ref: string): Promise<Json> => {
  const r = await getApi(s.url, `/api/persons/${encodeURIComponent(ref)}/journey`);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json;
};
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const built = () =>
  until('the journey tables to be current', async () => {
    const b = (await getApi(s.url, '/api/journey/build')).json;
    return b.current && b.builder.state === 'idle' ? b : undefined;
  });

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.close();
});

describe('journey tables kept by the server', () => {
  it('are built for a new workspace, and journeys read from them', async () => {
    await send([
      view('a1', 2, 'https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring'),
      {
        type: 'identify',
        userId: 'u1',
        anonymousId: 'a1',
        timestamp: at(2, 13),
        traits: { email: 'u1@x.example' },
      },
      track('u1', 'Signed Up', 3),
    ]);
    const b = await built();
    expect(b.builder.problem).toBeUndefined();
    const j = await journey('user_id:u1');
    expect(j.touchpoints.map((t: Json) => t.channel)).toEqual(['Paid Search']);
    expect(j.stage).toBe('lead');
    const health = (await getApi(s.url, '/health')).json;
    expect(health.journeys.state).toBe('idle');
  });

  it('take in new events, late ones and merges before a journey read answers', async () => {
    // Late: an email visit a day before the first one.
    await send([view('a1', 1, 'https://shop.example/?utm_source=newsletter&utm_medium=email')]);
    expect((await journey('user_id:u1')).touchpoints.map((t: Json) => t.channel)).toEqual([
      'Email',
      'Paid Search',
    ]);
    // A second browser of the same person, joined by an identify call: its history moves over.
    await send([
      view('a2', 5, 'https://shop.example/pricing', 'https://www.google.com/'),
      { type: 'identify', userId: 'u1', anonymousId: 'a2', timestamp: at(5, 14) },
      track('u1', 'Demo Requested', 6),
    ]);
    const j = await journey('user_id:u1');
    expect(j.touchpoints.map((t: Json) => t.channel)).toEqual(['Email', 'Paid Search', 'Organic Search']);
    expect(j.stage).toBe('opportunity');
    // The person list reads the same tables: the merged person is in stage opportunity.
    const list = await until('the list to show the stage', async () => {
      const r = (await getApi(s.url, '/api/persons?stage=opportunity')).json;
      return r.total === 1 ? r : undefined;
    });
    expect(list.persons[0].stage).toEqual({ id: 'opportunity', name: 'Opportunity' });
  });

  it("hold account journeys too: a member's journey, the account's stage in the list", async () => {
    await send([
      { type: 'group', userId: 'u1', groupId: 'acme', timestamp: at(6, 15), traits: { name: 'Acme' } },
    ]);
    const r = await getApi(s.url, '/api/accounts/acme/journey');
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.touchpoints.map((t: Json) => t.channel)).toEqual([
      'Email',
      'Paid Search',
      'Organic Search',
    ]);
    expect(r.json.stage).toBe('opportunity');
    // A new event of the member reaches the account's journey and its stage in the list (the
    // customer has gone quiet since: as of now the account has churned, which the list shows
    // once the sweep writes that due inactivity).
    await send([track('u1', 'Order Completed', 8)]);
    const member = await journey('user_id:u1');
    const account = (await getApi(s.url, '/api/accounts/acme/journey')).json;
    expect(account.stages).toEqual(member.stages);
    expect(account.stages.map((x: Json) => x.stage)).toContain('customer');
    const list = await until('the account list to show the stage', async () => {
      const l = (await getApi(s.url, '/api/accounts?stage=customer,churned')).json;
      return l.total === 1 ? l : undefined;
    });
    expect(list.accounts[0]).toMatchObject({ id: 'acme' });
    expect(['customer', 'churned']).toContain(list.accounts[0].stage.id);
    expect((await getApi(s.url, '/api/accounts?stage=opportunity')).json.total).toBe(0);
  });

  it('are rebuilt in the background when the settings change', async () => {
    const put = await adminApi(s.url, 'PUT', '/api/journey/settings', {
      stageModel: {
        stages: [
          { id: 'visitor', name: 'Visitor', enter: [{ when: { field: 'touchpoint', op: 'present' } }] },
          {
            id: 'demo',
            name: 'Demo',
            enter: [{ when: { field: 'event', op: 'eq', value: 'Demo Requested' } }],
          },
        ],
      },
    });
    expect(put.status).toBe(200);
    const b = await built();
    // Only the stage model changed: only the stage histories were folded again.
    expect(b.builder.last.counts).toMatchObject({ scope: 'stages', events: 0 });
    expect(b.builder.last.counts.persons).toBeGreaterThanOrEqual(1);
    const j = await journey('user_id:u1');
    expect(j.stages.map((x: Json) => x.stage)).toEqual(['visitor', 'demo']);
    expect((await getApi(s.url, '/api/accounts/acme/journey')).json.stages.map((x: Json) => x.stage)).toEqual(
      ['visitor', 'demo'],
    );
    // A session setting changes sessions: everything is derived again.
    const sessions = await adminApi(s.url, 'PUT', '/api/journey/settings', {
      ...(await getApi(s.url, '/api/journey/settings')).json.settings,
      sessions: { timeoutMinutes: 45 },
    });
    expect(sessions.status, JSON.stringify(sessions.json)).toBe(200);
    const again = await until('a whole rebuild', async () => {
      const r = (await getApi(s.url, '/api/journey/build')).json;
      return r.current && r.builder.state === 'idle' && r.builder.last?.counts.scope === 'journeys'
        ? r
        : undefined;
    });
    expect(again.builder.last.counts.events).toBeGreaterThan(0);
    expect((await journey('user_id:u1')).stages.map((x: Json) => x.stage)).toEqual(['visitor', 'demo']);
  });

  it('are rebuilt on request: POST /api/journey/rebuild, and the CLI through the server', async () => {
    const r = await adminApi(s.url, 'POST', '/api/journey/rebuild');
    expect(r.status).toBe(202);
    await built();
    const c = await cliAsync([
      'journeys',
      'rebuild',
      '--data',
      s.dataDir,
      '--url',
      s.url,
      '--admin-key',
      'ak_test_admin_key_0000000000001',
      '--json',
    ]);
    expect(c.code, c.stderr).toBe(0);
    const out = JSON.parse(c.stdout);
    expect(out.counts.persons).toBeGreaterThanOrEqual(1);
    expect(out.counts.stageSpans).toBeGreaterThanOrEqual(2);
  });

  it('throughline journeys rebuild works on the data directory when no server holds it', async () => {
    const dir = s.dataDir;
    await s.close();
    const c = await cliAsync(['journeys', 'rebuild', '--data', dir, '--json']);
    expect(c.code, c.stderr).toBe(0);
    const out = JSON.parse(c.stdout);
    expect(out).toMatchObject({ workspace: expect.any(String), counts: { persons: expect.any(Number) } });
    expect(out.counts.touchpoints).toBe(3);
    const text = await cliAsync(['journeys', 'rebuild', '--data', dir, '--no-progress']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /^rebuilt the journeys of \S+ in [\d.]+ s: 1 persons, \d+ events, \d+ sessions, 3 touchpoints, 4 stage entries, 1 accounts\n$/,
    );
    s = await startTestServer(dir);
  });
});
