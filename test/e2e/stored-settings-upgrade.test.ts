import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBJourneyStore } from '../../src/store/duckdb-journey-store.js';
import { adminApi, post } from '../support/http.js';
import { removeDir, startTestServer, type TestServer, tempDir } from '../support/servers.js';

/**
 * Settings saved by an older version with a regex that RE2 refuses (lookahead ran under
 * JavaScript's engine) must not turn every journey read into an error after an upgrade.
 */
describe('stored journey settings that no longer compile', () => {
  let s: TestServer;
  beforeAll(async () => {
    const dir = tempDir();
    await (await startTestServer(dir)).close();
    const db = await openDatabase(dir);
    if (!db.ok) throw new Error(db.error.message);
    const ws = (await db.value.reader.runAndReadAll('SELECT id FROM workspaces LIMIT 1')).getRowsJS()[0]?.[0];
    const old = {
      channels: {
        rules: [{ channel: 'Paid', when: { field: 'utm_medium', op: 'regex', value: '^(?=cpc)' } }],
      },
    };
    await new DuckDBJourneyStore(db.value.writer, db.value.reader).saveSettings(String(ws), old, Date.now());
    db.value.close();
    s = await startTestServer(dir);
  });
  afterAll(async () => {
    await s.close();
    removeDir(s.dataDir);
  });

  it('applies the defaults and says why, and journeys still answer', async () => {
    const settings = await adminApi(s.url, 'GET', '/api/journey/settings');
    expect(settings.status).toBe(200);
    expect(settings.json.problem).toMatch(/no longer valid.*regex/i);
    await post(s.url, '/v1/track', { type: 'track', userId: 'up-1', event: 'Signed Up' });
    const journey = await adminApi(
      s.url,
      'GET',
      `/api/persons/${encodeURIComponent('user_id:up-1')}/journey`,
    );
    expect(journey.status).toBe(200);
  });
});
