import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDirs } from '../support/cli.js';
import { type Json, post } from '../support/http.js';
import { ADMIN_KEY, startTestServer } from '../support/servers.js';

const fresh = tempDirs();

async function api(url: string, method: string, path: string): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  return { status: res.status, json: await res.json() };
}
const ref = encodeURIComponent;

describe('the identity graph across restarts', () => {
  it('keeps persons, operations and person ids; new events join the restored graph', async () => {
    const dir = fresh();
    let s = await startTestServer(dir);
    const batch = [
      { type: 'identify', userId: 'u1', anonymousId: 'a1', traits: { email: 'u1@x.io' }, messageId: 'r-1' },
      {
        type: 'identify',
        userId: 'u2',
        anonymousId: 'shared',
        messageId: 'r-2',
        timestamp: '2026-01-01T00:00:00Z',
      },
      {
        type: 'identify',
        userId: 'u3',
        anonymousId: 'shared',
        messageId: 'r-3',
        timestamp: '2026-01-02T00:00:00Z',
      },
    ];
    await post(s.url, '/v1/batch', { batch });
    const before = (await api(s.url, 'GET', `/api/persons/${ref('email:u1@x.io')}`)).json;
    // An anonymous visitor's person id, then the visitor signs in: the id moves to the user's.
    await post(s.url, '/v1/batch', {
      batch: [{ type: 'page', anonymousId: 'visitor', name: 'Home', messageId: 'r-5' }],
    });
    const anonymous = (await api(s.url, 'GET', `/api/persons/${ref('anonymous_id:visitor')}`)).json.id;
    await post(s.url, '/v1/batch', {
      batch: [{ type: 'identify', anonymousId: 'visitor', userId: 'u9', messageId: 'r-6' }],
    });
    const signedIn = (await api(s.url, 'GET', `/api/persons/${anonymous}`)).json;
    expect(signedIn.id).not.toBe(anonymous);
    expect(signedIn.redirectedFrom).toBe(anonymous);
    expect((await api(s.url, 'POST', `/api/identifiers/${ref('anonymous_id:shared')}/untrust`)).status).toBe(
      200,
    );
    await s.close();

    s = await startTestServer(dir);
    try {
      const after = (await api(s.url, 'GET', `/api/persons/${ref('email:u1@x.io')}`)).json;
      expect(after.id).toBe(before.id);
      expect(after.identifiers).toEqual(before.identifiers);
      expect((await api(s.url, 'GET', `/api/persons/${before.id}`)).json.id).toBe(before.id);
      // Old ids still resolve after a restart.
      expect((await api(s.url, 'GET', `/api/persons/${anonymous}`)).json).toMatchObject({
        id: signedIn.id,
        redirectedFrom: anonymous,
      });
      expect((await api(s.url, 'GET', '/api/persons/p_00000000000000000000')).status).toBe(404);
      const u2 = (await api(s.url, 'GET', `/api/persons/${ref('user_id:u2')}`)).json;
      expect(u2.identifiers).toEqual([{ type: 'user_id', value: 'u2' }]);
      expect((await api(s.url, 'GET', '/api/identity/operations')).json.operations).toHaveLength(1);
      await post(s.url, '/v1/batch', {
        batch: [{ type: 'track', anonymousId: 'a2', userId: 'u1', event: 'X', messageId: 'r-4' }],
      });
      const grown = (await api(s.url, 'GET', `/api/persons/${ref('anonymous_id:a2')}`)).json;
      expect(grown.id).toBe(before.id);
      expect(grown.eventCount).toBe(2);
    } finally {
      await s.close();
    }
  });

  // Seven CLI processes in a row, each opening the database: on a loaded 2-core CI machine that
  // alone can pass the default 30 s.
  it('catches up with events imported while no server ran; `person` shows them', async () => {
    const dir = fresh();
    const file = join(fresh(), 'in.ndjson');
    writeFileSync(
      file,
      [
        {
          type: 'page',
          anonymousId: 'imp-a',
          name: 'Home',
          messageId: 'i-1',
          timestamp: '2026-02-01T10:00:00Z',
        },
        {
          type: 'identify',
          anonymousId: 'imp-a',
          userId: 'imp-u',
          traits: { email: 'Imp@X.io', plan: 'pro' },
          messageId: 'i-2',
          timestamp: '2026-02-01T10:05:00Z',
        },
        {
          type: 'track',
          userId: 'imp-u',
          event: 'Order Completed',
          properties: { revenue: 12 },
          messageId: 'i-3',
          timestamp: '2026-02-02T10:00:00Z',
        },
      ]
        .map((m) => JSON.stringify(m))
        .join('\n'),
    );
    const imported = cli(['import', file, '--data', dir, '--json']);
    expect(imported.code, imported.stderr).toBe(0);

    const shown = cli(['person', 'email:imp@x.io', '--data', dir, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const out = JSON.parse(shown.stdout);
    expect(out.profile.identifiers.map((i: Json) => i.value)).toEqual(['imp-u', 'imp@x.io', 'imp-a']);
    expect(out.profile.traits.plan).toBe('pro');
    expect(out.profile.lifetimeRevenue).toBe(12);
    expect(out.timeline.map((e: Json) => e.messageId)).toEqual(['i-3', 'i-2', 'i-1']);
    const human = cli(['person', 'user_id:imp-u', '--data', dir]);
    expect(human.stdout).toMatch(/Identifiers\s+user_id:imp-u {2}email:imp@x.io {2}anonymous_id:imp-a/);
    expect(human.stdout).toMatch(/Order Completed/);

    const refused = cli(['person', 'delete', 'user_id:imp-u', '--data', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/run again with --yes/);
    const deleted = cli([
      'person',
      'delete',
      'user_id:imp-u',
      '--data',
      dir,
      '--yes',
      '--suppress',
      '--json',
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout).deleted.events).toBe(3);
    expect(JSON.parse(deleted.stdout).suppressed).toBe(3);
    // Importing the same file again: the deleted person's lines are dropped, not stored.
    const reimport = JSON.parse(cli(['import', file, '--data', dir, '--json']).stdout);
    expect(reimport).toMatchObject({ suppressed: 3, inserted: 0 });

    const gone = cli(['person', 'email:imp@x.io', '--data', dir]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no person has email "imp@x.io"/);
  }, 120_000);
});
