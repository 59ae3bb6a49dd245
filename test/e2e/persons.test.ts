import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, type Json, post } from '../support/http.js';
import { ADMIN_KEY, removeDir, startTestServer, type TestServer, WRITE_KEY } from '../support/servers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

const api = (method: string, path: string, body?: unknown) => adminApi(s.url, method, path, body);
const get = (path: string) => api('GET', path);
const ref = (r: string) => encodeURIComponent(r);
const at = (day: number, hour = 12) => new Date(Date.UTC(2026, 2, day, hour)).toISOString();
/** Skew correction moves SDK timestamps by the few ms between sentAt and arrival. */
const near = (iso: string, expected: string) =>
  expect(Math.abs(Date.parse(iso) - Date.parse(expected))).toBeLessThan(5000);

async function timeline(r: string, query = ''): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const page = await get(
      `/api/persons/${ref(r)}/timeline?limit=2${cursor ? `&cursor=${cursor}` : ''}${query}`,
    );
    expect(page.status).toBe(200);
    out.push(...page.json.events);
    cursor = page.json.nextCursor;
  } while (cursor);
  return out;
}

describe('stitching through the Segment SDK', () => {
  beforeAll(async () => {
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: s.url, flushAt: 50, flushInterval: 50 });
    // Anonymous browsing on two devices, then sign-in on each; late-arriving older events.
    analytics.page({ anonymousId: 'laptop-1', name: 'Pricing', timestamp: at(1), messageId: 'j-1' });
    analytics.track({ anonymousId: 'phone-1', event: 'App Opened', timestamp: at(2), messageId: 'j-2' });
    analytics.identify({
      anonymousId: 'laptop-1',
      userId: 'jane-42',
      traits: { email: 'Jane@Example.com', plan: 'free', name: 'Jane' },
      timestamp: at(3),
      messageId: 'j-3',
    });
    analytics.identify({
      anonymousId: 'phone-1',
      userId: 'jane-42',
      traits: { plan: 'pro' },
      timestamp: at(5),
      messageId: 'j-4',
    });
    // Older plan arrives last: newest event time still wins.
    analytics.identify({ userId: 'jane-42', traits: { plan: 'trial' }, timestamp: at(4), messageId: 'j-5' });
    analytics.track({
      userId: 'jane-42',
      event: 'Order Completed',
      properties: { revenue: 99.5 },
      timestamp: at(6),
      messageId: 'j-6',
    });
    analytics.group({
      userId: 'jane-42',
      groupId: 'acme',
      traits: { name: 'Acme Inc', plan: 'team' },
      timestamp: at(6, 13),
      messageId: 'j-7',
    });
    analytics.identify({
      userId: 'bob-7',
      traits: { email: 'bob@acme.io' },
      timestamp: at(7),
      messageId: 'b-1',
    });
    analytics.group({ userId: 'bob-7', groupId: 'acme', timestamp: at(7, 13), messageId: 'b-2' });
    analytics.track({ userId: 'bob-7', event: 'Report Viewed', timestamp: at(8), messageId: 'b-3' });
    await analytics.closeAndFlush();
  });

  it('finds one person by any identifier, with traits merged by event time', async () => {
    const byEmail = await get(`/api/persons/${ref('email:JANE@example.com')}`);
    expect(byEmail.status).toBe(200);
    const p = byEmail.json;
    expect(p.id).toMatch(/^p_[0-9a-f]{20}$/);
    expect(p.identifiers).toEqual([
      { type: 'user_id', value: 'jane-42' },
      { type: 'email', value: 'jane@example.com' },
      { type: 'anonymous_id', value: 'laptop-1' },
      { type: 'anonymous_id', value: 'phone-1' },
    ]);
    expect(p.traits).toEqual({ email: 'Jane@Example.com', plan: 'pro', name: 'Jane' });
    expect(p.eventCount).toBe(7);
    expect(p.lifetimeRevenue).toBe(99.5);
    near(p.firstSeen, at(1));
    near(p.lastSeen, at(6, 13));
    expect(p.accounts).toEqual(['acme']);
    for (const r of ['user_id:jane-42', 'anonymous_id:phone-1', p.id]) {
      expect((await get(`/api/persons/${ref(r)}`)).json.id).toBe(p.id);
    }
  });

  it('gives the timeline across identifiers in event-time order, paginated', async () => {
    const ids = (await timeline('anonymous_id:laptop-1')).map((e) => e.messageId);
    expect(ids).toEqual(['j-1', 'j-2', 'j-3', 'j-5', 'j-4', 'j-6', 'j-7']);
    const newest = (await timeline('user_id:jane-42', '&order=desc')).map((e) => e.messageId);
    expect(newest).toEqual([...ids].reverse());
  });

  it('explains why each identifier belongs, with the evidence', async () => {
    const x = (await get(`/api/persons/${ref('user_id:jane-42')}/identity`)).json;
    expect(x.anchor).toEqual({ type: 'user_id', value: 'jane-42' });
    const phone = x.identifiers.find((i: Json) => i.value === 'phone-1');
    const link = x.links.find((l: Json) => l.id === phone.because.link);
    expect(link.messageId).toBe('j-4');
    expect(link.rule).toBe('message');
    near(link.timestamp, at(5));
  });

  it('searches by identifier and by trait', async () => {
    const byValue = (await get('/api/persons?query=bob%40')).json.persons;
    expect(byValue.map((p: Json) => p.identifiers[0].value)).toEqual(['bob-7']);
    const byTrait = (await get('/api/persons?query=Jane')).json.persons;
    expect(byTrait.some((p: Json) => p.identifiers[0].value === 'jane-42')).toBe(true);
  });

  it('builds accounts from group calls, with one timeline across members', async () => {
    const a = await get('/api/accounts/acme');
    expect(a.status).toBe(200);
    expect(a.json.traits).toEqual({ name: 'Acme Inc', plan: 'team' });
    expect(a.json.members).toHaveLength(2);
    const t = (await get('/api/accounts/acme/timeline?limit=100&order=desc')).json.events;
    expect(t.map((e: Json) => e.messageId).slice(0, 3)).toEqual(['b-3', 'b-2', 'b-1']);
    expect(t).toHaveLength(10);
  });

  it('`throughline person` goes through the API while the server holds the data', async () => {
    const r = await cliAsync([
      'person',
      'email:jane@example.com',
      '--data',
      s.dataDir,
      '--url',
      s.url,
      '--admin-key',
      ADMIN_KEY,
      '-n',
      '3',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.profile.identifiers[0]).toEqual({ type: 'user_id', value: 'jane-42' });
    expect(out.timeline.map((e: Json) => e.messageId)).toEqual(['j-7', 'j-6', 'j-4']);
    const locked = await cliAsync(['person', 'email:jane@example.com', '--data', s.dataDir]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/--admin-key/);
  });

  it('answers 404 and 400 with reasons', async () => {
    expect((await get('/api/persons/email:nobody%40x.com')).status).toBe(404);
    const bad = await get('/api/persons/nonsense');
    expect(bad.status).toBe(404);
    expect(bad.json.error.message).toMatch(/type:value/);
    expect((await get(`/api/persons/${ref('user_id:jane-42')}/timeline?cursor=zzz`)).status).toBe(400);
    expect((await get('/api/accounts/none')).status).toBe(404);
  });
});

