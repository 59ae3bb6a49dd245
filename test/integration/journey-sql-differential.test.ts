import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelRule } from '../../src/core/journey/channel-rules.js';
import { buildJourney, type Journey } from '../../src/core/journey/journey.js';
import { journeyEventOf } from '../../src/core/journey/journey-event.js';
import { compileJourneySettings } from '../../src/core/journey/journey-settings.js';
import { importLine } from '../../src/core/spec/import-line.js';
import type { StoredEvent } from '../../src/core/spec/message.js';
import type { LogRecord } from '../../src/services/event-log.js';
import { IdentityService } from '../../src/services/identity-service.js';
import { LOADER, LogLoader } from '../../src/services/log-loader.js';
import { resolveSimConfig, SCENARIOS } from '../../src/sim/sim-config.js';
import { Simulation } from '../../src/sim/simulate.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBIdentityStore } from '../../src/store/duckdb-identity-store.js';
import { rebuildJourneyTables } from '../../src/store/duckdb-journey-tables.js';
import { DuckDBLogLoadStore } from '../../src/store/duckdb-log-load-store.js';
import { EVENT_COLUMNS, rowToEvent } from '../../src/store/event-rows.js';
import { SegmentLog } from '../../src/store/segment-log.js';
import { removeDir, tempDir } from '../support/servers.js';

/**
 * The journey tables computed in SQL (core/journey/journey-sql.ts, store/duckdb-journey-tables.ts)
 * equal the JavaScript journey model (`buildJourney`, includeBots false) for every person: every
 * step's session, touchpoint and channel in effect; every session field; every touchpoint field;
 * the bot verdict and the count of bot events. Events go through the real ingest log, loader
 * (facts) and identity pipeline (persons) into a real DuckDB: the three simulated scenarios and
 * hand-made events at the edges, under several settings; then late events (one of them merging
 * two persons) and a rebuild of only the persons they touch.
 */

