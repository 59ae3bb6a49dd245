// The probe (issue 12 "Hardening"): what an external prober tried, re-run on loopback against the
// real server as a child process, bounded to a few minutes. Four parts, each on its own data
// directory: cross-tenant isolation of the admin API, a seeded fuzz of the Tracking API with an
// exactly-once check of everything acknowledged, kill -9 under load, and slow clients.
// Exits non-zero on a 5xx, a crash, a leak, or an acknowledged message lost or stored twice.
import { loadavg } from 'node:os';
import { machine } from './lib/machine.mjs';
import { runCrash } from './lib/probe-crash.mjs';
import { runFuzz } from './lib/probe-fuzz.mjs';
import { runIsolation } from './lib/probe-isolation.mjs';
import { runSlow } from './lib/probe-slow.mjs';
import { recordSection } from './lib/record.mjs';

const SEED = 20261112;
const log = (m) => process.stderr.write(`  ${m}\n`);
const fmt = (n, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ok = (good) => (good ? '✔' : '✘');
const cell = (s) => String(s).replaceAll('|', '\\|').replaceAll('\n', ' ');
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};

/** Everything that makes the probe fail, one line each (with the request when there is one). */
function failuresOf({ iso, fuzz, crash, slow }) {
  const f = [];
  for (const x of iso.leaks)
    f.push(`isolation: leak in ${x.request} (${x.status}): ${x.found.join(', ')} — ${x.answer}`);
  for (const x of iso.fiveXX) f.push(`isolation: ${x.status} for ${x.request}: ${x.answer}`);
  for (const x of iso.problems) f.push(`isolation: ${x}`);
  for (const x of iso.authFailures) f.push(`isolation: accepted without A's admin key: ${x}`);
  for (const x of iso.snapshotDiffs) f.push(`isolation: B's ${x.path} changed: ${x.before} → ${x.after}`);
  if (!iso.idChecks.perWorkspace)
    f.push(`isolation: ids are not per workspace: ${JSON.stringify(iso.idChecks)}`);
  if (iso.crash) f.push(`isolation: server crashed ${JSON.stringify(iso.crash.exit)}:\n${iso.crash.output}`);
  const t = fuzz.tally;
  for (const x of t.fiveXX)
    f.push(`fuzz: ${x.status} for ${x.request}\n    answer: ${x.answer}\n    replay: ${x.replay}`);
  if (t.crash) f.push(`fuzz: server crashed ${JSON.stringify(t.crash.exit)}:\n${t.crash.output}`);
  if (fuzz.problem) f.push(`fuzz: ${fuzz.problem}`);
  if (fuzz.check) {
    const c = fuzz.check;
    if (c.missing.length)
      f.push(
        `fuzz: ${c.missing.length} acknowledged messages not stored, e.g. ${c.missing.slice(0, 10).join(', ')}`,
      );
    if (c.duplicated.length)
      f.push(
        `fuzz: ${c.duplicated.length} messages stored more than once, e.g. ${c.duplicated.slice(0, 10).join(', ')}`,
      );
    if (c.unexpected.length)
      f.push(
        `fuzz: ${c.unexpected.length} messages stored though refused, e.g. ${c.unexpected.slice(0, 10).join(', ')}`,
      );
  }
  if (fuzz.check?.polluted.length)
    f.push(`fuzz: events built from a \`__proto__\` key: ${fuzz.check.polluted.join(', ')}`);
  for (const x of fuzz.check?.canaries ?? []) f.push(`fuzz: after the fuzz, ${x}`);
  for (const x of fuzz.check?.asSent.mismatches ?? []) f.push(`fuzz: not stored as sent: ${x}`);
  for (const x of fuzz.check?.asSent.lone ?? [])
    f.push(`fuzz: stored with an unpaired surrogate (documented: U+FFFD): ${x}`);
  for (const x of t.badAcks) f.push(`fuzz: inconsistent batch answer for ${x.request}: ${x.answer}`);
  if (crash.problem) f.push(`kill -9: ${crash.problem}`);
  for (const r of crash.rows) {
    if (r.missing.length)
      f.push(
        `kill -9 round ${r.round}: ${r.missing.length} acknowledged messages lost, e.g. ${r.missing.slice(0, 10).join(', ')}`,
      );
    if (r.duplicated.length)
      f.push(`kill -9 round ${r.round}: duplicates ${r.duplicated.slice(0, 10).join(', ')}`);
    if (r.unexpected.length)
      f.push(`kill -9 round ${r.round}: unexpected ids ${r.unexpected.slice(0, 10).join(', ')}`);
  }
  if (slow.problem) f.push(`slow clients: ${slow.problem}`);
  if (slow.crash)
    f.push(`slow clients: server crashed ${JSON.stringify(slow.crash.exit)}:\n${slow.crash.output}`);
  for (const s of slow.scenarios) {
    const open = s.slow.reduce((a, k) => a + k.stillOpen, 0);
    if (open) f.push(`slow clients: ${open} stalled connections still open after every deadline (${s.name})`);
  }
  return f;
}

