// The dedup window's memory and speed: DedupIndex (hashed ids in typed arrays) against the
// Map-based DedupWindow it replaces, on random UUID message ids. Memory is measured in a child
// process per structure (`--expose-gc`, fresh heap), so one structure's garbage cannot count
// against the other.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DedupIndex } from '../dist/core/spec/dedup-index.js';
import { DedupWindow } from '../dist/core/spec/dedup-window.js';
import { fingerprint } from '../dist/core/spec/fingerprint.js';
import { machine, median } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';

const SELF = fileURLToPath(import.meta.url);
const WS = 'ws_k3j9x2m7q'; // the shape of workspace ids (`ws_` + 9 characters)
const WEEK = 7 * 86_400_000;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

const structures = {
  window: () => {
    const w = new DedupWindow(WEEK, 0);
    return { check: (id, fp) => w.check(DedupWindow.key(WS, id), fp, 1), bytes: () => null };
  },
  index: () => {
    const d = new DedupIndex(WEEK, 0);
    return { check: (id, fp) => d.check(WS, id, fp, 1), bytes: () => d.bytes };
  },
};

/**
 * Message ids as ingest sees them: flat strings from JSON.parse. randomUUID returns a tree of
 * concatenated pieces, which the first charCodeAt flattens, freeing memory mid-measurement.
 */
const uuids = (n) => JSON.parse(JSON.stringify(Array.from({ length: n }, () => randomUUID())));

const fingerprintOf = (id) => fingerprint([id, 'track', 'Order Completed', '{"total":42}']);

/** Child: bytes retained per id, the ids themselves excluded (they exist before and after). */
function childMemory(kind, n) {
  const ids = uuids(n);
  const settle = () => {
    for (let i = 0; i < 3; i++) globalThis.gc();
    const m = process.memoryUsage();
    return { heap: m.heapUsed + m.external, rss: m.rss };
  };
  const before = settle();
  const s = kind === 'none' ? null : structures[kind]();
  // Fingerprints are made fresh per message, as at ingest, so only what the structure keeps stays.
  for (const id of ids) {
    const fp = fingerprintOf(id);
    if (s && s.check(id, fp) !== 'new') throw new Error(`repeat of ${id}`);
  }
  const after = settle();
  const result = {
    heapPerId: (after.heap - before.heap) / n,
    rssPerId: (after.rss - before.rss) / n,
    bytesPerId: s?.bytes() == null ? null : s.bytes() / n,
    ids: ids.length, // keeps the ids alive until after the last measurement
  };
  process.stdout.write(JSON.stringify(result));
}

function memory(kind, n) {
  const r = spawnSync(process.execPath, ['--expose-gc', SELF, '--child', kind, String(n)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`dedup memory child (${kind}) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Nanoseconds per check: first sight of every id (inserting, growing), then every id again. */
function speed(kind, ids, fps, runs) {
  const insert = [];
  const repeat = [];
  for (let r = 0; r < runs; r++) {
    const s = structures[kind]();
    let t0 = performance.now();
    for (let i = 0; i < ids.length; i++) s.check(ids[i], fps[i]);
    insert.push(((performance.now() - t0) * 1e6) / ids.length);
    t0 = performance.now();
    let dups = 0;
    for (let i = 0; i < ids.length; i++) if (s.check(ids[i], fps[i]) === 'duplicate') dups++;
    repeat.push(((performance.now() - t0) * 1e6) / ids.length);
    if (dups !== ids.length) throw new Error(`${kind}: ${ids.length - dups} repeats not seen as duplicates`);
  }
  return { insert: median(insert), repeat: median(repeat) };
}

export async function run({ quick }) {
  const m = machine();
  const load = loadavg()[0].toFixed(1);
  const n = quick ? 200_000 : 1_000_000;
  const runs = quick ? 1 : 5;
  process.stderr.write(`  memory, ${fmt(n)} ids per structure…\n`);
  const mem = { none: memory('none', n), window: memory('window', n), index: memory('index', n) };
  process.stderr.write('  speed…\n');
  const ids = uuids(n);
  const fps = ids.map(fingerprintOf);
  const ns = { window: speed('window', ids, fps, runs), index: speed('index', ids, fps, runs) };
  const floor = mem.none;

  const row = (name, k) =>
    `| ${name} | ${fmt(mem[k].heapPerId)} B | ${mem[k].bytesPerId === null ? 'n/a' : `${mem[k].bytesPerId.toFixed(1)} B`} | ${fmt(mem[k].rssPerId)} B | ${ns[k].insert.toFixed(0)} ns | ${ns[k].repeat.toFixed(0)} ns |`;
  const text = `## Dedup window (messageId → fingerprint, ≥ 7 days)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}; load average ${load} at the start
(times per check swing with it).
Command: \`npm run bench -- dedup${quick ? ' --quick' : ''}\`.

${fmt(n)} random UUID message ids in one workspace (flat strings, as JSON.parse makes them), fingerprints from
\`fingerprint()\`, made fresh per message as at ingest. Memory: growth of
heap + external (typed arrays live outside the heap) and of RSS after forced GCs, in a fresh process per
structure, the ids themselves excluded. Speed: one core, median of ${runs}; the first check of each id
(including the tables' growth), then each id again. Baseline in the same run: the Map-based \`DedupWindow\`.
Target: well under 100 bytes an id.

| structure | heap + external per id | tables per id (\`bytes\`) | RSS per id | first check | repeat check |
|---|---|---|---|---|---|
${row('DedupWindow (Map of joined strings)', 'window')}
${row('DedupIndex (64-bit hashes, linear probing)', 'index')}
| nothing kept (measurement floor) | ${fmt(floor.heapPerId)} B | | ${fmt(floor.rssPerId)} B | | |

Notes:
- DedupIndex holds 16 bytes a slot at a load factor of 0.35–0.7, so 23–46 bytes an id per generation;
  the figure depends on where ${fmt(n)} falls between two doublings.
- Times include building the key: \`DedupWindow.key\`, or hashing both strings and decoding the fingerprint's
  first 64 bits.
- Ids made by \`randomUUID()\` are trees of concatenated pieces (≈ 350 more bytes each until first read);
  the bench flattens them first so that cost is not counted against either structure.
`;
  console.log(text);
  recordSection('dedup', text);
}

if (process.argv[2] === '--child' && process.argv[1] === SELF) {
  childMemory(process.argv[3], Number(process.argv[4]));
}
