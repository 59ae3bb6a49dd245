// Part 4 of the probe: slow clients. Thousands of raw connections that stall (nothing sent,
// partial headers, partial bodies, byte-a-second trickles) while a normal client sends /v1/track
// requests: its latency and errors, how many stalled connections were refused (the per-address
// cap), and how long the server took to close the ones it accepted.
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { send, statusesOf } from './probe-http.mjs';
import {
  ADMIN_KEY,
  freePort,
  sleep,
  startServer,
  stopServer,
  tempDir,
  WRITE_KEY,
  waitHealthy,
} from './probe-server.mjs';

const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

/** The kinds of stalled connection, with their share: what each sends, then whether it trickles. */
const KINDS = [
  { kind: 'silent', share: 0.2, first: '' },
  {
    kind: 'partial headers',
    share: 0.3,
    first: 'POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n',
  },
  {
    kind: 'partial body',
    share: 0.3,
    first: `POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{"userId":"slow","event":"Slow",`,
  },
  // One byte a second keeps the idle timer from firing: only the header or request deadline can.
  { kind: 'header trickle', share: 0.1, first: 'POST /v1/track HTTP/1.1\r\nX-Slow: ', trickle: 'a' },
  {
    kind: 'body trickle',
    share: 0.1,
    first: `POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"p":"`,
    trickle: 'b',
  },
];

/** Kinds interleaved in their shares (out of 10), so those the cap lets in are a mix of all. */
const PATTERN = KINDS.flatMap((k) => Array.from({ length: Math.round(k.share * 10) }, () => k));
const kindAt = (i) => PATTERN[i % PATTERN.length];

/** Opens one stalled connection; its record fills in as the server answers and closes it. */
function openSlow(port, spec, localAddress) {
  const rec = { kind: spec.kind, localAddress, openedAt: 0, closedAfterMs: null, text: '', error: null };
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let timer = null;
    socket.on('connect', () => {
      rec.openedAt = performance.now();
      if (spec.first) socket.write(spec.first);
      if (spec.trickle) timer = setInterval(() => socket.write(spec.trickle), 1000);
      resolve({ rec, socket });
    });
    socket.on('data', (c) => {
      rec.text += c.toString('latin1');
    });
    socket.on('error', (e) => {
      rec.error ??= e.code ?? e.message;
      if (!rec.openedAt) resolve({ rec, socket });
    });
    socket.on('close', () => {
      clearInterval(timer);
      if (rec.openedAt) rec.closedAfterMs = performance.now() - rec.openedAt;
    });
  });
}

/** `n` stalled connections from `addresses` (round robin), opened 100 at a time. */
async function openMany(port, n, addresses) {
  const open = [];
  for (let i = 0; i < n; i += 100) {
    const chunk = [];
    for (let j = i; j < Math.min(n, i + 100); j++)
      chunk.push(openSlow(port, kindAt(j), addresses[j % addresses.length]));
    open.push(...(await Promise.all(chunk)));
  }
  return open;
}

/**
 * The normal client: `count` /v1/track calls, each on a fresh connection (a new visitor arriving
 * during the attack), paced `everyMs` apart so the run spans the stall deadlines.
 */
async function normalClient(base, count, everyMs, tag) {
  const results = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const startedAt = performance.now() - t0;
    const res = await send(
      base,
      {
        path: '/v1/track',
        headers: { 'content-type': 'application/json', authorization: AUTH },
        body: Buffer.from(
          JSON.stringify({ userId: 'normal', event: 'Normal', messageId: `normal-${tag}-${i}` }),
        ),
      },
      { localAddress: '127.0.0.1', timeoutMs: 30_000 },
    );
    results.push({ startedAt, ms: res.ms, status: res.status, error: res.error });
    const wait = everyMs - res.ms;
    if (wait > 0) await sleep(wait);
  }
  return results;
}

const pct = (xs, p) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function summarizeClient(results) {
  const ok = results.filter((x) => x.status === 200);
  const refused = results.filter((x) => x.status === 429).length;
  const firstOk = ok[0]?.startedAt ?? null;
  return {
    requests: results.length,
    ok: ok.length,
    errors: results.length - ok.length,
    refused429: refused,
    otherErrors: [
      ...new Set(results.filter((x) => x.status !== 200 && x.status !== 429).map((x) => x.status ?? x.error)),
    ],
    p50: pct(
      ok.map((x) => x.ms),
      50,
    ),
    p99: pct(
      ok.map((x) => x.ms),
      99,
    ),
    max: ok.length ? Math.max(...ok.map((x) => x.ms)) : null,
    firstOkAtMs: firstOk,
  };
}

