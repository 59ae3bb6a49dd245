import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_PRESETS } from '../../src/core/journey/default-stages.js';
import { compileJourneySettings } from '../../src/core/journey/journey-settings.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBJourneyTablesStore } from '../../src/store/duckdb-journey-tables-store.js';

/**
 * The journey tables remember which identifiers each person's rows were derived from (a hash of
 * the set, written with the rows), so a start finds the persons whose identifiers changed while
 * no one told the tables (a merge the identity pipeline published just before a crash).
 */

let db: Database;
let store: DuckDBJourneyTablesStore;
const { settings, config } = compileJourneySettings({});
const input = { settings, config, stageModel: STAGE_PRESETS['b2b-saas'] };
const rebuild = (persons?: number[]) =>
  store.rebuild('w', input, { ...(persons ? { persons } : {}), state: { settingsHash: 'h', builtSeq: 0 } });

beforeAll(async () => {
  const o = await openDatabase(':memory:', { threads: 1 });
  if (!o.ok) throw new Error(o.error.message);
  db = o.value;
  store = new DuckDBJourneyTablesStore(db.journeys, db.reader);
  // Three persons of one identifier each; another workspace's person 1 is its own.
  await db.writer.run(`INSERT INTO person_map VALUES (1, 'w', 1), (2, 'w', 2), (3, 'w', 3), (9, 'other', 1)`);
});
afterAll(() => db?.close());

describe('stale journey identities', () => {
  it('are none right after a rebuild', async () => {
    await rebuild();
    expect(await store.staleIdentities('w')).toEqual([]);
  });

  it('are the persons a merge, a new identifier or a deletion changed since, until they are rebuilt', async () => {
    // 2 joins 1 (a merge), 3 gains an identifier, a new person 4 appears.
    await db.writer.run(
      `UPDATE person_map SET person_key = 1 WHERE workspace_id = 'w' AND identifier_id = 2`,
    );
    await db.writer.run(`INSERT INTO person_map VALUES (5, 'w', 3), (4, 'w', 4)`);
    // Another workspace's changes are its own.
    await db.writer.run(`DELETE FROM person_map WHERE workspace_id = 'other'`);
    expect((await store.staleIdentities('w')).sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    await rebuild([1, 2]);
    expect((await store.staleIdentities('w')).sort((a, b) => a - b)).toEqual([3, 4]);
    await rebuild([3, 4]);
    expect(await store.staleIdentities('w')).toEqual([]);
    // A deleted person: its rows were derived from identifiers that are gone.
    await db.writer.run(`DELETE FROM person_map WHERE workspace_id = 'w' AND person_key = 4`);
    expect(await store.staleIdentities('w')).toEqual([4]);
    // The sweep takes its record with its rows.
    await store.sweep('w', STAGE_PRESETS['b2b-saas'], Date.now());
    expect(await store.staleIdentities('w')).toEqual([]);
  });
});
