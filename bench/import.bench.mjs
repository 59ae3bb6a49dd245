// `throughline import`: messages per second into a fresh data directory. Baseline in the same
// run: DuckDB alone loading the same file with read_json (no validation, normalisation or dedup):
// the most a bulk load could do on this machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, dataset, timed } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { duckdbOnly } from './lib/read-json-baseline.mjs';
import { recordSection } from './lib/record.mjs';

const fmt = (n) => Math.round(n).toLocaleString('en-US');

export async function run({ quick, full }) {
  const m = machine();
  const sizes = quick ? ['1M'] : full ? ['1M', '10M'] : ['1M'];
  const rows = [];
  for (const size of sizes) {
    const ds = dataset(size);
    const runs = quick || size !== '1M' ? 1 : 3;
    const ours = [];
    const base = [];
    for (let i = 0; i < runs; i++) {
      const data = mkdtempSync(join(tmpdir(), 'throughline-import-bench-'));
      try {
        process.stderr.write(`  import ${size} (run ${i + 1}/${runs})…\n`);
        const r = timed(process.execPath, [
          BIN,
          'import',
          ds.file,
          '--data',
          data,
          '--json',
          '--no-progress',
        ]);
        const stats = JSON.parse(r.stdout);
        if (stats.inserted + stats.duplicates !== ds.messages)
          throw new Error(`import lost lines: ${r.stdout}`);
        ours.push(r);
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
      base.push(await duckdbOnly(ds.file));
    }
    const seconds = median(ours.map((r) => r.seconds));
    const baseSeconds = median(base);
    const peak = ours.map((r) => r.peakMiB).filter((x) => x !== null);
    rows.push(
      `| ${size} | ${fmt(ds.messages)} | ${seconds.toFixed(1)} s | ${fmt(ds.messages / seconds)} | ${peak.length ? `${median(peak)} MiB` : 'n/a'} | ${fmt(ds.messages / baseSeconds)} | ${Math.round((100 * baseSeconds) / seconds)}% |`,
    );
  }
  const table = [
    '| dataset | messages | wall (median) | messages/s | peak RSS | baseline: DuckDB read_json alone, msg/s | ratio |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log(table);
  recordSection(
    'import',
    `## Bulk import (\`throughline import\`)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- import${quick ? ' --quick' : full ? ' --full' : ''}\` (simulator datasets of \`bench/lib/datasets.mjs\`; wall time of the
whole command: open, fill the dedup index, validate + normalise + deduplicate every line, append it to
the fsync'd ingest log, load the log into DuckDB; 3 runs for 1M, 1 with --quick).
Baseline: DuckDB parsing the same file into a table with \`read_json\`, nothing else, in the same run.
Targets (issue 11): ≥ 150,000 lines/s end to end, ≥ 0.33× the baseline, peak RSS < 1 GiB at 10M.

${table}
`,
  );
}
