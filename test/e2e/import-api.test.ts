import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestServer, type TestServer } from '../support/servers.js';

describe('POST /api/import content types', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.close();
  });

  const lines = [
    { type: 'track', messageId: 'imp-json-1', userId: 'u-imp', event: 'Imported' },
    { type: 'identify', messageId: 'imp-json-2', userId: 'u-imp', traits: { plan: 'pro' } },
  ]
    .map((m) => JSON.stringify(m))
    .join('\n');

  for (const type of ['application/json', 'application/x-ndjson', 'text/plain']) {
    it(`streams a body labelled ${type} as NDJSON`, async () => {
      const res = await fetch(`${s.url}/api/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': type },
        body: lines,
      });
      expect(res.status).toBe(200);
      const stats = (await res.json()) as { lines: number; inserted: number; duplicates: number };
      expect(stats.lines).toBe(2);
      expect(stats.inserted + stats.duplicates).toBe(2);
    });
  }
});
