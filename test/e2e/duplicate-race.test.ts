import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { allEvents, basic, post } from '../support/http.js';
import { childServers, untilLoaded } from '../support/servers.js';

const servers = childServers();

/**
 * The race the old collector lost: a 2,400-message gzip batch carrying message X, then X alone a
 * few milliseconds later. The retry must not be acknowledged before the batch that holds the
 * original is durable — here the server is killed the moment X alone is answered, and X must be
 * there after the restart.
 */
describe('a duplicate is acknowledged only once its original is durable', () => {
  it('keeps X after kill -9 right after its retry was answered, round after round', async () => {
    const dir = servers.dir();
    const acked: string[] = [];
    let duplicatesAnswered = 0;
    // The retry must land while the batch is between its dedup check and its sync: delays spread
    // over the time the batch takes here to be read and validated.
    const delays = [5, 15, 25, 40, 60, 90];
    for (let round = 0; round < delays.length; round++) {
      const s = await servers.start(dir, { THROUGHLINE_LOG_LEVEL: 'error' });
      const x = { type: 'track', userId: 'racer', event: 'Race', messageId: `race-${round}` };
      const batch = Array.from({ length: 2400 }, (_, i) =>
        i === 1200 ? x : { type: 'track', userId: `u${i}`, event: 'Filler', messageId: `f-${round}-${i}` },
      );
      const body = gzipSync(JSON.stringify({ batch }));
      const sending = post(s.url, '/v1/batch', body, {
        authorization: basic(),
        'content-encoding': 'gzip',
      }).catch(() => null);
      await new Promise((r) => setTimeout(r, delays[round]));
      const single = await post(s.url, '/v1/track', x).catch(() => null);
      s.child.kill('SIGKILL');
      await sending;
      await s.exited;
      if (single?.status === 200) {
        acked.push(x.messageId);
        if (single.json.duplicate) duplicatesAnswered++;
      }
    }
    const last = await servers.start(dir);
    await untilLoaded(last.url);
    const stored = new Set((await allEvents(last.url, 'event=Race')).map((e) => e.messageId as string));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    expect(acked.length).toBeGreaterThan(0);
    // The race itself happened: some retries were answered as duplicates of the batch's copy.
    expect(duplicatesAnswered).toBeGreaterThan(0);
  }, 120_000);
});