describe('shared devices, splits and merges', () => {
  beforeAll(async () => {
    const batch = [
      { type: 'page', anonymousId: 'tablet', name: 'Home', timestamp: at(10), messageId: 's-1' },
      { type: 'identify', anonymousId: 'tablet', userId: 'mum', timestamp: at(11), messageId: 's-2' },
      { type: 'track', anonymousId: 'tablet', event: 'Video Played', timestamp: at(12), messageId: 's-3' },
      { type: 'identify', anonymousId: 'tablet', userId: 'kid', timestamp: at(13), messageId: 's-4' },
      {
        type: 'track',
        userId: 'kid',
        anonymousId: 'tablet',
        event: 'Game Played',
        timestamp: at(14),
        messageId: 's-5',
      },
    ];
    expect((await post(s.url, '/v1/batch', { batch })).json.accepted).toBe(5);
  });

  it('never merges two user ids; the explanation names the rule', async () => {
    const kid = (await get(`/api/persons/${ref('user_id:kid')}`)).json;
    expect(kid.identifiers).toEqual([{ type: 'user_id', value: 'kid' }]);
    const x = (await get(`/api/persons/${ref('user_id:kid')}/identity`)).json;
    expect(x.links.flatMap((l: Json) => l.dropped)).toContainEqual({
      type: 'anonymous_id',
      value: 'tablet',
      reason: 'limit:user_id',
    });
  });

  it('untrusting the tablet moves its anonymous events to a person of their own; undo restores', async () => {
    const before = (await timeline('user_id:mum')).map((e) => e.messageId);
    expect(before).toEqual(['s-1', 's-2', 's-3']);
    const op = await api('POST', `/api/identifiers/${ref('anonymous_id:tablet')}/untrust`, {
      reason: 'family tablet',
    });
    expect(op.status).toBe(200);
    expect((await timeline('user_id:mum')).map((e) => e.messageId)).toEqual(['s-2']);
    expect((await timeline('anonymous_id:tablet')).map((e) => e.messageId)).toEqual(['s-1', 's-3']);
    expect((await api('POST', `/api/identifiers/${ref('anonymous_id:tablet')}/untrust`)).status).toBe(409);
    const undo = await api('POST', `/api/identity/operations/${op.json.operation.id}/undo`);
    expect(undo.status).toBe(200);
    expect((await timeline('user_id:mum')).map((e) => e.messageId)).toEqual(before);
  });

  it('removing an identifier splits history; a manual merge joins persons past the limit', async () => {
    const rm = await api(
      'DELETE',
      `/api/persons/${ref('user_id:mum')}/identifiers/${ref('anonymous_id:tablet')}`,
    );
    expect(rm.status).toBe(200);
    expect((await timeline('user_id:mum')).map((e) => e.messageId)).toEqual(['s-2']);
    // Seen together again later: the removal holds.
    await post(s.url, '/v1/batch', {
      batch: [{ type: 'page', userId: 'mum', anonymousId: 'tablet', timestamp: at(15), messageId: 's-6' }],
    });
    expect((await timeline('user_id:mum')).map((e) => e.messageId)).toEqual(['s-2', 's-6']);
    // Apart from mum, the tablet now follows the kid who also signed in on it.
    expect((await timeline('anonymous_id:tablet')).map((e) => e.messageId)).toEqual([
      's-1',
      's-3',
      's-4',
      's-5',
    ]);
    await api('POST', `/api/identity/operations/${rm.json.operation.id}/undo`);
    expect((await timeline('user_id:mum')).map((e) => e.messageId)).toEqual(['s-1', 's-2', 's-3', 's-6']);

    const merge = await api('POST', `/api/persons/${ref('user_id:mum')}/merge`, {
      with: 'user_id:kid',
      reason: 'same human',
    });
    expect(merge.status).toBe(200);
    expect((await timeline('user_id:kid')).map((e) => e.messageId)).toEqual([
      's-1',
      's-2',
      's-3',
      's-4',
      's-5',
      's-6',
    ]);
    const ops = (await get('/api/identity/operations')).json.operations;
    expect(ops.map((o: Json) => o.kind)).toEqual(['untrust', 'undo', 'remove', 'undo', 'merge']);
    await api('POST', `/api/identity/operations/${merge.json.operation.id}/undo`);
    expect((await timeline('user_id:kid')).map((e) => e.messageId)).toEqual(['s-4', 's-5']);
  });
});

