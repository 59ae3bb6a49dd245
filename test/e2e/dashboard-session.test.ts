import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, basic, type Json, post } from '../support/http.js';
import { ADMIN_KEY, startTestServer, type TestServer, untilLoaded } from '../support/servers.js';

// The dashboard's sign-in and serving over real HTTP: an admin key traded for an HttpOnly,
// SameSite=Strict cookie; the cookie reads the API but changes nothing without the session's CSRF
// token; sign-out and a revoked key end the session; the app's pages and assets are served with
// a strict Content-Security-Policy; the overview API validates its range.
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.close();
});

async function signIn(
  key = ADMIN_KEY,
  cookie?: string,
  csrf?: string,
): Promise<{ status: number; cookie?: string; body: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${s.url}/api/session`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(cookie ? { cookie: cookie.split(';')[0] as string } : {}),
      ...(csrf ? { 'x-csrf-token': csrf } : {}),
    },
    body: JSON.stringify({ key }),
  });
  const setCookie = r.headers.get('set-cookie') ?? undefined;
  return {
    status: r.status,
    headers: r.headers,
    body: (await r.json()) as Record<string, unknown>,
    ...(setCookie ? { cookie: setCookie } : {}),
  };
}

const withCookie = (cookie: string, init: RequestInit = {}) => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), cookie: cookie.split(';')[0] as string },
});

describe('dashboard sessions', () => {
  it('refuses a wrong key and sets an HttpOnly, SameSite=Strict cookie for the right one', async () => {
    const wrong = await signIn('ak_not_a_key');
    expect(wrong.status).toBe(401);
    expect(wrong.cookie).toBeUndefined();
    const right = await signIn();
    expect(right.status).toBe(200);
    expect(right.cookie).toMatch(/throughline_session=[\w-]+/);
    expect(right.cookie).toMatch(/HttpOnly/i);
    expect(right.cookie).toMatch(/SameSite=Strict/i);
    expect(right.body.csrfToken).toEqual(expect.any(String));
    expect(right.headers.get('cache-control')).toBe('no-store');
    expect(JSON.stringify(right.body)).not.toContain(ADMIN_KEY);
  });

  it('reads with the cookie, and changes only with the CSRF token too', async () => {
    const { cookie, body } = await signIn();
    const read = await fetch(`${s.url}/api/persons?limit=1`, withCookie(cookie!));
    expect(read.status).toBe(200);
    const put = (headers: Record<string, string>) =>
      fetch(
        `${s.url}/api/journey/settings`,
        withCookie(cookie!, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ sessions: { timeoutMinutes: 45 } }),
        }),
      );
    const forged = await put({});
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('csrf_rejected');
    const wrongToken = await put({ 'x-csrf-token': 'nope' });
    expect(wrongToken.status).toBe(403);
    const ok = await put({ 'x-csrf-token': body.csrfToken as string });
    expect(ok.status).toBe(200);
    const settings = await adminApi(s.url, 'GET', '/api/journey/settings');
    expect(settings.json.settings.sessions.timeoutMinutes).toBe(45);
  });

  it('ends on sign-out (which needs the token) and when the key is revoked', async () => {
    const a = await signIn();
    const out = (headers: Record<string, string>) =>
      fetch(`${s.url}/api/session`, withCookie(a.cookie!, { method: 'DELETE', headers }));
    expect((await out({})).status).toBe(403);
    expect((await out({ 'x-csrf-token': a.body.csrfToken as string })).status).toBe(204);
    expect((await fetch(`${s.url}/api/persons?limit=1`, withCookie(a.cookie!))).status).toBe(401);

    // A second admin key, signed in with, then revoked by the first.
    const created = await adminApi(s.url, 'POST', '/api/keys', { kind: 'admin', label: 'dashboard test' });
    expect(created.status).toBe(201);
    const b = await signIn(created.json.secret);
    expect(b.status).toBe(200);
    expect((await fetch(`${s.url}/api/session`, withCookie(b.cookie!))).status).toBe(200);
    expect((await adminApi(s.url, 'DELETE', `/api/keys/${created.json.id}`)).status).toBeLessThan(300);
    const after = await fetch(`${s.url}/api/persons?limit=1`, withCookie(b.cookie!));
    expect(after.status).toBe(401);
  });

  it('gives a new session id on every sign-in, and adds a workspace only with the token', async () => {
    const a = await signIn();
    // A planted (or old) session cookie plus a key, without the token: refused.
    expect((await signIn(ADMIN_KEY, a.cookie)).status).toBe(403);
    const b = await signIn(ADMIN_KEY, a.cookie, a.body.csrfToken as string);
    expect(b.status).toBe(200);
    expect(b.cookie?.split(';')[0]).not.toBe(a.cookie?.split(';')[0]);
    expect(b.body.csrfToken).not.toBe(a.body.csrfToken);
    // The old id is worth nothing now.
    expect((await fetch(`${s.url}/api/session`, withCookie(a.cookie!))).status).toBe(401);
  });

  it('does not let the write key or a bearer-less request in', async () => {
    expect((await fetch(`${s.url}/api/persons`)).status).toBe(401);
    expect((await fetch(`${s.url}/api/persons`, { headers: { authorization: basic() } })).status).toBe(401);
  });
});

describe('dashboard pages', () => {
  it('serves the app at each page path with a strict Content-Security-Policy, and its assets', async () => {
    for (const path of [
      '/',
      '/people',
      '/people/email%3Ajane%40example.com',
      '/accounts/acme',
      '/stages',
      '/retention',
      '/live',
      '/settings',
    ]) {
      const r = await fetch(`${s.url}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/html');
      expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      const html = await r.text();
      expect(html).toContain('<div id="app">');
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, 'the built app script').toBeDefined();
      const asset = await fetch(`${s.url}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toContain('immutable');
    }
    const missing = await fetch(`${s.url}/api/no-such-thing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('validates the overview range', async () => {
    const bad = await adminApi(s.url, 'GET', '/api/overview?from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.field).toBe('from');
    const backwards = await adminApi(
      s.url,
      'GET',
      '/api/overview?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
    );
    expect(backwards.status).toBe(400);
    const tooMany = await adminApi(s.url, 'GET', '/api/overview?from=2000-01-01T00:00:00Z&bucket=day');
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.message).toContain('too many points');
    await post(s.url, '/v1/track', { userId: 'u1', event: 'Signed Up' });
    const fine = await adminApi(s.url, 'GET', '/api/overview');
    expect(fine.status).toBe(200);
    expect(fine.json.range.bucket).toBe('day');
    expect(fine.json.totals).toEqual(expect.objectContaining({ events: expect.any(Number) }));
  });
});

