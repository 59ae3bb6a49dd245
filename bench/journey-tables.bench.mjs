// Journey tables in SQL: a bulk rebuild of every person's steps, sessions and touchpoints
// (rebuildJourneyTables) beside a plain scan of the same rows in the same run, and touchpoint
// counts by channel read from the tables. 1M events; --full: 10M.
// THROUGHLINE_BENCH_DB=<dir> keeps the prepared database there and reuses it on the next run.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileJourneySettings } from '../dist/core/journey/journey-settings.js';
import { journeySql } from '../dist/core/journey/journey-sql.js';
import { IdentityService } from '../dist/services/identity-service.js';
import { openDatabase } from '../dist/store/duckdb-database.js';
import { backfillEventFacts } from '../dist/store/duckdb-facts.js';
import { DuckDBIdentityStore } from '../dist/store/duckdb-identity-store.js';
import { rebuildJourneyTables } from '../dist/store/duckdb-journey-tables.js';
import { dataset } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';

const WS = 'ws_bench';
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);
const clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
const sec = (s) => (s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`);

/**
 * A database holding the dataset's events (a bench fixture: DuckDB read_json straight into the
 * events table, seqs in time order, as the identity bench does), their facts (the loader's
 * back-fill: the SQL extraction) and persons (the identity pipeline's catch-up).
 */
export async function prepare(file, dir) {
  const opened = await openDatabase(dir);
  if (!opened.ok) throw new Error(opened.error.message);
  const db = opened.value;
  const phases = {};
  let t = performance.now();
  await db.writer.run(
    `INSERT INTO events SELECT '${WS}', row_number() OVER (ORDER BY timestamp), coalesce(messageId, uuid()::VARCHAR), type,
       event, name, userId, anonymousId, groupId, previousId, timestamp::TIMESTAMP, timestamp::TIMESTAMP,
       sentAt::TIMESTAMP, receivedAt::TIMESTAMP, NULL, properties, traits, context, NULL, NULL, 'bench'
     FROM read_json($f, format = 'newline_delimited', maximum_object_size = 1048576,
       columns = {type: 'VARCHAR', messageId: 'VARCHAR', anonymousId: 'VARCHAR', userId: 'VARCHAR', event: 'VARCHAR',
       name: 'VARCHAR', groupId: 'VARCHAR', previousId: 'VARCHAR', properties: 'JSON', traits: 'JSON', context: 'JSON',
       timestamp: 'VARCHAR', sentAt: 'VARCHAR', receivedAt: 'VARCHAR'})`,
    { f: file },
  );
  phases.events = (performance.now() - t) / 1000;
  t = performance.now();
  await backfillEventFacts(db.writer);
  phases.facts = (performance.now() - t) / 1000;
  t = performance.now();
  const identity = new IdentityService(new DuckDBIdentityStore(db.identity, db.reader), clock, {
    flushIntervalMs: 50,
  });
  await identity.start();
  const last = num((await db.reader.runAndReadAll('SELECT max(seq) FROM events')).getRowsJS()[0][0]);
  await identity.catchUpFromStore(last);
  await identity.drain();
  phases.persons = (performance.now() - t) / 1000;
  await db.writer.run('CHECKPOINT');
  db.close();
  return phases;
}

async function timeQuery(c, sql, runs) {
  await c.runAndReadAll(sql); // warm-up
  const times = [];
  let rows;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    rows = (await c.runAndReadAll(sql)).getRowsJS();
    times.push((performance.now() - t) / 1000);
  }
  return { seconds: median(times), rows };
}

/** Each statement of a rebuild, timed once (where the time goes). */
async function profile(c, settings) {
  const sql = journeySql(settings, { workspaceId: WS });
  const out = [];
  const step = async (name, statement) => {
    const t = performance.now();
    await c.run(statement);
    out.push([name, (performance.now() - t) / 1000]);
  };
  for (const s of sql.compute) await step(/TEMP TABLE (\w+)/.exec(s)?.[1] ?? 'compute', s);
  for (const s of sql.remove) await step(`delete ${/FROM (\w+)/.exec(s)?.[1]}`, s);
  for (const s of sql.insert) await step(`insert ${/INTO (\w+)/.exec(s)?.[1]}`, s);
  for (const s of sql.cleanup) await c.run(s);
  return out;
}

export async function run({ quick, full }) {
  const m = machine();
  const size = full ? '10M' : '1M';
  const data = dataset(size);
  const keep = process.env.THROUGHLINE_BENCH_DB;
  const dir = keep ? `${keep}-${size}` : mkdtempSync(join(tmpdir(), 'throughline-journey-tables-bench-'));
  let phases = null;
  try {
    if (!existsSync(join(dir, 'prepared'))) {
      process.stderr.write(`  loading the ${size} dataset, its facts and persons…\n`);
      phases = await prepare(data.file, dir);
      writeFileSync(join(dir, 'prepared'), JSON.stringify(phases));
    } else phases = JSON.parse(readFileSync(join(dir, 'prepared'), 'utf8'));
    const opened = await openDatabase(dir);
    if (!opened.ok) throw new Error(opened.error.message);
    const db = opened.value;
    const c = db.writer;
    const runs = quick ? 1 : 3;
    const { settings } = compileJourneySettings({});

    process.stderr.write('  baseline scan…\n');
    const baseline = await timeQuery(
      db.reader,
      `SELECT count(*), sum(hash(f.seq)) FROM event_facts f JOIN (SELECT DISTINCT pm.person_key, ei.seq
         FROM event_identity ei JOIN person_map pm ON pm.identifier_id = ei.identifier_id
         WHERE ei.workspace_id = '${WS}' AND pm.workspace_id = '${WS}') p ON p.seq = f.seq
       WHERE f.workspace_id = '${WS}'`,
      runs,
    );
    const rowsScanned = num(baseline.rows[0][0]);

    process.stderr.write('  rebuilds…\n');
    const times = [];
    let counts;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await c.run('BEGIN TRANSACTION');
      counts = await rebuildJourneyTables(c, WS, settings);
      await c.run('COMMIT');
      times.push((performance.now() - t) / 1000);
    }
    const rebuild = median(times);
    const ua = compileJourneySettings({ sessions: { style: 'ua', timeZone: 'America/New_York' } }).settings;
    let t = performance.now();
    await rebuildJourneyTables(c, WS, ua);
    const uaSeconds = (performance.now() - t) / 1000;
    // A small rebuild: the persons of 1,000 events (what a late event or merge batch touches).
    const some = (
      await db.reader.runAndReadAll(
        `SELECT DISTINCT person_key FROM journey_steps WHERE workspace_id = '${WS}' USING SAMPLE 1000 ROWS`,
      )
    )
      .getRowsJS()
      .map((r) => num(r[0]));
    t = performance.now();
    await c.run('BEGIN TRANSACTION');
    await rebuildJourneyTables(c, WS, settings, { persons: some });
    await c.run('COMMIT');
    const smallSeconds = (performance.now() - t) / 1000;
    await rebuildJourneyTables(c, WS, settings);
    const steps = profile(c, settings);
    const stepTimes = await steps;
    // The profile's inserts doubled the rows: rebuild once more for the reads below.
    await rebuildJourneyTables(c, WS, settings);

    process.stderr.write('  reads…\n');
    const byChannel = await timeQuery(
      db.reader,
      `SELECT channel, count(*) FROM journey_touchpoints WHERE workspace_id = '${WS}' GROUP BY channel ORDER BY 2 DESC`,
      quick ? 3 : 5,
    );
    const sessionsByChannel = await timeQuery(
      db.reader,
      `SELECT channel, count(*), avg(bounce::INTEGER) FROM journey_sessions WHERE workspace_id = '${WS}'
       GROUP BY channel ORDER BY 2 DESC`,
      quick ? 3 : 5,
    );
    db.close();

    const channels = byChannel.rows
      .slice(0, 8)
      .map(([ch, n]) => `${ch} ${fmt(num(n))}`)
      .join(', ');
    const prep = phases
      ? ` Preparing it took ${sec(phases.events)} (events), ${sec(phases.facts)} (facts) and ${sec(phases.persons)} (persons).`
      : '';
    const text = `## Journey tables in SQL

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- journey-tables${full ? ' --full' : ''}${quick ? ' --quick' : ''}\`.

**Bulk rebuild** of the journey tables (\`rebuildJourneyTables\`, default settings, whole workspace, in one
transaction: compute in SQL, delete the old rows, insert) over the ${size} b2b-saas dataset (events loaded with
DuckDB \`read_json\`, facts by the loader's back-fill, persons by the identity pipeline's catch-up; file
database).${prep} ${fmt(rowsScanned)} (person, event) rows. Median of ${runs}. Baseline in the same run: a plain
scan of the same rows (\`count(*), sum(hash(seq))\` over \`event_facts\` joined to the person relation).
Targets: 1M < 2 s, 10M < 15 s.

| baseline scan | rebuild | UA sessions (New York), one run | persons of 1,000 sampled steps (${fmt(some.length)} persons), one run |
|---|---|---|---|
| ${ms(baseline.seconds)} | ${sec(rebuild)} (${fmt(rowsScanned / rebuild)} rows/s) | ${sec(uaSeconds)} | ${ms(smallSeconds)} |

Written: ${fmt(counts.persons)} persons, ${fmt(counts.events)} steps, ${fmt(counts.sessions)} sessions,
${fmt(counts.touchpoints)} touchpoints. Where a rebuild's time goes (one run): ${stepTimes
      .map(([name, s]) => `${name} ${ms(s)}`)
      .join(', ')}.

**Reads** (median of ${quick ? 3 : 5} after a warm-up). Target < 1 s at 10M. Computing the same counts without the
tables means computing the journeys: the rebuild above.

| touchpoints by channel (\`journey_touchpoints\`) | sessions and bounce rate by channel (\`journey_sessions\`) |
|---|---|
| ${ms(byChannel.seconds)} | ${ms(sessionsByChannel.seconds)} |

Touchpoints by channel (top 8): ${channels}.
`;
    console.log(text);
    recordSection('journey-tables', text);
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
