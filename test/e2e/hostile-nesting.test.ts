import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, basic, getApi, post } from '../support/http.js';
import { ADMIN_KEY, removeDir, startTestServer, type TestServer } from '../support/servers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

/** `depth` arrays around a leaf, as text: JSON.stringify itself cannot write this deep. */
const deepArray = (depth: number, leaf = '1') => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
/** An object `levels` objects deep ({"a":{"a":…{}}}), counted as the 64-level limit counts. */
const deepObject = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

/** Beyond the depth at which V8's (recursive) JSON.stringify overflows the stack. */
const HOSTILE = 5_000;

type Row = Record<string, unknown>;
async function quarantined(code: string): Promise<Row[]> {
  return (await getApi(s.url, `/api/quarantine?code=${code}&limit=1000`)).json.items as Row[];
}

describe('hostile nesting is a client mistake: a 4xx for that message only, never a 5xx', () => {
  it('a single call with a deeply nested type → 400 nesting_too_deep, no Retry-After, quarantined', async () => {
    const body = `{"type":${deepArray(HOSTILE)},"userId":"single-deep","event":"e"}`;
    const res = await post(s.url, '/v1/track', body);
    expect(res.status).toBe(400);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.json.error).toMatchObject({ code: 'nesting_too_deep', details: { field: 'type' } });
    const row = (await quarantined('nesting_too_deep')).find((q) =>
      String(q.payload).includes('"single-deep"'),
    );
    expect(row).toMatchObject({ field: 'type', batchIndex: null });
    expect(String(row?.reason)).toContain('64');
    expect(row?.payload).toBe(body);
  });

  it('a batch keeps its good messages beside deeply nested ones, each reported and quarantined by index', async () => {
    const badType = `{"type":${deepArray(HOSTILE)},"userId":"batch-deep","event":"Bad type"}`;
    const badProps = `{"type":"track","userId":"batch-deep","event":"Bad props","properties":{"d":${deepArray(HOSTILE)}}}`;
    const badItem = deepArray(HOSTILE, '"batch-deep item"');
    const good = (n: number) => `{"type":"track","userId":"batch-deep","event":"Good ${n}"}`;
    const body = `{"batch":[${good(1)},${badType},${badProps},${badItem},${good(2)}]}`;
    const res = await post(s.url, '/v1/batch', body);
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(2);
    expect(res.json.errors.map((e: Row) => [e.index, e.code, e.field])).toEqual([
      [1, 'nesting_too_deep', 'type'],
      [2, 'nesting_too_deep', 'properties'],
      [3, 'invalid_message', undefined],
    ]);
    const stored = await allEvents(s.url, 'userId=batch-deep');
    expect(stored.map((e) => e.event).sort()).toEqual(['Good 1', 'Good 2']);

    // Each bad item is kept as itself (not the whole request), however deep it is.
    const deepRows = (await quarantined('nesting_too_deep')).filter((q) =>
      String(q.payload).includes('"batch-deep"'),
    );
    expect(deepRows.map((q) => [q.batchIndex, q.field, q.payload]).sort()).toEqual([
      [1, 'type', badType],
      [2, 'properties', badProps],
    ]);
    expect(deepRows.every((q) => String(q.reason).includes('64'))).toBe(true);
    const itemRow = (await quarantined('invalid_message')).find((q) =>
      String(q.payload).includes('batch-deep item'),
    );
    expect(itemRow).toMatchObject({ batchIndex: 3, payload: badItem });
  });

  it.each([
    ['context', HOSTILE],
    ['integrations', HOSTILE],
    ['context', 70],
    ['context', 65],
  ])(
    'a batch envelope %s nested %i levels → 400 nesting_too_deep naming the field, quarantined',
    async (field, depth) => {
      const marker = `envelope-${field}-${depth}`;
      const body = `{"${field}":${deepObject(depth)},"batch":[{"type":"track","userId":"${marker}","event":"e"}]}`;
      const res = await post(s.url, '/v1/batch', body);
      expect(res.status).toBe(400);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(res.json.error).toMatchObject({ code: 'nesting_too_deep', details: { field } });
      expect(res.json.error.message).toContain(field);
      const row = (await quarantined('nesting_too_deep')).find((q) => String(q.payload).includes(marker));
      expect(row?.reason).toBe(res.json.error.message);
      expect(await allEvents(s.url, `userId=${marker}`)).toEqual([]);
    },
  );

  it('a batch envelope context at exactly the limit (64 levels) is accepted and merged', async () => {
    const body = `{"context":${deepObject(64)},"batch":[{"type":"track","userId":"envelope-64","event":"e"}]}`;
    const res = await post(s.url, '/v1/batch', body);
    expect(res.json).toMatchObject({ success: true, accepted: 1 });
    const [e] = await allEvents(s.url, 'userId=envelope-64');
    expect(JSON.stringify(e.context.a)).toBe(deepObject(63));
  });

  it('JSON.parse itself survives the deepest body 500 KB can hold (plain and gzip)', async () => {
    // 1,000,000 levels need 2 MB of brackets: past the 500 KB limit, decompressed or not.
    const depth = 255_000;
    const body = `{"userId":"u","event":"e","properties":{"d":${deepArray(depth)}}}`;
    expect(body.length).toBeLessThan(500 * 1024);
    const plain = await post(s.url, '/v1/track', body);
    expect(plain.status).toBe(400);
    expect(plain.json.error).toMatchObject({ code: 'nesting_too_deep', details: { field: 'properties' } });
    const zipped = await post(s.url, '/v1/track', gzipSync(body), {
      authorization: basic(),
      'content-encoding': 'gzip',
    });
    expect(zipped.status).toBe(400);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  it('an import keeps its good lines beside a deeply nested one, which is quarantined with its line', async () => {
    const bad = `{"type":${deepArray(HOSTILE)},"userId":"import-deep","event":"Bad"}`;
    const good = (n: number) => JSON.stringify({ type: 'track', userId: 'import-deep', event: `Good ${n}` });
    const res = await fetch(`${s.url}/api/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
      body: [good(1), bad, good(2)].join('\n'),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      inserted: 2,
      rejected: 1,
      rejectedByCode: { nesting_too_deep: 1 },
    });
    const stored = await allEvents(s.url, 'userId=import-deep');
    expect(stored.map((e) => e.event).sort()).toEqual(['Good 1', 'Good 2']);
    const row = (await quarantined('nesting_too_deep')).find((q) =>
      String(q.payload).includes('import-deep'),
    );
    expect(row).toMatchObject({ batchIndex: 2, field: 'type', payload: bad });
    expect(String(row?.reason)).toMatch(/^line 2: .*64/);
  });
});

describe('stored text is what was sent', () => {
  it('keeps a typed backslash-u text exactly; only real lone surrogates become U+FFFD', async () => {
    // Written by hand: `\\ud800` is the six characters \ud800; `\ud800` is a lone UTF-16 half.
    const body =
      '{"userId":"escaped-text","event":"Typed \\\\ud800","category":"\\\\uDBFF","properties":{"path":"C:\\\\uD83D\\\\x","\\\\udfff key":"v",' +
      '"lone":"a\\ud800b","both":"\\\\\\ud800","pair":"\\ud83d\\ude00"}}';
    const res = await post(s.url, '/v1/track', body);
    expect(res.status).toBe(200);
    const [e] = await allEvents(s.url, 'userId=escaped-text');
    expect(e.event).toBe('Typed \\ud800');
    expect(e.category).toBe('\\uDBFF');
    expect(e.properties).toEqual({
      path: 'C:\\uD83D\\x',
      '\\udfff key': 'v',
      lone: 'a\ufffdb',
      both: '\\\ufffd',
      pair: '😀',
    });
  });
});
