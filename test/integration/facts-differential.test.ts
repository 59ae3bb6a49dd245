import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import examples from '../../src/core/journey/channel-examples.json' with { type: 'json' };
import {
  type ChannelRule,
  ChannelRules,
  type ChannelSettings,
} from '../../src/core/journey/channel-rules.js';
import { journeyEventOf, textOf } from '../../src/core/journey/journey-event.js';
import { compileChannelQuery } from '../../src/core/journey/rules-sql.js';
import { BASE_RULES, effectiveChannelRules } from '../../src/core/journey/rulesets.js';
import {
  CLICK_IDS,
  type EventFacts,
  eventFactsOf,
  type TouchOptions,
  touchFieldAccessor,
  touchFieldsOf,
  UTM_PARAMS,
} from '../../src/core/journey/touch-fields.js';
import { importLine } from '../../src/core/spec/import-line.js';
import type { StoredEvent } from '../../src/core/spec/message.js';
import type { LogRecord } from '../../src/services/event-log.js';
import { LOADER, LogLoader } from '../../src/services/log-loader.js';
import { resolveSimConfig, SCENARIOS } from '../../src/sim/sim-config.js';
import { Simulation } from '../../src/sim/simulate.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { EVENT_FACTS_COLUMNS, factsExtractionSql } from '../../src/store/duckdb-facts.js';
import { DuckDBLogLoadStore } from '../../src/store/duckdb-log-load-store.js';
import { EVENT_COLUMNS, rowToEvent } from '../../src/store/event-rows.js';
import { SegmentLog } from '../../src/store/segment-log.js';
import { removeDir, tempDir } from '../support/servers.js';

/**
 * The differential test of issue 13: events go through the real ingest log and loader into a
 * real DuckDB; then, for every event, the SQL facts equal the JavaScript extraction, and the
 * compiled channel rules give the same channel, event channel, source and medium (and
 * referring domain and arrival) as the JavaScript interpreter — for the three simulated
 * scenarios, the three rule sets, a workspace override, and hand-made events at the edges.
 */

