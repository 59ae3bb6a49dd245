import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, basic, getApi, type Json, post, readJson } from '../support/http.js';
import { ADMIN_KEY, removeDir, startTestServer, type TestServer } from '../support/servers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  // Ten events at distinct times, two sharing a timestamp to exercise the tie-break.
  const batch = Array.from({ length: 10 }, (_, i) => ({
    type: i % 2 === 0 ? 'track' : 'page',
    userId: i < 5 ? 'alice' : undefined,
    anonymousId: i >= 5 ? 'anon-b' : undefined,
    event: i % 2 === 0 ? (i % 4 === 0 ? 'Signed Up' : 'Logged In') : undefined,
    name: i % 2 === 1 ? 'Home' : undefined,
    messageId: `r-${i}`,
    timestamp: new Date(Date.UTC(2025, 0, 1 + Math.min(i, 8))).toISOString(),
  }));
  expect((await post(s.url, '/v1/batch', { batch })).json.accepted).toBe(10);
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

describe('GET /api/events', () => {
  it('lists newest first, ties broken by arrival sequence', async () => {
    const ids = (await allEvents(s.url)).map((e) => e.messageId);
    expect(ids).toEqual(['r-9', 'r-8', 'r-7', 'r-6', 'r-5', 'r-4', 'r-3', 'r-2', 'r-1', 'r-0']);
  });

  it('pages with a cursor without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/api/events?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await getApi(s.url, q);
      expect(page.status).toBe(200);
      seen.push(...page.json.events.map((e: Json) => e.messageId));
      cursor = page.json.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toEqual((await allEvents(s.url)).map((e) => e.messageId));
  });

  it('filters by type, event, userId, anonymousId and time range', async () => {
    expect((await allEvents(s.url, 'type=page')).every((e) => e.type === 'page')).toBe(true);
    expect((await allEvents(s.url, 'event=Signed Up')).map((e) => e.messageId)).toEqual([
      'r-8',
      'r-4',
      'r-0',
    ]);
    expect(await allEvents(s.url, 'userId=alice')).toHaveLength(5);
    expect(await allEvents(s.url, 'anonymousId=anon-b')).toHaveLength(5);
    const range = await allEvents(s.url, 'from=2025-01-02T00:00:00Z&to=2025-01-04T00:00:00Z');
    expect(range.map((e) => e.messageId)).toEqual(['r-2', 'r-1']);
  });

  it('rejects bad queries with the field at fault', async () => {
    const bad = await getApi(s.url, '/api/events?from=last-week');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'invalid_query', details: { field: 'from' } });
    expect((await getApi(s.url, '/api/events?cursor=garbage')).json.error.code).toBe('invalid_query');
    expect((await getApi(s.url, '/api/events?limit=0')).status).toBe(400);
    expect((await getApi(s.url, '/api/events?type=click')).status).toBe(400);
  });
});

describe('GET /api/events/live', () => {
  it('streams events of this workspace as they are committed', async () => {
    const controller = new AbortController();
    const res = await fetch(`${s.url}/api/events/live?type=track`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const received: Json[] = [];
    const parser = createParser({ onEvent: (m) => m.event === 'event' && received.push(JSON.parse(m.data)) });
    const reading = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body!) {
          parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
          if (received.length >= 2) break;
        }
      } catch {
        // aborted
      }
    })();
    await post(s.url, '/v1/page', { userId: 'live', name: 'Filtered Out' });
    await post(s.url, '/v1/track', { userId: 'live', event: 'Live 1' });
    await post(s.url, '/v1/track', { userId: 'live', event: 'Live 2' });
    await Promise.race([reading, new Promise((r) => setTimeout(r, 5000))]);
    controller.abort();
    expect(received.map((e) => e.event)).toEqual(['Live 1', 'Live 2']);
    expect(received[0]).toMatchObject({ type: 'track', userId: 'live' });
  });
});

describe('keys over the API', () => {
  it('creates a write key that works at once and stops working when revoked', async () => {
    const created = await fetch(`${s.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'write', label: 'ios app' }),
    });
    expect(created.status).toBe(201);
    const key = await readJson(created);
    expect(key.secret).toMatch(/^wk_/);
    const body = { userId: 'k', event: 'With New Key' };
    expect((await post(s.url, '/v1/track', body, { authorization: basic(key.secret) })).status).toBe(200);

    const listed = await getApi(s.url, '/api/keys');
    const admin = listed.json.keys.find((k: Json) => k.kind === 'admin');
    expect(admin.key).not.toBe(ADMIN_KEY); // only a hint of a secret key is ever shown
    expect(ADMIN_KEY.startsWith(admin.key.replace('…', ''))).toBe(true);

    const revoked = await fetch(`${s.url}/api/keys/${key.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(revoked.status).toBe(200);
    expect((await post(s.url, '/v1/track', body, { authorization: basic(key.secret) })).status).toBe(401);
  });
});

describe('operations', () => {
  it('exposes health, Prometheus metrics and the OpenAPI description', async () => {
    expect((await readJson(await fetch(`${s.url}/health`))).status).toBe('ok');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    for (const name of [
      'throughline_messages_received_total',
      'throughline_messages_accepted_total',
      'throughline_messages_rejected_total',
      'throughline_messages_deduplicated_total',
      'throughline_commit_duration_seconds_bucket',
    ]) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/throughline_messages_accepted_total \d+/);
    const openapi = await readJson(await fetch(`${s.url}/openapi.json`));
    expect(openapi.openapi).toBe('3.1.0');
    for (const path of ['/v1/track', '/v1/t', '/v1/batch', '/v1/import', '/api/events', '/api/events/live']) {
      expect(Object.keys(openapi.paths)).toContain(path);
    }
  });
});
