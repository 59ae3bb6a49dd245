// Journeys from the journey tables, end to end (issue 13): the simulator's dataset imported into a
// data directory, then a server started on it. Measured: the server's bulk build of the journey
// tables (sessions, touchpoints, steps in SQL, then the stage history fold), one person's journey
// from the running server (p50/p99, random persons), and touchpoint counts by channel over every
// event. Baselines in the same run: a plain DuckDB scan of the same events, a person's profile
// from the same server, and the same journey derived in JavaScript from the person's timeline.
// 1M events; --full: 10M.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../dist/store/duckdb-database.js';
import { BIN, dataset } from './lib/datasets.mjs';
import { machine, median } from './lib/machine.mjs';
import { recordSection } from './lib/record.mjs';
import { until } from './lib/until.mjs';

const PORT = 18410;
const URL_ = `http://127.0.0.1:${PORT}`;
const ADMIN = 'ak_bench_admin_key_00000000001';
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const api = async (path, init = {}) => {
  const res = await fetch(`${URL_}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}` } });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path} → ${res.status} ${JSON.stringify(body)}`);
  return body;
};

async function timedQuery(conn, sql, runs = 5) {
  await conn.runAndReadAll(sql);
  const times = [];
  let rows;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    rows = (await conn.runAndReadAll(sql)).getRowsJS();
    times.push(performance.now() - t);
  }
  return { ms: median(times), rows };
}

async function serveUntilHealthy(dir, env) {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', String(PORT), '--host', '127.0.0.1', '--data', dir],
    {
      env: { ...env, THROUGHLINE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await until(
      'the first start',
      async () => {
        const res = await fetch(`${URL_}/health`);
        return res.status === 200 ? true : undefined;
      },
      60_000,
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export async function run({ full }) {
  const m = machine();
  const name = full ? '10M' : '1M';
  const ds = dataset(name);
  const dir = mkdtempSync(join(tmpdir(), 'throughline-journey-serve-'));
  const env = {
    ...process.env,
    THROUGHLINE_ADMIN_KEY: ADMIN,
    THROUGHLINE_WRITE_KEY: 'wk_bench_write_key_0001',
  };
  try {
    // A first start creates the default workspace with the keys above; the import goes into it.
    await serveUntilHealthy(dir, env);
    process.stderr.write(`  importing ${fmt(ds.messages)} messages…\n`);
    const imported = spawnSync(process.execPath, [BIN, 'import', ds.file, '--data', dir, '--json'], {
      env,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);

    // Baseline: a plain scan of the same events, in DuckDB, before the server holds the file.
    let scanMs;
    {
      const db = await openDatabase(dir);
      if (!db.ok) throw new Error(db.error.message);
      const r = await timedQuery(
        db.value.reader,
        'SELECT count(*), sum(hash(seq)), count(DISTINCT type) FROM event_facts',
        3,
      );
      scanMs = r.ms;
      db.value.close();
    }

    process.stderr.write('  starting the server; it builds the journey tables…\n');
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--port', String(PORT), '--host', '127.0.0.1', '--data', dir],
      {
        env: { ...env, THROUGHLINE_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const exited = new Promise((r) => child.on('exit', r));
    let build;
    const persons = [];
    const times = { journey: [], profile: [], js: [], account: [], accountJs: [] };
    const accounts = [];
    try {
      build = await until(
        'the journey tables',
        async () => {
          const b = await api('/api/journey/build');
          if (b.builder.problem) throw new Error(b.builder.problem);
          return b.current && b.builder.state === 'idle' && b.builder.last ? b.builder.last : undefined;
        },
        1_800_000,
      );
      // Random persons with a journey: pages of the person list, sampled.
      let cursor = null;
      const all = [];
      do {
        const page = await api(`/api/persons?limit=1000&sort=lastSeen${cursor ? `&cursor=${cursor}` : ''}`);
        for (const p of page.persons) if (p.eventCount > 0) all.push(p.id);
        cursor = page.nextCursor;
      } while (cursor && all.length < 50_000);
      let seed = 7;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      for (let i = 0; i < 400; i++) persons.push(all[Math.floor(rand() * all.length)]);
      const time = async (list, path) => {
        const t = performance.now();
        await api(path);
        list.push(performance.now() - t);
      };
      for (const id of persons.slice(0, 20)) await api(`/api/persons/${id}/journey`); // warm-up
      for (const id of persons) {
        await time(times.journey, `/api/persons/${id}/journey`);
        await time(times.profile, `/api/persons/${id}`);
      }
      for (const id of persons.slice(0, 100))
        await time(times.js, `/api/persons/${id}/journey?includeBots=true`);
      // Random accounts: an account's journey holds every member's events.
      const allAccounts = [];
      cursor = null;
      do {
        const page = await api(`/api/accounts?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        for (const a of page.accounts) allAccounts.push(a.id);
        cursor = page.nextCursor;
      } while (cursor);
      for (let i = 0; i < 200 && allAccounts.length > 0; i++)
        accounts.push(allAccounts[Math.floor(rand() * allAccounts.length)]);
      for (const id of accounts.slice(0, 10)) await api(`/api/accounts/${encodeURIComponent(id)}/journey`);
      for (const id of accounts) await time(times.account, `/api/accounts/${encodeURIComponent(id)}/journey`);
      for (const id of accounts.slice(0, 50))
        await time(times.accountJs, `/api/accounts/${encodeURIComponent(id)}/journey?includeBots=true`);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }

    // Touchpoints by channel over every event, from the tables; baseline: a GROUP BY over a column.
    const db = await openDatabase(dir);
    if (!db.ok) throw new Error(db.error.message);
    const byChannel = await timedQuery(
      db.value.reader,
      'SELECT channel, count(*) AS n FROM journey_touchpoints GROUP BY channel ORDER BY n DESC',
    );
    const groupBy = await timedQuery(db.value.reader, 'SELECT type, count(*) FROM event_facts GROUP BY type');
    const events = Number(
      (await db.value.reader.runAndReadAll('SELECT count(*) FROM events')).getRowsJS()[0][0],
    );
    db.value.close();

    const c = build.counts;
    const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
    const ms = (x) => `${x.toFixed(1)} ms`;
    const text = `## Journeys from the journey tables (issue 13)

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}.
Command: \`npm run bench -- journey-serve\`${full ? ' --full' : ''}. The ${name} b2b-saas dataset (${fmt(events)} events) is
imported with \`throughline import\` into a fresh data directory; \`throughline serve\` then starts on it and builds
the journey tables in the background (sessions, touchpoints and steps in SQL, then the stage history folded
over candidate rows); the build's own duration is read from \`GET /api/journey/build\`. One run.

**Bulk build** (${fmt(c.persons)} persons, ${fmt(c.events)} steps, ${fmt(c.sessions)} sessions, ${fmt(c.touchpoints)} touchpoints,
${fmt(c.stageSpans)} stage entries). Target at 10M: < 15 s (1M: < 2 s).

| plain scan of the events (baseline, same run) | build in the server | ratio |
|---|---|---|
| ${s(scanMs)} | ${s(build.ms)} | ${(build.ms / scanMs).toFixed(0)}× |

**One person's journey** from the running server: ${persons.length} random persons (a warm-up of 20 first), sequential
requests. Target: p50 < 20 ms, p99 < 100 ms.

| request | p50 | p99 |
|---|---|---|
| \`GET /api/persons/:id/journey\` (from the tables) | ${ms(pct(times.journey, 0.5))} | ${ms(pct(times.journey, 0.99))} |
| \`GET /api/persons/:id\` (profile, baseline) | ${ms(pct(times.profile, 0.5))} | ${ms(pct(times.profile, 0.99))} |
| \`…/journey?includeBots=true\` (derived in JavaScript from the timeline, ${times.js.length} persons) | ${ms(pct(times.js, 0.5))} | ${ms(pct(times.js, 0.99))} |
| \`GET /api/accounts/:id/journey\` (from the tables, ${times.account.length} random accounts) | ${ms(pct(times.account, 0.5))} | ${ms(pct(times.account, 0.99))} |
| \`…/journey?includeBots=true\` (derived in JavaScript, ${times.accountJs.length} accounts) | ${ms(pct(times.accountJs, 0.5))} | ${ms(pct(times.accountJs, 0.99))} |

**Touchpoints by channel** over every event (\`SELECT channel, count(*) FROM journey_touchpoints GROUP BY channel\`,
median of 5 after a warm-up): ${ms(byChannel.ms)}; baseline \`count(*) GROUP BY type\` over \`event_facts\`: ${ms(groupBy.ms)}.
Target at 10M: < 1 s. Top channels: ${byChannel.rows
      .slice(0, 8)
      .map((r) => `${r[0]} ${fmt(Number(r[1]))}`)
      .join(', ')}.
`;
    console.log(text);
    recordSection(`journey-serve${full ? '-10M' : ''}`, text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
