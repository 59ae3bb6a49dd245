// Facts and rules in SQL: what extracting `event_facts` at load costs (the loader with and without
// facts, same run), and channel counts over every event with the default rules compiled to SQL,
// against a plain count(*) GROUP BY over a column in the same run. 1M events; --full: 10M.
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compileJourneySettings } from '../dist/core/journey/journey-settings.js';
import { channelQueryOf } from '../dist/core/journey/rules-sql.js';
import { importLine } from '../dist/core/spec/import-line.js';
import { openDatabase } from '../dist/store/duckdb-database.js';
import { SMALL_BATCH } from '../dist/store/duckdb-facts.js';
import { DuckDBLogLoadStore } from '../dist/store/duckdb-log-load-store.js';
import { encodeRecord } from '../dist/store/log-line.js';
import { dataset } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';

const WS = 'ws_bench';
const NOW = Date.UTC(2026, 10, 22);
const SEGMENT_BYTES = 64 * 1024 * 1024;
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);

/** The dataset as ingest-log segments (what the loader reads): lines through importLine, as imports do. */
async function writeSegments(file, dir) {
  const segments = [];
  let seq = 0;
  let parts = [];
  let bytes = 0;
  let first = 1;
  const flush = () => {
    if (parts.length === 0) return;
    const path = join(dir, `${first}.seg`);
    writeFileSync(path, parts.join(''));
    segments.push({
      id: first,
      path,
      firstSeq: first,
      lastSeq: seq,
      events: seq - first + 1,
      quarantined: 0,
      bytes,
    });
    parts = [];
    bytes = 0;
    first = seq + 1;
  };
  for await (const line of createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    const r = importLine(line, {
      workspaceId: WS,
      seq: seq + 1,
      now: NOW,
      newMessageId: () => `g${seq + 1}`,
    });
    if (!r.ok) continue;
    seq++;
    const text = encodeRecord({ kind: 'event', seq, event: r.value }, true);
    parts.push(text);
    bytes += Buffer.byteLength(text);
    if (bytes >= SEGMENT_BYTES) flush();
  }
  flush();
  return { segments, events: seq };
}

