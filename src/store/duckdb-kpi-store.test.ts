import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KPI_METRICS, parseKpiQuery } from '../core/analytics/kpi-query.js';
import { type KpiSection, SECTIONS_OF } from '../core/analytics/kpis.js';
import { type Database, openDatabase } from './duckdb-database.js';
import { DuckDBKpiStore } from './duckdb-kpi-store.js';

// Every section's SQL runs on a real (empty) DuckDB with the migrations applied: what the
// fixtures of test/e2e/kpis.test.ts check through the API, this checks compiles and is empty.
let db: Database;
beforeAll(async () => {
  const opened = await openDatabase(':memory:');
  if (!opened.ok) throw new Error(opened.error.message);
  db = opened.value;
});
afterAll(() => db?.close());

describe('DuckDBKpiStore', () => {
  const sections = [...new Set(KPI_METRICS.flatMap((m) => SECTIONS_OF[m]))];
  it.each(sections)('section %s runs on empty tables', async (section) => {
    const q = parseKpiQuery({ from: '2026-01-01', to: '2026-02-01' }, Date.now());
    if (!q.ok) throw new Error(q.error.message);
    const store = new DuckDBKpiStore(db.reader);
    const out = await store.inputs('ws', q.value, new Set<KpiSection>([section]), {
      conversions: ['Signed Up'],
      stageOrder: ['awareness', 'lead', 'customer'],
    });
    expect(out[section]).toBeDefined();
  });
});
