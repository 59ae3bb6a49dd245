// The most any import that validates in JavaScript could do on this machine: each line read,
// JSON.parse'd and its nested objects JSON.stringify'd back (what normalisation must do at the
// least to store them as JSON columns) — no validation rules, no dedup, no log, no DuckDB —
// on one thread and on every core (worker threads, each over its own byte range of the file).
// Beside it, in the same run, DuckDB's own read_json of the same file (the import benchmark's
// baseline). The import target is ≥ 0.33× read_json: this says whether any design that
// keeps validation in JavaScript can reach it here.
import { openSync, readSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { dataset } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { duckdbOnly } from './lib/read-json-baseline.mjs';
import { recordSection } from './lib/record.mjs';

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** Parses and re-serialises every line of [start, end) of the file; returns the line count. */
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { file, start, end, ours, dist } = workerData;
let lines = 0, bytes = 0;
const work = ours ? (async () => {
  const { importLine } = await import(dist + '/core/spec/import-line.js');
  const { encodeRecord } = await import(dist + '/store/log-line.js');
  let seq = 0;
  const ctx = { workspaceId: 'ws_ceiling', seq: 0, now: Date.now(), newMessageId: () => 'generated' };
  return (line) => {
    ctx.seq = ++seq;
    const r = importLine(line, ctx);
    if (r.ok) bytes += encodeRecord({ kind: 'event', seq, event: r.value }).length;
    lines++;
  };
})() : null;
(async () => {
const touchLine = work ? await work : null;
const fd = openSync(file, 'r');
const buf = Buffer.allocUnsafe(4 << 20);
let pos = start, rest = '';
const touch = (line) => {
  const m = JSON.parse(line);
  for (const k of ['properties', 'traits', 'context']) if (m[k]) bytes += JSON.stringify(m[k]).length;
  lines++;
};
while (pos < end) {
  const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
  if (n <= 0) break;
  pos += n;
  const text = rest + buf.toString('utf8', 0, n);
  let from = 0;
  for (let nl = text.indexOf('\\n'); nl !== -1; nl = text.indexOf('\\n', from)) {
    if (nl > from) (touchLine ?? touch)(text.slice(from, nl));
    from = nl + 1;
  }
  rest = text.slice(from);
}
if (rest.length > 0) (touchLine ?? touch)(rest);
closeSync(fd);
parentPort.postMessage({ lines, bytes });
})();
`;

/** Byte offsets splitting the file into `parts` ranges that start at line beginnings. */
function ranges(file, parts) {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const cuts = [0];
  const probe = Buffer.alloc(1 << 20);
  for (let i = 1; i < parts; i++) {
    const at = Math.floor((size * i) / parts);
    const n = readSync(fd, probe, 0, probe.length, at);
    const nl = probe.subarray(0, n).indexOf(0x0a);
    cuts.push(at + nl + 1);
  }
  cuts.push(size);
  return cuts.slice(0, -1).map((s, i) => ({ start: s, end: cuts[i + 1] }));
}

const DIST = new URL('../dist', import.meta.url).pathname;

async function parseAll(file, threads, ours = false) {
  const t0 = performance.now();
  const results = await Promise.all(
    ranges(file, threads).map(
      (r) =>
        new Promise((resolve, reject) => {
          const w = new Worker(WORKER, { eval: true, workerData: { file, ...r, ours, dist: DIST } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, lines: results.reduce((a, r) => a + r.lines, 0) };
}

export async function run({ quick }) {
  const m = machine();
  const ds = dataset('1M');
  const runs = quick ? 1 : 3;
  const cores = availableParallelism();
  const base = [];
  const one = [];
  const all = [];
  const oursOne = [];
  const oursAll = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`  run ${i + 1}/${runs}: read_json, then JS on 1 and ${cores} threads…\n`);
    base.push(ds.messages / (await duckdbOnly(ds.file)));
    const a = await parseAll(ds.file, 1);
    one.push(a.lines / a.seconds);
    const b = await parseAll(ds.file, cores);
    all.push(b.lines / b.seconds);
    const c = await parseAll(ds.file, 1, true);
    oursOne.push(c.lines / c.seconds);
    const d = await parseAll(ds.file, cores, true);
    oursAll.push(d.lines / d.seconds);
  }
  const readJson = median(base);
  const row = (name, xs) =>
    `| ${name} | ${fmt(median(xs))} | ${(median(xs) / readJson).toFixed(2)}× | ${xs.map(fmt).join(', ')} |`;
  const table = [
    '| work per line | lines/s (median) | vs read_json | runs (lines/s) |',
    '|---|---|---|---|',
    row("DuckDB's read_json (baseline)", base),
    row('JSON.parse + JSON.stringify of nested objects, 1 thread', one),
    row(`the same, ${cores} worker threads`, all),
    row(
      "Throughline's validation + normalisation + log-line encoding (`importLine`, `encodeRecord`), 1 thread",
      oursOne,
    ),
    row(`the same, ${cores} worker threads`, oursAll),
  ].join('\n');
  console.log(table);
  recordSection(
    'import-ceiling',
    `## Import ceiling for validation in JavaScript

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- import-ceiling\`. The ${fmt(ds.messages)}-line simulator file
(\`bench/lib/datasets.mjs\`, 1M); ${runs} run(s), medians. The JavaScript rows do only what any
import that validates and normalises in JavaScript must do at the least — read, split lines,
\`JSON.parse\` each, \`JSON.stringify\` its nested objects back — with no validation rules,
deduplication, log or DuckDB: the ceiling of that design on this machine. The last two rows run
the project's own per-line code (validation, normalisation, fingerprint, log-line JSON and CRC-32)
the same way, still without deduplication, log writes or DuckDB.

${table}
`,
  );
}
