// Journey analytics (issue 15) on the simulator's fixed-seed b2b-saas datasets: each query timed
// through the real server's API (`throughline serve` on the imported data, journey tables built),
// then, with the server stopped, the same-run baseline on the same database file: a plain DuckDB
// `SELECT event, count(*) FROM event_facts GROUP BY event` over the same rows.
// Targets at 10M events: 5-step funnel < 500 ms, funnel with a breakdown < 1 s, journey map of
// 5 steps < 1.5 s, stage matrix < 1 s, retention table < 1 s, full KPI overview < 2 s.
// Sizes: 1M and 10M (`--full`: 30M too). THROUGHLINE_BENCH_DB=<dir> keeps each imported data
// directory (<dir>-analytics-<size>) and reuses it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { BIN, dataset } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { freePort, startServer, stopServer, waitHealthy } from './lib/probe-server.mjs';
import { recordSection } from './lib/record.mjs';
import { until } from './lib/until.mjs';

const ADMIN = 'ak_bench_admin_key_00000000001';
const WRITE = 'wk_bench_write_key_0001';
const RUNS = 10;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

const RANGE = { from: '2020-01-01', to: '2030-01-01' };
const FIVE_STEPS = {
  steps: [
    { name: 'Visited', where: { field: 'type', op: 'eq', value: 'page' } },
    { event: 'Lead Created' },
    { event: 'Demo Requested' },
    { event: 'Deal Created' },
    { event: 'Deal Closed Won' },
  ],
  window: { value: 90, unit: 'day' },
  ...RANGE,
};

/** The queries, each [name, target ms at 10M, method, path, body]. Endpoints not built yet are skipped. */
const QUERIES = [
  ['5-step funnel', 500, 'POST', '/api/analytics/funnel', FIVE_STEPS],
  [
    'funnel with a breakdown (channel, first touch)',
    1000,
    'POST',
    '/api/analytics/funnel',
    { ...FIVE_STEPS, breakdown: { field: 'channel' } },
  ],
  [
    'journey map, 5 steps (events)',
    1500,
    'POST',
    '/api/analytics/paths',
    { item: 'event', stepLimit: 5, ...RANGE },
  ],
  ['stage matrix (persons)', 1000, 'POST', '/api/analytics/stages', { subject: 'person', ...RANGE }],
  [
    'retention table (weekly)',
    1000,
    'POST',
    '/api/analytics/retention',
    {
      period: 'week',
      intervals: 11,
      targetEvent: { event: 'Signed Up' },
      returningEvent: { where: { field: 'type', op: 'eq', value: 'page' } },
      to: '2027-01-01',
    },
  ],
  ['full KPI overview', 2000, 'GET', `/api/kpis?from=${RANGE.from}&to=${RANGE.to}`, undefined],
];

async function prepare(dir, ds, env) {
  if (existsSync(join(dir, 'imported'))) return;
  mkdirSync(dir, { recursive: true });
  const first = startServer({ dataDir: dir, port: await freePort(), env });
  await waitHealthy(first);
  await stopServer(first);
  process.stderr.write(`  importing ${fmt(ds.messages)} messages…\n`);
  const imported = spawnSync(process.execPath, [BIN, 'import', ds.file, '--data', dir, '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
  writeFileSync(join(dir, 'imported'), '');
}

async function measure(size, runs, keep) {
  const ds = dataset(size);
  const dir = keep
    ? `${keep}-analytics-${size}`
    : join(tmpdir(), `throughline-analytics-bench-${size}-${process.pid}`);
  const env = { THROUGHLINE_ADMIN_KEY: ADMIN, THROUGHLINE_WRITE_KEY: WRITE };
  let srv;
  try {
    await prepare(dir, ds, env);
    srv = startServer({ dataDir: dir, port: await freePort(), env });
    await waitHealthy(srv);
    const base = `http://127.0.0.1:${srv.port}`;
    const call = async (method, path, body) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: await res.json() };
    };
    process.stderr.write(`  ${size}: waiting for identity and the journey tables…\n`);
    await until(
      'the journey tables',
      async () => {
        const b = (await call('GET', '/api/journey/build')).body;
        return b.current && b.builder.state === 'idle' ? b : undefined;
      },
      7_200_000,
    );
    const results = [];
    for (const [name, target, method, path, body] of QUERIES) {
      const first = await call(method, path, body); // warm-up
      if (first.status === 404) {
        results.push({ name, target, missing: true });
        continue;
      }
      if (first.status !== 200) throw new Error(`${name}: ${first.status} ${JSON.stringify(first.body)}`);
      const times = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        const r = await call(method, path, body);
        times.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`${name}: ${r.status}`);
      }
      results.push({ name, target, p50: median(times), max: Math.max(...times), sample: first.body });
    }
    await stopServer(srv);
    srv = undefined;
    // The baseline, same database, same run.
    const inst = await DuckDBInstance.create(join(dir, 'throughline.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await inst.connect();
    const events = Number((await conn.runAndReadAll('SELECT count(*) FROM event_facts')).getRowsJS()[0][0]);
    const baseline = [];
    await conn.runAndReadAll('SELECT event, count(*) FROM event_facts GROUP BY event');
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await conn.runAndReadAll('SELECT event, count(*) FROM event_facts GROUP BY event');
      baseline.push(performance.now() - t);
    }
    conn.closeSync();
    inst.closeSync();
    return { size, events, baseline: median(baseline), results };
  } finally {
    if (srv) await stopServer(srv);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

export async function run({ quick, full }) {
  const m = machine();
  const keep = process.env.THROUGHLINE_BENCH_DB;
  const sizes = quick ? ['1M'] : full ? ['1M', '10M', '30M'] : ['1M', '10M'];
  const runs = quick ? 3 : RUNS;
  const measured = [];
  for (const size of sizes) measured.push(await measure(size, runs, keep));
  const cell = (x, r) => {
    const q = x.results.find((y) => y.name === r.name);
    if (!q || q.missing) return 'not built';
    const mark = x.size === '10M' ? (q.p50 <= q.target ? ' ✓' : ' ✗') : '';
    return `${fmt(q.p50)} ms (${(q.p50 / x.baseline).toFixed(0)}×)${mark}`;
  };
  const text = `## Journey analytics (issue 15)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- analytics${quick ? ' --quick' : full ? ' --full' : ''}\`. The b2b-saas datasets imported with
\`throughline import\`; \`throughline serve\` on each with its journey tables built; each query through the API,
${runs} runs after a warm-up, median. Baseline in the same run, on the same database file (server stopped):
\`SELECT event, count(*) FROM event_facts GROUP BY event\`; the ratio to it in parentheses. Targets (✓/✗) at 10M.

| query | target at 10M | ${measured.map((x) => `${x.size} (${fmt(x.events)} events)`).join(' | ')} |
|---|---|${measured.map(() => '---').join('|')}|
| baseline: count(*) group by event | | ${measured.map((x) => `${x.baseline.toFixed(1)} ms`).join(' | ')} |
${QUERIES.map(([name, target]) => `| ${name} | ${fmt(target)} ms | ${measured.map((x) => cell(x, { name })).join(' | ')} |`).join('\n')}

5-step funnel: page view → Lead Created → Demo Requested → Deal Created → Deal Closed Won, 90-day window,
all time. Its counts at each size: ${measured
    .map((x) => `${x.size} ${x.results[0]?.sample?.steps?.map((s) => fmt(s.count)).join(' → ') ?? '—'}`)
    .join('; ')}.
`;
  console.log(text);
  recordSection('analytics', text);
}
