import { request } from 'node:http';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, allEvents, basic, type Json, post } from '../support/http.js';
import {
  type ExtraWorkspace,
  removeDir,
  startTestServer,
  type TestServer,
  twoWorkspaces,
} from '../support/servers.js';

/**
 * What an external probe found: a tenant's admin stalling every tenant with a regular
 * expression, signed but malformed Stripe events answering 500 (which Stripe retries), and a
 * missing or malformed Content-Type answering 400 instead of 415.
 */

let s: TestServer;
/** A second workspace, whose admin writes the hostile rules; the default one is the bystander. */
let hostile: ExtraWorkspace;

beforeAll(async () => {
  const made = await twoWorkspaces('hostile');
  hostile = made.other;
  s = await startTestServer(made.dir);
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

const hostileApi = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${hostile.admin}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Json };
};
const timed = async <T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> => {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
};
const landing = (anonymousId: string, medium: string) => {
  const url = `https://shop.example/?utm_source=x&utm_medium=${medium}`;
  return {
    anonymousId,
    name: 'Home',
    context: { page: { url, path: '/', search: new URL(url).search, referrer: '' } },
  };
};

describe('rule regexes run in linear time', () => {
  it("a catastrophic pattern is evaluated at once, and stalls no other tenant's ingest", async () => {
    const put = await hostileApi('PUT', '/api/journey/settings', {
      channels: {
        rules: [{ channel: 'Evil', when: { field: 'utm_medium', op: 'regex', value: '^(a+)+$' } }],
      },
    });
    expect(put.status).toBe(200);
    const auth = { authorization: basic(hostile.write) };
    // A backtracking engine needs 2^30 steps to reject this value: most of a minute of a blocked
    // event loop. RE2 takes microseconds; the 3 s bounds below leave room for a loaded CI machine.
    expect((await post(s.url, '/v1/page', landing('evil-1', `${'a'.repeat(30)}!`), auth)).status).toBe(200);
    expect((await post(s.url, '/v1/page', landing('evil-2', 'a'.repeat(27)), auth)).status).toBe(200);

    const read = timed(() => hostileApi('GET', '/api/persons/anonymous_id:evil-1/journey'));
    const bystander = timed(() => post(s.url, '/v1/track', { userId: 'bystander', event: 'Still Here' }));
    const [r, b] = await Promise.all([read, bystander]);
    expect(r.value.status).toBe(200);
    expect(b.value.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    expect(b.ms).toBeLessThan(3000);
    expect(r.value.json.touchpoints[0].channel).not.toBe('Evil');
    // The rule still does its job on values it matches.
    const matched = await hostileApi('GET', '/api/persons/anonymous_id:evil-2/journey');
    expect(matched.json.touchpoints[0].channel).toBe('Evil');
  });

  it('patterns RE2 cannot run (backreferences, lookaround) are refused, naming the rule and field', async () => {
    const refused = async (value: string) => {
      const r = await hostileApi('PUT', '/api/journey/settings', {
        channels: { rules: [{ channel: 'X', when: { field: 'utm_campaign', op: 'regex', value } }] },
      });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_body');
      return r.json.error.message as string;
    };
    expect(await refused('^(a+)\\1$')).toMatch(
      /rules\[0\]\.when.*utm_campaign.*backreferences are not supported/,
    );
    expect(await refused('brand(?!-test)')).toMatch(/rules\[0\]\.when.*utm_campaign.*lookahead/);
    expect(await refused('(?<=x)y')).toMatch(/lookbehind.*RE2/);
    // Nothing was stored: the catastrophic rule of the first test is still in force.
    const settings = await hostileApi('GET', '/api/journey/settings');
    expect(settings.json.settings.channels.rules[0].when.value).toBe('^(a+)+$');
  });
});

describe('signed but malformed Stripe events', () => {
  const SECRET = 'whsec_hostile_0123456789abcdef';
  const stripe = new Stripe('sk_test_unused');
  const path = () => `/webhooks/stripe/${hostile.id}`;
  const signedPost = (payload: string) =>
    post(s.url, path(), payload, {
      'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }),
    });
  const event = (fields: Record<string, unknown>) =>
    JSON.stringify({ id: 'evt_bad', object: 'event', type: 'invoice.paid', created: 1773964800, ...fields });

  beforeAll(async () => {
    expect((await hostileApi('PUT', '/api/webhooks/stripe', { endpointSecret: SECRET })).status).toBe(200);
  });

  it.each([
    ['null', 'null', /an object/],
    ['an array', '[]', /an object/],
    ['not JSON', 'not json', /not JSON/],
    ['an event without data', event({ data: undefined }), /data/],
    ['data.object null', event({ data: { object: null } }), /data\.object/],
    ['data.object an array', event({ data: { object: [] } }), /data\.object/],
    ['no type', event({ type: undefined, data: { object: { id: 'in_1' } } }), /type/],
    ['no id', event({ id: 42, data: { object: { id: 'in_1' } } }), /\bid\b/],
    ['created out of range', event({ created: 1e20, data: { object: { id: 'in_1' } } }), /created/],
  ])('%s → 400 invalid_body with the reason, not 500', async (_name, payload, reason) => {
    const r = await signedPost(payload);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_body');
    expect(r.json.error.message).toMatch(reason);
  });

  it('an invoice without usable fields is refused with the field, and nothing is stored', async () => {
    const r = await signedPost(
      event({ data: { object: { id: 'in_2', status_transitions: { paid_at: 'x' } } } }),
    );
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_body');
    const stored = await hostileApi('GET', '/api/events?limit=1000');
    expect(stored.json.events.filter((e: Json) => e.event === 'Invoice Paid')).toEqual([]);
  });
});

/** A raw request, so the Content-Type header can be missing, empty or malformed. */
function rawPost(
  path: string,
  headers: Record<string, string>,
  body: string,
  method = 'POST',
): Promise<{ status: number; json: Json }> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method,
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('content types', () => {
  const track = JSON.stringify({ userId: 'ct', event: 'Typed' });
  const v1 = { authorization: basic() };

  it.each([
    ['empty', ''],
    ['without a type', ';charset=utf-8'],
    ['malformed', 'json'],
  ])(
    '/v1 with a Content-Type header %s → 415 unsupported_media_type, saying what to send',
    async (_n, ct) => {
      const r = await rawPost('/v1/track', { ...v1, 'content-type': ct }, track);
      expect(r.status).toBe(415);
      expect(r.json.error.code).toBe('unsupported_media_type');
      expect(r.json.error.message).toMatch(/Content-Type/);
      expect(r.json.error.message).toMatch(/application\/json/);
    },
  );

  it('/v1 still takes what SDKs, sendBeacon and curl send, and no Content-Type at all', async () => {
    for (const ct of ['application/json', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded']) {
      expect((await rawPost('/v1/track', { ...v1, 'content-type': ct }, track)).status).toBe(200);
    }
    expect((await rawPost('/v1/track', v1, track)).status).toBe(200);
    expect((await allEvents(s.url, 'userId=ct')).length).toBe(4);
  });

  it('/api and /webhooks answer 415 to a body they cannot read', async () => {
    const admin = { authorization: `Bearer ${hostile.admin}` };
    const xml = await rawPost(
      '/api/journey/settings',
      { ...admin, 'content-type': 'application/xml' },
      '<settings/>',
      'PUT',
    );
    expect(xml.status).toBe(415);
    expect(xml.json.error.code).toBe('unsupported_media_type');
    expect(xml.json.error.message).toMatch(/"application\/xml"/);
    const none = await rawPost(`/webhooks/stripe/${hostile.id}`, {}, '{}');
    expect(none.status).toBe(415);
    expect(none.json.error.message).toMatch(/no Content-Type/);
    // The JSON routes themselves are untouched.
    expect((await adminApi(s.url, 'GET', '/api/journey/settings')).status).toBe(200);
  });
});
