import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assemblePathMap,
  type PathQuery,
  type PathsResult,
  parsePathQuery,
} from '../core/analytics/paths.js';
import {
  FIRST_SESSION_WINDOW_MS,
  firstSessionOnly,
  pathMapSql,
  pathPeopleSql,
} from '../core/analytics/paths-sql.js';
import { stepPageSql } from '../core/journey/journey-sql.js';
import { type Database, openDatabase } from './duckdb-database.js';
import { DuckDBPathsStore } from './duckdb-paths-store.js';

// Journey maps over a real DuckDB: the journey tables written directly (what the journey
// builder would write), so each fixture is small enough to check by hand.
let db: Database;
let store: DuckDBPathsStore;
let workspace = 0;
beforeAll(async () => {
  const opened = await openDatabase(':memory:');
  if (!opened.ok) throw new Error(opened.error.message);
  db = opened.value;
  store = new DuckDBPathsStore(db.reader);
});
afterAll(() => db.close());

const T = Date.UTC(2026, 0, 5, 9);
const MIN = 60_000;
/** One event of a person: a track event's name, or a page path when it starts with `/`. */
interface Ev {
  person: number;
  item: string;
  ms: number;
}

const ts = (ms: number) => `make_timestamp(${ms * 1000})`;
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** A page view: a path; `?` is one without a path (no item); `/z` is one with a name (Zed). */
const isPage = (item: string) => item.startsWith('/') || item === '?';
const pageName = (item: string) => (item === '/z' ? lit('Zed') : 'NULL');

/** A fresh workspace holding these events, in this arrival order (seq = position in the list). */
async function load(events: readonly Ev[]): Promise<string> {
  const ws = `w${++workspace}`;
  if (events.length === 0) return ws;
  const facts = events.map((e, seq) => {
    const page = isPage(e.item);
    return `(${lit(ws)}, ${seq + 1}, ${lit(page ? 'page' : 'track')}, ${page ? pageName(e.item) : lit(e.item)}, ${ts(e.ms)},
      ${page && e.item !== '?' ? lit(e.item) : 'NULL'}, ${page}, TRUE, FALSE, FALSE)`;
  });
  await db.writer.run(`INSERT INTO event_facts (workspace_id, seq, type, event, timestamp, page_path, has_page,
      interactive, is_bot, extracted_in_js) VALUES ${facts.join(', ')}`);
  const steps = events.map((e, seq) => {
    const page = isPage(e.item);
    return `(${lit(ws)}, ${e.person}, ${seq + 1}, ${ts(e.ms)}, ${page ? pageName(e.item) : lit(e.item)}, ${lit(page ? 'page' : 'track')})`;
  });
  await db.writer.run(
    `INSERT INTO journey_steps (workspace_id, person_key, seq, event_at, event, type) VALUES ${steps.join(', ')}`,
  );
  // The (type, event) pairs' codes, as the journey build writes them (migration 012) …
  await db.writer.run(`INSERT INTO journey_names SELECT ${lit(ws)}, row_number() OVER (ORDER BY type, event), type, event
    FROM (SELECT DISTINCT type, event FROM journey_steps WHERE workspace_id = ${lit(ws)})`);
  await db.writer.run(`UPDATE journey_steps s SET name_code = n.code FROM journey_names n
    WHERE n.workspace_id = s.workspace_id AND s.workspace_id = ${lit(ws)} AND n.type = s.type
      AND n.event IS NOT DISTINCT FROM s.event`);
  // … and each page view's page (migration 014).
  await db.writer.run(`UPDATE journey_steps s SET page = ${stepPageSql('f')} FROM event_facts f
    WHERE f.workspace_id = s.workspace_id AND f.seq = s.seq AND s.workspace_id = ${lit(ws)}`);
  return ws;
}

const query = (q: object = {}): PathQuery => {
  const parsed = parsePathQuery(q);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
};
const map = async (ws: string, q: PathQuery): Promise<PathsResult> =>
  assemblePathMap(await store.map(ws, q), q);
const edges = (r: PathsResult) => r.edges.map((e) => `${e.source} → ${e.target}: ${e.value}`);
const people = async (ws: string, q: PathQuery, sel: Parameters<DuckDBPathsStore['subjects']>[2]) =>
  (await store.subjects(ws, q, sel, 100)).rows.map((r) => r.key);

/** Persons' item sequences, one minute apart, from 9:00. */
const visits = (paths: Record<number, string[]>): Ev[] =>
  Object.entries(paths).flatMap(([p, items]) =>
    items.map((item, i) => ({ person: Number(p), item, ms: T + i * MIN })),
  );