/** Observations worth reading that do not fail the probe. */
function notesOf({ iso, fuzz }) {
  const n = [];
  for (const x of iso.oracles) n.push(`isolation: B's id answered differently from an unknown one: ${x}`);
  const t = fuzz.tally;
  for (const x of t.falseRejections.slice(0, 20))
    n.push(`fuzz: a valid message was refused (${x.status} ${x.code ?? ''}): ${x.request}`);
  if (t.falseRejections.length > 20)
    n.push(`fuzz: … ${t.falseRejections.length - 20} more valid messages refused`);
  const byError = new Map();
  for (const x of t.noAnswer) {
    const k = `${x.request.split(':')[0].replace(/^#\d+ /, '')}: ${x.error}`;
    byError.set(k, (byError.get(k) ?? 0) + 1);
  }
  for (const [k, v] of byError) n.push(`fuzz: no answer (${v}×) for ${k}`);
  return n;
}

function summaryTable({ iso, fuzz, crash, slow }) {
  const t = fuzz.tally;
  const c = fuzz.check;
  const classes = Object.entries(t.byClass)
    .sort()
    .map(([k, v]) => `${k}: ${fmt(v)}`)
    .join(', ');
  const killAcked = crash.rows.at(-1)?.ackedTotal ?? 0;
  const killLost = crash.rows.reduce((a, r) => a + r.missing.length, 0);
  const killDup = crash.rows.reduce((a, r) => a + r.duplicated.length, 0);
  const sameAddr = slow.scenarios.at(-1);
  const rows = [
    [
      '1 isolation',
      `requests with A's admin key (${iso.routes} routes: every \`/api\` route of \`/openapi.json\` with B's and A's ids, the live stream, B's Stripe webhook)`,
      fmt(iso.requests),
      '',
    ],
    ['', "answers holding anything of B's", fmt(iso.leaks.length), ok(iso.leaks.length === 0)],
    [
      '',
      "calls without A's admin key (none, A's write key, B's admin key as Basic, unknown key) answered < 400",
      fmt(iso.authFailures.length),
      ok(iso.authFailures.length === 0),
    ],
    [
      '',
      `B's answers changed by A's calls (${iso.snapshotReads} reads of B, before/after)`,
      fmt(iso.snapshotDiffs.length),
      ok(iso.snapshotDiffs.length === 0),
    ],
    [
      '',
      "B's ids answered differently from unknown ids (existence oracle)",
      fmt(iso.oracles.length),
      ok(iso.oracles.length === 0),
    ],
    [
      '',
      'ids per workspace (first identity operation and link are 1 in each)',
      `B ops ${iso.idChecks.bOperationIds?.join(', ')}; A's first op ${iso.idChecks.aFirstOperationId}, first link ${iso.idChecks.aFirstLinkId}`,
      ok(iso.idChecks.perWorkspace),
    ],
    [
      '',
      "B's messageIds sent by A (deduplication per workspace)",
      iso.crossDedup
        ? `track ${iso.crossDedup.track.status}${iso.crossDedup.track.body?.duplicate ? ' duplicate' : ''}, import inserted ${iso.crossDedup.import.inserted}`
        : '–',
      ok(iso.crossDedup?.import.inserted === 1 && !iso.crossDedup?.track.body?.duplicate),
    ],
    [
      '2 fuzz',
      `requests (seed ${fuzz.seed}, ${fuzz.concurrency} concurrent, ${fmt(fuzz.seconds, 0)} s)`,
      fmt(t.requests),
      '',
    ],
    ['', 'answers by status class', classes, ''],
    ['', '5xx', fmt(t.fiveXX.length), ok(t.fiveXX.length === 0)],
    ['', 'server crashes', t.crash ? '1' : '0', ok(!t.crash)],
    ['', 'messages acknowledged (200, or batch items not in `errors`)', fmt(t.acked.size), ''],
    [
      '',
      'stored (GET /api/events, after /health load lag 0): missing / duplicated / stored though refused',
      c
        ? `${fmt(c.stored)} stored: ${c.missing.length} / ${c.duplicated.length} / ${c.unexpected.length}`
        : `not checked: ${fuzz.problem}`,
      ok(c && !c.missing.length && !c.duplicated.length && !c.unexpected.length),
    ],
    [
      '',
      'sent on requests with no answer (or a 5xx): messages, of which stored',
      c ? `${fmt(c.inDoubt)}, ${fmt(c.inDoubtStored)}` : '–',
      '',
    ],
    [
      '',
      '`__proto__` read through the prototype chain (stored events, refusals after the fuzz)',
      c ? `${c.polluted.length}, ${c.canaries.length}` : '–',
      ok(c && !c.polluted.length && !c.canaries.length),
    ],
    [
      '',
      'stored as the docs say (ids as strings, NUL, emoji, escape look-alikes, 64 levels; bad UTF-8 and unpaired surrogates as U+FFFD): fields checked, mismatches; unpaired surrogates in any stored event',
      c ? `${fmt(c.asSent.checked)}, ${c.asSent.mismatches.length}; ${c.asSent.lone.length}` : '–',
      ok(c && !c.asSent.mismatches.length && !c.asSent.lone.length),
    ],
    ['', 'valid messages refused', fmt(t.falseRejections.length), ok(t.falseRejections.length === 0)],
    [
      '',
      'latency p50 / p99 / max (ms)',
      `${fmt(pct(t.latencies, 50), 1)} / ${fmt(pct(t.latencies, 99), 1)} / ${fmt(Math.max(...t.latencies), 0)}`,
      '',
    ],
    [
      '3 kill -9',
      `rounds (${crash.workers} × batches of ${crash.batch}, SIGKILL at a random moment, restart, resend unanswered)`,
      fmt(crash.rows.length),
      '',
    ],
    [
      '',
      'acknowledged / lost / duplicated',
      `${fmt(killAcked)} / ${killLost} / ${killDup}`,
      ok(!crash.problem && killLost === 0 && killDup === 0),
    ],
    [
      '4 slow clients',
      `stalled connections per scenario; cap per address; timeouts (${slow.timeouts.source})`,
      `${fmt(slow.n)}; ${slow.cap}; headers ${slow.timeouts.headersTimeoutMs / 1000} s, request ${slow.timeouts.requestTimeoutMs / 1000} s, idle ${slow.timeouts.idleTimeoutMs / 1000} s`,
      '',
    ],
    [
      '',
      'normal client from another address: errors, p50 / p99 ms (baseline without stalls)',
      slow.scenarios[0]
        ? `${slow.scenarios[0].client.errors}, ${fmt(slow.scenarios[0].client.p50, 1)} / ${fmt(slow.scenarios[0].client.p99, 1)} (${fmt(slow.baseline?.p50, 1)} / ${fmt(slow.baseline?.p99, 1)})`
        : '–',
      ok(slow.scenarios[0]?.client.errors === 0),
    ],
    [
      '',
      'normal client sharing the stalled connections’ address: refused (429) of 200; first 200 after',
      sameAddr ? `${sameAddr.client.refused429}; ${fmt(sameAddr.client.firstOkAtMs / 1000, 1)} s` : '–',
      '',
    ],
  ];
  return [
    '| part | figure | value | |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function fuzzTable(fuzz) {
  const rows = [...fuzz.tally.byFamily]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, f]) => {
      const answers = [...f.statuses]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      return `| ${cell(name)} | ${fmt(f.n)} | ${cell(answers)} | ${fmt(f.maxMs, 0)} (${cell(f.maxCase)}) |`;
    });
  return ['| family | requests | answers | slowest ms (case) |', '|---|---|---|---|', ...rows].join('\n');
}

