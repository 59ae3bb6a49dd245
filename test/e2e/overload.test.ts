import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, post } from '../support/http.js';
import { removeDir, startTestServer, type TestServer } from '../support/servers.js';

let s: TestServer;
beforeAll(async () => {
  // A small backlog limit and a long commit interval, so the backlog builds up quickly.
  s = await startTestServer(undefined, {
    THROUGHLINE_MAX_PENDING_ROWS: '1000',
    THROUGHLINE_COMMIT_INTERVAL_MS: '80',
  });
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

describe('under overload', () => {
  it('answers 503 with Retry-After, and keeps every message it acknowledged', async () => {
    const batch = (r: number) => ({
      batch: Array.from({ length: 600 }, (_, i) => ({
        type: 'track',
        userId: `o${r}`,
        event: 'Load',
        messageId: `o-${r}-${i}`,
      })),
    });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, r) => post(s.url, '/v1/batch', batch(r))),
    );
    const refused = results.filter((r) => r.status === 503);
    const accepted = results.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.json.error.code).toBe('overloaded');
    }
    expect(await allEvents(s.url, 'event=Load')).toHaveLength(accepted.length * 600);
  });
});
