import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { workspaceIdOf } from '../../src/cli/keys.command.js';
import type { LocalStore } from '../../src/cli/local-or-remote.js';
import { openLocal } from '../../src/main.js';
import { linesAsRows } from '../../src/services/import-service.js';
import { removeDir, tempDir } from '../support/servers.js';

/**
 * A merge that the journey tables never heard of — the process that made it ended before it
 * passed the change on, as a crash would — is taken in when the data directory is opened again:
 * the person's journey then holds both identifiers' events, read from the tables.
 */

const dir = tempDir();
let local: LocalStore | undefined;
afterAll(async () => {
  await local?.close();
  removeDir(dir);
});

async function open(): Promise<{ local: LocalStore; ws: string }> {
  const opened = await openLocal(dir);
  if (!opened.ok) throw new Error(opened.error.message);
  await opened.value.workspaces.start({});
  return { local: opened.value, ws: await workspaceIdOf(opened.value.workspaces, 'default') };
}

const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15';
const EVENTS = [
  {
    type: 'page',
    anonymousId: 'a1',
    messageId: 'm1',
    timestamp: '2026-03-02T12:00:00.000Z',
    context: { userAgent: UA, page: { url: 'https://shop.example/?utm_source=newsletter&utm_medium=email' } },
  },
  { type: 'track', userId: 'u1', messageId: 'm2', event: 'Signed Up', timestamp: '2026-03-03T12:00:00.000Z' },
];

describe('identity changes the journey tables missed', () => {
  it('are found when the data directory is opened again, before a journey read answers', async () => {
    let { local: first, ws } = await open();
    local = first;
    const { imports, run } = await first.importer();
    await run(async () => {
      async function* lines() {
        yield EVENTS.map((e) => JSON.stringify(e));
      }
      await imports.importRows(linesAsRows(lines()), { workspaceId: ws, importId: randomUUID() });
    });
    let people = await first.people();
    await people.journeyTables.rebuild(ws);
    const resolve = async (ref: string) => {
      const p = await people.persons.resolve(ws, ref);
      if (!p.ok) throw new Error(p.error);
      return p.value;
    };
    const u1 = await resolve('user_id:u1');
    expect((await people.journeyTables.journeyOf(ws, u1.anchor, Date.now()))?.touchpoints).toEqual([]);

    // The merge, then the process ends before any catch-up passed it on to the journey tables.
    const merged = await people.admin.merge(ws, u1, await resolve('anonymous_id:a1'), 'same person');
    expect(merged.ok).toBe(true);
    await first.close();

    ({ local: first, ws } = await open());
    local = first;
    people = await first.people();
    const after = await resolve('user_id:u1');
    expect(people.journeyTables.isCurrent(ws)).toBe(true);
    const journey = await people.journeyTables.journeyOf(ws, after.anchor, Date.now());
    expect(journey?.touchpoints.map((t) => t.channel)).toEqual(['Email']);
    expect(journey?.steps.map((s) => s.event ?? s.type)).toEqual(['page', 'Signed Up']);
  }, 120_000);
});
