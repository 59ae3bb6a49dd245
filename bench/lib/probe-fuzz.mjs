// Part 2 of the probe: the fuzzed Tracking API. Sends the cases of probe-fuzz-cases.mjs over
// concurrent keep-alive connections, then checks every acknowledged message is stored exactly once.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fuzzCases } from './probe-fuzz-cases.mjs';
import { keepAliveAgent, send, sendRaw } from './probe-http.mjs';
import {
  ADMIN_KEY,
  allEvents,
  crashed,
  exactlyOnce,
  freePort,
  startServer,
  stopServer,
  tempDir,
  WRITE_KEY,
  waitHealthy,
  waitLoaded,
} from './probe-server.mjs';

const FAILURES_DIR = new URL('../.data/probe-failures/', import.meta.url).pathname;

/** A printable one-line description of a case, for the report. */
export function describeCase(c) {
  const bytes = c.raw ?? c.body;
  const preview = bytes
    ? JSON.stringify(bytes.subarray(0, 160).toString('latin1')) + (bytes.length > 160 ? '…' : '')
    : '(no body)';
  const detail = c.detail ? ` [${c.detail}]` : '';
  return `#${c.index} ${c.family}/${c.variant}${detail}: ${c.method} ${c.path} headers=${JSON.stringify(
    c.headers,
  )} body ${bytes?.length ?? 0} B ${preview}`;
}

/**
 * Saves a request that found a problem so it can be replayed: `<seed>-<index>.body` (the exact
 * bytes) and a `.sh` with the curl (or nc, for raw cases) command. Returns the .sh path.
 */
export function saveReproduction(seed, c) {
  mkdirSync(FAILURES_DIR, { recursive: true });
  const stem = join(FAILURES_DIR, `fuzz-${seed}-${c.index}`);
  const bytes = c.raw ?? c.body ?? (c.chunks ? Buffer.concat(c.chunks) : Buffer.alloc(0));
  writeFileSync(`${stem}.body`, bytes);
  const quote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;
  const cmd = c.raw
    ? `nc 127.0.0.1 "\${PORT:-8080}" < ${quote(`${stem}.body`)}`
    : [
        `curl -sS -i -X ${c.method} "http://127.0.0.1:\${PORT:-8080}"${quote(c.path)}`,
        ...Object.entries(c.headers).flatMap(([k, v]) =>
          (Array.isArray(v) ? v : [v]).map((x) => `-H ${quote(`${k}: ${x}`)}`),
        ),
        ...(c.chunks ? ['-H "Transfer-Encoding: chunked"'] : []),
        ...(c.body || c.chunks ? [`--data-binary @${quote(`${stem}.body`)}`] : []),
      ].join(' ');
  writeFileSync(`${stem}.sh`, `#!/bin/sh\n# ${describeCase(c).slice(0, 300)}\n${cmd}\n`);
  return `${stem}.sh`;
}

/** The error code of an error body, or '' (a 200, or a body that is not ours). */
function codeOf(text) {
  try {
    return JSON.parse(text)?.error?.code ?? '';
  } catch {
    return '';
  }
}

const classOf = (status) => (status === undefined ? 'no answer' : `${Math.floor(status / 100)}xx`);

/** Tallies answers and tracks which messageIds were acknowledged. */
function newTally() {
  return {
    requests: 0,
    byClass: {},
    byFamily: new Map(),
    fiveXX: [],
    noAnswer: [],
    badAcks: [],
    falseRejections: [],
    acked: new Set(),
    inDoubt: new Set(),
    /** messageId → [path, value] pairs its stored event must show. */
    expect: new Map(),
    latencies: [],
  };
}

function familyOf(t, c) {
  let f = t.byFamily.get(c.family);
  if (!f) {
    f = { n: 0, statuses: new Map(), maxMs: 0, maxCase: '' };
    t.byFamily.set(c.family, f);
  }
  return f;
}

function ack(t, item) {
  t.acked.add(item.id);
  if (item.expect?.length) t.expect.set(item.id, item.expect);
}

/** Strings (values and keys) in `v` holding an unpaired UTF-16 surrogate. */
function loneSurrogatesIn(v, out = []) {
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  if (typeof v === 'string') {
    if (lone.test(v)) out.push(JSON.stringify(v));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (lone.test(k)) out.push(JSON.stringify(k));
      loneSurrogatesIn(x, out);
    }
  }
  return out;
}

