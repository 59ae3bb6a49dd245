import { afterEach, describe, expect, it } from 'vitest';
import { identifiersOf } from '../../src/core/identity/identifiers-of.js';
import { CompiledRules, identityRulesSchema } from '../../src/core/identity/identity-rules.js';
import { revenueOf } from '../../src/core/identity/profile.js';
import { importLine } from '../../src/core/spec/import-line.js';
import type { StoredEvent } from '../../src/core/spec/message.js';
import type { LogRecord } from '../../src/services/event-log.js';
import { LOADER, LogLoader } from '../../src/services/log-loader.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBIdentityStore } from '../../src/store/duckdb-identity-store.js';
import { DuckDBLogLoadStore } from '../../src/store/duckdb-log-load-store.js';
import { EVENT_COLUMNS, rowToEvent } from '../../src/store/event-rows.js';
import { SegmentLog } from '../../src/store/segment-log.js';
import { removeDir, tempDir } from '../support/servers.js';

// The identity catch-up (`DuckDBIdentityStore.eventsAfter`) reads stored events without the
// JSON identity cannot use: which JSON comes is decided from the event's typed facts (revenue)
// and DuckDB's JSON functions, not from text scans. Whatever it leaves out, identity must derive
// from each event exactly what it derives from the whole event (the live path reads the log).

const NOW = Date.UTC(2030, 0, 1);
const clock = { now: () => NOW, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
const dirs: string[] = [];
const dbs: Database[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

const track = (event: string, properties: object, extra: object = {}) => ({
  type: 'track',
  userId: 'u1',
  event,
  properties,
  ...extra,
});

const MESSAGES = [
  // "traits" and "device" only as nested keys or values: nothing for identity.
  {
    type: 'page',
    anonymousId: 'a1',
    context: { page: { url: 'https://x.example/', title: '"traits"' }, campaign: { device: 'x' } },
  },
  { type: 'identify', userId: 'u1', traits: { email: 'U1@X.io', phone: '+14155550100', plan: 'pro' } },
  track('Order Completed', { total: 42 }),
  track('Order Refunded', { total: '10' }),
  track('Deal Closed Won', { amount: 1000 }),
  track('Purchased', { revenue: 9.5 }),
  track('Purchased', { revenue: 'abc' }),
  track('Purchased', { items: [{ revenue: 3 }], note: '"revenue"' }),
  track('Order Completed', { revenue: null, total: 7 }),
  track('Clicked', { label: 'no revenue here' }),
  { type: 'track', event: 'Seen', anonymousId: 'a2', context: { traits: { email: 'A2@x.io' } } },
  {
    type: 'track',
    event: 'Seen',
    anonymousId: 'a3',
    context: { device: { id: 'dev-1', advertisingId: 'ad-1' } },
  },
  {
    type: 'track',
    event: 'Seen',
    anonymousId: 'a4',
    context: {
      externalIds: [{ type: 'hubspot contact id', id: 'h-1', collection: 'users', encoding: 'none' }],
    },
  },
  { type: 'track', event: 'Seen', anonymousId: 'a5', traits: { email: 'a5@x.io' } },
  { type: 'track', event: 'Seen', anonymousId: 'a5b', traits: { nickname: 'five' } },
  { type: 'alias', previousId: 'a1', userId: 'u1' },
  { type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'G One' } },
  // Read only by a custom identifier (`properties.account_number`).
  { type: 'track', event: 'Seen', anonymousId: 'a6', properties: { account_number: 'acc-9' } },
  { type: 'page', anonymousId: 'a7', context: { traits: { loyalty: 'gold' } } },
];

async function loaded(facts: boolean): Promise<Database> {
  const dir = tempDir();
  dirs.push(dir);
  const o = await openDatabase(':memory:', { threads: 1 });
  if (!o.ok) throw new Error(o.error.message);
  dbs.push(o.value);
  const log = await SegmentLog.open({ dir, consumers: [LOADER] });
  const records: LogRecord[] = MESSAGES.map((m, i) => {
    const r = importLine(
      JSON.stringify({ ...m, timestamp: new Date(NOW - 1000 * (100 - i)).toISOString() }),
      {
        workspaceId: 'w',
        seq: i + 1,
        now: NOW,
        newMessageId: () => `m${i + 1}`,
      },
    );
    if (!r.ok) throw new Error(`${i}: ${r.error.message}`);
    return { kind: 'event', seq: i + 1, event: r.value };
  });
  await log.append(records);
  const loader = new LogLoader(log, new DuckDBLogLoadStore(o.value.writer, { facts }), clock, {
    minIntervalMs: 0,
    retryMs: 0,
  });
  await loader.start();
  await loader.stop();
  await log.close();
  const n = (sql: string) => o.value.reader.runAndReadAll(sql).then((r) => r.getRowsJS()[0]?.[0]);
  expect(await n('SELECT count(*)::INTEGER FROM events')).toBe(MESSAGES.length);
  expect(await n('SELECT count(*)::INTEGER FROM event_facts')).toBe(facts ? MESSAGES.length : 0);
  return o.value;
}

async function caughtUp(db: Database, wholeContext: boolean, after = 0): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  await new DuckDBIdentityStore(db.identity, db.reader).eventsAfter(after, wholeContext, (chunk) => {
    out.push(...chunk);
  });
  return out;
}

