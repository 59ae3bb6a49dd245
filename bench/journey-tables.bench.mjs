// Journey tables in SQL: a bulk rebuild of every person's steps, sessions and touchpoints
// (rebuildJourneyTables) beside a plain scan of the same rows in the same run, and touchpoint
// counts by channel read from the tables. 1M events; --full: 10M.
// THROUGHLINE_BENCH_DB=<dir> keeps the prepared database there and reuses it on the next run.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAGE_PRESETS } from '../dist/core/journey/default-stages.js';
import { compileJourneySettings } from '../dist/core/journey/journey-settings.js';
import { journeySql } from '../dist/core/journey/journey-sql.js';
import { IdentityService } from '../dist/services/identity-service.js';
import { openDatabase } from '../dist/store/duckdb-database.js';
import { backfillEventFacts } from '../dist/store/duckdb-facts.js';
import { DuckDBIdentityStore } from '../dist/store/duckdb-identity-store.js';
import { rebuildJourneyTables } from '../dist/store/duckdb-journey-tables.js';
import { DuckDBJourneyTablesStore } from '../dist/store/duckdb-journey-tables-store.js';
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
  if (process.env.THROUGHLINE_BENCH_SQL_PERSONS) {
    await personsBySql(db.writer);
    phases.sqlPersons = true;
  } else {
    const identity = new IdentityService(new DuckDBIdentityStore(db.identity, db.reader), clock, {
      flushIntervalMs: 50,
    });
    await identity.start();
    const last = num((await db.reader.runAndReadAll('SELECT max(seq) FROM events')).getRowsJS()[0][0]);
    await identity.catchUpFromStore(last);
    await identity.drain();
  }
  phases.persons = (performance.now() - t) / 1000;
  await db.writer.run('CHECKPOINT');
  db.close();
  return phases;
}

/**
 * A stand-in for the identity pipeline where its catch-up would take too long on a busy machine
 * (THROUGHLINE_BENCH_SQL_PERSONS=1): each event filed under its user id and anonymous id, an
 * anonymous id belonging to the (smallest) user id it was seen with. Persons of the same shape
 * for the rebuild's purpose (one or two identifiers per event, anonymous visits joined to users).
 */
