// Start-up after a crash with a large unloaded log: 1M events are appended to a data directory's
// ingest log (as a server killed with -9 before its loader ran would leave them), then a server
// starts on it. Measured: until /health answers at all, until the collector accepts (200), until
// DuckDB holds every event and the identity graph has resolved them. Baseline in the same run:
// the same start on an empty data directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLines } from '../dist/cli/read-lines.js';
import { importLine } from '../dist/core/spec/import-line.js';
import { SegmentLog } from '../dist/store/segment-log.js';
import { dataset } from './lib/datasets.mjs';
import { machine } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';

const BIN = new URL('../bin/throughline.js', import.meta.url).pathname;
const PORT = 18400;

async function fillLog(dir, file) {
  const log = await SegmentLog.open({ dir: join(dir, 'log'), consumers: [] });
  let seq = 0;
  let n = 0;
  let records = [];
  const now = Date.now();
  for await (const lines of readLines(file)) {
    for (const line of lines) {
      if (!line) continue;
      const r = importLine(line, {
        workspaceId: 'bench',
        seq: seq + 1,
        now,
        newMessageId: () => `gen-${seq}`,
      });
      if (!r.ok) continue;
      seq++;
      records.push({ kind: 'event', seq, event: r.value });
    }
    if (records.length >= 20_000) {
      await log.append(records);
      n += records.length;
      records = [];
    }
  }
  await log.append(records);
  n += records.length;
  await log.close();
  return n;
}

async function health() {
  try {
    const res = await fetch(`http://127.0.0.1:${PORT}/health`);
    return { status: res.status, body: await res.json() };
  } catch {
    return null;
  }
}

async function startAndWatch(dir) {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', String(PORT), '--host', '127.0.0.1', '--data', dir],
    {
      env: {
        ...process.env,
        THROUGHLINE_WRITE_KEY: 'wk_bench_write_key_0001',
        THROUGHLINE_ADMIN_KEY: 'ak_bench_admin_key_00000000001',
        THROUGHLINE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const at = {};
  const deadline = t0 + 600_000;
  while (performance.now() < deadline) {
    const h = await health();
    const t = (performance.now() - t0) / 1000;
    if (h && at.answers === undefined) at.answers = t;
    if (h?.status === 200 && at.accepting === undefined) at.accepting = t;
    if (
      h?.status === 200 &&
      h.body.log.lagRows === 0 &&
      h.body.identity.state === 'live' &&
      h.body.identity.lagRows === 0
    ) {
      at.caughtUp = t;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
  return at;
}

export async function run({ quick }) {
  const m = machine();
  const ds = dataset('1M');
  const empty = mkdtempSync(join(tmpdir(), 'throughline-restart-empty-'));
  const full = mkdtempSync(join(tmpdir(), 'throughline-restart-'));
  try {
    const base = await startAndWatch(empty);
    process.stderr.write(`  writing ${ds.messages.toLocaleString('en-US')} events to the log…\n`);
    const events = await fillLog(full, ds.file);
    process.stderr.write('  starting on the unloaded log…\n');
    const ours = await startAndWatch(full);
    const f = (x) => (x === undefined ? 'n/a' : `${x.toFixed(2)} s`);
    const table = [
      '| data directory | /health answers | collector accepts (200) | all loaded into DuckDB + identity live |',
      '|---|---|---|---|',
      `| empty (baseline) | ${f(base.answers)} | ${f(base.accepting)} | ${f(base.caughtUp)} |`,
      `| ${events.toLocaleString('en-US')} logged, unloaded events | ${f(ours.answers)} | ${f(ours.accepting)} | ${f(ours.caughtUp)} |`,
    ].join('\n');
    console.log(table);
    recordSection(
      'restart',
      `## Start-up with an unloaded log (issue 11)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- restart\`${quick ? ' --quick' : ''}. The 1M simulator dataset is appended to a fresh data
directory's ingest log (what a server killed with -9 before loading leaves), then \`throughline serve\` starts on
it; /health is polled every 20 ms. Target: /health answers in < 5 s.

${table}
`,
    );
  } finally {
    rmSync(empty, { recursive: true, force: true });
    rmSync(full, { recursive: true, force: true });
  }
}
