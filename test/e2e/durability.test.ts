import { describe, expect, it } from 'vitest';
import { allEvents, post } from '../support/http.js';
import { type ChildServer, childServers } from '../support/servers.js';

const servers = childServers();

async function start(dir: string): Promise<ChildServer> {
  const s = await servers.start(dir);
  return s;
}

describe('a 200 means durable', () => {
  it('every acknowledged message survives kill -9, and deduplication survives the restart', async () => {
    const dir = servers.dir();
    const first = await start(dir);

    const acked: Array<{ messageId: string; body: object; path: string }> = [];
    let killed = false;
    const TARGET = 3000;
    // Several concurrent senders mixing single calls and batches, until the kill.
    const sender = async (w: number) => {
      for (let i = 0; !killed; i++) {
        const batch = i % 3 === 0;
        const msgs = Array.from({ length: batch ? 50 : 1 }, (_, j) => ({
          type: 'track',
          messageId: `w${w}-${i}-${j}`,
          userId: `u${w}`,
          event: 'Durable',
          properties: { i, j },
        }));
        const path = batch ? '/v1/batch' : '/v1/track';
        const body = batch ? { batch: msgs } : msgs[0]!;
        let status: number;
        try {
          status = (await post(first.url, path, body)).status;
        } catch {
          return; // connection cut by the kill: not acknowledged, so no promise was made
        }
        if (killed) return;
        expect(status).toBe(200);
        for (const m of msgs) acked.push({ messageId: m.messageId, body: m, path: '/v1/track' });
        if (acked.length >= TARGET) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(sender));
    expect(await first.exited).toBeNull(); // died by signal, no clean shutdown
    expect(acked.length).toBeGreaterThanOrEqual(TARGET);

    const second = await start(dir);
    const stored = new Set((await allEvents(second.url, 'event=Durable')).map((e) => e.messageId as string));
    const lost = acked.filter((a) => !stored.has(a.messageId));
    expect(lost).toEqual([]);

    // Re-sending acknowledged messages after the restart is recognised as duplicates.
    const sample = acked.filter((_, i) => i % 97 === 0);
    for (const a of sample) {
      const res = await post(second.url, '/v1/track', a.body);
      expect(res.json).toEqual({ success: true, duplicate: true });
    }
    const after = await allEvents(second.url, 'event=Durable');
    expect(after.length).toBe(stored.size);
  });

  it('SIGTERM flushes, closes the database and exits 0', async () => {
    const dir = servers.dir();
    const s = await start(dir);
    const sends = Array.from({ length: 20 }, (_, i) =>
      post(s.url, '/v1/track', { userId: 'term', event: 'Before Stop', messageId: `t-${i}` }),
    );
    const results = await Promise.all(sends);
    expect(results.every((r) => r.status === 200)).toBe(true);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    const again = await start(dir);
    expect(await allEvents(again.url, 'userId=term')).toHaveLength(20);
  });
});
