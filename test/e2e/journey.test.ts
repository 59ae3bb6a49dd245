import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analytics } from '@segment/analytics-node';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, allEvents, type Json, post } from '../support/http.js';
import {
  ADMIN_KEY,
  removeDir,
  startTestServer,
  type TestServer,
  tempDir,
  WRITE_KEY,
} from '../support/servers.js';

let s: TestServer;
let workspaceId: string;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

const api = (method: string, path: string, body?: unknown) => adminApi(s.url, method, path, body);
const journey = (ref: string, q = '') => api('GET', `/api/persons/${encodeURIComponent(ref)}/journey${q}`);
const at = (day: number, hour = 12, minute = 0) =>
  new Date(Date.UTC(2026, 2, day, hour, minute)).toISOString();
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const page = (url: string, referrer: string) => ({
  userAgent: CHROME,
  page: { url, referrer, path: new URL(url).pathname, search: new URL(url).search },
});
const SECRET = 'whsec_test_0123456789abcdef';
const stripe = new Stripe('sk_test_unused');

function stripeEvent(
  id: string,
  type: string,
  object: Record<string, unknown>,
  created = Date.UTC(2026, 2, 20) / 1000,
) {
  return JSON.stringify({ id, object: 'event', type, created, data: { object } });
}
const signed = (payload: string, secret = SECRET) => ({
  'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret }),
});

