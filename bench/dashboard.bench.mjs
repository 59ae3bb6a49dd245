// The dashboard's interactions on the 1M-event demo data (issue 14): every page's requests, issued
// together as the page issues them, timed from the first request to the last answer, against a
// real server holding the imported b2b-saas 1M dataset with its journey tables built. Target: each
// interaction within 300 ms. Baseline in the same run: GET /health (the server's floor for one
// request). Also the bundle: the initial download (gzip) and the chunks loaded on demand.
// THROUGHLINE_BENCH_DB=<dir> keeps the imported data directory and reuses it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BIN, dataset } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { freePort, startServer, stopServer, waitHealthy } from './lib/probe-server.mjs';
import { recordSection } from './lib/record.mjs';
import { until } from './lib/until.mjs';

const ADMIN = 'ak_bench_admin_key_00000000001';
const WRITE = 'wk_bench_write_key_0001';
const TARGET_MS = 300;
const RUNS = 20;
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

/** The built app's files: the initial download (index.html's script and style) and the rest. */
function bundle() {
  const root = new URL('../dist/web/', import.meta.url).pathname;
  const html = readFileSync(join(root, 'index.html'), 'utf8');
  const initial = new Set([...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]));
  const out = { initial: 0, lazy: [] };
  for (const f of readdirSync(join(root, 'assets'))) {
    const gz = gzipSync(readFileSync(join(root, 'assets', f))).length;
    if (initial.has(f)) out.initial += gz;
    else out.lazy.push([f.replace(/-[\w-]{8}\./, '.'), gz]);
  }
  return out;
}

export async function run({ quick }) {
  const m = machine();
  const ds = dataset('1M');
  const keep = process.env.THROUGHLINE_BENCH_DB;
  const dir = keep ? `${keep}-dashboard` : join(tmpdir(), `throughline-dashboard-bench-${process.pid}`);
  const env = { THROUGHLINE_ADMIN_KEY: ADMIN, THROUGHLINE_WRITE_KEY: WRITE };
  const runs = quick ? 5 : RUNS;
  let srv;
  try {
    if (!existsSync(join(dir, 'imported'))) {
      mkdirSync(dir, { recursive: true });
      // A first start creates the default workspace with the keys above; the import goes into it.
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
    srv = startServer({ dataDir: dir, port: await freePort(), env });
    await waitHealthy(srv);
    const base = `http://127.0.0.1:${srv.port}`;
    const get = async (path) => {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const body = await res.json();
      if (!res.ok) throw new Error(`${path} → ${res.status} ${JSON.stringify(body)}`);
      return body;
    };
    process.stderr.write('  waiting for the journey tables…\n');
    await until(
      'the journey tables',
      async () => {
        const b = await get('/api/journey/build');
        return b.current && b.builder.state === 'idle' ? b : undefined;
      },
      1_800_000,
    );

    // What the pages ask for. A person or account page is timed on a different sample each run.
    const persons = (await get('/api/persons?limit=1000')).persons.filter((p) => p.eventCount > 0);
    const accounts = (await get('/api/accounts?limit=1000')).accounts;
    const emailPart = persons
      .flatMap((p) => p.identifiers)
      .find((i) => i.type === 'email')
      ?.value.split('@')[1];
    const stage = (await get('/api/overview')).stages[0]?.stage ?? 'customer';
    const firstPage = await get('/api/persons?limit=25');
    const day = 86_400_000;
    const to = new Date(Math.ceil(Date.now() / day) * day);
    const range = (days, bucket) =>
      `/api/overview?from=${new Date(to - days * day).toISOString()}&to=${to.toISOString()}&bucket=${bucket}`;
    const pick = (list, i) => list[(i * 7919) % list.length];
    const ref = (id) => encodeURIComponent(id);
    const INTERACTIONS = [
      ['health (baseline)', () => ['/health']],
      ['overview, last 30 days', () => [range(30, 'day')]],
      ['overview, last 365 days', () => [range(365, 'week')]],
      ['people, first page', () => ['/api/persons?limit=25', '/api/journey/rules']],
      [
        'people, next page',
        () => [`/api/persons?limit=25&cursor=${firstPage.nextCursor}`, '/api/journey/rules'],
      ],
      ['people in a stage', () => [`/api/persons?limit=25&stage=${stage}`, '/api/journey/rules']],
      [
        'people who touched a channel',
        () => ['/api/persons?limit=25&channel=Paid%20Search', '/api/journey/rules'],
      ],
      [
        'people search (email domain)',
        () => [`/api/persons?limit=25&query=${ref(emailPart ?? 'example')}`, '/api/journey/rules'],
      ],
      ['accounts, first page', () => ['/api/accounts?limit=25', '/api/journey/rules']],
      ['accounts in a stage', () => [`/api/accounts?limit=25&stage=${stage}`, '/api/journey/rules']],
      [
        'person profile (profile, journey, identity)',
        (i) => {
          const id = ref(pick(persons, i).id);
          return [`/api/persons/${id}`, `/api/persons/${id}/journey?limit=1`, `/api/persons/${id}/identity`];
        },
      ],
      [
        'account profile (account, journey)',
        (i) => {
          const id = ref(pick(accounts, i).id);
          return [`/api/accounts/${id}`, `/api/accounts/${id}/journey?limit=1`];
        },
      ],
      [
        'settings',
        () => ['/api/keys', '/api/journey/settings', '/api/identity/settings', '/api/webhooks/stripe'],
      ],
      ['live page (latest events, quarantine)', () => ['/api/events?limit=50', '/api/quarantine?limit=50']],
    ];
    const results = [];
    for (const [name, paths] of INTERACTIONS) {
      for (const p of paths(0)) await get(p); // warm-up
      const times = [];
      for (let i = 1; i <= runs; i++) {
        const t = performance.now();
        await Promise.all(paths(i).map(get));
        times.push(performance.now() - t);
      }
      results.push({ name, p50: median(times), p95: pct(times, 0.95), max: Math.max(...times) });
    }
    const events = (await get('/api/overview?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&bucket=month'))
      .totals.events;
    const b = bundle();
    const worst = results.slice(1).reduce((a, r) => (r.p95 > a.p95 ? r : a));
    const ok = (r) => (r.name.includes('baseline') ? '' : r.p95 <= TARGET_MS ? '✓' : '✗');
    const text = `## Dashboard interactions (issue 14)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- dashboard${quick ? ' --quick' : ''}\`. The b2b-saas 1M dataset (${fmt(events)} events
stored) imported with \`throughline import\`; \`throughline serve\` on it with its journey tables built. Each
interaction is the requests a page makes, sent together as the page sends them, timed until the last
answer; ${runs} runs each (person and account pages: a different one each run), after a warm-up. Target:
${TARGET_MS} ms. Baseline in the same run: \`GET /health\`.

| interaction | p50 | p95 | max | within ${TARGET_MS} ms (p95) |
|---|---|---|---|---|
${results.map((r) => `| ${r.name} | ${r.p50.toFixed(1)} ms | ${r.p95.toFixed(1)} ms | ${r.max.toFixed(1)} ms | ${ok(r)} |`).join('\n')}

Slowest at p95: ${worst.name}, ${worst.p95.toFixed(1)} ms (${(worst.p95 / results[0].p95).toFixed(0)}× the baseline's p95).

**Bundle** (\`dist/web\`, gzip): initial download (index.html's script and style) ${(b.initial / 1024).toFixed(1)} KB
(target < 500 KB); loaded on demand: ${b.lazy.map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KB`).join(', ')}.
`;
    console.log(text);
    recordSection('dashboard', text);
  } finally {
    if (srv) await stopServer(srv);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
