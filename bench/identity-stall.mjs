// The identity-replay stall (issue 12), run by hand after `npm run build`:
//   node bench/identity-stall.mjs [batches=19] [perBatch=500]
// (or against another build: THROUGHLINE_DIST=/path/to/dist; it needs node_modules above it).
// Batches of identify calls share one anonymous id, each with its own user id and a random
// timestamp in the last 10 days (so nearly every call is late for its region). Prints the total
// time and the longest single synchronous call, first into the graph alone, then through the
// identity pipeline's log-consumer entry point (`handle`), with the event loop's longest stalls.
const dist = process.env.THROUGHLINE_DIST ?? new URL('../dist', import.meta.url).pathname;
const { IdentityGraph } = await import(`${dist}/core/identity/identity-graph.js`);
const { CompiledRules, DEFAULT_RULES } = await import(`${dist}/core/identity/identity-rules.js`);
const { resolveEvent } = await import(`${dist}/core/identity/resolve-event.js`);
const { IdentityService } = await import(`${dist}/services/identity-service.js`);

const BATCHES = Number(process.argv[2] ?? 19);
const PER_BATCH = Number(process.argv[3] ?? 500);
const NOW = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;

/** Deterministic pseudo-random numbers (mulberry32), so runs compare. */
function random(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hostileEvents() {
  const rnd = random(12);
  const out = [];
  for (let i = 1; i <= BATCHES * PER_BATCH; i++) {
    const at = NOW - Math.floor(rnd() * 10 * DAY);
    out.push({
      workspaceId: 'hostile',
      seq: i,
      messageId: `m${i}`,
      type: 'identify',
      event: null,
      name: null,
      userId: `user-${i}`,
      anonymousId: 'shared-anon',
      groupId: null,
      previousId: null,
      timestamp: at,
      originalTimestamp: null,
      sentAt: null,
      receivedAt: NOW,
      ip: null,
      properties: null,
      traits: null,
      context: null,
      integrations: null,
      extra: null,
      fingerprint: 'f',
    });
  }
  return out;
}

function graphAlone(events) {
  const g = new IdentityGraph(new CompiledRules(DEFAULT_RULES));
  let longest = 0;
  const t0 = performance.now();
  for (const e of events) {
    const t = performance.now();
    resolveEvent(g, e);
    longest = Math.max(longest, performance.now() - t);
  }
  return { totalMs: performance.now() - t0, longestMs: longest };
}

const nullStore = {
  append: async () => undefined,
  appendOp: async () => undefined,
};

async function throughPipeline(events) {
  const clock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => (ms <= 0 ? setImmediate(r) : setTimeout(r, ms))),
  };
  const identity = new IdentityService(nullStore, clock, { flushIntervalMs: 50 });
  // The longest stretch without an event-loop turn, seen by a 1 ms ticker.
  const stalls = [];
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    stalls.push(now - last);
    last = now;
  }, 1);
  let longest = 0;
  const t0 = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    const records = events
      .slice(b * PER_BATCH, (b + 1) * PER_BATCH)
      .map((e) => ({ kind: 'event', seq: e.seq, event: e }));
    const t = performance.now();
    const pending = identity.handle(records);
    longest = Math.max(longest, performance.now() - t);
    await pending;
    // Let the ticker run between batches, as requests would.
    await new Promise((r) => setTimeout(r, 2));
  }
  const totalMs = performance.now() - t0;
  clearInterval(ticker);
  await identity.drain();
  stalls.sort((a, b) => b - a);
  return { totalMs, longestHandleMs: longest, stalls: stalls.slice(0, 5) };
}

const events = hostileEvents();
const fmt = (n) => `${n.toFixed(1)} ms`;
const g = graphAlone(events);
console.log(`${BATCHES}×${PER_BATCH} identifies, one shared anonymous id`);
console.log(`graph alone:   total ${fmt(g.totalMs)}, longest resolveEvent ${fmt(g.longestMs)}`);
const p = await throughPipeline(events);
console.log(
  `handle(batch): total ${fmt(p.totalMs)}, longest synchronous handle ${fmt(p.longestHandleMs)}, longest event-loop stalls ${p.stalls.map(fmt).join(', ')}`,
);