/**
 * Generated events at times: each person's gaps added up from T. Distinct times per person (ties
 * would be broken by arrival order, which is the point of seq).
 */
function timed(raw: { person: number; item: string; gapMin: number }[]) {
  const clock = new Map<number, number>();
  return raw.map((r) => {
    const ms = (clock.get(r.person) ?? T) + r.gapMin * MIN;
    clock.set(r.person, ms);
    return { person: r.person, item: r.item, ms };
  });
}
describe('journey maps (SQL)', () => {
  // 1: / → /pricing → /signup; 2: / → /pricing; 3: / → /docs; 4: /pricing → /pricing → /signup.
  const FUNNELISH = visits({
    1: ['/', '/pricing', '/signup'],
    2: ['/', '/pricing'],
    3: ['/', '/docs'],
    4: ['/pricing', '/pricing', '/signup'],
  });

  it('counts persons per edge, with drop-off nodes and repeats collapsed', async () => {
    const ws = await load(FUNNELISH);
    const r = await map(ws, query());
    expect(edges(r)).toEqual([
      '1_/ → 2_/pricing: 2',
      '1_/ → 2_/docs: 1',
      '1_/pricing → 2_/signup: 1',
      '2_/pricing → 3_/signup: 1',
    ]);
    expect(r.total).toBe(4);
    const node = (key: string) => r.nodes.find((n) => n.key === key);
    expect(node('1_/')).toMatchObject({ count: 3, dropOff: 0, kind: 'item' });
    expect(node('2_/pricing')).toMatchObject({ count: 2, dropOff: 1 });
    expect(node('3_(drop-off)')).toMatchObject({ count: 3, kind: 'dropOff' });
    expect(r.dropOffs.map((e) => `${e.source} → ${e.target}: ${e.value}`)).toEqual([
      '2_/docs → 3_(drop-off): 1',
      '2_/pricing → 3_(drop-off): 1',
      '2_/signup → 3_(drop-off): 1',
      '3_/signup → 4_(drop-off): 1',
    ]);
    expect(await people(ws, query(), { node: { position: 2, item: '/pricing' } })).toEqual([1, 2]);
    expect(await people(ws, query(), { dropOff: { position: 2, item: '/pricing' } })).toEqual([2]);
    expect(
      await people(ws, query(), {
        edge: { source: { position: 1, item: '/' }, target: { position: 2, item: '/docs' } },
      }),
    ).toEqual([3]);
    // Items: pages only; a start point; step limit.
    expect(edges(await map(ws, query({ startPoint: '/pricing' })))).toEqual(['1_/pricing → 2_/signup: 2']);
    expect(edges(await map(ws, query({ stepLimit: 2 })))).toEqual([
      '1_/ → 2_/pricing: 2',
      '1_/ → 2_/docs: 1',
      '1_/pricing → 2_/signup: 1',
    ]);
    // Stopped by the step limit is not a drop-off.
    expect((await map(ws, query({ stepLimit: 2 }))).nodes.find((n) => n.key === '2_/pricing')?.dropOff).toBe(
      1,
    );
    expect((await map(ws, query({ endPoint: '/signup' }))).dropOffs).toEqual([]);
  });

  it('puts the long tail beyond the edge limit into (other) nodes, flows intact', async () => {
    const ws = await load(FUNNELISH);
    const r = await map(ws, query({ edgeLimit: 1 }));
    expect(edges(r)).toEqual([
      '1_/ → 2_/pricing: 2',
      '1_(other) → 2_(other): 1',
      '1_/ → 2_(other): 1',
      '2_/pricing → 3_(other): 1',
    ]);
    expect(r.nodes.find((n) => n.key === '1_(other)')).toMatchObject({ kind: 'other', count: 1 });
    expect(r.total).toBe(4);
    expect(await people(ws, query({ edgeLimit: 1 }), { node: { position: 2, item: '(other)' } })).toEqual([
      3, 4,
    ]);
  });

  it('drops edges under minEdgeWeight and the orphans that leaves', async () => {
    const ws = await load(FUNNELISH);
    expect(edges(await map(ws, query({ minEdgeWeight: 2 })))).toEqual(['1_/ → 2_/pricing: 2']);
  });

  it('counts persons once (their first path) or every path, split at 30-minute gaps (PostHog)', async () => {
    const ws = await load([
      ...visits({ 1: ['a', 'b'] }),
      // A second path 59 minutes later, and a third after a gap of exactly 30 minutes.
      { person: 1, item: 'a', ms: T + 60 * MIN },
      { person: 1, item: 'b', ms: T + 90 * MIN },
    ]);
    const persons = await map(ws, query());
    expect(edges(persons)).toEqual(['1_a → 2_b: 1']);
    expect(persons.total).toBe(1);
    const paths = await map(ws, query({ count: 'paths' }));
    expect(edges(paths)).toEqual(['1_a → 2_b: 1']);
    expect(paths.nodes.filter((n) => n.position === 1).map((n) => `${n.key}: ${n.count}`)).toEqual([
      '1_a: 2',
      '1_b: 1',
    ]);
    expect(paths.total).toBe(3);
  });

  it('maps the stages entered (stage history) and the channels of touchpoints', async () => {
    const ws = await load(visits({ 1: ['x', 'y', 'z'], 2: ['x', 'y', 'z'] }));
    const stage = (subject: number, position: number, name: string, minute: number) =>
      `(${lit(ws)}, 'person', '${subject}', ${position}, ${lit(name.toLowerCase())}, ${lit(name)}, ${ts(T + minute * MIN)}, 'event')`;
    await db.writer.run(`INSERT INTO stage_history (workspace_id, subject_kind, subject, position, stage, name,
        entered_at, trigger_kind) VALUES ${[
          stage(1, 0, 'Awareness', 0),
          stage(1, 1, 'Lead', 60),
          stage(1, 2, 'Customer', 600),
          stage(2, 0, 'Awareness', 0),
          stage(2, 1, 'Lead', 120),
        ].join(', ')}`);
    const r = await map(ws, query({ item: 'stage' }));
    expect(edges(r)).toEqual(['1_Awareness → 2_Lead: 2', '2_Lead → 3_Customer: 1']);
    expect(r.edges.map((e) => e.averageConversionTimeMs)).toEqual([90 * MIN, 540 * MIN]);
    // Touchpoints at the persons' events (seq 1–3 are person 1's, 4–6 person 2's).
    const touch = (person: number, seq: number, channel: string) =>
      `(${lit(ws)}, ${person}, ${seq}, ${seq}, ${ts(T + ((seq - 1) % 3) * MIN)}, 'page', ${lit(channel)})`;
    await db.writer.run(`INSERT INTO journey_touchpoints (workspace_id, person_key, touchpoint, seq, event_at, kind,
        channel) VALUES ${[
          touch(1, 1, 'Paid Search'),
          touch(1, 3, 'Email'),
          touch(2, 4, 'Paid Search'),
          touch(2, 5, 'Paid Search'),
          touch(2, 6, 'Organic Search'),
        ].join(', ')}`);
    expect(edges(await map(ws, query({ item: 'channel' })))).toEqual([
      '1_Paid Search → 2_Email: 1',
      '1_Paid Search → 2_Organic Search: 1',
    ]);
  });

  // Random journeys: a few persons, items from a small alphabet, gaps that sometimes split paths.
  const journeys = fc
    .array(
      fc.record({
        person: fc.integer({ min: 1, max: 6 }),
        item: fc.constantFrom('a', 'b', 'c', '/x', '/y/'),
        gapMin: fc.constantFrom(1, 2, 5, 29, 30, 45),
      }),
      { minLength: 1, maxLength: 40 },
    )
    .map(timed);
  const queries = fc.record({
    count: fc.constantFrom('persons', 'paths'),
    stepLimit: fc.integer({ min: 2, max: 6 }),
    startPoint: fc.option(fc.constantFrom('a', 'b', '/x'), { nil: undefined }),
    item: fc.constantFrom('event', 'page'),
  });

  it('conserves flow: into a node = out of it + its drop-off + (at the step limit) those cut there', async () => {
    await fc.assert(
      fc.asyncProperty(journeys, queries, async (events, raw) => {
        const q = query(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
        const r = await map(await load(events), q);
        const items = r.nodes.filter((n) => n.kind !== 'dropOff');
        for (const n of items) {
          const out = r.edges.filter((e) => e.source === n.key).reduce((s, e) => s + e.value, 0);
          if (n.position < q.stepLimit) expect(out + n.dropOff, n.key).toBe(n.count);
          else expect(out, n.key).toBe(0);
          if (n.position > 1) {
            const into = r.edges.filter((e) => e.target === n.key).reduce((s, e) => s + e.value, 0);
            expect(into, n.key).toBe(n.count);
          }
        }
        const dropped = r.dropOffs.reduce((s, e) => s + e.value, 0);
        expect(dropped).toBe(items.reduce((s, n) => s + n.dropOff, 0));
        // Every person with an item of the kind (and the start point, when given) counts once.
        const mapped = events.filter((e) => q.item === 'event' || e.item.startsWith('/'));
        const starting = mapped.filter((e) => q.startPoint === undefined || e.item === q.startPoint);
        if (q.count === 'persons') expect(r.total).toBe(new Set(starting.map((e) => e.person)).size);
      }),
      { numRuns: 40 },
    );
  });

  it('gives identical maps and people whatever order the events arrived in', async () => {
    await fc.assert(
      fc.asyncProperty(
        journeys,
        queries,
        fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        async (events, raw, random) => {
          const q = query(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
          const shuffled = events
            .map((e) => ({ e, k: random.next().value as number }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.e);
          const [wa, wb] = [await load(events), await load(shuffled)];
          const [a, b] = [await map(wa, q), await map(wb, q)];
          expect(b).toEqual(a);
          const first = a.nodes.find((n) => n.position === 2 && n.kind === 'item');
          if (first)
            expect(await people(wb, q, { node: first })).toEqual(await people(wa, q, { node: first }));
        },
      ),
      { numRuns: 30 },
    );
  });
  // The fast plan (each person's first session found from integers first) against the general
  // one: first sessions longer than its window, ties in time, pages without a path, and queries
  // on either side of the plan's conditions.
  const busy = fc
    .array(
      fc.record({
        person: fc.integer({ min: 1, max: 4 }),
        item: fc.constantFrom('a', 'b', 'c', '/x', '/y/', '?', '/z', '/z'),
        gapMin: fc.constantFrom(0, 1, 5, 25, 29, 30, 45, 200),
      }),
      { minLength: 1, maxLength: 60 },
    )
    // some workspaces with named pages only
    .chain((raw) =>
      fc
        .boolean()
        .map((named) => (named ? raw.map((r) => (isPage(r.item) ? { ...r, item: '/z' } : r)) : raw)),
    )
    .map(timed);
  const anyQuery = fc.record({
    count: fc.constantFrom('persons', 'persons', 'persons', 'paths', 'sessions'),
    stepLimit: fc.integer({ min: 2, max: 6 }),
    startPoint: fc.constantFrom(undefined, undefined, undefined, 'a', '/x'),
    endPoint: fc.constantFrom(undefined, undefined, undefined, 'b', '/y'),
    item: fc.constantFrom('event', 'event', 'page'),
    pathGroupings: fc.constantFrom([], [], ['/*'], ['a', 'b*']),
    excludeItems: fc.constantFrom([], [], [], ['c'], ['/x']),
    edgeLimit: fc.constantFrom(50, 2),
    from: fc.constantFrom(undefined, undefined, new Date(T + 60 * MIN).toISOString()),
    // half of them within the fast plan's conditions
    fastish: fc.boolean(),
  });
  const sorted = async (sql: string) =>
    (await db.reader.runAndReadAll(sql))
      .getRowsJS()
      .map((r) => JSON.stringify(r.map((v) => (typeof v === 'bigint' ? Number(v) : v))))
      .sort();

  it('gives the same maps and people by the fast plan as by the general one', async () => {
    // (20 events 25 minutes apart outlast the plan's window: its fallback is tested too.)
    expect(FIRST_SESSION_WINDOW_MS).toBeLessThan(20 * 25 * MIN);
    let fast = 0;
    await fc.assert(
      fc.asyncProperty(busy, anyQuery, async (events, { fastish, ...raw }) => {
        const fastRaw = {
          ...raw,
          count: 'persons',
          startPoint: undefined,
          endPoint: undefined,
          excludeItems: [],
        };
        const q = query(
          Object.fromEntries(Object.entries(fastish ? fastRaw : raw).filter(([, v]) => v !== undefined)),
        );
        if (firstSessionOnly(q)) fast++;
        const ws = await load(events);
        expect(await sorted(pathMapSql(ws, q))).toEqual(await sorted(pathMapSql(ws, q, 'general')));
        const node = { position: 2, item: events[0]!.item.replace(/(.)\/$/, '$1') };
        expect(await sorted(pathPeopleSql(ws, q, { node }, 100))).toEqual(
          await sorted(pathPeopleSql(ws, q, { node }, 100, undefined, 'general')),
        );
      }),
      { numRuns: 100 },
    );
    expect(fast).toBeGreaterThan(30);
  }, 120_000);
});
