import { afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/core/spec/message.js';
import { IdentityService, type PersonEvent } from '../../src/services/identity-service.js';
import { PersonService } from '../../src/services/person-service.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBIdentityStore } from '../../src/store/duckdb-identity-store.js';
import { removeDir, tempDir } from '../support/servers.js';

const clock = {
  now: () => Date.UTC(2026, 0, 10),
  sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
};
const opened: Database[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

async function service(dir: string) {
  const r = await openDatabase(dir);
  if (!r.ok) throw new Error(r.error.message);
  opened.push(r.value);
  const identity = new IdentityService(new DuckDBIdentityStore(r.value.identity, r.value.reader), clock, {
    flushIntervalMs: 5,
  });
  await identity.start();
  return { db: r.value, identity, persons: new PersonService(identity) };
}

let seq = 0;
const ev = (p: Partial<StoredEvent>): StoredEvent => ({
  workspaceId: 'w',
  seq: ++seq,
  messageId: `m${seq}`,
  type: 'track',
  event: 'E',
  name: null,
  userId: null,
  anonymousId: null,
  groupId: null,
  previousId: null,
  timestamp: Date.UTC(2026, 0, 1) + seq * 1000,
  originalTimestamp: null,
  sentAt: null,
  receivedAt: Date.UTC(2026, 0, 1) + seq * 1000,
  ip: null,
  properties: null,
  traits: null,
  context: null,
  integrations: null,
  extra: null,
  fingerprint: 'f',
  ...p,
});

describe('IdentityService on a real DuckDB', () => {
  it('publishes person changes as person ids, and persists what it derived with its progress', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { identity, persons, db } = await service(dir);
    const seen: PersonEvent[] = [];
    identity.onChange((c) => seen.push(...c));
    // The events must exist for the timeline; the service only files them.
    const events = [
      ev({ type: 'page', anonymousId: 'a1' }),
      ev({ type: 'identify', anonymousId: 'a1', userId: 'u1' }),
    ];
    await db.writer.run(`INSERT INTO events (workspace_id, seq, message_id, type, timestamp, received_at, fingerprint)
      VALUES ${events.map((e) => `('w', ${e.seq}, '${e.messageId}', '${e.type}', make_timestamp(${e.timestamp * 1000}), now(), 'f')`).join(',')}`);
    identity.process(events);
    const u1 = persons.resolveIdentifier('w', 'user_id:u1');
    if (!u1.ok) throw new Error(u1.error);
    const a1Person = seen[0];
    expect(a1Person).toMatchObject({ kind: 'created', workspaceId: 'w' });
    expect(seen).toContainEqual({
      kind: 'merged',
      workspaceId: 'w',
      personId: u1.value.personId,
      from: expect.arrayContaining([(a1Person as { personId: string }).personId]),
    });
    await identity.flush();
    const progress = await db.reader.runAndReadAll('SELECT processed_seq::INTEGER FROM identity_progress');
    expect(progress.getRowsJS()[0]?.[0]).toBe(events[1]!.seq);
    const page = await persons.timeline(u1.value.members, { limit: 10, order: 'asc' });
    expect(page.ok && page.value.events.map((e) => e.messageId)).toEqual(
      ['m1', 'm2'].map((_, i) => events[i]!.messageId),
    );
    // Reprocessing what was already processed (a replayed commit) changes nothing.
    identity.process(events);
    await identity.flush();
    expect(
      (await db.reader.runAndReadAll('SELECT count(*)::INTEGER FROM event_identity')).getRowsJS()[0]?.[0],
    ).toBe(2);
  });

  it('rebuilds the same persons from its log after a restart', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const first = await service(dir);
    first.identity.process([
      ev({ type: 'identify', userId: 'x', anonymousId: 'd1', traits: '{"email":"x@y.io"}' }),
      ev({ type: 'identify', userId: 'z', anonymousId: 'd1' }),
      ev({ type: 'track', anonymousId: 'd2', userId: 'z' }),
    ]);
    await first.identity.drain();
    const before = ['user_id:x', 'user_id:z', 'anonymous_id:d1', 'anonymous_id:d2'].map((r) =>
      first.persons.resolveIdentifier('w', r),
    );
    first.db.close();
    opened.splice(opened.indexOf(first.db), 1);
    const second = await service(dir);
    const after = ['user_id:x', 'user_id:z', 'anonymous_id:d1', 'anonymous_id:d2'].map((r) =>
      second.persons.resolveIdentifier('w', r),
    );
    expect(after.map((r) => r.ok && r.value.personId)).toEqual(before.map((r) => r.ok && r.value.personId));
    expect(after.map((r) => r.ok && r.value.members.length)).toEqual([3, 2, 3, 2]);
  });
});