function crashTable(crash) {
  const rows = crash.rows.map(
    (r) =>
      `| ${r.round} | ${fmt(r.killAfterMs)} | ${fmt(r.ackedBeforeKill)} | ${fmt(r.unansweredMessages)} | ${fmt(r.resentDuplicates)} | ${fmt(r.healthyMs / 1000, 1)} / ${fmt(r.loadedMs / 1000, 1)} | ${fmt(r.ackedTotal)} | ${fmt(r.stored)} | ${r.missing.length} | ${r.duplicated.length} | ${r.unexpected.length} |`,
  );
  return [
    '| round | killed after ms | acknowledged in the round | unanswered at the kill (resent after restart) | of which already stored (answered duplicate) | restart → healthy / loaded s | acknowledged in total | stored | lost | duplicated | unexpected |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function slowTable(slow) {
  const kinds = (s) =>
    s.slow
      .map(
        (k) =>
          `${k.kind}: ${k.n - k.refused - k.connectErrors} in, closed after ${fmt(k.closeMedianS, 1)}–${fmt(k.closeMaxS, 1)} s${k.got408 ? ` (${k.got408}× 408)` : ''}${k.stillOpen ? `, ${k.stillOpen} still open` : ''}`,
      )
      .join('; ');
  const client = (c) =>
    `${c.ok} ok, ${c.refused429} × 429${c.otherErrors.length ? `, other: ${c.otherErrors.join(', ')}` : ''}; p50 ${fmt(c.p50, 1)} ms, p99 ${fmt(c.p99, 1)} ms; first 200 at ${fmt(c.firstOkAtMs / 1000, 1)} s`;
  const rows = slow.scenarios.map((s) => {
    const refused = s.slow.reduce((a, k) => a + k.refused, 0);
    return `| ${cell(s.name)} | ${fmt(refused)} | ${cell(kinds(s))} | ${cell(client(s.client))} |`;
  });
  return [
    '| scenario | stalled connections refused (429) | accepted ones, by kind: closed by the server after (median–max) | normal client: 200 × /v1/track, fresh connection each, paced over the longest deadline |',
    '|---|---|---|---|',
    `| baseline: no stalled connections | – | – | ${cell(client(slow.baseline ?? { ok: 0, refused429: 0, otherErrors: [] }))} |`,
    ...rows,
  ].join('\n');
}

export async function run({ quick }) {
  const m = machine();
  const t0 = performance.now();
  // Timings here are only as good as the machine was quiet: the load is recorded with them.
  const loadBefore = loadavg()[0];
  process.stderr.write('  part 1: cross-tenant isolation\n');
  const iso = await runIsolation({ log });
  process.stderr.write('  part 2: fuzzed Tracking API\n');
  const fuzz = await runFuzz({ quick, seed: SEED, log });
  process.stderr.write('  part 3: kill -9 under load\n');
  const crash = await runCrash({ quick, log });
  process.stderr.write('  part 4: slow clients\n');
  const slow = await runSlow({ quick, log });

  const parts = { iso, fuzz, crash, slow };
  const minutes = (performance.now() - t0) / 60_000;
  const loadAfter = loadavg()[0];
  const failures = failuresOf(parts);
  const notes = notesOf(parts);
  const summary = summaryTable(parts);
  console.log(summary);

  recordSection(
    'probe',
    `## Probe: tenants, hostile input, kill -9, slow clients

Measured ${m.date} on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}; 1-minute load average
${fmt(loadBefore, 1)} at the start, ${fmt(loadAfter, 1)} at the end (latencies and kill -9 volumes depend on it; the counts do not).
Command: \`npm run bench -- probe${quick ? ' --quick' : ''}\` (\`bench/probe.bench.mjs\`, ${fmt(minutes, 1)} min). Loopback only; the real
server (\`throughline serve\`) as a child process, a fresh data directory per part. ${quick ? '`--quick`: 2,000 fuzz requests, 600 stalled connections, short timeouts.' : ''}
1. two workspaces made with \`throughline workspaces create\`, B seeded first with distinctive data; every
   \`/api\` route of \`/openapi.json\` called with A's admin key and B's person ids, identifiers, accounts, keys,
   operation numbers and cursors (and A's own); an answer leaks if it holds any of B's strings, ids or keys
   that the request did not itself carry. 2. a seeded generator (xorshift, seed ${SEED}): valid messages with
   unique messageIds mixed with wrong types, missing fields, huge strings, nesting to 200,000 levels (messages,
   batch items, envelope \`context\`/\`integrations\`), invalid UTF-8, lone surrogates, \`__proto__\` keys, bad
   timestamps, gzip/deflate/br (valid, corrupt, bombs), content types, empty and oversize bodies, bad keys,
   odd routes, raw HTTP (pipelining, smuggling shapes, non-ASCII header bytes), exact retries, five identical
   requests at once, conflicting reuses of messageIds (also within a batch); then every acknowledged messageId
   is looked up in \`GET /api/events\`, and documented conversions checked on the stored events. 3. kill -9 under load, restart,
   the SDK's resend of unanswered batches. 4. stalled raw connections; source addresses 127.0.0.x.

${summary}

Fuzz answers by family (\`message/*\`: one message damaged one way, sent as a single call):

${fuzzTable(fuzz)}

kill -9 rounds (the same data directory throughout):

${crashTable(crash)}

Slow clients (each kind of stalled connection: silent, partial headers, partial body, a header byte a second,
a body byte a second):

${slowTable(slow)}

${failures.length ? `**Failures (${failures.length})**:\n\n${failures.map((f) => `- ${cell(f).slice(0, 600)}`).join('\n')}` : 'No failures.'}
${notes.length ? `\nNotes:\n\n${notes.map((x) => `- ${cell(x).slice(0, 400)}`).join('\n')}\n` : ''}`,
  );

  if (failures.length) {
    console.error(`\nprobe: ${failures.length} failure(s):`);
    for (const f of failures) console.error(`- ${f}`);
    process.exitCode = 1;
  } else {
    console.error('\nprobe: no failures');
  }
}
