// The store alone: how fast DuckDBEventStore commits event rows with no HTTP, validation or
// normalisation in front of it, pinned to one core. This is the ceiling for durable ingest on
// one core, whatever the collector does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinned } from './lib/load.mjs';
import { machine, median } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';

const WORKER = new URL('./store-worker.mjs', import.meta.url).pathname;

function measure(group, rows, checkpoint) {
  const dir = mkdtempSync(join(tmpdir(), 'throughline-store-bench-'));
  try {
    const [cmd, args] = pinned(0, process.execPath, [WORKER, dir, String(group), String(rows), checkpoint]);
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`store worker failed:\n${r.stderr}`);
    return JSON.parse(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

export async function run({ quick }) {
  const runs = quick ? 1 : 3;
  const rows = quick ? 100_000 : 300_000;
  const m = machine();
  const cases = [
    { group: 100, checkpoint: '16MB' },
    { group: 1000, checkpoint: '16MB' },
    { group: 1000, checkpoint: '256MB' },
  ];
  const lines = [];
  for (const c of cases) {
    process.stderr.write(`  ${c.group} rows/commit, checkpoint ${c.checkpoint}…\n`);
    const results = Array.from({ length: runs }, () => measure(c.group, rows, c.checkpoint));
    lines.push(
      `| ${c.group} | ${c.checkpoint} | ${fmt(median(results.map((r) => r.rowsPerCoreSecond)))} | ${median(results.map((r) => r.cpuMicrosPerRow)).toFixed(1)} | ${fmt(median(results.map((r) => r.rowsPerSecond)))} |`,
    );
  }
  const table = [
    '| rows per commit | checkpoint threshold | rows per core-second (median) | CPU µs per row | rows/s wall |',
    '|---|---|---|---|---|',
    ...lines,
  ].join('\n');
  console.log(table);
  recordSection(
    'store',
    `## Store alone (DuckDB commit path, no HTTP)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- store\`${quick ? ' --quick' : ''}. \`DuckDBEventStore.commit\` of ${fmt(rows)} realistic
\`track\` rows (≈ 400 bytes, JSON properties and context), pinned to one core, ${runs} run(s), medians.
CPU time counts every thread of the process (DuckDB's included), so "rows per core-second" is the most
one core can commit durably through DuckDB before any HTTP, validation or JSON work is added.

${table}
`,
  );
}