describe('journeys through the API', () => {
  beforeAll(async () => {
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: s.url, flushAt: 50, flushInterval: 50 });
    analytics.page({
      anonymousId: 'ja-1',
      name: 'Blog',
      timestamp: at(1),
      context: page('https://acme.example/blog/x', 'https://www.google.com/'),
    });
    analytics.page({
      anonymousId: 'ja-1',
      name: 'Pricing',
      timestamp: at(1, 12, 2),
      context: page('https://acme.example/pricing', 'https://acme.example/blog/x'),
    });
    analytics.page({
      anonymousId: 'ja-1',
      name: 'News',
      timestamp: at(5),
      context: page('https://acme.example/news?utm_source=hubspot&utm_medium=email&utm_campaign=nurture', ''),
    });
    analytics.identify({
      anonymousId: 'ja-1',
      userId: 'jane',
      traits: { email: 'jane@example.com' },
      timestamp: at(5, 12, 1),
    });
    analytics.track({
      userId: 'jane',
      event: 'Signed Up',
      timestamp: at(5, 12, 2),
      context: { userAgent: CHROME },
    });
    analytics.track({ userId: 'jane', event: 'Demo Requested', timestamp: at(8) });
    analytics.page({
      anonymousId: 'crawler-1',
      name: 'Home',
      timestamp: at(2),
      context: {
        userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
        page: { url: 'https://acme.example/', referrer: '' },
      },
    });
    await analytics.closeAndFlush();
    const ws = await api('GET', '/api/journey/settings');
    expect(ws.status).toBe(200);
    workspaceId = (await api('GET', '/api/webhooks/stripe')).json.endpoint.split('/').pop();
  });

  it('annotates the timeline with touchpoints, channels, sessions and stages', async () => {
    const r = await journey('email:jane@example.com');
    expect(r.status).toBe(200);
    const j = r.json;
    expect(j.touchpoints.map((t: Json) => [t.kind, t.channel])).toEqual([
      ['session', 'Organic Search'],
      ['session', 'Email'],
    ]);
    expect(j.touchpoints[1]).toMatchObject({ source: 'hubspot', medium: 'email', campaign: 'nurture' });
    // The identify call came from a server (no page, no user agent): it stands outside sessions.
    expect(j.sessions.map((x: Json) => [x.channel, x.eventCount])).toEqual([
      ['Organic Search', 2],
      ['Email', 2],
    ]);
    expect(j.stages.map((x: Json) => x.stage)).toEqual(['awareness', 'engaged', 'lead', 'opportunity']);
    // Skew correction moves SDK timestamps by the milliseconds between sentAt and arrival.
    expect(Math.abs(Date.parse(j.stages[0].enteredAt) - Date.parse(at(1)))).toBeLessThan(5000);
    expect(j.totalSteps).toBe(6);
    expect(j.steps.find((x: Json) => x.event === 'Signed Up')).toMatchObject({
      channel: 'Email',
      stage: 'lead',
      session: 1,
    });
  });

  it('leaves bots out unless asked, and says so', async () => {
    const r = await journey('anonymous_id:crawler-1');
    expect(r.json).toMatchObject({ botEvents: 1, totalSteps: 0, touchpoints: [] });
    const all = await journey('anonymous_id:crawler-1', '?includeBots=true');
    expect(all.json.steps.map((x: Json) => x.bot)).toEqual(['user_agent']);
  });

  it('workspace channel rules apply at once; bad rules are refused with the path', async () => {
    const put = await api('PUT', '/api/journey/settings', {
      channels: {
        rules: [{ channel: 'Nurture email', when: { field: 'campaign', op: 'eq', value: 'nurture' } }],
      },
    });
    expect(put.status).toBe(200);
    expect(put.json.source).toBe('api');
    expect((await journey('user_id:jane')).json.touchpoints[1].channel).toBe('Nurture email');
    const rules = await api('GET', '/api/journey/rules');
    expect(rules.json.channelRules[0].channel).toBe('Nurture email');
    const bad = await api('PUT', '/api/journey/settings', {
      channels: { rules: [{ channel: 'X', when: { field: 'medium', op: 'like' } }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/channels\.rules\[0\]\.when/);
    await api('PUT', '/api/journey/settings', {});
  });

  it('Stripe: unsigned and badly signed requests are refused and store nothing', async () => {
    const payload = stripeEvent('evt_1', 'invoice.paid', {
      id: 'in_1',
      customer: 'cus_1',
      customer_email: 'jane@example.com',
      amount_paid: 4900,
      currency: 'usd',
    });
    const before = (await allEvents(s.url)).length;
    expect((await post(s.url, `/webhooks/stripe/${workspaceId}`, payload, {})).status).toBe(404);
    expect((await api('PUT', '/api/webhooks/stripe', { endpointSecret: SECRET })).status).toBe(200);
    const unsigned = await post(s.url, `/webhooks/stripe/${workspaceId}`, payload, {});
    expect(unsigned.status).toBe(400);
    expect(unsigned.json.error.code).toBe('invalid_signature');
    const wrong = await post(
      s.url,
      `/webhooks/stripe/${workspaceId}`,
      payload,
      signed(payload, 'whsec_other_secret'),
    );
    expect(wrong.status).toBe(400);
    const tampered = await post(
      s.url,
      `/webhooks/stripe/${workspaceId}`,
      payload.replace('4900', '1'),
      signed(payload),
    );
    expect(tampered.status).toBe(400);
    expect((await allEvents(s.url)).length).toBe(before);
  });

  it('Stripe: signed subscription and invoice events become billing events in the journey', async () => {
    await api('PUT', '/api/webhooks/stripe', { endpointSecret: SECRET });
    const sub = stripeEvent('evt_2', 'customer.subscription.created', {
      id: 'sub_1',
      customer: 'cus_1',
      currency: 'usd',
      start_date: Date.UTC(2026, 2, 12) / 1000,
      items: {
        data: [
          {
            quantity: 2,
            price: {
              id: 'price_pro',
              nickname: 'Pro',
              unit_amount: 4900,
              recurring: { interval: 'month', interval_count: 1 },
            },
          },
        ],
      },
    });
    const r1 = await post(s.url, `/webhooks/stripe/${workspaceId}`, sub, signed(sub));
    expect(r1.status).toBe(200);
    expect(r1.json).toMatchObject({ received: true, accepted: 1 });
    const invoice = stripeEvent('evt_3', 'invoice.paid', {
      id: 'in_9',
      customer: 'cus_1',
      customer_email: 'jane@example.com',
      subscription: 'sub_1',
      amount_paid: 9800,
      currency: 'usd',
      billing_reason: 'subscription_cycle',
      status_transitions: { paid_at: Date.UTC(2026, 3, 12) / 1000 },
    });
    const r2 = await post(s.url, `/webhooks/stripe/${workspaceId}`, invoice, signed(invoice));
    expect(r2.json).toMatchObject({ accepted: 2 });
    // Stripe retries: the same event is a duplicate, nothing new is stored.
    const again = await post(s.url, `/webhooks/stripe/${workspaceId}`, invoice, signed(invoice));
    expect(again.json).toMatchObject({ accepted: 0, duplicates: 2 });
    const other = stripeEvent('evt_4', 'charge.refunded', { id: 'ch_1' });
    expect((await post(s.url, `/webhooks/stripe/${workspaceId}`, other, signed(other))).json).toMatchObject({
      ignored: 'charge.refunded',
    });

    const j = (await journey('email:jane@example.com', '?asOf=2026-05-01T00:00:00Z')).json;
    const events = j.steps.map((x: Json) => x.event);
    expect(events).toEqual(
      expect.arrayContaining(['Subscription Started', 'Invoice Paid', 'Subscription Renewed']),
    );
    expect(j.stages.map((x: Json) => x.stage)).toEqual([
      'awareness',
      'engaged',
      'lead',
      'opportunity',
      'customer',
      'retained',
    ]);
    const profile = (await api('GET', `/api/persons/${encodeURIComponent('email:jane@example.com')}`)).json;
    expect(profile.lifetimeRevenue).toBe(98);
    // As of today, 180 days without activity have passed since the renewal: churned.
    const now = (await journey('email:jane@example.com')).json;
    expect(now.stages.at(-1)).toMatchObject({
      stage: 'churned',
      enteredAt: '2026-10-09T00:00:00.000Z',
      trigger: { kind: 'inactivity', days: 180 },
    });
  });

  it('throughline journey prints it, through the API when the server holds the file', async () => {
    const r = await cliAsync([
      'journey',
      'email:jane@example.com',
      '--data',
      s.dataDir,
      '--url',
      s.url,
      '--admin-key',
      ADMIN_KEY,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('stage: Churned');
    expect(r.stdout).toContain('Retained/Renewed 2026-04-12 → Churned 2026-10-09 (inactive)');
    expect(r.stdout).toMatch(/Organic Search\s+google \/ organic/);
    expect(r.stdout).toContain('⇒ Customer');
    const json = await cliAsync([
      'journey',
      'user_id:jane',
      '--json',
      '--url',
      s.url,
      '--admin-key',
      ADMIN_KEY,
      '--data',
      s.dataDir,
    ]);
    expect(JSON.parse(json.stdout).stage).toBe('churned');
  });

  it('unknown persons and accounts are 404 with the reason', async () => {
    const r = await journey('email:nobody@example.com');
    expect(r.status).toBe(404);
    expect((await api('GET', '/api/accounts/nope/journey')).status).toBe(404);
  });

  it('asOf without a zone is UTC, in the API and the CLI, whatever the zone; a bad one is refused by name', async () => {
    // Jane churns at 2026-10-09T00:00Z. Read in New York's zone (UTC-4 then), 2026-10-08T22:00
    // would be 02:00Z the next day and show her churned; read as UTC it is two hours before.
    const asOf = '2026-10-08T22:00:00';
    vi.stubEnv('TZ', 'America/New_York'); // this process (the server) and the CLI it spawns
    try {
      expect(new Date(2026, 9, 8).getTimezoneOffset()).toBe(240);
      const viaApi = (await journey('email:jane@example.com', `?asOf=${asOf}`)).json;
      expect(viaApi.stages.at(-1).stage).toBe('retained');
      const remote = ['--url', s.url, '--admin-key', ADMIN_KEY, '--data', s.dataDir, '--json'];
      const r = await cliAsync(['journey', 'email:jane@example.com', '--as-of', asOf, ...remote]);
      expect(JSON.parse(r.stdout).stage).toBe('retained');
    } finally {
      vi.unstubAllEnvs();
    }
    for (const path of ['/api/persons/email%3Ajane%40example.com/journey', '/api/accounts/acme/journey']) {
      const bad = await api('GET', `${path}?asOf=yesterday`);
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatchObject({
        code: 'invalid_query',
        message: expect.stringContaining('asOf: "yesterday" is not an ISO-8601 date-time'),
      });
    }
    const cli = await cliAsync([
      'journey',
      'email:jane@example.com',
      '--as-of',
      '2026-02-31',
      '--data',
      s.dataDir,
    ]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('--as-of: "2026-02-31" is not a valid date-time');
  });
});

describe('journey settings from a config file', () => {
  it('apply to every workspace; a bad file stops the start with the reason', async () => {
    const dir = tempDir();
    const file = join(dir, 'journey.json');
    writeFileSync(
      file,
      JSON.stringify({
        default: {
          channels: { ruleset: 'ga4' },
          ownDomains: ['acme-shop.example'],
          sessions: { style: 'ua' },
        },
      }),
    );
    const t = await startTestServer(join(dir, 'data'), { THROUGHLINE_JOURNEY_CONFIG: file });
    try {
      const res = await fetch(`${t.url}/api/journey/settings`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      const body = await res.json();
      expect(body).toMatchObject({
        source: 'file',
        settings: { channels: { ruleset: 'ga4' }, sessions: { style: 'ua' } },
      });
    } finally {
      await t.close();
    }
    writeFileSync(file, JSON.stringify({ default: { stagePreset: 'retail' } }));
    await expect(startTestServer(join(dir, 'data2'), { THROUGHLINE_JOURNEY_CONFIG: file })).rejects.toThrow(
      /stagePreset/,
    );
    removeDir(dir);
  });
});