/** Per kind: how many were refused (429 at once), answered 408, and when the server closed them. */
function summarizeSlow(open) {
  const byKind = new Map();
  for (const { rec } of open) {
    const k = byKind.get(rec.kind) ?? {
      kind: rec.kind,
      n: 0,
      refused: 0,
      got408: 0,
      otherStatus: new Map(),
      closeMs: [],
      stillOpen: 0,
      connectErrors: 0,
    };
    k.n++;
    const st = statusesOf(rec.text);
    if (!rec.openedAt) k.connectErrors++;
    else if (st[0] === 429) k.refused++;
    else {
      if (st[0] === 408) k.got408++;
      else if (st[0] !== undefined) k.otherStatus.set(st[0], (k.otherStatus.get(st[0]) ?? 0) + 1);
      if (rec.closedAfterMs === null) k.stillOpen++;
      else k.closeMs.push(rec.closedAfterMs);
    }
    byKind.set(rec.kind, k);
  }
  return [...byKind.values()].map((k) => ({
    ...k,
    otherStatus: Object.fromEntries(k.otherStatus),
    closeMedianS: pct(k.closeMs, 50) / 1000,
    closeMaxS: k.closeMs.length ? Math.max(...k.closeMs) / 1000 : null,
  }));
}

/** The server's timeouts: those we pass (quick runs), else its defaults read from the build. */
async function timeoutsFor(quick) {
  if (quick)
    return {
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      idleTimeoutMs: 4000,
      source: 'env (shortened for --quick)',
    };
  const { DEFAULTS } = await import('../../dist/config/config.js');
  return { ...DEFAULTS, source: 'server defaults' };
}

export async function runSlow({ quick, log = () => {} }) {
  const n = quick ? 600 : 2000;
  const count = 200;
  const t = await timeoutsFor(quick);
  const env = { THROUGHLINE_WRITE_KEY: WRITE_KEY, THROUGHLINE_ADMIN_KEY: ADMIN_KEY };
  if (quick) {
    Object.assign(env, {
      THROUGHLINE_HEADERS_TIMEOUT_MS: String(t.headersTimeoutMs),
      THROUGHLINE_REQUEST_TIMEOUT_MS: String(t.requestTimeoutMs),
      THROUGHLINE_IDLE_TIMEOUT_MS: String(t.idleTimeoutMs),
    });
  }
  const longest = Math.max(t.headersTimeoutMs, t.requestTimeoutMs, t.idleTimeoutMs);
  // The normal client's calls span the longest deadline, so the table shows when it gets in again.
  const everyMs = Math.ceil((longest * 1.2) / count);
  const dir = tempDir('slow');
  const port = await freePort();
  const srv = startServer({ dataDir: dir, port, env });
  const out = { n, count, everyMs, timeouts: t, cap: null, scenarios: [], problem: null };
  try {
    await waitHealthy(srv);
    const cap = (await import('../../dist/config/config.js')).DEFAULTS.maxConnectionsPerAddress;
    out.cap = cap;
    log('slow clients: baseline (no stalled connections)…');
    out.baseline = summarizeClient(await normalClient(srv.base, count, 10, 'baseline'));
    const scenarios = [
      { name: `${n} stalled from 127.0.0.2, client from 127.0.0.1`, addresses: ['127.0.0.2'] },
      {
        name: `${n} stalled spread over 127.0.0.2–127.0.0.9 (${Math.ceil(n / 8)} each), client from 127.0.0.1`,
        addresses: Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`),
      },
      { name: `${n} stalled and the client, all from 127.0.0.1`, addresses: ['127.0.0.1'] },
    ];
    for (const [i, s] of scenarios.entries()) {
      log(`slow clients: ${s.name}…`);
      const open = await openMany(port, n, s.addresses);
      await sleep(300);
      const client = summarizeClient(await normalClient(srv.base, count, everyMs, `s${i}`));
      // Wait for the server to close what it accepted: the longest deadline, plus its 1 s check period and slack.
      const until = performance.now() + longest + 10_000;
      while (performance.now() < until && open.some(({ rec }) => rec.openedAt && rec.closedAfterMs === null))
        await sleep(250);
      const slow = summarizeSlow(open);
      for (const { socket } of open) socket.destroy();
      out.scenarios.push({ name: s.name, client, slow, crash: srv.exitInfo });
      if (srv.exitInfo)
        throw new Error(`server exited: ${JSON.stringify(srv.exitInfo)}\n${srv.output().slice(-3000)}`);
      await sleep(1000);
    }
  } catch (e) {
    out.problem = e.message;
  } finally {
    out.crash =
      srv.exitInfo && !srv.expectedExit ? { exit: srv.exitInfo, output: srv.output().slice(-3000) } : null;
    await stopServer(srv);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