describe('deletion and suppression', () => {
  it('deletes everything about a person, with a receipt, and drops their future messages', async () => {
    const batch = [
      {
        type: 'identify',
        userId: 'gone-1',
        anonymousId: 'gone-anon',
        traits: { email: 'gone@x.io' },
        messageId: 'g-1',
      },
      { type: 'track', anonymousId: 'gone-anon', event: 'Viewed', messageId: 'g-2' },
    ];
    await post(s.url, '/v1/batch', { batch });
    // A quarantined message that mentions the person (bad type) is personal data too.
    await post(s.url, '/v1/batch', {
      batch: [{ type: 'track', userId: 'gone-1', event: 42, messageId: 'g-3' }],
    });
    const exp = await get(`/api/persons/${ref('email:gone@x.io')}/export`);
    expect(exp.status).toBe(200);
    expect(exp.json.events.map((e: Json) => e.messageId)).toEqual(['g-1', 'g-2']);
    expect(exp.json.quarantine).toHaveLength(1);

    const del = await api('DELETE', `/api/persons/${ref('email:gone@x.io')}?suppress=true`);
    expect(del.status).toBe(200);
    expect(del.json.deleted).toMatchObject({ events: 2, eventIdentity: 2, identifiers: 3, quarantine: 1 });
    expect(del.json.suppressed).toBe(3);
    expect((await get(`/api/persons/${ref('user_id:gone-1')}`)).status).toBe(404);

    const again = await post(s.url, '/v1/batch', {
      batch: [{ type: 'track', userId: 'gone-1', event: 'Back', messageId: 'g-4' }],
    });
    expect(again.status).toBe(200);
    expect((await get(`/api/persons/${ref('user_id:gone-1')}`)).status).toBe(404);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/throughline_messages_suppressed_total 1/);
  });
});