describe('overview numbers', () => {
  it('equal the totals of the lists they open, fill every bucket, and leave bot traffic out of the trend', async () => {
    const day = 86_400_000;
    const today = Math.floor(Date.now() / day) * day;
    const at = (daysAgo: number) => new Date(today - daysAgo * day + 12 * 3_600_000).toISOString();
    const ua =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
    const page = (who: Record<string, string>, daysAgo: number, userAgent = ua) => ({
      type: 'page',
      ...who,
      timestamp: at(daysAgo),
      context: { userAgent, page: { url: 'https://shop.example/?utm_source=google&utm_medium=cpc' } },
    });
    const batch = [
      page({ userId: 'ov-ann' }, 2),
      { type: 'group', userId: 'ov-ann', groupId: 'ov-acme', timestamp: at(2) },
      page({ userId: 'ov-bo' }, 5),
      { type: 'track', userId: 'ov-bo', event: 'Signed Up', timestamp: at(5) },
      page({ anonymousId: 'ov-crawler' }, 3, 'Googlebot/2.1 (+http://www.google.com/bot.html)'),
      page({ userId: 'ov-old' }, 40),
    ];
    expect((await post(s.url, '/v1/batch', { batch })).status).toBe(200);
    await untilLoaded(s.url);
    const from = new Date(today - 9 * day).toISOString();
    const to = new Date(today + day).toISOString();
    const range = `seenFrom=${from}&seenTo=${to}`;
    // The journey tables follow the load within seconds.
    let o: Json = {};
    for (let i = 0; i < 100; i++) {
      o = (await adminApi(s.url, 'GET', `/api/overview?from=${from}&to=${to}`)).json;
      if (o.totals.touchpoints >= 2 && o.trend.some((b: { persons: number }) => b.persons > 0)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const persons = (await adminApi(s.url, 'GET', `/api/persons?limit=1&${range}`)).json.total;
    const accounts = (await adminApi(s.url, 'GET', `/api/accounts?limit=1&${range}`)).json.total;
    const touched = (await adminApi(s.url, 'GET', `/api/persons?limit=1&touchedFrom=${from}&touchedTo=${to}`))
      .json.total;
    expect(o.totals.persons).toBe(persons);
    expect(o.totals.accounts).toBe(accounts);
    expect(o.totals.touchedPersons).toBe(touched);
    // The crawler is a person of the list (it was seen), but its day has no person in the
    // journeys' trend: bot traffic is left out there.
    const bucket = (daysAgo: number) =>
      o.trend.find((b: { at: string }) => b.at === new Date(today - daysAgo * day).toISOString());
    expect(bucket(3)).toEqual(expect.objectContaining({ events: 1, persons: 0 }));
    expect(bucket(2)).toEqual(expect.objectContaining({ persons: 1, accounts: 1 }));
    expect(bucket(5)).toEqual(expect.objectContaining({ persons: 1, conversions: 1 }));
    // Ten days, each a bucket, quiet ones as zeros.
    expect(o.trend).toHaveLength(10);
    expect(bucket(7)).toEqual(expect.objectContaining({ events: 0, persons: 0, touchpoints: 0 }));
    expect(o.recentConversions[0].personId).toMatch(/^p_/);
  });
});