const NOW = Date.UTC(2030, 0, 1);
const clock = { now: () => NOW, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
const T0 = Date.UTC(2026, 2, 3, 14, 0, 0);
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15';
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
const BOT = 'Googlebot/2.1 (+http://www.google.com/bot.html)';

type Msg = Record<string, unknown>;
const page = (who: Msg, at: number, url: string, extra: { referrer?: string; ua?: string } = {}): Msg => ({
  type: 'page',
  ...who,
  timestamp: iso(at),
  context: {
    page: { url, ...(extra.referrer ? { referrer: extra.referrer } : {}) },
    userAgent: extra.ua ?? BROWSER,
  },
});
const track = (
  who: Msg,
  at: number,
  event: string,
  ua: string | null = BROWSER,
  properties: Msg = {},
): Msg => ({
  type: 'track',
  ...who,
  event,
  timestamp: iso(at),
  properties,
  ...(ua ? { context: { userAgent: ua } } : {}),
});
const screen = (who: Msg, at: number, name: string, url?: string): Msg => ({
  type: 'screen',
  ...who,
  name,
  timestamp: iso(at),
  context: { userAgent: 'LumenApp/3.2 (iOS 17)', ...(url ? { page: { url } } : {}) },
});

/** Hand-made persons at the edges (workspace ws_edge). */
function edgeMessages(): Msg[] {
  const out: Msg[] = [];
  const site = 'https://shop.example';
  // Equal timestamps: order by seq decides (views from two referrers and a conversion at once).
  const eq = { anonymousId: 'eq' };
  out.push(page(eq, T0, `${site}/?utm_source=news&utm_medium=email`));
  out.push(page(eq, T0, `${site}/a`, { referrer: 'https://www.google.com/' }));
  out.push(page(eq, T0, `${site}/a`, { referrer: 'https://www.google.com/' }));
  out.push(track(eq, T0, 'Signed Up'));
  out.push(page(eq, T0 + 31 * MIN, `${site}/b`));
  out.push(page(eq, T0 + 31 * MIN, `${site}/b`, { referrer: `${site}/a` }));
  // Sessions exactly at the maximum length: a view every 10 minutes for 25 hours.
  const long = { anonymousId: 'long' };
  for (let i = 0; i <= 150; i++)
    out.push(
      i % 7 === 3
        ? track(long, T0 + i * 10 * MIN, 'Report Viewed')
        : page(
            long,
            T0 + i * 10 * MIN,
            `${site}/p${i % 5}${i % 20 === 0 ? '?utm_source=ads&utm_medium=cpc' : ''}`,
          ),
    );
  // Midnight in New York (05:00 UTC in March before DST) and in UTC, inside 30 minutes.
  const night = { anonymousId: 'night' };
  const nyMidnight = Date.UTC(2026, 2, 4, 5, 0, 0);
  out.push(page(night, nyMidnight - 10 * MIN, `${site}/late`, { referrer: 'https://news.ycombinator.com/' }));
  out.push(page(night, nyMidnight + 5 * MIN, `${site}/later`, { referrer: `${site}/late` }));
  out.push(page(night, Date.UTC(2026, 2, 5, 0, 0, 0) - 1, `${site}/x`));
  out.push(page(night, Date.UTC(2026, 2, 5, 0, 0, 0), `${site}/y`, { referrer: `${site}/x` }));
  // The DST change in New York (2026-03-08 02:00 local = 07:00 UTC).
  out.push(page(night, Date.UTC(2026, 2, 8, 6, 50), `${site}/dst`));
  out.push(page(night, Date.UTC(2026, 2, 8, 7, 10), `${site}/dst2`, { referrer: `${site}/dst` }));
  // A rate bot: 45 views in 30 seconds (and a few human-looking events before).
  const rate = { anonymousId: 'rate' };
  out.push(page(rate, T0 - 60 * MIN, `${site}/?utm_source=x&utm_medium=cpc`));
  for (let i = 0; i < 45; i++) out.push(page(rate, T0 + i * 666, `${site}/crawl/${i}`));
  // Exactly 41 views in 60 s (not a bot: 41 > 40 only with the 41st inside the window).
  const edgeRate = { anonymousId: 'edge-rate' };
  for (let i = 0; i < 41; i++) out.push(page(edgeRate, T0 + i * 1500, `${site}/r/${i}`));
  const notRate = { anonymousId: 'not-rate' };
  for (let i = 0; i < 41; i++) out.push(page(notRate, T0 + i * 1501, `${site}/r/${i}`));
  // A user-agent bot mixed with a person's own views.
  const uabot = { anonymousId: 'uabot' };
  out.push(page(uabot, T0, `${site}/`, { referrer: 'https://www.bing.com/' }));
  out.push(page(uabot, T0 + MIN, `${site}/crawled`, { ua: BOT }));
  out.push(page(uabot, T0 + 2 * MIN, `${site}/pricing`, { referrer: `${site}/` }));
  out.push(track(uabot, T0 + 3 * MIN, 'Bot Hit', BOT));
  // Two browsers in one session, a direct return, a campaign change, screens, server events.
  const multi = { userId: 'multi' };
  out.push(page(multi, T0, `${site}/?utm_source=linkedin&utm_medium=paid_social&utm_campaign=q1`));
  out.push(page(multi, T0 + MIN, `${site}/`, { ua: PHONE, referrer: 'https://t.co/' }));
  out.push(page(multi, T0 + 2 * MIN, `${site}/a`, { referrer: `${site}/` }));
  out.push(page(multi, T0 + 3 * MIN, `${site}/`, { ua: PHONE, referrer: 'https://t.co/' }));
  out.push(page(multi, T0 + 4 * MIN, `${site}/`));
  out.push(page(multi, T0 + 5 * MIN, `${site}/?utm_source=google&utm_medium=cpc&utm_campaign=brand`));
  out.push(page(multi, T0 + 6 * MIN, `${site}/?utm_source=google&utm_medium=cpc&utm_campaign=brand`));
  out.push(page(multi, T0 + 7 * MIN, `${site}/b`));
  out.push(screen(multi, T0 + 8 * MIN, 'Home'));
  out.push(screen(multi, T0 + 9 * MIN, 'Promo', `${site}/app?utm_source=push&utm_medium=push`));
  out.push(track(multi, T0 + 10 * MIN, 'Sales Call Completed', null));
  out.push(track(multi, T0 + 11 * MIN, 'Webinar Attended', null, { score: 9 }));
  out.push(track(multi, T0 + 2 * 24 * 60 * MIN, 'Sales Call Completed', null));
  // A session opened by an event (a sales call from a browser), then a direct view.
  out.push(track(multi, T0 + 3 * 24 * 60 * MIN, 'Demo Requested', BROWSER, { how_did_you_hear: 'podcast' }));
  out.push(page(multi, T0 + 3 * 24 * 60 * MIN + MIN, `${site}/demo`));
  out.push(track(multi, T0 + 3 * 24 * 60 * MIN + 2 * MIN, 'Sales Call Completed'));
  out.push(
    page(multi, T0 + 3 * 24 * 60 * MIN + 3 * MIN, `${site}/x`, { referrer: 'https://www.google.com/' }),
  );
  // A short visit (a bounce) and a visit of one view lasting 10 s exactly (not a bounce: views).
  const bounce = { anonymousId: 'bounce' };
  out.push(page(bounce, T0, `${site}/b`, { referrer: 'https://duckduckgo.com/' }));
  out.push(track(bounce, T0 + 9_999, 'Scrolled'));
  out.push(page(bounce, T0 + 60 * MIN, `${site}/b`));
  out.push(track(bounce, T0 + 60 * MIN + 10_000, 'Scrolled'));
  return out;
}

/** Late events: earlier than what their persons have, one of them linking two persons. */
function lateMessages(): Msg[] {
  const site = 'https://shop.example';
  return [
    page({ anonymousId: 'eq' }, T0 - 5 * MIN, `${site}/?utm_source=late&utm_medium=email`),
    page({ anonymousId: 'long' }, T0 + 61 * MIN, `${site}/late`, { referrer: 'https://www.bing.com/' }),
    { type: 'identify', anonymousId: 'bounce', userId: 'multi', timestamp: iso(T0 + 30 * MIN) },
  ];
}

interface Fixture {
  db: Database;
  identity: IdentityService;
  workspaces: string[];
}

let seq = 0;
const seenIds = new Set<string>();

/** Appends messages to the ingest log and loads them (facts included), then resolves persons. */
async function load(fx: Fixture, dir: string, batches: [string, Msg[] | string[]][]): Promise<void> {
  const log = await SegmentLog.open({ dir, consumers: [LOADER], segmentBytes: 1 << 20 });
  for (const [workspaceId, messages] of batches) {
    const records: LogRecord[] = [];
    for (const m of messages) {
      const r = importLine(typeof m === 'string' ? m : JSON.stringify(m), {
        workspaceId,
        seq: seq + 1,
        now: NOW,
        newMessageId: () => `gen-${seq + 1}`,
      });
      if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
      // Ingest deduplicates message ids (the simulator sends retries): so does this fixture.
      const id = `${workspaceId}\u0000${r.value.messageId}`;
      if (seenIds.has(id)) continue;
      seenIds.add(id);
      seq++;
      records.push({ kind: 'event', seq, event: r.value });
    }
    for (let i = 0; i < records.length; i += 2000) await log.append(records.slice(i, i + 2000));
  }
  const loader = new LogLoader(log, new DuckDBLogLoadStore(fx.db.writer, { smallBatch: 0 }), clock, {
    minIntervalMs: 0,
    retryMs: 0,
  });
  await loader.start();
  await loader.stop();
  await log.close();
  if (loader.problem) throw new Error(loader.problem);
  await fx.identity.catchUpFromStore(seq);
  await fx.identity.flush();
}

async function buildFixture(dir: string): Promise<Fixture> {
  const opened = await openDatabase(':memory:', { threads: 2 });
  if (!opened.ok) throw new Error(opened.error.message);
  const db = opened.value;
  const identity = new IdentityService(new DuckDBIdentityStore(db.identity, db.reader), clock, {
    flushIntervalMs: 5,
  });
  await identity.start();
  const fx: Fixture = { db, identity, workspaces: [] };
  const batches: [string, string[] | Msg[]][] = [];
  for (const scenario of SCENARIOS) {
    const config = resolveSimConfig(scenario, { people: 60, seed: 29 });
    if (!config.ok) throw new Error(config.error);
    batches.push([
      `ws_${scenario}`,
      [...new Simulation(config.value).units()].flatMap((u) => u.messages.map((m) => m.line)),
    ]);
  }
  batches.push(['ws_edge', edgeMessages()]);
  await load(fx, dir, batches);
  fx.workspaces = batches.map(([w]) => w);
  return fx;
}

const num = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
async function rows(db: Database, sql: string): Promise<unknown[][]> {
  return (await db.reader.runAndReadAll(sql)).getRowsJS().map((r) => r.map(num));
}

type Compared = Pick<Journey, 'bot' | 'botEvents'> & {
  /** The latest step's time (journey_persons.last_event_at, migration 013), null without steps. */
  lastEventAt: number | null;
  steps: unknown[][];
  sessions: unknown[][];
  touchpoints: unknown[][];
};

/** The journey tables of a workspace, per person, in the shape `expected` gives. */
async function fromTables(db: Database, ws: string): Promise<Map<number, Compared>> {
  const out = new Map<number, Compared>();
  const where = `WHERE workspace_id = '${ws}'`;
  for (const [person, bot, botEvents, lastEventAt] of await rows(
    db,
    `SELECT person_key, bot, bot_events, epoch_ms(last_event_at)::DOUBLE FROM journey_persons ${where}`,
  ))
    out.set(person as number, {
      bot: bot as Journey['bot'],
      botEvents: botEvents as number,
      lastEventAt: lastEventAt as number | null,
      steps: [],
      sessions: [],
      touchpoints: [],
    });
  const add = async (key: 'steps' | 'sessions' | 'touchpoints', sql: string) => {
    for (const [person, ...rest] of await rows(db, sql)) {
      const j = out.get(person as number);
      if (!j) throw new Error(`${key} of person ${person} without a journey_persons row`);
      j[key].push(rest);
    }
  };
  await add(
    'steps',
    `SELECT person_key, seq, epoch_ms(event_at)::DOUBLE, session, touchpoint, channel FROM journey_steps ${where}
     ORDER BY person_key, event_at, seq`,
  );
  await add(
    'sessions',
    `SELECT person_key, session, epoch_ms(start_at)::DOUBLE, epoch_ms(end_at)::DOUBLE, event_count, bounce,
       channel, landing_page, entry_touchpoint FROM journey_sessions ${where} ORDER BY person_key, session`,
  );
  await add(
    'touchpoints',
    `SELECT person_key, touchpoint, seq, epoch_ms(event_at)::DOUBLE, kind, channel, session, event, source, medium,
       campaign, content, term, referring_domain, landing_page FROM journey_touchpoints ${where}
     ORDER BY person_key, touchpoint`,
  );
  return out;
}

/** What the JavaScript model gives for a person's events, in the tables' shape. */
function expected(j: Journey): Compared {
  return {
    bot: j.bot,
    botEvents: j.botEvents,
    lastEventAt: j.steps.length ? Math.max(...j.steps.map((s) => s.at)) : null,
    steps: j.steps.map((s) => [s.seq, s.at, s.session, s.touchpoint, s.channel]),
    sessions: j.sessions.map((s) => [
      s.index,
      s.start,
      s.end,
      s.eventCount,
      s.bounce,
      s.channel,
      s.landingPage,
      s.entryTouchpoint,
    ]),
    touchpoints: j.touchpoints.map((t) => [
      t.index,
      t.seq,
      t.at,
      t.kind,
      t.channel,
      t.session,
      t.event,
      t.source,
      t.medium,
      t.campaign,
      t.content,
      t.term,
      t.referringDomain,
      t.landingPage,
    ]),
  };
}

/** Every person's events (through the identity map), as the JavaScript model reads them. */
async function eventsByPerson(db: Database, ws: string): Promise<Map<number, StoredEvent[]>> {
  const events = new Map(
    (
      await db.reader.runAndReadAll(
        `SELECT pm.person_key, ${EVENT_COLUMNS}
         FROM events JOIN (SELECT DISTINCT pm.person_key, ei.seq FROM event_identity ei
           JOIN person_map pm ON pm.identifier_id = ei.identifier_id WHERE ei.workspace_id = '${ws}') pm USING (seq)
         WHERE workspace_id = '${ws}' ORDER BY pm.person_key, seq`,
      )
    )
      .getRowsJS()
      .reduce((m, r) => {
        const key = num(r[0]) as number;
        const list = m.get(key) ?? [];
        list.push(rowToEvent(r.slice(1)));
        return m.set(key, list);
      }, new Map<number, StoredEvent[]>()),
  );
  return events;
}

/** Compares every person of a workspace; returns the first difference (null: all equal) and counts. */
async function compare(db: Database, ws: string, input: unknown) {
  const { config } = compileJourneySettings(input);
  const tables = await fromTables(db, ws);
  const byPerson = await eventsByPerson(db, ws);
  let sessions = 0;
  let touchpoints = 0;
  let bots = 0;
  const kinds = new Set<string>();
  for (const [person, events] of byPerson) {
    const js = expected(buildJourney(events.map(journeyEventOf), config));
    const sql = tables.get(person);
    if (JSON.stringify(sql) !== JSON.stringify(js)) {
      const first = (k: 'steps' | 'sessions' | 'touchpoints') => {
        const a = sql?.[k] ?? [];
        const b = js[k];
        const i = b.findIndex((x, n) => JSON.stringify(x) !== JSON.stringify(a[n]));
        const at = i < 0 ? b.length : i;
        return { index: at, sql: a[at] ?? null, js: b[at] ?? null, sqlLength: a.length, jsLength: b.length };
      };
      return {
        difference: {
          person,
          bot: { sql: sql?.bot, js: js.bot },
          botEvents: { sql: sql?.botEvents, js: js.botEvents },
          steps: first('steps'),
          sessions: first('sessions'),
          touchpoints: first('touchpoints'),
        },
        persons: byPerson.size,
      };
    }
    sessions += js.sessions.length;
    touchpoints += js.touchpoints.length;
    if (js.bot) bots++;
    for (const t of js.touchpoints) kinds.add(t[3] as string);
  }
  return {
    difference: tables.size === byPerson.size ? null : { persons: { sql: tables.size, js: byPerson.size } },
    persons: byPerson.size,
    sessions,
    touchpoints,
    bots,
    kinds,
  };
}

const CUSTOM_RULES: ChannelRule[] = [
  {
    channel: 'Brand Search',
    when: {
      all: [
        { field: 'medium', op: 'eq', value: 'cpc' },
        { field: 'campaign', op: 'contains', value: 'brand' },
      ],
    },
  },
  // An arrival rule of event scope: a landing on the pricing page is a touchpoint by itself.
  {
    channel: 'Pricing',
    scope: 'event',
    when: { field: 'landing_path', op: 'starts_with', value: '/pricing' },
  },
  { channel: 'Direct', when: { field: 'landing_path', op: 'starts_with', value: '/vanity' } },
  {
    channel: 'Webinar Fans',
    scope: 'event',
    when: {
      all: [
        { field: 'event', op: 'eq', value: 'Webinar Attended' },
        { field: 'properties.score', op: 'gte', value: 7 },
      ],
    },
  },
  { channel: "Quote's; --", scope: 'event', when: { field: 'event', op: 'eq', value: 'Scrolled' } },
];

const VARIANTS: { name: string; settings: unknown }[] = [
  { name: 'defaults', settings: {} },
  {
    name: 'ua sessions in New York, 30 min maximum length, 20 min timeout',
    settings: {
      sessions: { style: 'ua', timeZone: 'America/New_York', maxLengthHours: 0.5, timeoutMinutes: 20 },
    },
  },
  { name: 'ga4, 1 h maximum length', settings: { sessions: { maxLengthHours: 1 } } },
  { name: 'ua in UTC', settings: { sessions: { style: 'ua' } } },
  { name: 'direct overrides the campaign', settings: { directOverridesCampaign: true } },
  { name: 'ga4 rule set', settings: { channels: { ruleset: 'ga4' } } },
  { name: 'posthog rule set', settings: { channels: { ruleset: 'posthog' } } },
  {
    name: 'workspace rules, own domains, conversions',
    settings: {
      channels: { ruleset: 'journey', rules: CUSTOM_RULES },
      ownDomains: ['shop.example'],
      ignoreReferrers: ['t.co'],
      conversions: ['Report Viewed', "It's converted"],
    },
  },
];

let fx: Fixture;
const dir = tempDir();
beforeAll(async () => {
  fx = await buildFixture(dir);
}, 120_000);
afterAll(async () => {
  await fx?.identity.drain();
  fx?.db.close();
  removeDir(dir);
});

describe.each(VARIANTS)('journey tables equal the JavaScript model: $name', ({ settings }) => {
  it('for every person of every workspace', async () => {
    const { settings: compiled } = compileJourneySettings(settings);
    const seen = { sessions: 0, touchpoints: 0, kinds: new Set<string>() };
    for (const ws of fx.workspaces) {
      const counts = await rebuildJourneyTables(fx.db.writer, ws, compiled);
      const r = await compare(fx.db, ws, settings);
      expect({ ws, difference: r.difference }).toEqual({ ws, difference: null });
      expect(counts.persons).toBe(r.persons);
      expect(counts.sessions).toBe(r.sessions);
      expect(counts.touchpoints).toBe(r.touchpoints);
      seen.sessions += r.sessions ?? 0;
      seen.touchpoints += r.touchpoints ?? 0;
      for (const k of r.kinds ?? []) seen.kinds.add(k);
    }
    // Not vacuous: many sessions and touchpoints, every kind of touchpoint (the GA4 and PostHog
    // rule sets have no event-scope rules).
    expect(seen.sessions).toBeGreaterThan(500);
    expect(seen.touchpoints).toBeGreaterThan(500);
    expect([...seen.kinds].sort()).toEqual(
      compiled.channels.ruleset === 'journey' ? ['campaign', 'event', 'session'] : ['campaign', 'session'],
    );
  }, 60_000);
});

describe('edge cases', () => {
  it('see a rate bot, user-agent bots, long sessions, midnight', async () => {
    const settings = { sessions: { style: 'ua', timeZone: 'America/New_York' } };
    await rebuildJourneyTables(fx.db.writer, 'ws_edge', compileJourneySettings(settings).settings);
    const r = await compare(fx.db, 'ws_edge', settings);
    expect(r.difference).toBeNull();
    const persons = await rows(
      fx.db,
      `SELECT i.value, p.bot, p.bot_events, (SELECT count(*) FROM journey_sessions s
         WHERE s.workspace_id = p.workspace_id AND s.person_key = p.person_key)
       FROM journey_persons p JOIN identifiers i ON i.id = p.person_key
       WHERE p.workspace_id = 'ws_edge' ORDER BY i.value`,
    );
    const by = Object.fromEntries(persons.map(([v, ...rest]) => [v, rest]));
    expect(by.rate).toEqual(['event_rate', 0, 0]);
    expect(by['edge-rate']?.[0]).toBe('event_rate');
    expect(by['not-rate']?.[0]).toBeNull();
    expect(by.uabot?.slice(0, 2)).toEqual([null, 2]);
    // 25 hours of views every 10 minutes: split at exactly 24 h (and by campaigns in UA).
    expect(by.long?.[2] as number).toBeGreaterThan(1);
  });

  it('a late event and a merge: rebuilding only the persons they touch gives the JavaScript journeys', async () => {
    const settings = {};
    const compiled = compileJourneySettings(settings).settings;
    await rebuildJourneyTables(fx.db.writer, 'ws_edge', compiled);
    const before = seq;
    await load(fx, dir, [['ws_edge', lateMessages()]]);
    // The persons the new events belong to now, and the persons that existed before a merge.
    const touched = (
      await rows(
        fx.db,
        `SELECT DISTINCT pm.person_key FROM event_identity ei JOIN person_map pm USING (identifier_id)
         WHERE ei.workspace_id = 'ws_edge' AND ei.seq > ${before}`,
      )
    ).map((r) => r[0] as number);
    const stale = (
      await rows(
        fx.db,
        `SELECT person_key FROM journey_persons WHERE workspace_id = 'ws_edge'
         AND person_key NOT IN (SELECT person_key FROM person_map WHERE workspace_id = 'ws_edge')`,
      )
    ).map((r) => r[0] as number);
    expect(stale.length).toBe(1);
    const counts = await rebuildJourneyTables(fx.db.writer, 'ws_edge', compiled, {
      persons: [...touched, ...stale],
    });
    expect(counts.persons).toBe(touched.length);
    const r = await compare(fx.db, 'ws_edge', settings);
    expect(r.difference).toBeNull();
    // A rebuild of no persons changes nothing.
    await rebuildJourneyTables(fx.db.writer, 'ws_edge', compiled, { persons: [] });
    expect((await compare(fx.db, 'ws_edge', settings)).difference).toBeNull();
  });
});