const NOW = Date.UTC(2030, 0, 1);
const clock = { now: () => NOW, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

/** Events at the edges of the extraction: each line is one message (workspace ws_edge). */
const EDGE_MESSAGES: unknown[] = (() => {
  const page = (url: unknown, extra: Record<string, unknown> = {}) => ({
    type: 'page',
    anonymousId: 'edge',
    context: { page: { url, ...extra } },
  });
  const referred = (referrer: unknown, url: unknown = 'https://shop.example/') => page(url, { referrer });
  const urls = [
    'https://shop.example/a/b?utm_source=News+Letter&utm_medium=e%20mail&utm_campaign=%E2%82%AC%20Spring',
    'HTTPS://WWW.Shop.Example:443/Path/To?UTM_SOURCE=upper&utm_source=lower',
    'https://shop.example/p?utm_source=first&utm_source=second',
    'https://shop.example/p?utm_source&utm_source=second',
    'https://shop.example/p?utm_source=&utm_medium=cpc',
    'https://shop.example/p?utm%5Fsource=encoded-name&gclid=abc',
    'https://shop.example/p?utm_source=%zz%4&utm_medium=100%',
    'https://shop.example/p?utm_source=%C3%28bad-utf8',
    'https://shop.example/p?utm_source=%EF%BB%BFbom&utm_term=a+b%2Bc',
    'https://shop.example/p?utm_source=%20%20padded%20%20&utm_medium=null&utm_campaign=UNDEFINED',
    'https://shop.example/p?fbclid=fb1&gclid=g1',
    'https://shop.example/p?msclkid=m1',
    'https://shop.example/p?dclid=d1&gad_source=1',
    'https://shop.example/p?wbraid=w&gbraid=g',
    'https://shop.example/p?li_fat_id=l&ttclid=t&twclid=x',
    'https://shop.example/p#utm_source=fragment',
    'https://shop.example/p?#frag',
    'https://shop.example/a/./b/../c?x=1',
    'https://shop.example/a/%2e%2E/c',
    'https://shop.example/a b/c?utm_source=space in query',
    'https://shop.example/caf\u00e9?utm_source=caf\u00e9',
    'https://xn--caf-dma.example/',
    'https://xn--invalid-.example/',
    'https://b\u00fccher.example/path',
    'https://192.168.0.1/x',
    'https://0x7f.1/x',
    'https://example.123/x',
    'https://shop.example:99999/x',
    'https://shop.example:/x',
    'https://user:pw@shop.example/x',
    'https://shop.example\\path\\x',
    'https:shop.example/x',
    'https:///shop.example/x',
    'http://[::1]/x',
    'ftp://files.example/x',
    'android-app://com.google.android.gm/',
    '/relative/path?utm_source=rel',
    'shop.example/no-scheme',
    'not a url',
    'https://shop.example/\ttab',
    'https://shop.example./trailing-dot',
    'https://shop.example/p?q=%00nul',
    'https://shop.example/p?utm_source=a&amp;utm_medium=b',
  ];
  const referrers = [
    'https://www.google.co.uk/',
    'https://uk.search.yahoo.com/search?p=x',
    'https://search.brave.com/',
    'https://www.www.google.com/',
    'https://mail.google.com/',
    'https://l.facebook.com/l.php',
    'https://news.ycombinator.com/',
    'https://WWW.LinkedIn.COM/feed',
    'google.com',
    'www.bing.com/search?q=a',
    'localhost:3000/x',
    'android-app://com.google.android.gm/',
    'https://checkout.stripe.com/pay',
    'https://shop.example/other',
    'https://blog.shop.example/post',
    'https://partner.example/',
    'https://search.app/',
    'https://co.uk/',
    'https://a.com.co.uk/',
    'https://xn--bcher-kva.example/',
    'https://k\u00e9.example/',
    '   ',
    'null',
    'https://',
  ];
  const out: unknown[] = [
    ...urls.map((u) => page(u)),
    ...referrers.map((r) => referred(r)),
    // Page data in properties (views only), a screen, a track call repeating its page.
    {
      type: 'page',
      anonymousId: 'edge',
      properties: {
        url: 'https://shop.example/from-props?utm_source=p',
        referrer: 'https://www.bing.com/',
        path: '/ignored',
        search: '?utm_medium=from-search',
      },
    },
    {
      type: 'track',
      event: 'Clicked',
      anonymousId: 'edge',
      properties: { url: 'https://shop.example/not-read?utm_source=x', gclid: 'prop-gclid' },
    },
    { type: 'screen', name: 'Home', anonymousId: 'edge', context: { userAgent: 'App/1.0' } },
    {
      type: 'track',
      event: 'Order Completed',
      anonymousId: 'edge',
      context: { page: { url: 'https://shop.example/checkout?gclid=zz', path: '/checkout' } },
      properties: { total: '  12.5 ' },
    },
    { type: 'page', anonymousId: 'edge', context: { page: null } },
    {
      type: 'page',
      anonymousId: 'edge',
      context: { page: { path: '/only-path', search: 'utm_source=no-question-mark' } },
    },
    {
      type: 'page',
      anonymousId: 'edge',
      context: { page: { url: 'https://shop.example/', search: '?utm_source=search-wins' } },
    },
    {
      type: 'page',
      anonymousId: 'edge',
      context: { page: { url: 'https://shop.example/?utm_source=url', search: '' } },
    },
    { type: 'page', anonymousId: 'edge', context: { page: { url: 42, referrer: true } } },
    { type: 'page', anonymousId: 'edge', context: { page: { url: ['https://x.example/'] } } },
    { type: 'page', anonymousId: 'edge', context: { page: 'https://string-page.example/' } },
    {
      type: 'page',
      anonymousId: 'edge',
      context: {
        page: { url: 'https://shop.example/' },
        referrer: { url: 'https://ref-object.example/', link: 'https://ref-link.example/' },
      },
    },
    {
      type: 'page',
      anonymousId: 'edge',
      context: {
        page: { url: 'https://shop.example/?utm_source=q' },
        campaign: { source: 'Campaign-Obj', medium: 1e21, name: true, content: { x: 1 }, term: '  ' },
      },
    },
    {
      type: 'page',
      anonymousId: 'edge',
      context: { page: { url: 'https://shop.example/?utm_medium=q' }, campaign: ['not', 'an', 'object'] },
    },
    {
      type: 'page',
      anonymousId: 'edge',
      context: {
        page: {
          url: 'https://shop.example/\u0130stanbul?utm_source=\u0130STANBUL&utm_campaign=%CE%9F%CE%94%CE%9F%CE%A3',
        },
      },
    },
    { type: 'identify', userId: 'u-edge', traits: { how_did_you_hear: '  Podcast ', referral_source: 'x' } },
    {
      type: 'track',
      event: 'Signed Up',
      userId: 'u-edge',
      properties: { heard_about_us: 12, promo_code: 'POD20', coupon: 'other', revenue: null, amount: 5 },
    },
    { type: 'track', event: 'Deal Closed Won', userId: 'u-edge', properties: { amount: '1e3' } },
    { type: 'track', event: 'Deal Closed Won', userId: 'u-edge', properties: { amount: '0x1F' } },
    { type: 'track', event: 'Order Refunded', userId: 'u-edge', properties: { total: 30 } },
    { type: 'track', event: 'Order Completed', userId: 'u-edge', properties: { revenue: 'abc', total: 9 } },
    { type: 'track', event: 'Order Completed', userId: 'u-edge', properties: { revenue: '', total: 9 } },
    { type: 'track', event: 'Anything', userId: 'u-edge', properties: { revenue: 1.5e-7 } },
    { type: 'track', event: 'Anything', userId: 'u-edge', properties: { revenue: true } },
    {
      type: 'track',
      event: 'Bot Hit',
      anonymousId: 'edge',
      context: { userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' },
    },
    {
      type: 'page',
      anonymousId: 'edge',
      context: { userAgent: '  ', page: { url: 'https://shop.example/' } },
    },
    { type: 'group', userId: 'u-edge', groupId: 'acct-1', traits: { name: 'Acme' } },
    {
      type: 'track',
      event: 'Webinar Attended',
      userId: 'u-edge',
      properties: {
        score: '  7 ',
        plan: 'Pro',
        flag: true,
        nested: { deep: { x: 'y' } },
        list: [1, 2],
        n: 100,
        small: 0.5,
        big: 12345678901234567000,
      },
    },
    {
      type: 'track',
      event: 'Webinar Attended',
      userId: 'u-edge',
      properties: { score: 11, plan: ' pro ', flag: 'TRUE', list: { '0': 'zero' }, n: '1e2' },
    },
    {
      type: 'track',
      event: 'Sales Call Completed',
      userId: 'u-edge',
      properties: { score: '0b101', plan: 'PRO' },
    },
  ];
  return out;
})();

interface Fixture {
  db: Database;
  events: StoredEvent[];
  facts: Map<number, Record<string, unknown>>;
  scenarioOf: Map<number, string>;
}

async function buildFixture(dir: string): Promise<Fixture> {
  const opened = await openDatabase(':memory:', { threads: 2 });
  if (!opened.ok) throw new Error(opened.error.message);
  const db = opened.value;
  const log = await SegmentLog.open({ dir, consumers: [LOADER], segmentBytes: 1 << 20 });
  let seq = 0;
  const scenarioOf = new Map<number, string>();
  const append = async (workspaceId: string, lines: string[]) => {
    const records: LogRecord[] = [];
    for (const line of lines) {
      const r = importLine(line, {
        workspaceId,
        seq: seq + 1,
        now: NOW,
        newMessageId: () => `gen-${seq + 1}`,
      });
      if (!r.ok) continue;
      seq++;
      scenarioOf.set(seq, workspaceId);
      records.push({ kind: 'event', seq, event: r.value });
    }
    for (let i = 0; i < records.length; i += 2000) await log.append(records.slice(i, i + 2000));
  };
  for (const scenario of SCENARIOS) {
    const config = resolveSimConfig(scenario, { people: 120, seed: 13 });
    if (!config.ok) throw new Error(config.error);
    const lines = [...new Simulation(config.value).units()].flatMap((u) => u.messages.map((m) => m.line));
    await append(`ws_${scenario}`, lines);
  }
  await append(
    'ws_edge',
    EDGE_MESSAGES.map((m) => JSON.stringify(m)),
  );
  // smallBatch 0: every load through the SQL extraction (small loads would take the JavaScript one).
  const store = new DuckDBLogLoadStore(db.writer, { smallBatch: 0 });
  const loader = new LogLoader(log, store, clock, {
    minIntervalMs: 0,
    retryMs: 0,
  });
  await loader.start();
  await loader.stop();
  await log.close();
  if (loader.problem) throw new Error(loader.problem);
  const events = (await db.reader.runAndReadAll(`SELECT ${EVENT_COLUMNS} FROM events ORDER BY seq`))
    .getRowsJS()
    .map(rowToEvent);
  const factRows = (
    await db.reader.runAndReadAll(
      `SELECT * REPLACE (epoch_ms(timestamp)::DOUBLE AS timestamp, seq::DOUBLE AS seq) FROM event_facts ORDER BY seq`,
    )
  ).getRowObjectsJS();
  const facts = new Map(factRows.map((r) => [r.seq as number, r as Record<string, unknown>]));
  return { db, events, facts, scenarioOf };
}

/** eventFactsOf as an event_facts row. */
function rowOf(f: EventFacts): Record<string, unknown> {
  return {
    workspace_id: f.workspaceId,
    seq: f.seq,
    type: f.type,
    event: f.event,
    timestamp: f.timestamp,
    group_id: f.groupId,
    page_url: f.pageUrl,
    page_host: f.pageHost,
    page_path: f.pagePath,
    has_page: f.hasPage,
    referrer_host: f.referrerHost,
    ...f.utm,
    click_id: f.clickId,
    ...Object.fromEntries(CLICK_IDS.map((id) => [id, f.clickIds[id] ?? null])),
    gad_source: f.gadSource,
    self_reported: f.selfReported,
    promo_code: f.promoCode,
    user_agent: f.userAgent,
    interactive: f.interactive,
    is_bot: f.isBot,
    revenue: f.revenue,
  };
}

/** The columns that differ, with the event's JSON parts. */
function diff(e: StoredEvent, a: Record<string, unknown>, b: Record<string, unknown>) {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]),
  );
  return {
    seq: e.seq,
    type: e.type,
    context: e.context,
    properties: e.properties,
    differ: Object.fromEntries(keys.map((k) => [k, { sql: a[k], js: b[k] }])),
  };
}

