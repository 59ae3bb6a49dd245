import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, basic, getApi, post, readJson } from '../support/http.js';
import { removeDir, startTestServer, type TestServer, WRITE_KEY } from '../support/servers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

const raw = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, { method: 'POST', headers: { authorization: basic(), ...headers }, body });

async function quarantined(code: string) {
  return (await getApi(s.url, `/api/quarantine?code=${code}`)).json.items as Array<Record<string, unknown>>;
}

describe('request-level errors', () => {
  it('truncated JSON → 400 invalid_json, kept in quarantine', async () => {
    const res = await raw('/v1/track', '{"userId":"u","event":"Trunc');
    expect(res.status).toBe(400);
    expect((await readJson(res)).error.code).toBe('invalid_json');
    expect((await quarantined('invalid_json')).some((q) => String(q.payload).length > 0)).toBe(true);
  });

  it('non-JSON and non-object bodies → 400', async () => {
    expect((await raw('/v1/track', 'hello there')).status).toBe(400);
    const arr = await raw('/v1/track', '[1,2,3]');
    expect(arr.status).toBe(400);
    expect((await readJson(arr)).error.code).toBe('invalid_body');
    const empty = await raw('/v1/track', '');
    expect(empty.status).toBe(400);
    expect((await readJson(empty)).error.code).toBe('invalid_body');
  });

  it('gzip garbage → 400 invalid_encoding; real gzip is accepted', async () => {
    const bad = await raw('/v1/track', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).error.code).toBe('invalid_encoding');
    const good = await raw('/v1/track', gzipSync(JSON.stringify({ userId: 'gz', event: 'Zipped' })), {
      'content-encoding': 'gzip',
      'content-type': 'application/json',
    });
    expect(good.status).toBe(200);
    expect((await allEvents(s.url, 'userId=gz')).map((e) => e.event)).toEqual(['Zipped']);
  });

  it('unknown content encoding → 415', async () => {
    const res = await raw('/v1/track', '{}', { 'content-encoding': 'zstd-ish' });
    expect(res.status).toBe(415);
  });

  it('a request over 500 KB → 413 with a JSON error', async () => {
    const res = await post(s.url, '/v1/batch', {
      batch: [{ type: 'track', userId: 'u', event: 'x'.repeat(600_000) }],
    });
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('request_too_large');
    // The key came in a header, so the refused request is on record too.
    expect(await quarantined('request_too_large')).toHaveLength(1);
  });

  it('a gzip bomb is capped at 500 KB decompressed → 413', async () => {
    const bomb = gzipSync(
      JSON.stringify({ userId: 'u', event: 'e', properties: { p: 'a'.repeat(2_000_000) } }),
    );
    expect(bomb.length).toBeLessThan(500_000);
    const res = await raw('/v1/track', bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
  });

  it('a batch of 2,501 → 400 too_many_messages; 2,500 is fine', async () => {
    const msg = (i: number) => ({ type: 'track', userId: `b${i}`, event: 'Bulk' });
    const over = await post(s.url, '/v1/batch', { batch: Array.from({ length: 2501 }, (_, i) => msg(i)) });
    expect(over.status).toBe(400);
    expect(over.json.error.code).toBe('too_many_messages');
    const ok = await post(s.url, '/v1/batch', { batch: Array.from({ length: 2500 }, (_, i) => msg(i)) });
    expect(ok.status).toBe(200);
    expect(ok.json.accepted).toBe(2500);
  });

  it('batch must be an array', async () => {
    const res = await post(s.url, '/v1/batch', { batch: { type: 'track' } });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'invalid_body', details: { field: 'batch' } });
  });
});