async function whole(db: Database): Promise<StoredEvent[]> {
  const rows = (
    await db.reader.runAndReadAll(`SELECT ${EVENT_COLUMNS} FROM events ORDER BY seq`)
  ).getRowsJS();
  return rows.map(rowToEvent);
}

const DEFAULT = new CompiledRules(identityRulesSchema.parse({}));
const CUSTOM = new CompiledRules(
  identityRulesSchema.parse({
    customIdentifiers: [
      { type: 'account_number', path: 'properties.account_number' },
      { type: 'loyalty', path: 'context.traits.loyalty' },
    ],
  }),
);

/** What identity derives from an event: identifiers, revenue, and traits facts of identify/group. */
const derived = (e: StoredEvent, rules: CompiledRules) => ({
  seq: e.seq,
  identifiers: identifiersOf(e, rules),
  revenue: revenueOf(e.type, e.event, e.properties),
  traits: e.type === 'identify' || e.type === 'group' ? e.traits : undefined,
  groupId: e.groupId,
  timestamp: e.timestamp,
});

describe.each([
  ['with facts', true],
  ['without facts (events stored before them)', false],
])('the identity catch-up, %s', (_name, facts) => {
  it('derives what the whole events give, and leaves out JSON that cannot matter', async () => {
    const db = await loaded(facts);
    const all = await whole(db);
    const slim = await caughtUp(db, false);
    expect(slim.map((e) => derived(e, DEFAULT))).toEqual(all.map((e) => derived(e, DEFAULT)));
    expect(slim.map((e) => revenueOf(e.type, e.event, e.properties))).toEqual([
      null,
      null,
      42,
      -10,
      1000,
      9.5,
      null,
      null,
      7,
      ...Array(MESSAGES.length - 9).fill(null),
    ]);
    const bySeq = (seq: number) => slim[seq - 1] as StoredEvent;
    // Left out: context without traits, device or external ids at its top level; properties that
    // book nothing; traits of a track call without an email or phone.
    expect(bySeq(1).context).toBeNull();
    expect(bySeq(10).properties).toBeNull();
    expect(bySeq(15).traits).toBeNull();
    expect(bySeq(18).properties).toBeNull();
    if (facts) {
      // The facts say these book nothing, whatever their text mentions.
      expect(bySeq(7).properties).toBeNull();
      expect(bySeq(8).properties).toBeNull();
    }
    // Kept: what identity reads.
    expect(bySeq(11).context).not.toBeNull();
    expect(bySeq(12).context).not.toBeNull();
    expect(bySeq(13).context).not.toBeNull();
    expect(bySeq(14).traits).not.toBeNull();
    expect(identifiersOf(bySeq(13), DEFAULT)).toContainEqual({ type: 'hubspot_contact_id', value: 'h-1' });
  });

  it('gives custom identifiers every part whole, properties included', async () => {
    const db = await loaded(facts);
    const all = await whole(db);
    const full = await caughtUp(db, true);
    expect(full.map((e) => derived(e, CUSTOM))).toEqual(all.map((e) => derived(e, CUSTOM)));
    expect(identifiersOf(full[17] as StoredEvent, CUSTOM)).toContainEqual({
      type: 'account_number',
      value: 'acc-9',
    });
    expect(identifiersOf(full[18] as StoredEvent, CUSTOM)).toContainEqual({ type: 'loyalty', value: 'gold' });
  });

  it('starts after the position it is given', async () => {
    const db = await loaded(facts);
    expect((await caughtUp(db, false, 15)).map((e) => e.seq)).toEqual([16, 17, 18, 19]);
  });
});
