import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, type Json, post } from '../support/http.js';
import { ADMIN_KEY, removeDir, startTestServer, type TestServer } from '../support/servers.js';

// Issue 13: lists that answer "who is in X now": every person and account of a workspace,
// filtered by current traits, text and last activity, sorted by last or first activity, paged
// with an opaque cursor and a total; from the person model in SQL.

let s: TestServer;
const get = (path: string) => adminApi(s.url, 'GET', path);
const at = (day: number, hour = 12) => new Date(Date.UTC(2026, 4, day, hour)).toISOString();

/** Every page of a list, following nextCursor. */
async function all(path: string, key: 'persons' | 'accounts'): Promise<{ rows: Json[]; totals: number[] }> {
  const rows: Json[] = [];
  const totals: number[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status, JSON.stringify(page.json)).toBe(200);
    rows.push(...page.json[key]);
    totals.push(page.json.total);
    cursor = page.json.nextCursor;
  } while (cursor);
  return { rows, totals };
}

beforeAll(async () => {
  s = await startTestServer();
  const batch = [
    // Jane browses anonymously, then signs in: one person.
    { type: 'page', anonymousId: 'jane-laptop', name: 'Pricing', timestamp: at(1), messageId: 'l-1' },
    {
      type: 'identify',
      anonymousId: 'jane-laptop',
      userId: 'jane',
      traits: { email: 'Jane@Example.com', plan: 'pro', seats: 5 },
      timestamp: at(2),
      messageId: 'l-2',
    },
    { type: 'track', userId: 'jane', event: 'Report Viewed', timestamp: at(9), messageId: 'l-3' },
    {
      type: 'identify',
      userId: 'bob',
      traits: { plan: 'free', name: 'Bob' },
      timestamp: at(3),
      messageId: 'l-4',
    },
    { type: 'track', userId: 'bob', event: 'Signed Up', timestamp: at(4), messageId: 'l-5' },
    // Carol was on pro, then moved to free: only her current plan counts.
    { type: 'identify', userId: 'carol', traits: { plan: 'pro' }, timestamp: at(5), messageId: 'l-6' },
    { type: 'identify', userId: 'carol', traits: { plan: 'free' }, timestamp: at(6), messageId: 'l-7' },
    { type: 'page', anonymousId: 'drifter', name: 'Blog', timestamp: at(7), messageId: 'l-8' },
    {
      type: 'identify',
      userId: 'dan',
      traits: { plan: 'pro', seats: '5' },
      timestamp: at(8),
      messageId: 'l-9',
    },
    {
      type: 'group',
      userId: 'jane',
      groupId: 'acme',
      traits: { name: 'Acme Inc', plan: 'enterprise' },
      timestamp: at(9, 13),
      messageId: 'l-10',
    },
    { type: 'group', userId: 'bob', groupId: 'acme', timestamp: at(4, 13), messageId: 'l-11' },
    {
      type: 'group',
      userId: 'carol',
      groupId: 'globex',
      traits: { name: 'Globex', plan: 'team' },
      timestamp: at(6, 13),
      messageId: 'l-12',
    },
  ];
  expect((await post(s.url, '/v1/batch', { batch })).json.accepted).toBe(batch.length);
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

const ids = (rows: Json[]) => rows.map((p) => p.identifiers[0].value);

describe('GET /api/persons lists everyone', () => {
  it('without a query: newest activity first, every page through the cursor, with the total', async () => {
    const { rows, totals } = await all('/api/persons', 'persons');
    expect(ids(rows)).toEqual(['jane', 'dan', 'drifter', 'carol', 'bob']);
    expect(totals).toEqual([5, 5, 5]);
    const jane = rows[0];
    expect(jane).toMatchObject({
      id: expect.stringMatching(/^p_[0-9a-f]{20}$/),
      identifiers: [
        { type: 'user_id', value: 'jane' },
        { type: 'email', value: 'jane@example.com' },
        { type: 'anonymous_id', value: 'jane-laptop' },
      ],
      traits: { email: 'Jane@Example.com', plan: 'pro', seats: 5 },
      eventCount: 4,
    });
    expect(Date.parse(jane.firstSeen)).toBeLessThan(Date.parse(jane.lastSeen));
    // The same person as its profile.
    expect((await get(`/api/persons/${jane.id}`)).json.eventCount).toBe(4);
  });

  it('sorts by first activity, either way', async () => {
    expect(ids((await all('/api/persons?sort=firstSeen&order=asc', 'persons')).rows)).toEqual([
      'jane',
      'bob',
      'carol',
      'drifter',
      'dan',
    ]);
    expect(ids((await all('/api/persons?sort=firstSeen', 'persons')).rows)).toEqual([
      'dan',
      'drifter',
      'carol',
      'bob',
      'jane',
    ]);
  });

  it('filters by current trait, as a string or JSON value', async () => {
    const pro = await all('/api/persons?trait.plan=pro', 'persons');
    expect(ids(pro.rows)).toEqual(['jane', 'dan']);
    expect(pro.totals[0]).toBe(2);
    // 5 matches the number 5 and the string "5".
    expect(ids((await all('/api/persons?trait.seats=5', 'persons')).rows)).toEqual(['jane', 'dan']);
    expect(ids((await all('/api/persons?trait.plan=free&trait.name=Bob', 'persons')).rows)).toEqual(['bob']);
  });

  it('filters by last activity', async () => {
    const r = await all(`/api/persons?seenFrom=${at(4)}&seenTo=${at(8)}`, 'persons');
    expect(ids(r.rows)).toEqual(['drifter', 'carol', 'bob']);
  });

  it('keeps the old query: part of an identifier, an exact type:value, trait text', async () => {
    const part = (await get('/api/persons?query=JANE-lap')).json;
    expect(part.persons.map((p: Json) => [p.identifiers[0].value, p.matched])).toEqual([
      ['jane', 'anonymous_id'],
    ]);
    const exact = (await get(`/api/persons?query=${encodeURIComponent('email:JANE@example.com')}`)).json;
    expect(exact.persons.map((p: Json) => [p.identifiers[0].value, p.matched])).toEqual([
      ['jane', 'identifier'],
    ]);
    const trait = (await get('/api/persons?query=bob&limit=5')).json;
    expect(trait.persons.map((p: Json) => p.identifiers[0].value)).toEqual(['bob']);
    expect((await get('/api/persons?query=nobody-at-all')).json).toEqual({
      persons: [],
      total: 0,
      nextCursor: null,
    });
  });

  it('answers 400 for a bad cursor, a cursor of another sort, a bad time', async () => {
    expect((await get('/api/persons?cursor=zzz')).status).toBe(400);
    const first = (await get('/api/persons?limit=1')).json;
    const other = await get(`/api/persons?limit=1&sort=firstSeen&cursor=${first.nextCursor}`);
    expect(other.status).toBe(400);
    expect(other.json.error.message).toMatch(/sort/);
    const bad = await get('/api/persons?seenFrom=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/seenFrom/);
    expect((await get('/api/persons?unknown=1')).status).toBe(400);
  });

  it('follows merges: a person merged into another is listed once, under the survivor', async () => {
    const before = (await get('/api/persons')).json.total;
    const merged = await adminApi(s.url, 'POST', `/api/persons/${encodeURIComponent('user_id:dan')}/merge`, {
      with: 'anonymous_id:drifter',
    });
    expect(merged.status).toBe(200);
    const after = await all('/api/persons', 'persons');
    expect(after.totals[0]).toBe(before - 1);
    expect(ids(after.rows)).toEqual(['jane', 'dan', 'carol', 'bob']);
    await adminApi(s.url, 'POST', `/api/identity/operations/${merged.json.operation.id}/undo`);
    expect((await get('/api/persons')).json.total).toBe(before);
  });
});

describe('GET /api/accounts lists every account', () => {
  it('with members, activity and traits, paged, filtered and searched', async () => {
    const { rows, totals } = await all('/api/accounts', 'accounts');
    expect(rows.map((a: Json) => a.id)).toEqual(['acme', 'globex']);
    expect(totals).toEqual([2]);
    expect(rows[0]).toMatchObject({ traits: { name: 'Acme Inc', plan: 'enterprise' }, members: 2 });
    expect((await get('/api/accounts/acme')).json.eventCount).toBe(rows[0].eventCount);
    expect((await all('/api/accounts?trait.plan=team', 'accounts')).rows.map((a: Json) => a.id)).toEqual([
      'globex',
    ]);
    expect((await all('/api/accounts?query=ACME', 'accounts')).rows.map((a: Json) => a.id)).toEqual(['acme']);
    expect((await all('/api/accounts?query=globex%20inc', 'accounts')).rows).toEqual([]);
    expect(
      (await all('/api/accounts?sort=firstSeen&order=asc', 'accounts')).rows.map((a: Json) => a.id),
    ).toEqual(['acme', 'globex']);
  });
});

describe('`throughline persons` and `throughline accounts`', () => {
  const access = ['--url', '', '--admin-key', ADMIN_KEY];
  beforeAll(() => {
    access[1] = s.url;
  });

  it('print a page, and the next with --cursor (through the API while the server holds the data)', async () => {
    const first = await cliAsync(['persons', '--data', s.dataDir, ...access, '--limit', '2', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const page = JSON.parse(first.stdout);
    expect(page.total).toBe(5);
    expect(ids(page.persons)).toEqual(['jane', 'dan']);
    const next = await cliAsync([
      'persons',
      '--data',
      s.dataDir,
      ...access,
      '--cursor',
      page.nextCursor,
      '-n',
      '2',
    ]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/^ID\s+LASTSEEN\s+FIRSTSEEN\s+EVENTS\s+IDENTIFIERS/);
    expect(next.stdout).toMatch(/anonymous_id:drifter/);
    expect(next.stdout).toMatch(/2 of 5 persons; next page: --cursor \S+/);
    const pro = await cliAsync(['persons', '--data', s.dataDir, ...access, '--trait', 'plan=pro', '--json']);
    expect(ids(JSON.parse(pro.stdout).persons)).toEqual(['jane', 'dan']);
    const accounts = await cliAsync(['accounts', '--data', s.dataDir, ...access]);
    expect(accounts.code, accounts.stderr).toBe(0);
    expect(accounts.stdout).toMatch(/acme\s+Acme Inc\s+2/);
    expect(accounts.stdout).toMatch(/2 of 2 accounts\n$/);
    const bad = await cliAsync(['persons', '--data', s.dataDir, ...access, '--trait', 'plan']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/name=value/);
  }, 90_000);
});
