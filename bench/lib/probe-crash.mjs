// Part 3 of the probe: kill -9 under load. Concurrent batches with unique messageIds, SIGKILL at
// a random moment, restart on the same data directory, then the SDK's move: resend every batch
// that got no answer. Every acknowledged messageId must be stored exactly once.
import { rmSync } from 'node:fs';
import { xorshift } from './prng.mjs';
import { keepAliveAgent, send } from './probe-http.mjs';
import {
  ADMIN_KEY,
  allEvents,
  exactlyOnce,
  freePort,
  killServer,
  sleep,
  startServer,
  stopServer,
  tempDir,
  WRITE_KEY,
  waitHealthy,
  waitLoaded,
} from './probe-server.mjs';

const AUTH = {
  'content-type': 'application/json',
  authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
};
const BATCH = 50;
const WORKERS = 8;

/** A batch of `BATCH` messages with ids `k<round>-<worker>-<n>-<j>`: its ids and its request. */
function makeBatch(round, worker, n) {
  const ids = Array.from({ length: BATCH }, (_, j) => `k${round}-${worker}-${n}-${j}`);
  const batch = ids.map((id, j) => ({
    type: j % 5 === 0 ? 'identify' : 'track',
    userId: `kill-user-${(n * BATCH + j) % 300}`,
    event: 'Kill Test',
    traits: { plan: 'pro' },
    properties: { n, j },
    messageId: id,
    timestamp: '2026-05-01T12:00:00.000Z',
  }));
  return { ids, spec: { path: '/v1/batch', headers: AUTH, body: Buffer.from(JSON.stringify({ batch })) } };
}

/**
 * Marks a batch's ids acknowledged from a 200 answer (all but the indexes in `errors`); returns
 * how many were refused and how many were already stored (`duplicates`).
 */
function ackBatch(acked, ids, text) {
  const body = JSON.parse(text);
  const failed = new Set((body.errors ?? []).map((e) => e.index));
  ids.forEach((id, k) => {
    if (!failed.has(k)) acked.add(id);
  });
  return { refused: failed.size, duplicates: body.duplicates ?? 0 };
}

/** Resends a batch until it is answered 200 (503 and dropped connections are retried, as SDKs do). */
async function resend(base, b, acked, tries = 10) {
  for (let i = 0; i < tries; i++) {
    const res = await send(base, b.spec);
    if (res.status === 200) return ackBatch(acked, b.ids, res.text);
    if (res.status !== undefined && res.status < 500)
      throw new Error(`resent batch refused: ${res.status} ${res.text}`);
    await sleep(500);
  }
  throw new Error('resent batch not accepted after 10 tries');
}

export async function runCrash({ quick, seed = 9, rounds = 3, log = () => {} }) {
  const r = xorshift(seed);
  const dir = tempDir('kill');
  const port = await freePort();
  const env = { THROUGHLINE_WRITE_KEY: WRITE_KEY, THROUGHLINE_ADMIN_KEY: ADMIN_KEY };
  const acked = new Set();
  const rows = [];
  let problem = null;
  let srv = startServer({ dataDir: dir, port, env });
  try {
    await waitHealthy(srv);
    for (let round = 1; round <= rounds; round++) {
      const killAfterMs = quick ? r.between(300, 1500) : r.between(500, 4000);
      const statuses = {};
      const noAnswer = [];
      let stop = false;
      let rejectedItems = 0;
      const base = srv.base;
      const agent = keepAliveAgent(WORKERS);
      const worker = async (w) => {
        for (let n = 0; !stop; n++) {
          const b = makeBatch(round, w, n);
          const res = await send(base, b.spec, { agent, timeoutMs: 30_000 });
          const key = res.status ?? 'no answer';
          statuses[key] = (statuses[key] ?? 0) + 1;
          if (res.status === 200) rejectedItems += ackBatch(acked, b.ids, res.text).refused;
          else if (res.status === undefined || res.status >= 500) noAnswer.push(b);
          // Once the server is dead, a new request would only be refused: stop.
          if (res.status === undefined) return;
        }
      };
      const before = acked.size;
      const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      await sleep(killAfterMs);
      if (srv.exitInfo)
        throw new Error(
          `server died on its own in round ${round}: ${JSON.stringify(srv.exitInfo)}\n${srv.output().slice(-3000)}`,
        );
      await killServer(srv);
      stop = true;
      await load;
      agent.destroy();
      const ackedBeforeKill = acked.size - before;
      log(
        `kill -9 round ${round}: killed after ${killAfterMs} ms; ${ackedBeforeKill} acknowledged, ${noAnswer.length} batches unanswered`,
      );

      const t0 = performance.now();
      srv = startServer({ dataDir: dir, port, env });
      await waitHealthy(srv);
      const healthyMs = performance.now() - t0;
      await waitLoaded(srv);
      const loadedMs = performance.now() - t0;
      // A batch in flight at the kill may have been made durable before the answer was lost: its
      // resend is then answered as duplicates (stored once), which is what the SDK's retry needs.
      let resentDuplicates = 0;
      for (const b of noAnswer) {
        const got = await resend(srv.base, b, acked);
        rejectedItems += got.refused;
        resentDuplicates += got.duplicates;
      }
      await waitLoaded(srv);
      const check = exactlyOnce(await allEvents(srv.base, ADMIN_KEY), acked);
      rows.push({
        round,
        killAfterMs,
        ackedBeforeKill,
        unansweredMessages: noAnswer.length * BATCH,
        resentDuplicates,
        ackedTotal: acked.size,
        rejectedItems,
        statuses,
        healthyMs,
        loadedMs,
        ...check,
      });
    }
  } catch (e) {
    problem = e.message;
  } finally {
    await stopServer(srv);
  }
  const failed = problem || rows.some((x) => x.missing.length || x.duplicated.length || x.unexpected.length);
  if (failed) log(`kill -9: data directory kept for inspection: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return { rows, problem, dataDir: dir, batch: BATCH, workers: WORKERS };
}