describe('authentication', () => {
  const body = { userId: 'auth', event: 'Authed' };
  it('accepts Basic with and without the colon, X-Write-Key, and writeKey in the body', async () => {
    const noColon = `Basic ${Buffer.from(WRITE_KEY).toString('base64')}`;
    expect((await post(s.url, '/v1/track', body, { authorization: basic() })).status).toBe(200);
    expect((await post(s.url, '/v1/track', body, { authorization: noColon })).status).toBe(200);
    expect((await post(s.url, '/v1/track', body, { 'x-write-key': WRITE_KEY })).status).toBe(200);
    expect((await post(s.url, '/v1/track', { ...body, writeKey: WRITE_KEY }, {})).status).toBe(200);
    expect(
      (await post(s.url, '/v1/batch', { batch: [{ ...body, type: 'track' }], writeKey: WRITE_KEY }, {}))
        .status,
    ).toBe(200);
  });

  it('missing key → 401 missing_key; wrong key → 401 invalid_key', async () => {
    const missing = await post(s.url, '/v1/track', body, {});
    expect(missing.status).toBe(401);
    expect(missing.json.error.code).toBe('missing_key');
    const wrong = await post(s.url, '/v1/track', body, { authorization: basic('wk_nope') });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('invalid_key');
    const wrongBody = await post(s.url, '/v1/track', { ...body, writeKey: 'nope' }, {});
    expect(wrongBody.json.error.code).toBe('invalid_key');
  });

  it('the admin API wants the admin key, not the write key', async () => {
    expect((await getApi(s.url, '/api/events', WRITE_KEY)).status).toBe(401);
    const res = await fetch(`${s.url}/api/events`);
    expect(res.status).toBe(401);
    expect((await readJson(res)).error.code).toBe('missing_key');
  });
});

