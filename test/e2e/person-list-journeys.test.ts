import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, basic, type Json, post } from '../support/http.js';
import {
  ADMIN_KEY,
  type ExtraWorkspace,
  removeDir,
  startTestServer,
  type TestServer,
  twoWorkspaces,
} from '../support/servers.js';

// Person and account lists that answer "who is in stage X now" and "who touched channel Y":
// `stage` filters by the current stage (the last row of stage_history), `channel` by journey
// touchpoints (an account: any member's), optionally in [touchedFrom, touchedTo); each row shows
// its current stage. The server derives both tables itself from the events the test sends
// through the Tracking API (default workspace: the b2b-saas stage model, GA4 channels).
// Accounts' stages are the server's too, from their account journeys (members' events in one
// journey): acme (jane and bob) went awareness, lead, customer with jane's deal, then churned
// with bob's cancellation; globex (carol) is a lead; initech (dan) has no stage; the other
// workspace's globex (dan), a customer.
let s: TestServer;
let other: ExtraWorkspace;
const get = (path: string, key = ADMIN_KEY) => adminApi(s.url, 'GET', path, undefined, key);
const q = encodeURIComponent;

// Event times: day n is n days after a date 30 days ago (recent enough that no inactivity rule
// of the stage model, 180 days, is due), at noon unless said otherwise.
const DAY = 86_400_000;
const today = new Date();
const BASE = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - 30 * DAY;
const ms = (day: number, hour = 12) => BASE + day * DAY + hour * 3_600_000;
const at = (day: number, hour = 12) => new Date(ms(day, hour)).toISOString();
const date = (day: number) => at(day, 0).slice(0, 10);

const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const PAID = 'https://app.example/pricing?utm_source=google&utm_medium=cpc';
const EMAIL = 'https://app.example/news?utm_source=newsletter&utm_medium=email';
const BLOG = 'https://app.example/blog';
type Who = { userId: string } | { anonymousId: string } | { userId: string; anonymousId: string };
/** A browser page view: each one that arrives from outside is a touchpoint. */
const view = (who: Who, day: number, url: string, o: { referrer?: string; hour?: number } = {}) => ({
  type: 'page',
  ...who,
  timestamp: at(day, o.hour),
  context: { userAgent: UA, page: { url, referrer: o.referrer ?? '' } },
});
const track = (userId: string, event: string, day: number, hour = 12) => ({
  type: 'track',
  userId,
  event,
  timestamp: at(day, hour),
});
const identify = (userId: string, plan: string, day: number, hour = 12, anonymousId?: string) => ({
  type: 'identify',
  userId,
  ...(anonymousId ? { anonymousId } : {}),
  traits: { plan },
  timestamp: at(day, hour),
});
const group = (userId: string, groupId: string, day: number, hour: number, name?: string) => ({
  type: 'group',
  userId,
  groupId,
  ...(name ? { traits: { name } } : {}),
  timestamp: at(day, hour),
});

// Current stage, earlier stages and touchpoints (channel, day) per person; last activity
// jane 9th, dan 8th, drifter 7th, carol 6th, bob 4th; first seen jane 1st, bob 3rd, carol 5th.
const EVENTS = [
  // jane (customer; was awareness, lead): Paid Search 1st, Email 9th at noon.
  view({ anonymousId: 'jane-laptop' }, 1, PAID),
  identify('jane', 'pro', 2, 12, 'jane-laptop'),
  track('jane', 'Signed Up', 2, 13),
  track('jane', 'Deal Closed Won', 3),
  view({ userId: 'jane', anonymousId: 'jane-laptop' }, 9, EMAIL),
  track('jane', 'Report Viewed', 9, 13),
  group('jane', 'acme', 9, 14, 'Acme'),
  // bob (churned; was awareness, customer): Organic Search 3rd.
  view({ userId: 'bob' }, 3, BLOG, { referrer: 'https://www.google.com/', hour: 10 }),
  identify('bob', 'free', 3, 11),
  track('bob', 'Deal Closed Won', 3, 14),
  track('bob', 'Subscription Cancelled', 4),
  group('bob', 'acme', 4, 13),
  // carol (lead; was awareness): Paid Search 5th.
  view({ userId: 'carol' }, 5, PAID),
  identify('carol', 'free', 5, 13),
  track('carol', 'Signed Up', 6),
  group('carol', 'globex', 6, 13, 'Globex'),
  // drifter, anonymous (awareness): Email 7th.
  view({ anonymousId: 'drifter' }, 7, EMAIL),
  // dan: server-side calls only, so no touchpoint and no stage; his account initech has none either.
  identify('dan', 'pro', 8),
  group('dan', 'initech', 8, 13, 'Initech'),
].map((m, i) => ({ ...m, messageId: `a-${i}` }));

