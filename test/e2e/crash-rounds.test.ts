import { describe, expect, it } from 'vitest';
import { allEvents, post } from '../support/http.js';
import { childServers, untilLoaded } from '../support/servers.js';

const servers = childServers();

/**
 * kill -9 at random points of the cycle — during group writes, while the loader has a segment
 * in flight, between a load and the next — round after round on one data directory, with
 * retries of unacknowledged messages as SDKs send them: every acknowledged message is in DuckDB
 * exactly once at the end, and nothing unacknowledged is half-loaded.
 */
describe('kill -9 at random points, many rounds', () => {
  it('keeps every acknowledged message exactly once', async () => {
    const dir = servers.dir();
    const acked = new Set<string>();
    const ROUNDS = 6;
    // A deterministic spread of kill delays (ms after the load starts), so failures reproduce.
    const delays = [35, 420, 180, 900, 90, 650];
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const s = await servers.start(dir, { THROUGHLINE_LOG_LEVEL: 'error' });
      let killed = false;
      const sender = async (w: number) => {
        for (let i = 0; !killed; i++) {
          const batch = Array.from({ length: 40 }, (_, j) => ({
            type: 'track',
            messageId: `r${round}-w${w}-${i}-${j}`,
            userId: `u${w}`,
            event: 'Crash Round',
          }));
          let status = 0;
          try {
            status = (await post(s.url, '/v1/batch', { batch })).status;
          } catch {
            return;
          }
          if (killed) return;
          if (status === 200) for (const m of batch) acked.add(m.messageId);
          next++;
        }
      };
      const senders = [0, 1, 2, 3].map(sender);
      await new Promise((r) => setTimeout(r, delays[round % delays.length]));
      killed = true;
      s.child.kill('SIGKILL');
      await Promise.all(senders);
      expect(await s.exited).toBeNull();
    }
    expect(acked.size).toBeGreaterThan(0);
    const last = await servers.start(dir);
    await untilLoaded(last.url);
    const stored = (await allEvents(last.url, 'event=Crash%20Round')).map((e) => e.messageId as string);
    const counts = new Map<string, number>();
    for (const id of stored) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    const lost = [...acked].filter((id) => !counts.has(id));
    expect(twice).toEqual([]);
    expect(lost).toEqual([]);
    // Every stored message was sent; unacknowledged ones may be stored, but never in part.
    const unacked = stored.filter((id) => !acked.has(id));
    const byBatch = new Map<string, number>();
    for (const id of unacked) {
      const key = id.slice(0, id.lastIndexOf('-'));
      byBatch.set(key, (byBatch.get(key) ?? 0) + 1);
    }
    for (const [, n] of byBatch) expect(n).toBe(40);
    expect(next).toBeGreaterThan(0);
  }, 120_000);
});
