// `throughline simulate`: events per second and peak memory at growing sizes (memory must stay
// flat: output is streamed). Baseline in the same run: copying the produced file (disk speed).
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, DATASETS, timed } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';

const fmt = (n) => Math.round(n).toLocaleString('en-US');

export async function run({ quick, full }) {
  const m = machine();
  const sizes = quick ? ['1M'] : full ? ['1M', '10M', '30M'] : ['1M', '10M'];
  const rows = [];
  for (const size of sizes) {
    const spec = DATASETS[size];
    const runs = size === '1M' && !quick ? 3 : 1;
    const results = [];
    let copySeconds = [];
    for (let i = 0; i < runs; i++) {
      const out = mkdtempSync(join(tmpdir(), 'throughline-sim-bench-'));
      try {
        process.stderr.write(`  simulate ${size} (run ${i + 1}/${runs})…\n`);
        const r = timed(process.execPath, [
          BIN,
          'simulate',
          '--people',
          String(spec.people),
          '--seed',
          String(spec.seed),
          '--out',
          out,
          '--json',
          '--no-progress',
        ]);
        const summary = JSON.parse(r.stdout);
        const file = join(out, 'messages.ndjson');
        const t0 = performance.now();
        copyFileSync(file, join(out, 'copy.ndjson'));
        copySeconds.push((performance.now() - t0) / 1000);
        results.push({ ...r, messages: summary.messages, bytes: statSync(file).size });
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    const seconds = median(results.map((r) => r.seconds));
    const messages = results[0].messages;
    const peak = results.map((r) => r.peakMiB).filter((x) => x !== null);
    rows.push(
      `| ${size} | ${fmt(spec.people)} | ${fmt(messages)} | ${(results[0].bytes / 2 ** 30).toFixed(2)} GiB | ${seconds.toFixed(1)} s | ${fmt(messages / seconds)} | ${peak.length ? `${median(peak)} MiB` : 'n/a'} | ${median(copySeconds).toFixed(1)} s |`,
    );
    copySeconds = [];
  }
  const table = [
    '| dataset | people | messages | size | wall (median) | messages/s | peak RSS | baseline: copy the file |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log(table);
  recordSection(
    'simulate',
    `## Simulator (\`throughline simulate\`)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- simulate${quick ? ' --quick' : full ? ' --full' : ''}\` (b2b-saas at the fixed seeds of \`bench/lib/datasets.mjs\`;
3 runs for 1M, 1 for larger; wall time includes writing messages.ndjson and the truth folder).
Target: 1M events in under 30 s, larger runs streamed in flat memory.

${table}
`,
  );
}