describe('message-level errors', () => {
  it.each([
    ['/v1/track', { event: 'No Ids' }, 'missing_field'],
    ['/v1/track', { userId: 'u' }, 'missing_field'],
    ['/v1/group', { userId: 'u' }, 'missing_field'],
    ['/v1/alias', { userId: 'u' }, 'missing_field'],
    ['/v1/track', { userId: 'u', event: ['x'] }, 'invalid_type'],
    ['/v1/identify', { userId: { id: 1 } }, 'invalid_type'],
    ['/v1/identify', { userId: 'u', traits: 'vip' }, 'invalid_type'],
    ['/v1/identify', { userId: 'u', timestamp: 'tomorrow' }, 'invalid_timestamp'],
    ['/v1/identify', { userId: 'u', messageId: 'x'.repeat(101) }, 'invalid_value'],
    ['/v1/track', { userId: 'u', event: 'Big', properties: { s: 'x'.repeat(40_000) } }, 'message_too_large'],
  ] as const)('%s %j → 400 %s', async (path, body, code) => {
    const res = await post(s.url, path, body);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(code);
  });

  it('deep nesting is refused without crashing the server', async () => {
    // Built as text: JSON.stringify itself cannot go this deep.
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const body = `{"userId":"u","event":"Deep","properties":{"deep":${deep}}}`;
    const res = await post(s.url, '/v1/track', body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'nesting_too_deep', details: { field: 'properties' } });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const batch = await post(
      s.url,
      '/v1/batch',
      `{"batch":[{"type":"track","userId":"u","event":"D","properties":{"d":${deep}}}]}`,
    );
    expect(batch.json.errors[0]).toMatchObject({ index: 0, code: 'nesting_too_deep' });
    const kept = await quarantined('nesting_too_deep');
    expect(kept.length).toBe(2);
    expect(kept.every((q) => String(q.payload).includes('"Deep"') || String(q.payload).includes('"D"'))).toBe(
      true,
    );
  });

  it('keeps unicode, emoji and NUL characters intact', async () => {
    const props = { name: 'Zoë 😀 中文', nul: 'a\u0000b', rtl: 'שלום' };
    const res = await post(s.url, '/v1/track', {
      userId: 'uni-\u0000-ü',
      event: 'Ünïcødé 🎉',
      properties: props,
    });
    expect(res.status).toBe(200);
    const [e] = await allEvents(s.url, `event=${encodeURIComponent('Ünïcødé 🎉')}`);
    expect(e).toMatchObject({ userId: 'uni-\u0000-ü', properties: props });
  });

  it('stores a batch holding an unpaired surrogate, with U+FFFD in its place', async () => {
    // Escapes written by hand: a lone "\\ud800" is legal JSON but not valid Unicode.
    const body =
      '{"batch":[{"type":"track","userId":"sur","event":"Lone \\ud800"},{"type":"track","userId":"sur","event":"Fine"}]}';
    const res = await post(s.url, '/v1/batch', body);
    expect(res.json).toMatchObject({ success: true, accepted: 2 });
    expect((await allEvents(s.url, 'userId=sur')).map((e) => e.event).sort()).toEqual([
      'Fine',
      'Lone \ufffd',
    ]);
  });

  it('a 31 KB string inside the limits is stored whole', async () => {
    const big = 'y'.repeat(31_000);
    expect(
      (await post(s.url, '/v1/track', { userId: 'huge', event: 'Huge', properties: { big } })).status,
    ).toBe(200);
    const [e] = await allEvents(s.url, 'userId=huge');
    expect(e.properties.big).toHaveLength(31_000);
  });

  it('stores the good messages of a batch and reports the bad ones by index', async () => {
    const res = await post(s.url, '/v1/batch', {
      batch: [
        { type: 'track', userId: 'mix', event: 'Good 1' },
        { type: 'track', userId: 'mix' },
        { type: 'launch', userId: 'mix' },
        'not an object',
        { type: 'identify', userId: 'mix', traits: { plan: 'pro' } },
        { type: 'page', anonymousId: 'mix-anon', timestamp: 42 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(2);
    expect(res.json.errors.map((e: { index: number; code: string }) => [e.index, e.code])).toEqual([
      [1, 'missing_field'],
      [2, 'invalid_value'],
      [3, 'invalid_message'],
      [5, 'invalid_type'],
    ]);
    const stored = await allEvents(s.url, 'userId=mix');
    expect(stored.map((e) => e.type).sort()).toEqual(['identify', 'track']);
    const q = await getApi(s.url, '/api/quarantine?limit=1000');
    const mine = q.json.items.filter(
      (i: { requestId: string; batchIndex: number }) =>
        String(i.requestId).length > 0 && [1, 2, 3, 5].includes(i.batchIndex),
    );
    expect(mine.some((i: { payload: string }) => i.payload === '"not an object"')).toBe(true);
  });

  it('a repeated messageId with another payload → 409 and quarantine; an exact repeat → 200 duplicate', async () => {
    const msg = { userId: 'dup', event: 'Once', messageId: 'dup-1' };
    expect((await post(s.url, '/v1/track', msg)).json).toEqual({ success: true });
    expect((await post(s.url, '/v1/track', msg)).json).toEqual({ success: true, duplicate: true });
    const conflict = await post(s.url, '/v1/track', { ...msg, event: 'Twice' });
    expect(conflict.status).toBe(409);
    expect(conflict.json.error.code).toBe('conflicting_duplicate');
    expect(await allEvents(s.url, 'userId=dup')).toHaveLength(1);
    expect((await quarantined('conflicting_duplicate')).some((q) => q.messageId === 'dup-1')).toBe(true);
  });
});

describe('browser support', () => {
  it('answers CORS preflights with the caller origin', async () => {
    const res = await fetch(`${s.url}/v1/t`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  });

  it('takes text/plain bodies (sendBeacon) on the short paths', async () => {
    const res = await raw(
      '/v1/p',
      JSON.stringify({ anonymousId: 'beacon', name: 'Pricing', writeKey: WRITE_KEY }),
      {
        'content-type': 'text/plain;charset=UTF-8',
        authorization: '',
      },
    );
    expect(res.status).toBe(200);
    expect((await allEvents(s.url, 'anonymousId=beacon'))[0]).toMatchObject({
      type: 'page',
      name: 'Pricing',
    });
  });

  it('serves analytics.js settings that point back at this server', async () => {
    const res = await fetch(`${s.url}/v1/projects/${WRITE_KEY}/settings`);
    expect(res.status).toBe(200);
    const settings = await readJson(res);
    expect(settings.integrations['Segment.io']).toMatchObject({
      apiKey: WRITE_KEY,
      apiHost: `${new URL(s.url).host}/v1`,
    });
    expect((await fetch(`${s.url}/v1/projects/wk_unknown/settings`)).status).toBe(401);
  });
});
