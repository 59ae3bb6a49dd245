import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';
import { adminApi, type Json, post } from '../support/http.js';
import { ADMIN_KEY, removeDir, startTestServer, type TestServer } from '../support/servers.js';

// `throughline paths` through a running server's API and on the data directory itself: the
// same map either way. Three persons: a, b: Home → Pricing → Signup; c: Home → Docs.
let s: TestServer | undefined;
let dir: string;
const T = Date.UTC(2026, 2, 2, 10);
const RANGE = ['--from', '2026-03-01', '--to', '2026-03-05'];
/** The server holds the data directory's database: the command goes through its API. */
const remote = () => ['--data', dir, '--url', s!.url, '--admin-key', ADMIN_KEY];

beforeAll(async () => {
  s = await startTestServer();
  dir = s.dataDir;
  const journeys: Record<string, string[]> = {
    a: ['/', '/pricing/', '/signup'],
    b: ['/', '/pricing', '/signup'],
    c: ['/', '/docs'],
  };
  const batch = Object.entries(journeys).flatMap(([userId, pages], p) =>
    pages.map((path, i) => ({
      type: 'page',
      userId,
      context: { page: { url: `https://example.test${path}` } },
      timestamp: new Date(T + p * 3_600_000 + i * 120_000).toISOString(),
    })),
  );
  expect((await post(s.url, '/v1/batch', { batch })).status).toBe(200);
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await adminApi(s.url, 'POST', '/api/analytics/paths', { from: '2026-03-01T00:00:00Z' });
    if (r.json.total === 3) break;
    if (Date.now() > end) throw new Error(`the map never held the events: ${JSON.stringify(r.json)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 60_000);

afterAll(async () => {
  await s?.close();
  removeDir(dir);
});

describe('throughline paths', () => {
  let remoteJson: Json;

  it('prints the top edges with bars through the server', async () => {
    const r = await cliAsync(['paths', '--item', 'page', ...RANGE, ...remote()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('Journey map of pages — 3 persons, 3 edges');
    expect(lines.find((l) => l.includes('1_/ → 2_/pricing'))).toMatch(/ 2 +█{24} +2m$/);
    expect(lines.find((l) => l.includes('2_/pricing → 3_/signup'))).toMatch(/ 2 +█{24} +2m$/);
    expect(lines.find((l) => l.includes('1_/ → 2_/docs'))).toMatch(/ 1 +█{12} +2m$/);
    expect(r.stdout).toContain('3 persons ended before the step limit (drop-off).');
    const json = await cliAsync(['paths', '--item', 'page', ...RANGE, '--json', ...remote()]);
    remoteJson = JSON.parse(json.stdout);
    expect(remoteJson.edges.map((e: Json) => `${e.source}>${e.target}:${e.value}`)).toEqual([
      '1_/>2_/pricing:2',
      '2_/pricing>3_/signup:2',
      '1_/>2_/docs:1',
    ]);
  });

  it('writes CSV, reads --query files (flags on top), and names a bad query', async () => {
    const file = join(dir, 'query.json');
    writeFileSync(
      file,
      JSON.stringify({ item: 'page', startPoint: '/pricing', from: '2026-03-01T00:00:00Z' }),
    );
    const r = await cliAsync(['paths', '--query', file, '--csv', '--steps', '2', ...remote()]);
    expect(r.stdout).toBe('source,target,value,average_conversion_time_ms\n1_/pricing,2_/signup,2,120000\n');
    const bad = await cliAsync(['paths', '--steps', '1', ...remote()]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('throughline: stepLimit: at least 2\n');
  });

  it('gives the same map on the data directory itself (no server)', async () => {
    await s!.close();
    s = undefined;
    const r = await cliAsync(['paths', '--item', 'page', ...RANGE, '--json', '--data', dir]);
    expect(r.stderr).toBe('');
    const local = JSON.parse(r.stdout);
    expect(local.edges).toEqual(remoteJson.edges);
    expect(local.nodes).toEqual(remoteJson.nodes);
  });
});