let fx: Fixture;
const dir = tempDir();
beforeAll(async () => {
  fx = await buildFixture(dir);
}, 180_000);
afterAll(() => {
  fx?.db.close();
  removeDir(dir);
});

describe('facts extracted at load', () => {
  it('covers every scenario and the edge events', () => {
    const counts = new Map<string, number>();
    for (const e of fx.events) counts.set(e.workspaceId, (counts.get(e.workspaceId) ?? 0) + 1);
    for (const scenario of SCENARIOS) expect(counts.get(`ws_${scenario}`) ?? 0).toBeGreaterThan(1000);
    expect(counts.get('ws_edge')).toBe(EDGE_MESSAGES.length);
    expect(fx.facts.size).toBe(fx.events.length);
  });

  it('has the columns the loader writes, in the migration', async () => {
    const cols = (
      await fx.db.reader.runAndReadAll(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'event_facts' ORDER BY ordinal_position`,
      )
    ).getRowsJS();
    expect(cols).toEqual(EVENT_FACTS_COLUMNS.map(([n, t]) => [n, t]));
  });

  it('equal the JavaScript extraction for every event', () => {
    const mismatches: unknown[] = [];
    for (const e of fx.events) {
      const { extracted_in_js: _, ...sql } = fx.facts.get(e.seq) ?? {};
      const js = rowOf(eventFactsOf(e));
      if (JSON.stringify(sql) !== JSON.stringify(js)) mismatches.push(diff(e, sql, js));
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
  });

  it('are extracted by SQL for all simulated events; only unusual ones take the JavaScript road', () => {
    const inJs = fx.events.filter((e) => fx.facts.get(e.seq)?.extracted_in_js === true);
    expect(inJs.filter((e) => e.workspaceId !== 'ws_edge').map((e) => e.seq)).toEqual([]);
    // Some edge events need JavaScript (an app referrer, an IDNA host…), most do not.
    expect(inJs.length).toBeGreaterThan(5);
    expect(inJs.length).toBeLessThan(EDGE_MESSAGES.length / 2);
  });

  it('the SQL extraction alone (before JavaScript takes the rows it marks) equals JavaScript on the rest', async () => {
    const rows = (
      await fx.db.reader.runAndReadAll(
        `SELECT * REPLACE (epoch_ms(timestamp)::DOUBLE AS timestamp, seq::DOUBLE AS seq) FROM (${factsExtractionSql()}) ORDER BY seq`,
        { after: 0, last: fx.events.length },
      )
    ).getRowObjectsJS();
    expect(rows).toHaveLength(fx.events.length);
    const mismatches: unknown[] = [];
    let bySql = 0;
    fx.events.forEach((e, i) => {
      const { extracted_in_js: inJs, is_bot: _, ...sql } = rows[i] as Record<string, unknown>;
      if (inJs) return;
      bySql++;
      const { is_bot: __, ...js } = rowOf(eventFactsOf(e));
      if (JSON.stringify(sql) !== JSON.stringify(js)) mismatches.push(diff(e, sql, js));
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(bySql).toBeGreaterThan(fx.events.length - EDGE_MESSAGES.length / 2);
  });
});

/** The rule sets and a workspace override, each under default and custom touch options. */
const CUSTOM_RULES: ChannelRule[] = [
  {
    channel: 'Brand Search',
    when: {
      all: [
        { field: 'medium', op: 'regex', value: '^(cpc|ppc|paid.*)$' },
        {
          any: [
            { field: 'campaign', op: 'starts_with', value: 'BRAND' },
            { field: 'term', op: 'contains', value: 'lumen' },
          ],
        },
      ],
    },
  },
  { channel: 'Own Podcast', when: { field: 'landing_path', op: 'starts_with', value: '/podcast' } },
  {
    channel: 'Webinar Fans',
    scope: 'event',
    when: {
      all: [
        { field: 'event', op: 'in', value: ['webinar attended', 'Webinar Registered'] },
        { field: 'properties.score', op: 'gte', value: 7 },
      ],
    },
  },
  { channel: 'Pro Plan', scope: 'event', when: { field: 'properties.plan', op: 'eq', value: 'PRO' } },
  { channel: 'Binary', scope: 'event', when: { field: 'properties.score', op: 'lt', value: 6 } },
  { channel: 'Big', scope: 'event', when: { field: 'properties.n', op: 'gt', value: 99 } },
  { channel: 'Flagged', scope: 'event', when: { field: 'properties.flag', op: 'eq', value: 'true' } },
  { channel: 'Listed', scope: 'event', when: { field: 'properties.list.0', op: 'present' } },
  {
    channel: 'Deep',
    scope: 'event',
    when: { field: 'properties.nested.deep.x', op: 'in', value: ['Y', 'z'] },
  },
  {
    channel: 'Own Traits',
    scope: 'event',
    when: { field: 'traits.how_did_you_hear', op: 'ends_with', value: 'podcast ' },
  },
  { channel: 'Context Locale', when: { field: 'context.locale', op: 'eq', value: 'en-gb' } },
  {
    channel: 'Social Referral',
    when: {
      all: [
        { field: 'referring_domain', op: 'in_category', value: 'SOURCE_CATEGORY_SOCIAL' },
        { not: { field: 'utm_source', op: 'present' } },
      ],
    },
  },
  { channel: 'Non-English', when: { not: { field: 'landing_url', op: 'contains', value: '.example/' } } },
  {
    channel: 'Not Direct',
    when: {
      all: [
        { field: 'source', op: 'neq', value: '(direct)' },
        { field: 'gclid', op: 'absent' },
        { field: 'arrival', op: 'eq', value: 'referral' },
      ],
    },
  },
  { channel: 'Istanbul', when: { field: 'utm_source', op: 'eq', value: '\u0130STANBUL' } },
  { channel: 'Greek', when: { field: 'utm_campaign', op: 'eq', value: '\u039f\u0394\u039f\u03a3' } },
  { channel: 'Number Source', when: { field: 'source', op: 'lte', value: 100 } },
  {
    channel: "Inj'; DROP TABLE events; --",
    when: { field: 'utm_source', op: 'in', value: ["x'); DROP TABLE events; --", 'z'] },
  },
  {
    channel: 'Planless Webinar',
    scope: 'event',
    when: {
      all: [
        { field: 'event', op: 'starts_with', value: 'webinar' },
        { field: 'properties.plan', op: 'absent' },
      ],
    },
  },
  {
    channel: 'Not Gold',
    scope: 'event',
    when: {
      all: [
        { field: 'type', op: 'eq', value: 'identify' },
        { field: 'traits.tier', op: 'neq', value: 'gold' },
      ],
    },
  },
  {
    channel: 'Self',
    scope: 'event',
    when: { field: 'self_reported', op: 'regex', value: 'pod(cast)?|linked' },
  },
  { channel: 'Promo', scope: 'event', when: { field: 'promo_code', op: 'starts_with', value: 'pod' } },
  // Only `all` makes guards: here the landing path counts for page views too.
  {
    channel: 'Pricing or Track',
    when: {
      any: [
        { field: 'type', op: 'eq', value: 'track' },
        { field: 'landing_path', op: 'starts_with', value: '/pricing' },
      ],
    },
  },
];

const VARIANTS: { name: string; settings: ChannelSettings; touch: TouchOptions }[] = [
  { name: 'ga4', settings: { ruleset: 'ga4' }, touch: { ownDomains: [], ignoreReferrers: [] } },
  { name: 'journey', settings: { ruleset: 'journey' }, touch: { ownDomains: [], ignoreReferrers: [] } },
  { name: 'posthog', settings: { ruleset: 'posthog' }, touch: { ownDomains: [], ignoreReferrers: [] } },
  {
    name: 'journey + workspace rules, own domains, ignored referrers',
    settings: { ruleset: 'journey', rules: CUSTOM_RULES },
    touch: {
      ownDomains: ['shop.example', 'lumenhq.example'],
      ignoreReferrers: ['checkout.stripe.com', 'Partner.example'],
    },
  },
  {
    name: 'posthog + workspace rules',
    settings: { ruleset: 'posthog', rules: CUSTOM_RULES },
    touch: { ownDomains: ['example'], ignoreReferrers: [] },
  },
];

describe.each(VARIANTS)('channels in SQL equal the interpreter: $name', ({ settings, touch }) => {
  it('for every event: channel, event channel, source, medium, referring domain, arrival', async () => {
    const rules = effectiveChannelRules(settings);
    const query = compileChannelQuery(rules, touch);
    const sqlRows = (
      await fx.db.reader.runAndReadAll(
        `SELECT seq::DOUBLE, channel, event_channel, source, medium, referring_domain, arrival FROM (${query.sql}) ORDER BY seq`,
      )
    ).getRowsJS();
    expect(sqlRows).toHaveLength(fx.events.length);
    const interpreter = ChannelRules.compile(rules);
    const mismatches: unknown[] = [];
    fx.events.forEach((e, i) => {
      const je = journeyEventOf(e);
      const t = touchFieldsOf(je, touch);
      const fields = touchFieldAccessor(je, t);
      const js = [
        e.seq,
        interpreter.classify(fields, true)?.channel,
        interpreter.classify(fields, false)?.channel ?? null,
        t.source,
        t.medium,
        t.referringDomain,
        t.arrival,
      ];
      const sql = sqlRows[i];
      if (JSON.stringify(sql) !== JSON.stringify(js))
        mismatches.push({
          js,
          sql,
          type: e.type,
          event: e.event,
          context: e.context,
          properties: e.properties,
        });
    });
    expect(mismatches.slice(0, 3)).toEqual([]);
    // The rules are not vacuous here: several channels occur.
    expect(new Set(sqlRows.map((r) => r[1])).size).toBeGreaterThan(5);
  });
});

describe('reference examples through SQL', () => {
  type Example = {
    ruleset: string;
    source: string | null;
    medium: string | null;
    campaign: string | null;
    referrer: string | null;
    expected: string;
    extra?: Record<string, string>;
  };
  const shared = JSON.parse(readFileSync('/work/shared/reference/channel-rules.json', 'utf8')) as {
    examples: Example[];
  };
  const rows: [string, Example[]][] = [
    ['channel-examples.json', examples.examples as Example[]],
    ['shared/reference/channel-rules.json', shared.examples],
  ];

  /** The facts an example stands for: GA4 rows give the derived fields, PostHog rows the raw ones. */
  function factsOf(row: Example, i: number): Record<string, unknown> {
    const ga4 = row.ruleset === 'ga4';
    const referrer = textOf(row.referrer);
    return {
      workspace_id: 'ex',
      seq: i + 1,
      type: 'page',
      timestamp: 0,
      has_page: referrer !== null,
      referrer_host: referrer === '$direct' ? null : referrer,
      utm_source: ga4 ? row.source : textOf(row.source),
      utm_medium: ga4 ? row.medium : textOf(row.medium),
      utm_campaign: ga4 ? row.campaign : textOf(row.campaign),
      gclid: textOf(row.extra?.gclid),
      fbclid: textOf(row.extra?.fbclid),
      gad_source: textOf(row.extra?.gad_source),
      click_id:
        textOf(row.extra?.gclid) !== null ? 'gclid' : textOf(row.extra?.fbclid) !== null ? 'fbclid' : null,
      interactive: true,
      is_bot: false,
      extracted_in_js: false,
    };
  }

  it.each(rows)('%s: every example gives the expected channel in SQL', async (_, list) => {
    const c = fx.db.reader;
    await c.run('CREATE OR REPLACE TEMP TABLE example_facts AS SELECT * FROM event_facts LIMIT 0');
    await c.run(
      `INSERT INTO example_facts BY NAME SELECT r.* REPLACE (make_timestamp(0) AS timestamp)
       FROM (SELECT unnest(json_transform($rows::JSON, '[${JSON.stringify(
         Object.fromEntries(
           (
             await c.runAndReadAll(
               `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'event_facts'`,
             )
           )
             .getRowsJS()
             .map(([n, t]) => [n, t === 'TIMESTAMP' ? 'DOUBLE' : t]),
         ),
       )}]')) AS r)`,
      { rows: JSON.stringify(list.map(factsOf)) },
    );
    for (const ruleset of ['ga4', 'posthog'] as const) {
      const query = compileChannelQuery(
        BASE_RULES[ruleset],
        { ownDomains: [], ignoreReferrers: [] },
        { facts: 'example_facts' },
      );
      const got = new Map(
        (await c.runAndReadAll(`SELECT seq::DOUBLE, channel, source, medium FROM (${query.sql})`))
          .getRowsJS()
          .map((r) => [r[0] as number, r]),
      );
      list.forEach((row, i) => {
        if (row.ruleset !== ruleset) return;
        const r = got.get(i + 1);
        expect({ row, channel: r?.[1] }).toEqual({ row, channel: row.expected });
        // GA4 rows name source and medium directly: SQL derives them back unchanged.
        if (ruleset === 'ga4') expect([r?.[2], r?.[3]]).toEqual([row.source, row.medium]);
      });
    }
  });

  it('the two lists hold the same examples', () => {
    const ids = (e: Example) => [e.extra?.gclid, e.extra?.fbclid, e.extra?.gad_source];
    const key = (e: Example) =>
      JSON.stringify([e.ruleset, e.source, e.medium, e.campaign, e.referrer, e.expected, ids(e)]);
    expect(shared.examples.map(key).sort()).toEqual((examples.examples as Example[]).map(key).sort());
  });

  it('and UTM columns follow touch-fields.ts', () => {
    expect(UTM_PARAMS.map(([p]) => p)).toEqual([
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_content',
      'utm_term',
    ]);
  });
});