/** Loads every segment into a fresh database, one transaction each, as the loader does. */
async function loadAll(segments, dir, facts) {
  const opened = await openDatabase(dir);
  if (!opened.ok) throw new Error(opened.error.message);
  const db = opened.value;
  const store = new DuckDBLogLoadStore(db.writer, { facts });
  let after = await store.loadedSeq();
  const t0 = performance.now();
  for (const s of segments) {
    await store.loadSegment(s, after);
    after = s.lastSeq;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { db, seconds };
}

/** Median time of small loads (a trickle of traffic): `n` segments of `size` events each. */
async function smallLoads(segments, dir, facts, n, size) {
  const opened = await openDatabase(dir);
  if (!opened.ok) throw new Error(opened.error.message);
  const db = opened.value;
  const store = new DuckDBLogLoadStore(db.writer, { facts });
  const times = [];
  for (const s of segments.slice(0, n)) {
    const t = performance.now();
    await store.loadSegment(s, s.firstSeq - 1);
    times.push(performance.now() - t);
  }
  db.close();
  return { ms: median(times), size };
}

/** Small segments: the first `n × size` events, `size` a segment. */
async function writeSmallSegments(file, dir, n, size) {
  const segments = [];
  let seq = 0;
  let parts = [];
  for await (const line of createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    const r = importLine(line, {
      workspaceId: WS,
      seq: seq + 1,
      now: NOW,
      newMessageId: () => `g${seq + 1}`,
    });
    if (!r.ok) continue;
    seq++;
    parts.push(encodeRecord({ kind: 'event', seq, event: r.value }, true));
    if (parts.length === size) {
      const path = join(dir, `${seq - size + 1}.seg`);
      writeFileSync(path, parts.join(''));
      segments.push({
        id: seq - size + 1,
        path,
        firstSeq: seq - size + 1,
        lastSeq: seq,
        events: size,
        quarantined: 0,
        bytes: 0,
      });
      parts = [];
      if (segments.length === n) break;
    }
  }
  return segments;
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

export async function run({ quick, full }) {
  const m = machine();
  const size = full ? '10M' : '1M';
  const data = dataset(size);
  const work = mkdtempSync(join(tmpdir(), 'throughline-facts-bench-'));
  try {
    process.stderr.write(`  writing the ${size} dataset as log segments…\n`);
    mkdirSync(join(work, 'log'));
    const { segments, events } = await writeSegments(data.file, join(work, 'log'));

    process.stderr.write('  small loads…\n');
    mkdirSync(join(work, 'small'));
    const small = await writeSmallSegments(data.file, join(work, 'small'), 21, 200);
    const smallPlain = await smallLoads(small, join(work, 'small-plain'), false, 21, 200);
    const smallFacts = await smallLoads(small, join(work, 'small-facts'), true, 21, 200);

    process.stderr.write(`  loading ${fmt(events)} events without facts…\n`);
    const plain = await loadAll(segments, join(work, 'plain'), false);
    plain.db.close();
    process.stderr.write('  loading them with facts…\n');
    const withFacts = await loadAll(segments, join(work, 'facts'), true);
    const c = withFacts.db.reader;
    const inJs = num(
      (
        await c.runAndReadAll('SELECT count(*) FILTER (WHERE extracted_in_js) FROM event_facts')
      ).getRowsJS()[0][0],
    );

    const runs = quick ? 3 : 5;
    process.stderr.write('  queries…\n');
    const baseline = await timeQuery(
      c,
      `SELECT referrer_host, count(*) FROM event_facts WHERE workspace_id = '${WS}' GROUP BY referrer_host`,
      runs,
    );
    const { settings } = compileJourneySettings({});
    const counts = channelQueryOf(settings, { shape: 'counts', where: `f.workspace_id = '${WS}'` });
    const byChannel = await timeQuery(
      c,
      `SELECT channel, sum(n)::BIGINT AS events,
         sum(n) FILTER (WHERE arrival IN ('campaign', 'referral', 'direct'))::BIGINT AS arrivals
       FROM (${counts.sql}) GROUP BY channel ORDER BY events DESC`,
      runs,
    );
    const byEventChannel = await timeQuery(
      c,
      `SELECT event_channel, sum(n)::BIGINT FROM (${counts.sql}) WHERE event_channel IS NOT NULL
       GROUP BY event_channel ORDER BY 2 DESC`,
      runs,
    );
    const keys = num((await c.runAndReadAll(`SELECT count(*) FROM (${counts.sql})`)).getRowsJS()[0][0]);
    const ga4 = channelQueryOf(compileJourneySettings({ channels: { ruleset: 'ga4' } }).settings, {
      shape: 'counts',
      where: `f.workspace_id = '${WS}'`,
    });
    const byGa4 = await timeQuery(c, `SELECT channel, sum(n) FROM (${ga4.sql}) GROUP BY channel`, runs);
    const perEvent = channelQueryOf(settings, { where: `f.workspace_id = '${WS}'` });
    const joined = await timeQuery(
      c,
      `SELECT channel, count(*) FROM (${perEvent.sql}) GROUP BY channel`,
      quick ? 1 : 3,
    );
    withFacts.db.close();

    const channels = byChannel.rows
      .slice(0, 8)
      .map(([ch, n, a]) => `${ch} ${fmt(num(n))} (${fmt(num(a ?? 0))} arriving)`)
      .join(', ');
    const eventChannels = byEventChannel.rows.map(([ch, n]) => `${ch} ${fmt(num(n))}`).join(', ');
    const factsCost = withFacts.seconds - plain.seconds;
    const text = `## Facts and channel rules in SQL

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- facts${full ? ' --full' : ''}${quick ? ' --quick' : ''}\`.

**Loading with fact extraction** (${fmt(events)} events of the ${size} b2b-saas dataset, written as ingest-log
segments of 64 MiB through \`importLine\`, then loaded segment by segment by \`DuckDBLogLoadStore.loadSegment\`
into a fresh file database: events alone, then events with \`event_facts\` in the same transaction; one run each,
same run; each segment ≈ 90,000 events, so every load takes the SQL extraction). ${fmt(inJs)} events
(${((100 * inJs) / events).toFixed(3)} %) needed the JavaScript extraction.

| load without facts (baseline) | load with facts | facts cost |
|---|---|---|
| ${plain.seconds.toFixed(1)} s (${fmt(events / plain.seconds)} events/s) | ${withFacts.seconds.toFixed(1)} s (${fmt(events / withFacts.seconds)} events/s) | ${factsCost.toFixed(1)} s (${((1e6 * factsCost) / events).toFixed(1)} µs an event, ${((100 * factsCost) / plain.seconds).toFixed(0)} %) |

**Small loads** (what the loader does between bursts: 21 segments of ${smallPlain.size} events, one transaction each,
median): ${smallPlain.ms.toFixed(1)} ms without facts, ${smallFacts.ms.toFixed(1)} ms with them (loads of up to
${fmt(SMALL_BATCH)} seqs extract facts in JavaScript: the SQL extraction costs ≈ 0.1 s to plan and start).

**Counts by channel over every event** with the default settings (journey rule set, ${settings.channels.rules.length} workspace
rules) compiled to SQL (\`channelQueryOf\`, \`counts\` shape: ${fmt(keys)} distinct keys classified, then summed;
the key holds ${counts.keys.length} columns; the rules' \`properties.campaign.source\` is read only for events their
guard admits, \`event = Install Attributed\`: none in this dataset). Baseline in the same run:
\`count(*) GROUP BY referrer_host\` on \`event_facts\`. Median of ${runs}, after a warm-up. Target < 1 s at 10M.

| count(*) GROUP BY a column (baseline) | events and arrivals by channel | event-scope touchpoints by channel | same with the GA4 rule set (${ga4.keys.length} key columns) | per-event channel (join back), grouped |
|---|---|---|---|---|
| ${(baseline.seconds * 1000).toFixed(0)} ms | ${(byChannel.seconds * 1000).toFixed(0)} ms | ${(byEventChannel.seconds * 1000).toFixed(0)} ms | ${(byGa4.seconds * 1000).toFixed(0)} ms | ${(joined.seconds * 1000).toFixed(0)} ms |

Events by channel (top 8; "arriving": page and screen views that arrive by campaign, referral or directly, the
candidates for session touchpoints): ${channels}. Event-scope channels: ${eventChannels || '(none)'}.
`;
    console.log(text);
    recordSection('facts', text);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