async function personsBySql(c) {
  await c.run(`CREATE TEMP TABLE b_ids AS SELECT (row_number() OVER ())::INTEGER AS id, v FROM (
      SELECT DISTINCT v FROM (SELECT 'u:' || user_id AS v FROM events WHERE user_id IS NOT NULL
        UNION ALL SELECT 'a:' || anonymous_id FROM events WHERE anonymous_id IS NOT NULL))`);
  await c.run(`INSERT INTO event_identity
    SELECT e.seq, e.workspace_id, i.id, e.timestamp, e.type, e.group_id, NULL FROM (
      SELECT seq, workspace_id, timestamp, type, group_id, 'u:' || user_id AS v FROM events WHERE user_id IS NOT NULL
      UNION ALL SELECT seq, workspace_id, timestamp, type, group_id, 'a:' || anonymous_id FROM events
        WHERE anonymous_id IS NOT NULL) e JOIN b_ids i USING (v)`);
  await c.run(`INSERT INTO person_map SELECT i.id, '${WS}', coalesce(l.person, i.id) FROM b_ids i LEFT JOIN (
      SELECT ia.id AS anon, min(iu.id) AS person FROM events e JOIN b_ids ia ON ia.v = 'a:' || e.anonymous_id
        JOIN b_ids iu ON iu.v = 'u:' || e.user_id GROUP BY ia.id) l ON l.anon = i.id`);
  await c.run('DROP TABLE b_ids');
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

/**
 * The floor of any bulk rebuild in SQL: the least every design of it must do, on this machine —
 * classify the distinct rule inputs (the fact columns the default rules read), and reach each
 * event's person through the map, sort each person's events by time, split at the inactivity gap
 * and write the sessions. No arrivals, touchpoints, channel in effect, bots, steps or stage
 * history. Timed with one DuckDB thread and with all of them (the machine's cores), in a
 * transaction that is rolled back.
 */
async function measureFloor(c, runs) {
  const rel = `SELECT DISTINCT pm.person_key AS person, ei.seq FROM event_identity ei
    JOIN person_map pm ON pm.identifier_id = ei.identifier_id WHERE ei.workspace_id = '${WS}' AND pm.workspace_id = '${WS}'`;
  const classify = `SELECT count(DISTINCT hash(type, referrer_host, page_host, utm_source, utm_medium, utm_campaign,
      click_id, event)) FROM event_facts WHERE workspace_id = '${WS}'`;
  const sessions = `INSERT INTO floor_sessions
    SELECT person, s, make_timestamp(min(t) * 1000), make_timestamp(max(t) * 1000), count(*) FROM (
      SELECT person, t, sum(CASE WHEN prev IS NULL OR t - prev > 1800000 THEN 1 ELSE 0 END)
        OVER (PARTITION BY person ORDER BY t, seq ROWS UNBOUNDED PRECEDING) AS s FROM (
        SELECT *, lag(t) OVER (PARTITION BY person ORDER BY t, seq) AS prev FROM (
          SELECT p.person, f.seq, epoch_ms(f.timestamp) AS t FROM event_facts f JOIN (${rel}) p ON p.seq = f.seq
          WHERE f.workspace_id = '${WS}' AND f.interactive)))
    GROUP BY person, s ORDER BY person, s`;
  const threads = num((await c.runAndReadAll("SELECT current_setting('threads')")).getRowsJS()[0][0]);
  const out = {};
  for (const n of [1, threads]) {
    await c.run(`SET threads = ${n}`);
    const cls = [];
    const ses = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      await c.runAndReadAll(classify);
      cls.push((performance.now() - t) / 1000);
      await c.run('BEGIN TRANSACTION');
      await c.run(`CREATE TEMP TABLE floor_sessions (person INTEGER, session BIGINT, start_at TIMESTAMP,
        end_at TIMESTAMP, event_count BIGINT)`);
      t = performance.now();
      await c.run(sessions);
      ses.push((performance.now() - t) / 1000);
      await c.run('ROLLBACK');
    }
    out[n] = { classify: median(cls), sessions: median(ses) };
  }
  await c.run(`SET threads = ${threads}`);
  return { threads, ...out };
}