// The other workspace: its own dan, a customer who came from an email on the 8th and joined its
// own account "globex". If a list read another workspace's rows, the lists here would change.
const OTHER_EVENTS = [
  view({ userId: 'dan' }, 8, EMAIL),
  track('dan', 'Deal Closed Won', 8, 13),
  group('dan', 'globex', 8, 14, 'Globex'),
].map((m, i) => ({ ...m, messageId: `b-${i}` }));

/** Every page of a list, following nextCursor, two rows a page. */
async function all(
  path: string,
  key: 'persons' | 'accounts',
  adminKey = ADMIN_KEY,
): Promise<{ rows: Json[]; totals: number[] }> {
  const rows: Json[] = [];
  const totals: number[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=2${cursor ? `&cursor=${cursor}` : ''}`, adminKey);
    expect(page.status, JSON.stringify(page.json)).toBe(200);
    rows.push(...page.json[key]);
    totals.push(page.json.total);
    cursor = page.json.nextCursor;
  } while (cursor);
  return { rows, totals };
}

/** The user (or anonymous) ids of a list's persons, in order. */
const ids = (rows: Json[]) => rows.map((p) => p.identifiers[0].value);
const persons = async (query: string, adminKey = ADMIN_KEY) => {
  const r = await all(`/api/persons?${query}`, 'persons', adminKey);
  // The total counts the filtered set, on every page.
  for (const t of r.totals) expect(t).toBe(r.rows.length);
  return ids(r.rows);
};
const accounts = async (query: string, adminKey = ADMIN_KEY) => {
  const r = await all(`/api/accounts?${query}`, 'accounts', adminKey);
  for (const t of r.totals) expect(t).toBe(r.rows.length);
  return r.rows.map((a: Json) => a.id);
};
/** Each person of a list with its current stage id (null: none). */
const stages = async (adminKey = ADMIN_KEY) =>
  (await all('/api/persons', 'persons', adminKey)).rows.map((p: Json) => [
    p.identifiers[0].value,
    p.stage?.id ?? null,
  ]);

/** Runs `check` until it passes; after `timeoutMs`, fails with its last error. */
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

beforeAll(async () => {
  const made = await twoWorkspaces('other');
  other = made.other;

  s = await startTestServer(made.dir);
  const sent = await post(s.url, '/v1/batch', { batch: EVENTS });
  expect(sent.json.accepted, JSON.stringify(sent.json)).toBe(EVENTS.length);
  const sentOther = await post(
    s.url,
    '/v1/batch',
    { batch: OTHER_EVENTS },
    { authorization: basic(other.write) },
  );
  expect(sentOther.json.accepted, JSON.stringify(sentOther.json)).toBe(OTHER_EVENTS.length);

  // The server builds each workspace's journey tables, then catches up with new events and
  // merges about every second; person lists read the tables as they are, without waiting.
  for (const key of [ADMIN_KEY, other.admin])
    await eventually('the journey tables to be built', async () => {
      const b = (await get('/api/journey/build', key)).json;
      expect(b).toMatchObject({ current: true, builder: { state: 'idle' } });
      expect(b.builder.problem).toBeUndefined();
    });
  await eventually('the journey tables to hold every event sent', async () => {
    expect(await stages()).toEqual([
      ['jane', 'customer'],
      ['dan', null],
      ['drifter', 'awareness'],
      ['carol', 'lead'],
      ['bob', 'churned'],
    ]);
    expect(await persons(`channel=${q('Paid Search')}`)).toEqual(['jane', 'carol']);
    expect(await persons('channel=Email')).toEqual(['jane', 'drifter']);
    expect(await persons(`channel=${q('Organic Search')}`)).toEqual(['bob']);
    expect(await stages(other.admin)).toEqual([['dan', 'customer']]);
    expect(await persons('channel=Email', other.admin)).toEqual(['dan']);
  });
}, 120_000);
afterAll(async () => {
  await s?.close();
  if (s) removeDir(s.dataDir);
});

describe('GET /api/persons by current stage', () => {
  it('shows each person its current stage, or null', async () => {
    const { rows } = await all('/api/persons', 'persons');
    expect(rows.map((p: Json) => [p.identifiers[0].value, p.stage])).toEqual([
      ['jane', { id: 'customer', name: 'Customer' }],
      ['dan', null],
      ['drifter', { id: 'awareness', name: 'Awareness' }],
      ['carol', { id: 'lead', name: 'Lead' }],
      ['bob', { id: 'churned', name: 'Churned' }],
    ]);
  });

  it('filters by the current stage, not an earlier one, any of several, or none', async () => {
    // Jane and Bob were customers; Jane was a lead; everyone with a touchpoint was in awareness.
    expect(await persons('stage=customer')).toEqual(['jane']);
    expect(await persons('stage=lead')).toEqual(['carol']);
    expect(await persons('stage=awareness')).toEqual(['drifter']);
    expect(await persons('stage=lead,churned')).toEqual(['carol', 'bob']);
    expect(await persons('stage=lead&stage=churned')).toEqual(['carol', 'bob']);
    expect(await persons(`stage=${q('(none)')}`)).toEqual(['dan']);
    expect(await persons(`stage=customer&stage=${q('(none)')}`)).toEqual(['jane', 'dan']);
  });

  it('matches no one for a stage id no one is in (not an error)', async () => {
    expect((await get('/api/persons?stage=nosuch')).json).toEqual({
      persons: [],
      total: 0,
      nextCursor: null,
    });
    expect(await persons('stage=opportunity')).toEqual([]);
  });

  it('combines with the other filters and sorts', async () => {
    expect(await persons('stage=customer,lead&trait.plan=pro')).toEqual(['jane']);
    expect(await persons(`stage=${q('(none)')}&trait.plan=pro`)).toEqual(['dan']);
    expect(await persons(`stage=${q('(none)')}&trait.plan=free`)).toEqual([]);
    expect(await persons(`stage=lead,churned&seenFrom=${at(5)}`)).toEqual(['carol']);
    expect(await persons('stage=lead,churned,customer&sort=firstSeen&order=asc')).toEqual([
      'jane',
      'bob',
      'carol',
    ]);
  });
});

describe('GET /api/persons by channel touched', () => {
  it('filters by a touchpoint of any of the channels, names case-insensitive', async () => {
    expect(await persons(`channel=${q('Paid Search')}`)).toEqual(['jane', 'carol']);
    expect(await persons(`channel=${q('paid search')}`)).toEqual(['jane', 'carol']);
    expect(await persons(`channel=${q('Email,Organic Search')}`)).toEqual(['jane', 'drifter', 'bob']);
    expect(await persons(`channel=email&channel=${q('ORGANIC SEARCH')}`)).toEqual(['jane', 'drifter', 'bob']);
    expect(await persons('channel=Referral')).toEqual([]);
  });

  it('restricts the touchpoint to [touchedFrom, touchedTo) when given', async () => {
    expect(await persons(`channel=${q('Paid Search')}&touchedFrom=${at(2)}&touchedTo=${at(6)}`)).toEqual([
      'carol',
    ]);
    // touchedTo is exclusive: Jane's email came at the 9th, noon.
    expect(await persons(`channel=Email&touchedTo=${at(9)}`)).toEqual(['drifter']);
    expect(await persons(`channel=Email&touchedFrom=${at(9)}`)).toEqual(['jane']);
    // touchedFrom is inclusive: Carol's visit came at the 5th, noon.
    expect(await persons(`channel=${q('Paid Search')}&touchedFrom=${at(5)}`)).toEqual(['carol']);
    // Without a channel: a touchpoint of any channel in the range.
    expect(await persons(`touchedFrom=${at(5)}`)).toEqual(['jane', 'drifter', 'carol']);
    expect(await persons(`touchedFrom=${at(2)}&touchedTo=${at(5)}`)).toEqual(['bob']);
  });

  it('combines with stage and trait filters, paging through the same set', async () => {
    expect(await persons(`channel=${q('Paid Search')}&stage=lead`)).toEqual(['carol']);
    expect(await persons('channel=Email&stage=awareness')).toEqual(['drifter']);
    expect(await persons('channel=Email&trait.plan=pro')).toEqual(['jane']);
    expect(await persons(`channel=Email&stage=${q('(none)')}`)).toEqual([]);
    const { rows, totals } = await all(
      `/api/persons?channel=${q('Paid Search,Email,Organic Search')}`,
      'persons',
    );
    expect(ids(rows)).toEqual(['jane', 'drifter', 'carol', 'bob']);
    expect(totals).toEqual([4, 4]);
    const asc = await all(
      `/api/persons?channel=${q('Paid Search,Email,Organic Search')}&order=asc`,
      'persons',
    );
    expect(ids(asc.rows)).toEqual(['bob', 'carol', 'drifter', 'jane']);
  });
});

describe('GET /api/accounts by stage and members’ channels', () => {
  it('shows and filters by the account’s own current stage', async () => {
    const { rows } = await all('/api/accounts', 'accounts');
    expect(rows.map((a: Json) => [a.id, a.stage])).toEqual([
      ['acme', { id: 'churned', name: 'Churned' }],
      ['initech', null],
      ['globex', { id: 'lead', name: 'Lead' }],
    ]);
    // The stage the journey model gives each account (derived from its timeline, not the tables).
    for (const [id, stage] of [
      ['acme', 'churned'],
      ['globex', 'lead'],
    ]) {
      const j = await get(`/api/accounts/${id}/journey?includeBots=true`);
      expect(j.json.stage, id).toBe(stage);
    }
    expect(await accounts('stage=churned')).toEqual(['acme']);
    expect(await accounts(`stage=${q('(none)')}`)).toEqual(['initech']);
    expect(await accounts(`stage=lead&stage=${q('(none)')}`)).toEqual(['initech', 'globex']);
    // Acme was a customer, and Jane, its member, still is: the account's own stage counts.
    expect(await accounts('stage=customer')).toEqual([]);
    expect(await accounts('stage=lead,churned')).toEqual(['acme', 'globex']);
  });

  it('filters by a touchpoint of any member person', async () => {
    expect(await accounts(`channel=${q('Organic Search')}`)).toEqual(['acme']);
    expect(await accounts(`channel=${q('Paid Search')}`)).toEqual(['acme', 'globex']);
    expect(await accounts(`channel=${q('Paid Search')}&touchedFrom=${at(2)}`)).toEqual(['globex']);
    // Drifter emailed, but is no member of any account; Jane's email came at the 9th, noon.
    expect(await accounts(`channel=Email&touchedTo=${at(9)}`)).toEqual([]);
    expect(await accounts('channel=Email')).toEqual(['acme']);
    expect(await accounts(`channel=${q('Paid Search')}&stage=lead&trait.name=Globex`)).toEqual(['globex']);
  });
});

describe('another workspace', () => {
  it('has its own stages and touchpoints, which change nothing here', async () => {
    // There, dan is a customer who came from an email, in its account globex, a customer.
    expect(await persons('stage=customer', other.admin)).toEqual(['dan']);
    expect(await persons('channel=Email', other.admin)).toEqual(['dan']);
    expect(await accounts('stage=customer', other.admin)).toEqual(['globex']);
    expect(await accounts(`channel=Email&touchedTo=${at(9)}`, other.admin)).toEqual(['globex']);
    // Here, dan has no stage and no touchpoint, and globex is a lead with no emailed member.
    expect(await persons(`stage=${q('(none)')}`)).toEqual(['dan']);
    expect(await persons(`touchedFrom=${at(8)}&touchedTo=${at(9)}`)).toEqual([]);
    expect(await accounts('stage=customer')).toEqual([]);
    expect(await accounts('stage=lead')).toEqual(['globex']);
    expect(await accounts(`channel=Email&touchedTo=${at(9)}`)).toEqual([]);
  });
});

describe('bad stage and channel parameters', () => {
  it('answer 400 naming the parameter', async () => {
    for (const [path, field] of [
      ['/api/persons?stage=', 'stage'],
      ['/api/persons?stage=lead,,customer', 'stage'],
      ['/api/accounts?stage=%20', 'stage'],
      ['/api/persons?channel=', 'channel'],
      ['/api/accounts?channel=Email&channel=', 'channel'],
      ['/api/persons?touchedFrom=yesterday', 'touchedFrom'],
      ['/api/accounts?channel=Email&touchedTo=soon', 'touchedTo'],
      [`/api/persons?${Array.from({ length: 101 }, (_, i) => `stage=s${i}`).join('&')}`, 'stage'],
    ] as const) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.json.error.code).toBe('invalid_query');
      expect(r.json.error.message, path).toMatch(new RegExp(`\\b${field}\\b`));
    }
  });

  it('are declared in the OpenAPI schema', async () => {
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as Json;
    for (const path of ['/api/persons', '/api/accounts']) {
      const names = doc.paths[path].get.parameters.map((p: Json) => p.name);
      expect(names).toEqual(expect.arrayContaining(['stage', 'channel', 'touchedFrom', 'touchedTo']));
    }
  });
});

describe('`throughline persons` and `throughline accounts` with --stage and --channel', () => {
  const access = () => ['--data', s.dataDir, '--url', s.url, '--admin-key', ADMIN_KEY];

  it('filter like the API and show the stage', async () => {
    const json = await cliAsync([
      'persons',
      ...access(),
      '--stage',
      'customer',
      '--channel',
      'Paid Search',
      '--json',
    ]);
    expect(json.code, json.stderr).toBe(0);
    const page = JSON.parse(json.stdout);
    expect(page.total).toBe(1);
    expect(page.persons.map((p: Json) => [p.identifiers[0].value, p.stage])).toEqual([
      ['jane', { id: 'customer', name: 'Customer' }],
    ]);
    const several = await cliAsync([
      'persons',
      ...access(),
      '--stage',
      'awareness,churned',
      '--stage',
      '(none)',
      '--channel',
      'email',
      '--channel',
      'Organic Search',
      '--touched-to',
      date(9),
    ]);
    expect(several.code, several.stderr).toBe(0);
    expect(several.stdout).toMatch(/^ID\s+LASTSEEN\s+FIRSTSEEN\s+EVENTS\s+IDENTIFIERS\s+STAGE/);
    expect(several.stdout).toMatch(/anonymous_id:drifter\s+awareness/);
    expect(several.stdout).toMatch(/user_id:bob\s+churned/);
    expect(several.stdout).toMatch(/2 of 2 persons\n$/);
    const none = await cliAsync(['persons', ...access(), '--stage', '(none)']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/user_id:dan\s+–/);
    expect(none.stdout).toMatch(/1 of 1 persons?\n$/);
    const acc = await cliAsync(['accounts', ...access(), '--stage', 'churned', '--json']);
    expect(acc.code, acc.stderr).toBe(0);
    expect(JSON.parse(acc.stdout).accounts.map((a: Json) => [a.id, a.stage?.id])).toEqual([
      ['acme', 'churned'],
    ]);
    const byChannel = await cliAsync(['accounts', ...access(), '--channel', 'Paid Search']);
    expect(byChannel.code, byChannel.stderr).toBe(0);
    expect(byChannel.stdout).toMatch(/acme\s+Acme\s+2\s+.*churned/);
    expect(byChannel.stdout).toMatch(/globex\s+Globex\s+1\s+.*lead/);
  }, 90_000);

  it('refuse an empty stage or channel, and document the flags', async () => {
    const bad = await cliAsync(['persons', ...access(), '--stage', '']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--stage: an empty value/);
    const badChannel = await cliAsync(['accounts', ...access(), '--channel', 'Email,']);
    expect(badChannel.code).toBe(1);
    expect(badChannel.stderr).toMatch(/--channel: an empty value/);
    for (const command of ['persons', 'accounts']) {
      const help = await cliAsync([command, '--help']);
      expect(help.stdout).toMatch(/--stage <id>/);
      expect(help.stdout).toMatch(/--channel <name>/);
      expect(help.stdout).toMatch(/--touched-from <date>/);
      expect(help.stdout).toMatch(/--stage customer --channel "Paid Search"/);
    }
  }, 90_000);
});
