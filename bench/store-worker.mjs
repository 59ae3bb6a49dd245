// One measurement for store.bench.mjs, in its own process so CPU time and core pinning are its own.

import { openDatabase } from '../dist/store/duckdb-database.js';
import { DuckDBEventStore } from '../dist/store/duckdb-event-store.js';

const [dir, groupArg, rowsArg, checkpoint] = process.argv.slice(2);
const group = Number(groupArg);
const rows = Number(rowsArg);
const opened = await openDatabase(dir, { checkpointThreshold: checkpoint });
if (!opened.ok) throw new Error(opened.error.message);
const db = opened.value;
const store = new DuckDBEventStore(db.writer, db.reader);
const context = JSON.stringify({
  library: { name: 'analytics-node', version: '3.1.0' },
  page: { url: 'https://shop.example/checkout?utm_source=newsletter' },
});
const T = Date.UTC(2026, 10, 22);
const event = (i) => ({
  workspaceId: 'ws_benchmark',
  seq: i,
  messageId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  type: 'track',
  event: 'Order Completed',
  name: null,
  userId: `user-${i % 5000}`,
  anonymousId: null,
  groupId: null,
  previousId: null,
  timestamp: T + i,
  originalTimestamp: T + i,
  sentAt: T + i + 1000,
  receivedAt: T + i + 2000,
  ip: '127.0.0.1',
  properties: JSON.stringify({ revenue: 49.5, currency: 'EUR', sku: `SKU-${i % 100}`, category: 'books' }),
  traits: null,
  context,
  integrations: null,
  extra: null,
  fingerprint: 'aaaaaaaaaaaaaaaaaaaaaa',
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < rows; i += group) {
  await store.commit({ events: Array.from({ length: group }, (_, j) => event(i + j)), quarantine: [] });
}
const cpu = process.cpuUsage(cpu0);
const seconds = (performance.now() - t0) / 1000;
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
await store.close();
db.close();
process.stdout.write(
  JSON.stringify({
    rowsPerSecond: rows / seconds,
    rowsPerCoreSecond: rows / cpuSeconds,
    cpuMicrosPerRow: (cpuSeconds * 1e6) / rows,
  }),
);