/** Stored events that differ from what was sent where the docs say "stored as sent". */
function asSent(events, expect) {
  const byId = new Map(events.map((e) => [e.messageId, e]));
  let checked = 0;
  const mismatches = [];
  for (const [id, pairs] of expect) {
    const e = byId.get(id);
    if (!e) continue;
    for (const [path, want] of pairs) {
      checked++;
      const got = path.reduce((o, k) => o?.[k], e);
      if (!isDeepStrictEqual(got, want)) {
        mismatches.push(
          `${id} ${path.join('.')}: sent ${JSON.stringify(want).slice(0, 80)}, stored ${JSON.stringify(got)?.slice(0, 80)}`,
        );
      }
    }
  }
  const lone = events.flatMap((e) => loneSurrogatesIn(e).map((s) => `${e.messageId}: ${s}`));
  return { checked, mismatches, lone };
}

/**
 * Records one exchange: an item is acknowledged by a 200 to a single call, or by a batch's 200
 * when its index is not in `errors`. No answer (or a 5xx) leaves its messages in doubt.
 */
function record(t, c, res, seed) {
  const statuses = c.raw ? res.statuses : res.status === undefined ? [] : [res.status];
  t.requests++;
  t.latencies.push(res.ms);
  const f = familyOf(t, c);
  f.n++;
  if (res.ms > f.maxMs) {
    f.maxMs = res.ms;
    f.maxCase = `${c.variant}${c.detail ? ` [${c.detail}]` : ''}`;
  }
  const first = statuses[0];
  const cls = classOf(first);
  t.byClass[cls] = (t.byClass[cls] ?? 0) + 1;
  const key =
    first === undefined
      ? `no answer (${res.error ?? 'closed'})`
      : `${first}${codeOf(res.text ?? '') ? ` ${codeOf(res.text)}` : ''}`;
  f.statuses.set(key, (f.statuses.get(key) ?? 0) + 1);

  if (statuses.some((s) => s >= 500)) {
    t.fiveXX.push({
      request: describeCase(c),
      status: statuses.join(','),
      answer: (res.text ?? '').slice(0, 500),
      replay: saveReproduction(seed, c),
    });
  }
  if (first === undefined)
    t.noAnswer.push({ request: describeCase(c), error: res.error ?? 'closed without answer' });

  if (c.raw) {
    // Pipelined requests are answered in order, one status per request.
    c.items.forEach((item, k) => {
      if (item.id === null) return;
      if (statuses[k] === 200) ack(t, item);
      else if (statuses[k] === undefined || statuses[k] >= 500) t.inDoubt.add(item.id);
      else if (item.valid && c.requestValid)
        t.falseRejections.push({ request: describeCase(c), status: statuses[k], id: item.id });
    });
    return;
  }
  if (first === undefined || first >= 500) {
    for (const item of c.items) if (item.id !== null) t.inDoubt.add(item.id);
    return;
  }
  if (first !== 200) {
    for (const item of c.items) {
      if (item.valid && c.requestValid) {
        t.falseRejections.push({
          request: describeCase(c),
          status: first,
          code: codeOf(res.text),
          id: item.id,
        });
      }
    }
    return;
  }
  if (c.single) {
    const item = c.items[0];
    if (item?.id != null) ack(t, item);
    return;
  }
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    t.badAcks.push({ request: describeCase(c), answer: res.text.slice(0, 300) });
    return;
  }
  const failed = new Map((body.errors ?? []).map((e) => [e.index, e]));
  c.items.forEach((item, k) => {
    if (failed.has(k)) {
      if (item.valid && c.requestValid) {
        t.falseRejections.push({
          request: `${describeCase(c)} (item ${k})`,
          status: 200,
          code: failed.get(k).code,
          id: item.id,
        });
      }
    } else if (item.id !== null) ack(t, item);
  });
  if (body.accepted + (body.duplicates ?? 0) + failed.size !== c.items.length) {
    t.badAcks.push({
      request: describeCase(c),
      answer: `accepted ${body.accepted} + duplicates ${body.duplicates ?? 0} + errors ${failed.size} ≠ ${c.items.length} messages`,
    });
  }
}

/**
 * After the fuzz, the server must still refuse what it refused before: had a `__proto__` key
 * polluted Object.prototype, a message without an event name would find one there.
 */