/** Everything measured at one size (a database prepared once, or reused with THROUGHLINE_BENCH_DB). */
async function measure(size, runs, reads) {
  const data = dataset(size);
  const keep = process.env.THROUGHLINE_BENCH_DB;
  const dir = keep ? `${keep}-${size}` : mkdtempSync(join(tmpdir(), 'throughline-journey-tables-bench-'));
  try {
    let phases;
    if (!existsSync(join(dir, 'prepared'))) {
      process.stderr.write(`  loading the ${size} dataset, its facts and persons…\n`);
      phases = await prepare(data.file, dir);
      writeFileSync(join(dir, 'prepared'), JSON.stringify(phases));
    } else phases = JSON.parse(readFileSync(join(dir, 'prepared'), 'utf8'));
    const opened = await openDatabase(dir);
    if (!opened.ok) throw new Error(opened.error.message);
    const db = opened.value;
    const c = db.writer;
    const { settings } = compileJourneySettings({});

    process.stderr.write(`  ${size}: baseline scan…\n`);
    const baseline = await timeQuery(
      db.reader,
      `SELECT count(*), sum(hash(f.seq)) FROM event_facts f JOIN (SELECT DISTINCT pm.person_key, ei.seq
         FROM event_identity ei JOIN person_map pm ON pm.identifier_id = ei.identifier_id
         WHERE ei.workspace_id = '${WS}' AND pm.workspace_id = '${WS}') p ON p.seq = f.seq
       WHERE f.workspace_id = '${WS}'`,
      runs,
    );
    const rows = num(baseline.rows[0][0]);
    process.stderr.write(`  ${size}: floor…\n`);
    const floor = await measureFloor(c, runs);

    process.stderr.write(`  ${size}: rebuilds…\n`);
    const times = [];
    let counts;
    // The whole rebuild the server runs (DuckDBJourneyTablesStore.rebuild, one transaction): the
    // persons' sessions and touchpoints in SQL, their stage history, then the accounts' of both.
    const store = new DuckDBJourneyTablesStore(c, db.reader);
    const { config } = compileJourneySettings({});
    const input = { settings, config, stageModel: STAGE_PRESETS[settings.stagePreset] };
    const phaseRuns = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const marks = [];
      counts = await store.rebuild(WS, input, {
        state: { settingsHash: 'bench', builtSeq: 0 },
        onPhase: (phase) => marks.push([phase, performance.now()]),
      });
      const end = performance.now();
      times.push((end - t) / 1000);
      phaseRuns.push(marks.map(([phase, at], k) => [phase, ((marks[k + 1]?.[1] ?? end) - at) / 1000]));
    }
    const phaseTimes = phaseRuns[0].map(([phase], k) => [phase, median(phaseRuns.map((r) => r[k][1]))]);
    // What a change of the stage model alone costs: the stage histories folded again.
    const stageTimes = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await store.rebuild(WS, input, { stagesOnly: true, state: { settingsHash: 'bench', builtSeq: 0 } });
      stageTimes.push((performance.now() - t) / 1000);
    }
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
    // Where the time goes (one more rebuild, statement by statement: it leaves the default tables).
    const steps = await profile(c, settings);

    process.stderr.write(`  ${size}: reads…\n`);
    const byChannel = await timeQuery(
      db.reader,
      `SELECT channel, count(*) FROM journey_touchpoints WHERE workspace_id = '${WS}' GROUP BY channel ORDER BY 2 DESC`,
      reads,
    );
    const sessionsByChannel = await timeQuery(
      db.reader,
      `SELECT channel, count(*), avg(bounce::INTEGER) FROM journey_sessions WHERE workspace_id = '${WS}'
       GROUP BY channel ORDER BY 2 DESC`,
      reads,
    );
    db.close();
    return {
      size,
      runs,
      phases,
      rows,
      baseline: baseline.seconds,
      floor,
      rebuild: median(times),
      phaseTimes,
      stagesOnly: median(stageTimes),
      uaSeconds,
      small: { persons: some.length, seconds: smallSeconds },
      counts,
      steps,
      byChannel,
      sessionsByChannel: sessionsByChannel.seconds,
    };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

