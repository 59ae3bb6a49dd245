import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { eventFactsOf } from '../../src/core/journey/touch-fields.js';
import { importLine } from '../../src/core/spec/import-line.js';
import type { LogRecord } from '../../src/services/event-log.js';
import { LOADER, LogLoader } from '../../src/services/log-loader.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { REVENUE_FALLBACK } from '../../src/store/duckdb-facts.js';
import { DuckDBLogLoadStore, type LoadStoreOptions } from '../../src/store/duckdb-log-load-store.js';
import { EVENT_COLUMNS, rowToEvent } from '../../src/store/event-rows.js';
import { SegmentLog } from '../../src/store/segment-log.js';
import { removeDir, tempDir } from '../support/servers.js';

/** event_facts as the loader fills it: in the load's transaction, and for events stored before it existed. */

const NOW = Date.UTC(2030, 0, 1);
const clock = { now: () => NOW, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
const dirs: string[] = [];
const dbs: Database[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

const MESSAGES = [
  {
    type: 'page',
    anonymousId: 'a',
    context: {
      page: {
        url: 'https://shop.example/x?utm_source=news&utm_medium=email',
        referrer: 'https://www.google.com/',
      },
      userAgent: 'Mozilla/5.0 Firefox/133.0',
    },
  },
  {
    type: 'page',
    anonymousId: 'b',
    context: { page: { url: 'https://shop.example/y', referrer: 'android-app://com.google.android.gm/' } },
  },
  {
    type: 'track',
    event: 'Crawl',
    anonymousId: 'c',
    context: { userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' },
  },
  { type: 'track', event: 'Order Completed', userId: 'u', properties: { total: 42 } },
  { type: 'identify', userId: 'u', traits: { how_did_you_hear: 'Podcast' } },
];

async function open(dir: string): Promise<Database> {
  const o = await openDatabase(dir, { threads: 1 });
  if (!o.ok) throw new Error(o.error.message);
  dbs.push(o.value);
  return o.value;
}

/** Appends the messages to a log in `dir` and loads them with the given store options. */
async function load(db: Database, dir: string, options: LoadStoreOptions = {}, first = 1) {
  const log = await SegmentLog.open({ dir, consumers: [LOADER] });
  const records: LogRecord[] = MESSAGES.map((m, i) => {
    const r = importLine(JSON.stringify(m), {
      workspaceId: 'w',
      seq: first + i,
      now: NOW,
      newMessageId: () => `m${first + i}`,
    });
    if (!r.ok) throw new Error(r.error.message);
    return { kind: 'event', seq: first + i, event: r.value };
  });
  await log.append(records);
  const loader = new LogLoader(log, new DuckDBLogLoadStore(db.writer, options), clock, {
    minIntervalMs: 0,
    retryMs: 0,
  });
  await loader.start();
  await loader.stop();
  await log.close();
  return loader;
}

async function factsByJs(db: Database) {
  const events = (await db.reader.runAndReadAll(`SELECT ${EVENT_COLUMNS} FROM events ORDER BY seq`))
    .getRowsJS()
    .map(rowToEvent);
  return events.map((e) => {
    const f = eventFactsOf(e);
    return [f.seq, f.pageHost, f.referrerHost, f.utm.utm_source, f.isBot, f.revenue, f.selfReported];
  });
}

const FACTS = `SELECT seq::DOUBLE, page_host, referrer_host, utm_source, is_bot, revenue, self_reported FROM event_facts ORDER BY seq`;

describe('event_facts and the loader', () => {
  it('are written with the events, one row each, equal to the JavaScript extraction', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = await open(':memory:');
    await load(db, dir, { smallBatch: 0 });
    const rows = (await db.reader.runAndReadAll(FACTS)).getRowsJS();
    expect(rows).toEqual(await factsByJs(db));
    expect(rows.map((r) => r[4])).toEqual([false, false, true, false, false]);
    // SQL extracted all but the app referrer (android-app://), which JavaScript did.
    const js = (
      await db.reader.runAndReadAll('SELECT seq::DOUBLE FROM event_facts WHERE extracted_in_js')
    ).getRowsJS();
    expect(js).toEqual([[2]]);
  });

  it('of a small load are extracted by JavaScript, with the same rows', async () => {
    const all = (db: Database) =>
      db.reader.runAndReadAll('SELECT * EXCLUDE (extracted_in_js) FROM event_facts ORDER BY seq');
    const [bySql, byJs] = [await open(':memory:'), await open(':memory:')];
    for (const [db, smallBatch] of [
      [bySql, 0],
      [byJs, 1000],
    ] as const) {
      const dir = tempDir();
      dirs.push(dir);
      await load(db, dir, { smallBatch });
    }
    expect((await all(byJs)).getRowObjectsJS()).toEqual((await all(bySql)).getRowObjectsJS());
    const inJs = await byJs.reader.runAndReadAll(
      'SELECT count(*)::INTEGER FROM event_facts WHERE extracted_in_js',
    );
    expect(inJs.getRowsJS()).toEqual([[MESSAGES.length]]);
  });

  it('are back-filled for events stored before the migration, when the loader starts', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const data = `${dir}/data`;
    const before = await open(data);
    await load(before, `${dir}/log1`);
    // The database as it was before migration 005: events, no event_facts.
    await before.writer.run('DROP TABLE event_facts');
    await before.writer.run('DELETE FROM schema_migrations WHERE version = 5');
    dbs.splice(dbs.indexOf(before), 1);
    before.close();

    const db = await open(data);
    expect((await db.reader.runAndReadAll('SELECT count(*)::INTEGER FROM event_facts')).getRowsJS()).toEqual([
      [0],
    ]);
    const store = new DuckDBLogLoadStore(db.writer, { smallBatch: 0 });
    expect(await store.loadedSeq()).toBe(MESSAGES.length);
    expect((await db.reader.runAndReadAll(FACTS)).getRowsJS()).toEqual(await factsByJs(db));
    // Once: a second start adds nothing, and new loads continue after the back-filled ones.
    expect(await new DuckDBLogLoadStore(db.writer).loadedSeq()).toBe(MESSAGES.length);
    await load(db, `${dir}/log2`, {}, MESSAGES.length + 1);
    const counts = (
      await db.reader.runAndReadAll('SELECT count(*)::INTEGER, count(DISTINCT seq)::INTEGER FROM event_facts')
    ).getRowsJS();
    expect(counts).toEqual([[2 * MESSAGES.length, 2 * MESSAGES.length]]);
  });

  it('share the events’ transaction: when the facts cannot be written, the events are not loaded either', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = await open(':memory:');
    await db.writer.run('ALTER TABLE event_facts RENAME COLUMN page_host TO renamed_host');
    const loader = await load(db, dir);
    expect(loader.problem).toMatch(/page_host/);
    expect((await db.reader.runAndReadAll('SELECT count(*)::INTEGER FROM events')).getRowsJS()).toEqual([
      [0],
    ]);
    expect((await db.reader.runAndReadAll(`SELECT count(*)::INTEGER FROM log_progress`)).getRowsJS()).toEqual(
      [[0]],
    );
  });

  it('can be switched off (to measure what they cost)', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = await open(':memory:');
    await load(db, dir, { facts: false });
    expect((await db.reader.runAndReadAll('SELECT count(*)::INTEGER FROM events')).getRowsJS()).toEqual([
      [MESSAGES.length],
    ]);
    expect((await db.reader.runAndReadAll('SELECT count(*)::INTEGER FROM event_facts')).getRowsJS()).toEqual([
      [0],
    ]);
  });

  it('book revenue as identity/profile.ts does (its fallback table, copied)', () => {
    const source = readFileSync(new URL('../../src/core/identity/profile.ts', import.meta.url), 'utf8');
    const body = /const REVENUE_FALLBACK[^{]*\{([^}]*)\}/.exec(source)?.[1] ?? '';
    const table = Object.fromEntries([...body.matchAll(/'([^']+)': '([^']+)'/g)].map((m) => [m[1], m[2]]));
    expect(REVENUE_FALLBACK).toEqual(table);
    expect(source).toMatch(/event === 'Order Refunded' \? -Math\.abs\(n\) : n/);
  });
});
