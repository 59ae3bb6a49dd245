// Ingest throughput over loopback: the Tracking API (single `track` calls and 100-message
// batches, acknowledged only once durable) against a bare node:http JSON-accepting server
// measured in the same run as the ceiling. Server on core 0, wrk on core 1.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinned, postLoad } from './lib/load.mjs';
import { machine, median } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';

const WRITE_KEY = 'wk_bench_write_key_0001';
const ADMIN_KEY = 'ak_bench_admin_key_00000000001';
const BIN = new URL('../bin/throughline.js', import.meta.url).pathname;
const BARE = new URL('./bare-http-server.mjs', import.meta.url).pathname;
const AUTH = {
  'Content-Type': 'application/json',
  Authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
};

const message = (i) => ({
  userId: `user-${i}`,
  event: 'Order Completed',
  properties: { revenue: 49.5, currency: 'EUR', sku: `SKU-${i}`, category: 'books' },
  context: {
    library: { name: 'analytics-node', version: '3.1.0' },
    page: { url: 'https://shop.example/checkout?utm_source=newsletter' },
  },
  timestamp: '2026-11-22T10:00:00.000Z',
});

const SCENARIOS = [
  {
    name: 'single track',
    path: '/v1/track',
    body: JSON.stringify({ ...message(42), sentAt: '2026-11-22T10:00:01.000Z' }),
    perRequest: 1,
    connections: 100,
  },
  {
    name: 'batch of 100',
    path: '/v1/batch',
    body: JSON.stringify({
      batch: Array.from({ length: 100 }, (_, i) => ({ type: 'track', ...message(i) })),
      sentAt: '2026-11-22T10:00:01.000Z',
    }),
    perRequest: 100,
    connections: 16,
  },
];

function startProcess(args, env = {}) {
  const [cmd, argv] = pinned(0, process.execPath, args);
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => {
    err += c;
  });
  return { child, stderr: () => err };
}

async function waitFor(url, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer in ${timeoutMs} ms`);
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

async function measureBare(s, runs, seconds) {
  const port = 18200;
  const p = startProcess([BARE, String(port)]);
  try {
    await waitFor(`http://127.0.0.1:${port}/`);
    const results = [];
    for (let r = 0; r < runs; r++) {
      await fetch(`http://127.0.0.1:${port}/lag`); // resets the lag histogram
      const load = await postLoad({
        url: `http://127.0.0.1:${port}${s.path}`,
        body: s.body,
        headers: AUTH,
        connections: s.connections,
        seconds,
        core: 1,
      });
      const lagMaxMs = Number(await (await fetch(`http://127.0.0.1:${port}/lag`)).text());
      results.push({ ...load, lagMaxMs });
    }
    return { results };
  } finally {
    await stop(p.child);
  }
}

