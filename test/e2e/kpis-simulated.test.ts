import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSimConfig, SCENARIOS } from '../../src/sim/sim-config.js';
import { Simulation } from '../../src/sim/simulate.js';
import { adminApi, type Json } from '../support/http.js';
import { workspacesFor } from '../support/peer-cases.js';
import { removeDir, startTestServer, type TestServer } from '../support/servers.js';

// Each simulator scenario at a small size, imported as `throughline import` streams it to a
// server (POST /api/import): every KPI is a finite number, or null with the reason an input is
// missing (no ad spend in the simulated data, no accounts in the consumer scenarios).

let s: TestServer;
let dir: string;
let keys: Map<string, { write: string; admin: string }>;
const DAY = 86_400_000;
const ranges = new Map<string, { from: string; to: string }>();

beforeAll(async () => {
  const made = await workspacesFor(SCENARIOS);
  dir = made.dir;
  keys = made.keys;
  s = await startTestServer(dir);
  for (const scenario of SCENARIOS) {
    const config = resolveSimConfig(scenario, { people: 150, seed: 3 });
    if (!config.ok) throw new Error(config.error);
    const sim = new Simulation(config.value);
    const lines: string[] = [];
    for (const unit of sim.units()) for (const m of unit.messages) lines.push(m.line);
    const admin = keys.get(scenario)?.admin;
    if (scenario === 'ecommerce') {
      const r = await adminApi(s.url, 'PUT', '/api/journey/settings', { stagePreset: 'ecommerce' }, admin);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }
    const res = await fetch(`${s.url}/api/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n'),
    });
    expect(res.status).toBe(200);
    // The second half of the simulated period: customers exist at its start.
    const start = Date.parse(`${config.value.start}T00:00:00Z`);
    ranges.set(scenario, {
      from: new Date(start + (config.value.days / 2) * DAY).toISOString(),
      to: new Date(start + config.value.days * DAY).toISOString(),
    });
  }
}, 300_000);

afterAll(async () => {
  await s?.close();
  if (dir) removeDir(dir);
});

async function kpis(scenario: string): Promise<Json> {
  const range = ranges.get(scenario);
  const end = Date.now() + 120_000;
  for (;;) {
    const r = await adminApi(
      s.url,
      'GET',
      `/api/kpis?from=${range?.from}&to=${range?.to}`,
      undefined,
      keys.get(scenario)?.admin,
    );
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    if (r.json.freshness.current) return r.json;
    if (Date.now() > end) throw new Error('the journey tables never became current');
    await new Promise((res) => setTimeout(res, 250));
  }
}

describe.each(SCENARIOS)('KPIs on the %s simulation', (scenario) => {
  it('every KPI is a finite number or an explained null', async () => {
    const r = await kpis(scenario);
    expect(r.kpis).toHaveLength(14);
    for (const k of r.kpis) {
      if (k.value === null) expect(k.missing, k.metric).toMatch(/\w/);
      else expect(Number.isFinite(k.value), `${k.metric} ${k.value}`).toBe(true);
    }
    const value = (m: string) => r.kpis.find((k: Json) => k.metric === m).value;
    // What each scenario surely has: active persons who convert, and stages.
    expect(value('conversion-rate')).toBeGreaterThan(0);
    expect(value('retention')).toBeGreaterThan(0);
    if (scenario !== 'ecommerce') expect(value('nrr')).toBeGreaterThan(0);
    if (scenario === 'b2b-saas') {
      expect(value('touchpoints-per-deal')).toBeGreaterThan(0);
      expect(value('nps')).not.toBeNull();
      expect(value('csat')).not.toBeNull();
    }
    expect(value('cac')).toBeNull(); // the simulator reports no ad spend
  });
});
