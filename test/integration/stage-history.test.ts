import { DuckDBTimestampValue } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_PRESETS } from '../../src/core/journey/default-stages.js';
import { buildJourney, type Journey } from '../../src/core/journey/journey.js';
import { journeyEventOf } from '../../src/core/journey/journey-event.js';
import { compileJourneySettings } from '../../src/core/journey/journey-settings.js';
import { dueInactivitySql } from '../../src/core/journey/stage-sql.js';
import type { StageModel } from '../../src/core/journey/stages.js';
import { importLine } from '../../src/core/spec/import-line.js';
import type { StoredEvent } from '../../src/core/spec/message.js';
import type { LogRecord } from '../../src/services/event-log.js';
import { LOADER, LogLoader } from '../../src/services/log-loader.js';
import { resolveSimConfig, SCENARIOS } from '../../src/sim/sim-config.js';
import { Simulation } from '../../src/sim/simulate.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBLogLoadStore } from '../../src/store/duckdb-log-load-store.js';
import { rebuildStageHistory } from '../../src/store/duckdb-stage-history.js';
import { EVENT_COLUMNS, rowToEvent } from '../../src/store/event-rows.js';
import { SegmentLog } from '../../src/store/segment-log.js';
import { removeDir, tempDir } from '../support/servers.js';

/**
 * The bulk stage fold (SQL picks and decides the rows that may move a stage, JavaScript folds
 * over them) gives every person the stage history the live journey model gives, for the
 * simulated scenarios and for models that exercise what the pruning must respect: traits and
 * properties read in JavaScript, regressions, short inactivity rules, and chains of triggers
 * identical rows can fire one after another.
 *
 * The journey tables it reads are written here from the JavaScript journeys, so this test holds
 * the stage fold alone to the model (the SQL journey tables have their own differential test).
 */