async function measureThroughline(s, runs, seconds) {
  const port = 18201;
  const dir = mkdtempSync(join(tmpdir(), 'throughline-bench-'));
  const base = `http://127.0.0.1:${port}`;
  const p = startProcess([BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data', dir], {
    THROUGHLINE_WRITE_KEY: WRITE_KEY,
    THROUGHLINE_ADMIN_KEY: ADMIN_KEY,
    THROUGHLINE_LOG_LEVEL: 'warn',
  });
  try {
    await waitFor(`${base}/health`);
    const results = [];
    for (let r = 0; r < runs; r++) {
      await metric(base, 'throughline_nodejs_eventloop_lag_max_seconds'); // resets the lag histogram
      const before = await metric(base, 'throughline_messages_accepted_total');
      const load = await postLoad({
        url: `${base}${s.path}`,
        body: s.body,
        headers: AUTH,
        connections: s.connections,
        seconds,
        core: 1,
      });
      const lagMax = await metric(base, 'throughline_nodejs_eventloop_lag_max_seconds');
      const accepted = (await metric(base, 'throughline_messages_accepted_total')) - before;
      // How far DuckDB is behind the log when the load stops, and how long it takes to catch up:
      // events become queryable at accepted / (load time + catch-up time).
      const loadLagRows = await metric(base, 'throughline_load_lag_rows');
      const loadLagSeconds = await metric(base, 'throughline_load_lag_seconds');
      const catchUpStart = performance.now();
      while ((await metric(base, 'throughline_load_lag_rows')) > 0)
        await new Promise((r) => setTimeout(r, 50));
      const catchUp = (performance.now() - catchUpStart) / 1000;
      results.push({
        ...load,
        lagMaxMs: lagMax * 1000,
        accepted,
        loadLagRows,
        loadLagMs: loadLagSeconds * 1000,
        queryablePerSecond: accepted / (seconds + catchUp),
      });
    }
    return { results };
  } catch (e) {
    throw new Error(`${e.message}\nserver stderr:\n${p.stderr()}`);
  } finally {
    await stop(p.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function run({ quick }) {
  const runs = quick ? 1 : 3;
  const seconds = quick ? 5 : 10;
  const m = machine();
  const rows = [];
  for (const s of SCENARIOS) {
    process.stderr.write(`  ${s.name}: bare node:http ceiling…\n`);
    const bare = await measureBare(s, runs, seconds);
    process.stderr.write(`  ${s.name}: throughline…\n`);
    const tl = await measureThroughline(s, runs, seconds);
    const med = (xs, key) => median(xs.results.map((r) => r[key]));
    const tlRps = med(tl, 'requestsPerSecond');
    const bareRps = med(bare, 'requestsPerSecond');
    rows.push({
      scenario: s.name,
      connections: s.connections,
      messagesPerSecond: tlRps * s.perRequest,
      requestsPerSecond: tlRps,
      p50: med(tl, 'p50'),
      p99: med(tl, 'p99'),
      lagMaxMs: Math.max(...tl.results.map((r) => r.lagMaxMs)),
      nonOk: tl.results.reduce((a, r) => a + r.nonOk, 0),
      bareMessagesPerSecond: bareRps * s.perRequest,
      bareP99: med(bare, 'p99'),
      bareLagMaxMs: Math.max(...bare.results.map((r) => r.lagMaxMs)),
      ratio: tlRps / bareRps,
      runs: tl.results.map((r) => Math.round(r.requestsPerSecond * s.perRequest)),
      queryablePerSecond: med(tl, 'queryablePerSecond'),
      loadLagRows: med(tl, 'loadLagRows'),
      loadLagMs: med(tl, 'loadLagMs'),
    });
  }

  const table = [
    '| scenario | connections | throughline msg/s (median) | p50 ms | p99 ms | max event-loop lag ms | non-2xx | bare node:http msg/s | bare p99 ms | bare max event-loop lag ms | ratio | queryable in DuckDB msg/s | load lag at end (rows / ms) | runs (msg/s) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.connections} | ${fmt(r.messagesPerSecond)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.lagMaxMs, 1)} | ${r.nonOk} | ${fmt(r.bareMessagesPerSecond)} | ${fmt(r.bareP99, 1)} | ${fmt(r.bareLagMaxMs, 1)} | ${fmt(r.ratio * 100, 0)}% | ${fmt(r.queryablePerSecond)} | ${fmt(r.loadLagRows)} / ${fmt(r.loadLagMs)} | ${r.runs.map((x) => fmt(x)).join(', ')} |`,
    ),
  ].join('\n');
  console.log(table);

  recordSection(
    'ingest',
    `## Ingest (Tracking API, durable acknowledgements)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- ingest\`${quick ? ' --quick' : ''}. Server pinned to core 0, wrk (1 thread) to core 1;
${runs} run(s) of ${seconds} s per scenario, medians shown. Every acknowledgement is a durable (fdatasync'd) write
of the ingest log; DuckDB is loaded from the log in the background, on the same pinned core. "queryable" is
accepted messages / (load seconds + time until DuckDB caught up); "load lag at end" is how far DuckDB was
behind the log when the load stopped (rows, and the age of the oldest unloaded record).
the baseline is \`bench/bare-http-server.mjs\` (reads, parses, answers; stores nothing) with the same bodies and
connections, measured in the same run, with its own p99 and event-loop lag: what the machine allows a Node
HTTP server that does nothing. "max event-loop lag" is the largest delay seen by Node's
\`monitorEventLoopDelay\` during the runs (it includes time the main thread lost the core to DuckDB's threads).

${table}
`,
  );
}
