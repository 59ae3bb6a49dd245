// Journeys: bulk derivation of touchpoints, sessions and stages from the store (10M events), and
// the incremental cost per event of a live journey.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelRules } from '../dist/core/journey/channel-rules.js';
import { B2B_SAAS_STAGES } from '../dist/core/journey/default-stages.js';
import { JourneyBuilder, journeyConfig } from '../dist/core/journey/journey.js';
import { journeyEventOf } from '../dist/core/journey/journey-event.js';
import { BASE_RULES } from '../dist/core/journey/rulesets.js';
import { CompiledStageModel } from '../dist/core/journey/stages.js';
import { touchFieldsOf } from '../dist/core/journey/touch-fields.js';
import { IdentityService } from '../dist/services/identity-service.js';
import { JourneyService } from '../dist/services/journey-service.js';
import { PersonService } from '../dist/services/person-service.js';
import { openDatabase } from '../dist/store/duckdb-database.js';
import { DuckDBIdentityStore } from '../dist/store/duckdb-identity-store.js';
import { DuckDBJourneyStore } from '../dist/store/duckdb-journey-store.js';
import { readEvents, storeWith } from './identity.bench.mjs';
import { dataset } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const clock = { now: () => Date.UTC(2026, 10, 22), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

/** Per-event cost of live journeys, in arrival order (late events replay their person). */
function incremental(events) {
  const config = journeyConfig(
    ChannelRules.compile(BASE_RULES.journey),
    CompiledStageModel.compile(B2B_SAAS_STAGES),
  );
  const parsed = events.map(journeyEventOf);
  const builders = new Map();
  const times = new Float64Array(parsed.length);
  let late = 0;
  for (let i = 0; i < parsed.length; i++) {
    const e = parsed[i];
    const key = events[i].userId ?? events[i].anonymousId;
    let b = builders.get(key);
    if (!b) {
      b = new JourneyBuilder(config);
      builders.set(key, b);
    }
    const before = b.size;
    const t = performance.now();
    b.add(e);
    times[i] = performance.now() - t;
    if (b.size > before && parsed[i - 1] && e.timestamp < parsed[i - 1].timestamp) late++;
  }
  // Baseline in the same run: extracting touch fields alone.
  const base = new Float64Array(parsed.length);
  for (let i = 0; i < parsed.length; i++) {
    const t = performance.now();
    touchFieldsOf(parsed[i]);
    base[i] = performance.now() - t;
  }
  return {
    events: parsed.length,
    persons: builders.size,
    p50: pct(times, 0.5),
    p99: pct(times, 0.99),
    p999: pct(times, 0.999),
    max: times.reduce((a, b) => Math.max(a, b), 0),
    baseP50: pct(base, 0.5),
    baseP99: pct(base, 0.99),
    late,
  };
}

async function bulk(dir, runs) {
  const opened = await openDatabase(dir);
  if (!opened.ok) throw new Error(opened.error.message);
  const db = opened.value;
  const identityStore = new DuckDBIdentityStore(db.identity, db.reader);
  const identity = new IdentityService(identityStore, clock, { flushIntervalMs: 50 });
  await identity.start();
  const store = new DuckDBJourneyStore(db.writer, db.reader);
  const journeys = new JourneyService(store, identity, new PersonService(identity, identityStore), clock);
  await journeys.start();
  const times = [];
  const scans = [];
  let summary;
  for (let i = 0; i < runs; i++) {
    // Baseline: the same scan (join, sort, JSON paths), rows handed to a no-op.
    const personOf = new Int32Array(identity.graph.nextId).fill(-1);
    for (let id = 0; id < identity.graph.nextId; id++)
      if (identity.graph.exists(id)) personOf[id] = identity.graph.personOf(id);
    let t = performance.now();
    let rows = 0;
    await store.scan(
      'ws_bench',
      personOf,
      { properties: ['url'], traits: [], context: ['page.url', 'page.referrer', 'userAgent'] },
      (chunk) => {
        rows += chunk.length;
      },
    );
    scans.push({ seconds: (performance.now() - t) / 1000, rows });
    t = performance.now();
    summary = await journeys.deriveAll('ws_bench');
    times.push((performance.now() - t) / 1000);
  }
  await identity.drain();
  db.close();
  return {
    seconds: median(times),
    scan: median(scans.map((s) => s.seconds)),
    scanRows: scans[0].rows,
    summary,
  };
}

export async function run({ quick }) {
  const m = machine();
  const one = dataset('1M');
  process.stderr.write('  reading the 1M dataset for the incremental run…\n');
  const events = await readEvents(one.file, quick ? 200_000 : 1_000_000);
  process.stderr.write('  incremental journeys…\n');
  const inc = incremental(events);
  events.length = 0;

  const size = quick ? '1M' : '10M';
  const big = dataset(size);
  const dir = mkdtempSync(join(tmpdir(), 'throughline-journey-bench-'));
  let b;
  try {
    process.stderr.write(`  loading ${size} events into a store and resolving identities…\n`);
    await storeWith(big.file, dir);
    process.stderr.write('  bulk derivation…\n');
    b = await bulk(dir, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const s = b.summary;
  const channels = Object.entries(s.channels)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 8)
    .map(([c, n]) => `${c} ${fmt(n)}`)
    .join(', ');
  const stages = Object.entries(s.stages)
    .sort((x, y) => y[1] - x[1])
    .map(([c, n]) => `${c} ${fmt(n)}`)
    .join(', ');

  const text = `## Journeys (touchpoints, sessions, stages)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- journey${quick ? ' --quick' : ''}\`.

**Bulk derivation from the store** (${size} b2b-saas dataset loaded into DuckDB and resolved into persons first;
\`JourneyService.deriveAll\`: one sorted scan joining events to persons, only the JSON paths the rules read,
one journey builder per person; one run each). Target < 15 s at 10M events.

| rows scanned (event × person) | derive all | baseline: the scan alone, rows to a no-op | target |
|---|---|---|---|
| ${fmt(b.scanRows)} | ${b.seconds.toFixed(1)} s (${fmt(b.scanRows / b.seconds)} rows/s) | ${b.scan.toFixed(1)} s | < 15 s at 10M |

Derived: ${fmt(s.persons)} persons (${fmt(s.bots)} bots), ${fmt(s.touchpoints)} touchpoints, ${fmt(s.sessions)} sessions,
${fmt(s.stageEntries)} stage entries. Touchpoints by channel (top 8): ${channels}. Current stage: ${stages}.

**Incremental** (${fmt(inc.events)} events of the 1M dataset in file order, ${fmt(inc.persons)} visitors keyed by
userId/anonymousId, one \`JourneyBuilder\` each; per \`add()\`; ${fmt(inc.late)} arrived earlier than their visitor's
previous event and replayed that visitor). Target p99 < 1 ms.

| p50 | p99 | p99.9 | max | baseline: touch-field extraction alone p50 / p99 |
|---|---|---|---|---|
| ${(inc.p50 * 1000).toFixed(1)} µs | ${(inc.p99 * 1000).toFixed(1)} µs | ${(inc.p999 * 1000).toFixed(1)} µs | ${inc.max.toFixed(1)} ms | ${(inc.baseP50 * 1000).toFixed(1)} / ${(inc.baseP99 * 1000).toFixed(1)} µs |
`;
  console.log(text);
  recordSection('journey', text);
}
