import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_PRESETS } from '../../src/core/journey/default-stages.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBJourneyTablesStore } from '../../src/store/duckdb-journey-tables-store.js';

/**
 * The minute sweep of the journey tables: the rows of persons that no longer exist (merged into
 * another, deleted) go, those of others stay, and a customer gone quiet past the inactivity rule
 * gets the stage its journey shows as of now.
 */

let db: Database;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  const o = await openDatabase(':memory:', { threads: 1 });
  if (!o.ok) throw new Error(o.error.message);
  db = o.value;
  const ts = (ms: number) => `make_timestamp(${ms * 1000})`;
  for (const sql of [
    `INSERT INTO person_map VALUES (1, 'w', 1), (2, 'w', 1), (7, 'other', 2)`,
    `INSERT INTO journey_persons VALUES ('w', 1, NULL, 0, ${ts(T0)}), ('w', 2, NULL, 0, ${ts(T0)}),
       ('other', 2, NULL, 0, ${ts(T0)})`,
    `INSERT INTO journey_steps VALUES ('w', 1, 10, ${ts(T0)}, NULL, NULL, NULL, 'E', 'track', NULL, NULL),
       ('w', 2, 11, ${ts(T0)}, NULL, NULL, NULL, 'E', 'track', NULL, NULL), ('other', 2, 12, ${ts(T0)}, NULL, NULL, NULL, 'E', 'track', NULL, NULL)`,
    `INSERT INTO stage_history VALUES
       ('w', 'person', '1', 0, 'customer', 'Customer', ${ts(T0)}, NULL, 'event', 'm10', 'Deal Closed Won', NULL),
       ('w', 'person', '2', 0, 'lead', 'Lead', ${ts(T0)}, NULL, 'event', 'm11', 'Signed Up', NULL),
       ('other', 'person', '2', 0, 'lead', 'Lead', ${ts(T0)}, NULL, 'event', 'm12', 'Signed Up', NULL)`,
  ])
    await db.writer.run(sql);
});
afterAll(() => db?.close());

describe('the journey tables sweep', () => {
  it('removes persons that no longer exist, and writes inactivity that came due', async () => {
    const store = new DuckDBJourneyTablesStore(db.journeys, db.reader);
    await store.sweep('w', STAGE_PRESETS['b2b-saas'], T0 + 200 * DAY);
    const rows = async (sql: string) => (await db.reader.runAndReadAll(sql)).getRowsJS();
    expect(await rows(`SELECT workspace_id, person_key FROM journey_persons ORDER BY ALL`)).toEqual([
      ['other', 2],
      ['w', 1],
    ]);
    expect(await rows(`SELECT workspace_id, person_key FROM journey_steps ORDER BY ALL`)).toEqual([
      ['other', 2],
      ['w', 1],
    ]);
    // Person 1, a customer whose last event is 200 days old: churned 180 days after it.
    expect(
      await rows(
        `SELECT workspace_id, subject, position, stage, epoch_ms(entered_at)::DOUBLE, epoch_ms(exited_at)::DOUBLE,
           trigger_kind, trigger_days FROM stage_history ORDER BY ALL`,
      ),
    ).toEqual([
      ['other', '2', 0, 'lead', T0, null, 'event', null],
      ['w', '1', 0, 'customer', T0, T0 + 180 * DAY, 'event', null],
      ['w', '1', 1, 'churned', T0 + 180 * DAY, null, 'inactivity', 180],
    ]);
  });

  it('adds one inactivity step after the last event, as the model does, however often it runs', async () => {
    const model = {
      stages: [
        {
          id: 'customer',
          name: 'Customer',
          enter: [{ when: { field: 'event', op: 'eq' as const, value: 'Deal Closed Won' } }],
        },
        { id: 'at_risk', name: 'At risk', inactivity: { days: 30, from: ['customer'] } },
        { id: 'churned', name: 'Churned', inactivity: { days: 90, from: ['at_risk'] } },
      ],
    };
    const store = new DuckDBJourneyTablesStore(db.journeys, db.reader);
    for (const days of [100, 101, 300]) await store.sweep('w', model, T0 + days * DAY);
    const rows = (
      await db.reader.runAndReadAll(
        `SELECT position, stage, epoch_ms(exited_at)::DOUBLE FROM stage_history
         WHERE workspace_id = 'w' AND subject = '1' ORDER BY position`,
      )
    ).getRowsJS();
    expect(rows).toEqual([
      [0, 'customer', T0 + 30 * DAY],
      [1, 'at_risk', null],
    ]);
  });
});