export async function run({ quick, full }) {
  const m = machine();
  const results = [await measure('1M', quick ? 1 : 3, quick ? 3 : 5)];
  // 10M: one run of each (a rebuild there takes minutes on this machine).
  if (full) results.push(await measure('10M', 1, 3));

  const prep = (r) => {
    const p = r.phases;
    const persons = p.sqlPersons
      ? "persons from a stand-in in SQL (the identity pipeline's catch-up took too long on the shared machine):" +
        ' each event filed under its user id and anonymous id, an anonymous id joining the user it was seen with'
      : "persons by the identity pipeline's catch-up";
    const times = p.events ? `${sec(p.events)} events, ${sec(p.facts)} facts, ${sec(p.persons)} persons` : '';
    return `${r.size}: ${persons}${times ? ` (prepared in ${times})` : ''}`;
  };
  const last = results[results.length - 1];
  const channels = last.byChannel.rows
    .slice(0, 8)
    .map(([ch, n]) => `${ch} ${fmt(num(n))}`)
    .join(', ');
  const text = `## Journey tables in SQL

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- journey-tables${full ? ' --full' : ''}${quick ? ' --quick' : ''}\`.

**Bulk rebuild** of the journey tables as the server runs it (\`DuckDBJourneyTablesStore.rebuild\`, default
settings, whole workspace, in one transaction: the persons' sessions and touchpoints in SQL, their stage history
folded over candidate rows, then the same for accounts) over the b2b-saas datasets (events loaded with DuckDB
\`read_json\`, facts by the loader's back-fill; file database). ${results.map(prep).join('; ')}. Baseline in the
same run: a plain scan of the same (person, event) rows (\`count(*), sum(hash(seq))\` over \`event_facts\` joined
to the person relation). Targets: 1M < 2 s, 10M < 15 s.

| dataset | (person, event) rows | baseline scan | rebuild | of it: persons' sessions and touchpoints | persons' stage history | accounts (both) | ratio to the scan | stage model changed (stage histories only) |
|---|---|---|---|---|---|---|---|---|
${results
  .map((r) => {
    const ph = Object.fromEntries(r.phaseTimes);
    return `| ${r.size} (median of ${r.runs}) | ${fmt(r.rows)} | ${ms(r.baseline)} | ${sec(r.rebuild)} | ${sec(ph['sessions and touchpoints'])} | ${sec(ph['stage history'])} | ${sec(ph.accounts)} | ${(r.rebuild / r.baseline).toFixed(1)}× | ${sec(r.stagesOnly)} |`;
  })
  .join('\n')}

**The floor** (\`measureFloor\`: what every SQL design of the rebuild must at least do — classify the distinct
rule inputs; reach each event's person through the map, sort by time, split at the 30-minute gap, write the
sessions — with nothing else: no arrivals, touchpoints, channel in effect, steps or stage history), median of
each run's, in the same run:

| dataset | classify rule inputs, 1 thread | sessions floor, 1 thread | classify, ${results[0].floor.threads} threads | sessions floor, ${results[0].floor.threads} threads | floor total (${results[0].floor.threads} threads) | target |
|---|---|---|---|---|---|---|
${results
  .map((r) => {
    const f1 = r.floor[1];
    const fn = r.floor[r.floor.threads];
    return `| ${r.size} | ${ms(f1.classify)} | ${sec(f1.sessions)} | ${ms(fn.classify)} | ${sec(fn.sessions)} | ${sec(fn.classify + fn.sessions)} | ${r.size === '1M' ? '2 s' : '15 s'} |`;
  })
  .join('\n')}

Sessions and touchpoints in SQL alone (\`rebuildJourneyTables\`, one run each): UA sessions (New York)
${results.map((r) => `${r.size} ${sec(r.uaSeconds)}`).join(', ')}; the persons of 1,000 sampled steps (what a
catch-up re-derives) ${results.map((r) => `${r.size} ${ms(r.small.seconds)} (${fmt(r.small.persons)} persons)`).join(', ')}.

${results
  .map(
    (r) =>
      `${r.size}: written ${fmt(r.counts.persons)} persons, ${fmt(r.counts.events)} steps, ${fmt(r.counts.sessions)} sessions, ${fmt(
        r.counts.touchpoints,
      )} touchpoints, ${fmt(r.counts.stageSpans)} stage entries, ${fmt(r.counts.accounts)} accounts. Where the persons' SQL goes (one run): ${r.steps.map(([name, s]) => `${name} ${ms(s)}`).join(', ')}.`,
  )
  .join('\n\n')}

**Reads** (median after a warm-up). Target < 1 s at 10M. Computing the same counts without the tables means
computing the journeys: the rebuild above.

| dataset | touchpoints by channel (\`journey_touchpoints\`) | sessions and bounce rate by channel (\`journey_sessions\`) |
|---|---|---|
${results.map((r) => `| ${r.size} | ${ms(r.byChannel.seconds)} | ${ms(r.sessionsByChannel)} |`).join('\n')}

Touchpoints by channel at ${last.size} (top 8): ${channels}.
`;
  console.log(text);
  recordSection('journey-tables', text);
}
