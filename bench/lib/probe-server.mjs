// The real server as a child process for the probe (bench/probe.bench.mjs): start, stop, kill -9,
// wait until it accepts and until everything acknowledged is queryable, read every stored event.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = new URL('../../bin/throughline.js', import.meta.url).pathname;
export const WRITE_KEY = 'wk_probe_write_key_0001';
export const ADMIN_KEY = 'ak_probe_admin_key_00000000001';

/** Keeps the last bytes of the server's output: enough to show why it died, bounded in memory. */
const TAIL_BYTES = 64 * 1024;

export const tempDir = (prefix) => mkdtempSync(join(tmpdir(), `throughline-probe-${prefix}-`));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port free on loopback now (the kernel picks it), so parallel runs do not collide. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `throughline serve` on loopback. `exit` resolves with { code, signal } whenever it ends,
 * so a part can tell a crash (an exit it did not ask for) from a stop.
 */
export function startServer({ dataDir, port, env = {} }) {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data', dataDir],
    {
      env: { ...process.env, THROUGHLINE_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let tail = '';
  const keep = (c) => {
    tail = (tail + c).slice(-TAIL_BYTES);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const srv = {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    output: () => tail,
    exitInfo: null,
    expectedExit: false,
  };
  srv.exit = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      srv.exitInfo = { code, signal };
      resolve(srv.exitInfo);
    }),
  );
  return srv;
}

/** An exit nobody asked for: a crash. */
export const crashed = (srv) => srv.exitInfo !== null && !srv.expectedExit;

/** SIGTERM and wait (SIGKILL after `graceMs`: a stop that hangs must not hang the probe). */
export async function stopServer(srv, graceMs = 30_000) {
  if (srv.exitInfo) return srv.exitInfo;
  srv.expectedExit = true;
  srv.child.kill('SIGTERM');
  const t = setTimeout(() => srv.child.kill('SIGKILL'), graceMs);
  const info = await srv.exit;
  clearTimeout(t);
  return info;
}

export async function killServer(srv) {
  if (srv.exitInfo) return srv.exitInfo;
  srv.expectedExit = true;
  srv.child.kill('SIGKILL');
  return srv.exit;
}

/** GET /health as { status, body }; null when nothing answers (not listening yet, or dead). */
export async function health(base) {
  try {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.json() };
  } catch {
    return null;
  }
}

/** Waits for `/health` 200: the collector accepts (its deduplication index is loaded). */
export async function waitHealthy(srv, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (srv.exitInfo) throw new Error(`server exited (${JSON.stringify(srv.exitInfo)}):\n${srv.output()}`);
    const h = await health(srv.base);
    if (h?.status === 200) return h.body;
    await sleep(100);
  }
  throw new Error(`server not healthy in ${timeoutMs} ms:\n${srv.output().slice(-4000)}`);
}

/**
 * Waits until DuckDB holds everything the log acknowledged and the identity graph has read it:
 * `log.lagRows` and `identity.lagRows` at 0. A loader problem reported in /health ends the wait
 * early, as a finding (acknowledged messages that cannot become queryable).
 */
export async function waitLoaded(srv, timeoutMs = 180_000) {
  const until = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < until) {
    if (srv.exitInfo) throw new Error(`server exited (${JSON.stringify(srv.exitInfo)}):\n${srv.output()}`);
    const h = await health(srv.base);
    last = h?.body ?? last;
    const log = h?.body?.log;
    const identity = h?.body?.identity;
    if (h?.status === 200 && log && log.lagRows === 0 && log.loaded >= log.head && identity?.lagRows === 0) {
      return h.body;
    }
    if (log?.problem || identity?.problem) {
      throw new Error(`pipeline problem in /health: ${JSON.stringify(h.body)}`);
    }
    await sleep(200);
  }
  throw new Error(`load lag not 0 after ${timeoutMs} ms; last /health: ${JSON.stringify(last)}`);
}

/** Creates a workspace on a data directory with the CLI (server stopped); its id and keys. */
export function createWorkspace(dataDir, name) {
  const r = spawnSync(process.execPath, [BIN, 'workspaces', 'create', name, '--data', dataDir, '--json'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`workspaces create ${name} failed:\n${r.stderr}`);
  const made = JSON.parse(r.stdout);
  const secret = (kind) => made.keys.find((k) => k.kind === kind)?.secret;
  return {
    id: made.workspace.id,
    name,
    write: secret('write'),
    admin: secret('admin'),
    keyIds: made.keys.map((k) => k.id),
  };
}

/**
 * Every stored event of the admin key's workspace, through `GET /api/events` pages of 1,000
 * (the documented way to read them all); throws on a non-200 page (a finding in itself).
 */
export async function allEvents(base, adminKey) {
  const events = [];
  let cursor = null;
  for (let page = 0; page < 100_000; page++) {
    const q = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(`${base}/api/events?${q}`, {
      headers: { authorization: `Bearer ${adminKey}` },
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET /api/events?${q} → ${res.status} ${text.slice(0, 500)}`);
    const body = JSON.parse(text);
    events.push(...body.events);
    cursor = body.nextCursor ?? null;
    if (!cursor || body.events.length === 0) return events;
  }
  throw new Error('GET /api/events: more than 100,000 pages');
}

/**
 * Compares stored messageIds with the acknowledged ones: `missing` (acknowledged, not stored),
 * `duplicated` (stored more than once), `unexpected` (stored though never acknowledged, and not
 * in doubt: sent on a connection that broke before an answer came).
 */
export function exactlyOnce(events, acked, inDoubt = new Set()) {
  const counts = new Map();
  for (const e of events) counts.set(e.messageId, (counts.get(e.messageId) ?? 0) + 1);
  const missing = [...acked].filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
  const unexpected = [...counts.keys()].filter((id) => !acked.has(id) && !inDoubt.has(id));
  const inDoubtStored = [...inDoubt].filter((id) => counts.has(id)).length;
  return {
    stored: events.length,
    distinct: counts.size,
    missing,
    duplicated,
    unexpected,
    inDoubt: inDoubt.size,
    inDoubtStored,
  };
}