const NOW = Date.UTC(2030, 0, 1);
const clock = { now: () => NOW, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

const events = (...names: string[]) => ({ field: 'event', op: 'in', value: names });

/** Traits, properties, regressions and a 3-day inactivity rule. */
const EDGY: StageModel = {
  stages: [
    { id: 'seen', name: 'Seen', enter: [{ when: { field: 'touchpoint', op: 'present' } }] },
    {
      id: 'pro',
      name: 'Pro',
      enter: [{ when: { field: 'traits.plan', op: 'in', value: ['pro', 'enterprise', 'business'] } }],
    },
    {
      id: 'buyer',
      name: 'Buyer',
      enter: [
        {
          when: {
            all: [
              events('Order Completed', 'Deal Closed Won'),
              { field: 'properties.total', op: 'gte', value: 50 },
            ],
          },
        },
        { when: events('Order Completed', 'Subscription Started', 'Deal Closed Won') },
      ],
    },
    {
      id: 'quiet',
      name: 'Quiet',
      enter: [
        {
          when: { not: { field: 'type', op: 'in', value: ['page', 'track', 'identify', 'screen', 'group'] } },
        },
      ],
      inactivity: { days: 3, from: ['seen', 'pro', 'buyer'] },
    },
    {
      id: 'back',
      name: 'Back',
      enter: [{ when: { field: 'session_number', op: 'gte', value: 2 }, from: ['quiet'] }],
    },
  ],
};

/** Decided in SQL throughout (no traits or properties), with a 3-day inactivity rule. */
const RESTING: StageModel = {
  stages: [
    { id: 'seen', name: 'Seen', enter: [{ when: { field: 'touchpoint', op: 'present' } }] },
    { id: 'quiet', name: 'Quiet', inactivity: { days: 3, from: ['seen', 'back'] } },
    {
      id: 'back',
      name: 'Back',
      enter: [{ when: { field: 'session_number', op: 'gte', value: 2 }, from: ['quiet'] }],
    },
  ],
};

/** Identical rows fire one stage after another: the fold must see past the kept rows of a run. */
const CHAIN: StageModel = {
  stages: [
    { id: 'a', name: 'A', enter: [{ when: { field: 'session_number', op: 'gte', value: 1 } }] },
    { id: 'b', name: 'B', enter: [{ when: { field: 'session_number', op: 'gte', value: 1 }, from: ['a'] }] },
    { id: 'c', name: 'C', enter: [{ when: { field: 'session_number', op: 'gte', value: 1 }, from: ['b'] }] },
    { id: 'd', name: 'D', enter: [{ when: { field: 'session_number', op: 'gte', value: 1 }, from: ['c'] }] },
  ],
};

interface Person {
  workspaceId: string;
  key: number;
  events: StoredEvent[];
}

let db: Database;
const persons: Person[] = [];
const dir = tempDir();

beforeAll(async () => {
  const opened = await openDatabase(':memory:', { threads: 2 });
  if (!opened.ok) throw new Error(opened.error.message);
  db = opened.value;
  const log = await SegmentLog.open({ dir, consumers: [LOADER], segmentBytes: 1 << 20 });
  let seq = 0;
  const personOfSeq = new Map<number, Person>();
  for (const scenario of SCENARIOS) {
    const config = resolveSimConfig(scenario, { people: 150, seed: 21 });
    if (!config.ok) throw new Error(config.error);
    const records: LogRecord[] = [];
    for (const unit of new Simulation(config.value).units()) {
      const person: Person = { workspaceId: `ws_${scenario}`, key: persons.length, events: [] };
      persons.push(person);
      for (const m of unit.messages) {
        const r = importLine(m.line, {
          workspaceId: person.workspaceId,
          seq: seq + 1,
          now: NOW,
          newMessageId: () => `gen-${seq + 1}`,
        });
        if (!r.ok) continue;
        seq++;
        personOfSeq.set(seq, person);
        records.push({ kind: 'event', seq, event: r.value });
      }
    }
    for (let i = 0; i < records.length; i += 2000) await log.append(records.slice(i, i + 2000));
  }
  // By hand: a visitor back every 12 hours for ten days, each visit a touchpoint like the last
  // (the fold must know the activity between the rows it keeps, or a 3-day rule would lapse).
  const steady: Person = { workspaceId: 'ws_edge', key: persons.length, events: [] };
  persons.push(steady);
  const records: LogRecord[] = [];
  for (let i = 0; i < 20; i++) {
    const line = JSON.stringify({
      type: 'page',
      anonymousId: 'steady',
      timestamp: new Date(Date.UTC(2029, 5, 1) + i * 12 * 3_600_000).toISOString(),
      context: { page: { url: 'https://shop.example/' }, userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
    });
    const r = importLine(line, {
      workspaceId: steady.workspaceId,
      seq: seq + 1,
      now: NOW,
      newMessageId: () => `gen-${seq + 1}`,
    });
    if (!r.ok) throw new Error(r.error.message);
    seq++;
    personOfSeq.set(seq, steady);
    records.push({ kind: 'event', seq, event: r.value });
  }
  // By hand: a deal lost (opportunity → lead), then a new demo (lead → opportunity again).
  const regress: Person = { workspaceId: 'ws_edge', key: persons.length, events: [] };
  persons.push(regress);
  const more: LogRecord[] = [];
  [
    'Signed Up',
    'Demo Requested',
    'Deal Closed Lost',
    'Newsletter Subscribed',
    'Demo Requested',
    'Deal Closed Won',
  ].forEach((event, i) => {
    const line = JSON.stringify({
      type: 'track',
      userId: 'regress',
      event,
      timestamp: new Date(Date.UTC(2029, 6, 1) + i * 86_400_000).toISOString(),
    });
    const r = importLine(line, {
      workspaceId: regress.workspaceId,
      seq: seq + 1,
      now: NOW,
      newMessageId: () => `gen-${seq + 1}`,
    });
    if (!r.ok) throw new Error(r.error.message);
    seq++;
    personOfSeq.set(seq, regress);
    more.push({ kind: 'event', seq, event: r.value });
  });
  await log.append(records);
  await log.append(more);
  const loader = new LogLoader(log, new DuckDBLogLoadStore(db.writer), clock, {
    minIntervalMs: 0,
    retryMs: 0,
  });
  await loader.start();
  await loader.stop();
  await log.close();
  if (loader.problem) throw new Error(loader.problem);
  const rows = (
    await db.reader.runAndReadAll(`SELECT ${EVENT_COLUMNS} FROM events ORDER BY seq`)
  ).getRowsJS();
  for (const e of rows.map(rowToEvent)) personOfSeq.get(e.seq)?.events.push(e);
}, 180_000);

afterAll(() => {
  db?.close();
  removeDir(dir);
});

/** The journey tables of the persons, from their JavaScript journeys. */
async function writeJourneyTables(journeys: { person: Person; journey: Journey }[]): Promise<void> {
  for (const t of ['journey_steps', 'journey_touchpoints', 'journey_persons', 'stage_history'])
    await db.writer.run(`DELETE FROM ${t}`);
  const steps = await db.writer.createAppender('journey_steps');
  const touchpoints = await db.writer.createAppender('journey_touchpoints');
  const people = await db.writer.createAppender('journey_persons');
  const ts = (ms: number) => new DuckDBTimestampValue(BigInt(ms) * 1000n);
  for (const { person, journey } of journeys) {
    people.appendVarchar(person.workspaceId);
    people.appendInteger(person.key);
    if (journey.bot === null) people.appendNull();
    else people.appendVarchar(journey.bot);
    people.appendInteger(journey.botEvents);
    // Its last event (migration 013): the inactivity sweep reads it.
    if (journey.steps.length === 0) people.appendNull();
    else people.appendTimestamp(ts(Math.max(...journey.steps.map((s) => s.at))));
    people.endRow();
    for (const s of journey.steps) {
      steps.appendVarchar(person.workspaceId);
      steps.appendInteger(person.key);
      steps.appendBigInt(BigInt(s.seq));
      steps.appendTimestamp(ts(s.at));
      for (const v of [s.session, s.touchpoint]) {
        if (v === null) steps.appendNull();
        else steps.appendInteger(v);
      }
      if (s.channel === null) steps.appendNull();
      else steps.appendVarchar(s.channel);
      // The event's name, type (migration 011), their code (012) and page (014): analytics reads
      // them, the stage fold does not.
      steps.appendNull();
      steps.appendNull();
      steps.appendNull();
      steps.appendNull();
      steps.endRow();
    }
    for (const t of journey.touchpoints) {
      touchpoints.appendVarchar(person.workspaceId);
      touchpoints.appendInteger(person.key);
      touchpoints.appendInteger(t.index);
      touchpoints.appendBigInt(BigInt(t.seq));
      touchpoints.appendTimestamp(ts(t.at));
      touchpoints.appendVarchar(t.kind);
      touchpoints.appendVarchar(t.channel);
      if (t.session === null) touchpoints.appendNull();
      else touchpoints.appendInteger(t.session);
      for (const v of [
        t.event,
        t.source,
        t.medium,
        t.campaign,
        t.content,
        t.term,
        t.referringDomain,
        t.landingPage,
      ]) {
        if (v === null) touchpoints.appendNull();
        else touchpoints.appendVarchar(v);
      }
      touchpoints.endRow();
    }
  }
  steps.closeSync();
  touchpoints.closeSync();
  people.closeSync();
}

/** stage_history rows per person, in the shape of Journey.stages. */
async function storedStages(): Promise<Map<string, unknown[]>> {
  const rows = (
    await db.reader.runAndReadAll(
      `SELECT workspace_id, subject, stage, name, epoch_ms(entered_at)::DOUBLE, epoch_ms(exited_at)::DOUBLE,
         trigger_kind, trigger_message_id, trigger_event, trigger_days
       FROM stage_history WHERE subject_kind = 'person' ORDER BY workspace_id, subject::INTEGER, position`,
    )
  ).getRowsJS();
  const out = new Map<string, unknown[]>();
  for (const r of rows) {
    const key = `${r[0]}/${r[1]}`;
    const list = out.get(key) ?? [];
    list.push({
      stage: r[2],
      name: r[3],
      enteredAt: r[4],
      exitedAt: r[5] ?? null,
      trigger:
        r[6] === 'event'
          ? { kind: 'event', messageId: r[7], event: r[8] ?? null }
          : { kind: 'inactivity', days: r[9] },
    });
    out.set(key, list);
  }
  return out;
}

const MODELS: [string, (scenario: string) => StageModel][] = [
  [
    'each scenario’s preset',
    (s) =>
      s === 'ecommerce' || s === 'subscription-app' ? STAGE_PRESETS.ecommerce : STAGE_PRESETS['b2b-saas'],
  ],
  ['traits, properties, regressions, 3-day inactivity', () => EDGY],
  ['decided in SQL, 3-day inactivity', () => RESTING],
  ['a chain identical rows fire', () => CHAIN],
];

describe('stage history folded over candidate rows', () => {
  it.each(MODELS)(
    'equals the journey model for every person: %s',
    async (_name, modelOf) => {
      const journeys = persons.map((person) => {
        const scenario = person.workspaceId.slice(3);
        const { config } = compileJourneySettings({ stageModel: modelOf(scenario) });
        return { person, config, journey: buildJourney(person.events.map(journeyEventOf), config) };
      });
      await writeJourneyTables(journeys);
      let spans = 0;
      for (const scenario of [...SCENARIOS, 'edge']) {
        const model = modelOf(scenario);
        const { config } = compileJourneySettings({ stageModel: model });
        const r = await rebuildStageHistory(db.writer, `ws_${scenario}`, config, model);
        spans += r.spans;
      }
      const stored = await storedStages();
      let compared = 0;
      for (const { person, journey } of journeys) {
        const got = stored.get(`${person.workspaceId}/${person.key}`) ?? [];
        expect(got, `${person.workspaceId} person ${person.key}`).toEqual(journey.stages);
        compared += journey.stages.length;
      }
      expect(spans).toBe(compared);
      expect(compared).toBeGreaterThan(persons.length / 2);
    },
    120_000,
  );

  it.each([
    [
      'each scenario’s preset',
      (s: string) =>
        s === 'ecommerce' || s === 'subscription-app' ? STAGE_PRESETS.ecommerce : STAGE_PRESETS['b2b-saas'],
    ],
    ['decided in SQL, 3-day inactivity', () => RESTING],
  ] as [string, (s: string) => StageModel][])(
    'with the inactivity due as of now written in, equals the journey model as of now: %s',
    async (_name, modelOf) => {
      const asOf = Date.UTC(2031, 5, 1);
      const journeys = persons.map((person) => {
        const { config } = compileJourneySettings({ stageModel: modelOf(person.workspaceId.slice(3)) });
        return { person, journey: buildJourney(person.events.map(journeyEventOf), config, asOf) };
      });
      await writeJourneyTables(journeys);
      for (const scenario of [...SCENARIOS, 'edge']) {
        const model = modelOf(scenario);
        const { config } = compileJourneySettings({ stageModel: model });
        await rebuildStageHistory(db.writer, `ws_${scenario}`, config, model);
        for (const st of dueInactivitySql(model))
          await db.writer.run(st.sql, st.params(`ws_${scenario}`, asOf));
      }
      const stored = await storedStages();
      let inactive = 0;
      for (const { person, journey } of journeys) {
        expect(
          stored.get(`${person.workspaceId}/${person.key}`) ?? [],
          `${person.workspaceId} person ${person.key}`,
        ).toEqual(journey.stages);
        if (journey.stages.at(-1)?.trigger.kind === 'inactivity') inactive++;
      }
      expect(inactive).toBeGreaterThan(10);
    },
    120_000,
  );

  it('rebuilds only the persons asked for, leaving the others as they were', async () => {
    const model = STAGE_PRESETS['b2b-saas'];
    const { config } = compileJourneySettings({ stageModel: model });
    const ws = persons.filter((p) => p.workspaceId === 'ws_b2b-saas');
    await writeJourneyTables(
      ws.map((person) => ({ person, journey: buildJourney(person.events.map(journeyEventOf), config) })),
    );
    await rebuildStageHistory(db.writer, 'ws_b2b-saas', config, model);
    const before = await storedStages();
    const some = ws.slice(0, 5).map((p) => p.key);
    const r = await rebuildStageHistory(db.writer, 'ws_b2b-saas', config, model, { persons: some });
    expect(r.persons).toBeLessThanOrEqual(5);
    expect(await storedStages()).toEqual(before);
  }, 60_000);
});