async function canaries(base) {
  const headers = {
    'content-type': 'application/json',
    authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
  };
  const out = [];
  for (const [path, body, want] of [
    ['/v1/track', { userId: 'canary', messageId: 'canary-1' }, 400],
    ['/v1/identify', { traits: { a: 1 }, messageId: 'canary-2' }, 400],
    ['/v1/group', { userId: 'canary', messageId: 'canary-3' }, 400],
    ['/v1/track', { userId: 'canary', event: 'Canary', messageId: 'canary-4' }, 200],
  ]) {
    const res = await send(base, { path, headers, body: Buffer.from(JSON.stringify(body)) });
    if (res.status !== want)
      out.push(`${path} ${JSON.stringify(body)} → ${res.status} (expected ${want}) ${res.text ?? res.error}`);
  }
  return out;
}

async function createRevokedKey(base) {
  const auth = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  const made = await (
    await fetch(`${base}/api/keys`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ kind: 'write', label: 'probe revoked' }),
    })
  ).json();
  const del = await fetch(`${base}/api/keys/${made.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  if (del.status >= 300) throw new Error(`could not revoke key ${made.id}: ${del.status}`);
  return made.secret;
}

/**
 * Runs the fuzz against a fresh server. Returns the tally, the exactly-once check and whether the
 * server crashed; the data directory is removed unless something failed (then it is kept).
 */
export async function runFuzz({ quick, seed = 20261112, concurrency = 16, log = () => {} }) {
  const count = quick ? 2_000 : 10_000;
  const dir = tempDir('fuzz');
  const port = await freePort();
  const srv = startServer({
    dataDir: dir,
    port,
    env: { THROUGHLINE_WRITE_KEY: WRITE_KEY, THROUGHLINE_ADMIN_KEY: ADMIN_KEY },
  });
  const t = newTally();
  const contested = new Set();
  let check = null;
  let problem = null;
  const t0 = performance.now();
  try {
    await waitHealthy(srv);
    const keys = { write: WRITE_KEY, admin: ADMIN_KEY, revoked: await createRevokedKey(srv.base) };
    const cases = fuzzCases({ seed, count, keys, port, contested });
    const agent = keepAliveAgent(concurrency);
    let sent = 0;
    const worker = async () => {
      for (let next = cases.next(); !next.done; next = cases.next()) {
        if (srv.exitInfo) return;
        const c = next.value;
        const res = c.raw ? await sendRaw(port, c.raw) : await send(srv.base, c, { agent });
        record(t, c, res, seed);
        if (++sent % 1000 === 0)
          log(`fuzz: ${sent}/${count} requests, ${t.acked.size} messages acknowledged`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    agent.destroy();
    if (srv.exitInfo) throw new Error(`server exited during the fuzz: ${JSON.stringify(srv.exitInfo)}`);
    log('fuzz: waiting for the load lag to reach 0…');
    const loadedAt = await waitLoaded(srv);
    const events = await allEvents(srv.base, ADMIN_KEY);
    check = { ...exactlyOnce(events, t.acked, t.inDoubt), health: loadedAt };
    // A `__proto__` key read through the prototype chain would have made these fields real.
    check.polluted = events
      .filter((e) => e.event === 'Injected Event' || e.userId === 'proto-user')
      .map((e) => e.messageId);
    check.canaries = await canaries(srv.base);
    check.asSent = asSent(events, t.expect);
  } catch (e) {
    problem = e.message;
  } finally {
    const wasCrash = crashed(srv);
    await stopServer(srv);
    t.crash = wasCrash ? { exit: srv.exitInfo, output: srv.output().slice(-3000) } : null;
  }
  t.falseRejections = t.falseRejections.filter((x) => !contested.has(x.id));
  const failed =
    problem ||
    t.crash ||
    t.fiveXX.length ||
    !check ||
    check.missing.length ||
    check.duplicated.length ||
    check.unexpected.length ||
    check.polluted.length ||
    check.canaries.length ||
    check.asSent.mismatches.length ||
    check.asSent.lone.length;
  if (failed) log(`fuzz: data directory kept for inspection: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return {
    count,
    seed,
    concurrency,
    seconds: (performance.now() - t0) / 1000,
    tally: t,
    check,
    problem,
    dataDir: dir,
  };
}
