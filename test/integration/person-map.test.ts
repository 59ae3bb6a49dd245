import { afterEach, describe, expect, it } from 'vitest';
import { personIdOf } from '../../src/core/identity/person-id.js';
import { foldTraits } from '../../src/core/identity/profile.js';
import type { JsonObject, StoredEvent } from '../../src/core/spec/message.js';
import { IdentityService } from '../../src/services/identity-service.js';
import { PersonAdminService } from '../../src/services/person-admin-service.js';
import { PersonService } from '../../src/services/person-service.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBIdentityStore } from '../../src/store/duckdb-identity-store.js';
import { removeDir, tempDir } from '../support/servers.js';

// Issue 13: persons in the database. The identifier → person map (person_map), its aliases and
// the per-person rows are written by the identity pipeline with the links; any query reaches an
// event's person with joins. These tests hold the SQL answer against the in-memory graph after
// every kind of change, and the stored traits against the old computation (foldTraits over every
// identify call).

let now = Date.UTC(2026, 0, 10);
const clock = {
  now: () => now++,
  sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
};
const opened: Database[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

async function open(dir: string) {
  const r = await openDatabase(dir);
  if (!r.ok) throw new Error(r.error.message);
  opened.push(r.value);
  const store = new DuckDBIdentityStore(r.value.identity, r.value.reader);
  const identity = new IdentityService(store, clock, { flushIntervalMs: 5 });
  const started = await identity.start();
  const persons = new PersonService(identity, store);
  let n = 0;
  const admin = new PersonAdminService(identity, persons, store, clock, () => `r${++n}`);
  return { db: r.value, identity, persons, admin, started };
}
type Ctx = Awaited<ReturnType<typeof open>>;

async function close(ctx: Ctx): Promise<void> {
  await ctx.identity.drain();
  ctx.db.close();
  opened.splice(opened.indexOf(ctx.db), 1);
}

let seq = 0;
const T0 = Date.UTC(2026, 0, 1);
const ev = (p: Partial<StoredEvent> & { at: number }): StoredEvent => {
  const { at, ...rest } = p;
  seq++;
  return {
    workspaceId: 'w',
    seq,
    messageId: `m${String(seq).padStart(5, '0')}`,
    type: 'track',
    event: 'E',
    name: null,
    userId: null,
    anonymousId: null,
    groupId: null,
    previousId: null,
    timestamp: T0 + at * 60_000,
    originalTimestamp: null,
    sentAt: null,
    receivedAt: T0 + seq,
    ip: null,
    properties: null,
    traits: null,
    context: null,
    integrations: null,
    extra: null,
    fingerprint: 'f',
    ...rest,
  };
};
const identify = (
  at: number,
  ids: { userId?: string; anonymousId?: string },
  traits?: JsonObject,
  id?: string,
) =>
  ev({
    at,
    type: 'identify',
    userId: ids.userId ?? null,
    anonymousId: ids.anonymousId ?? null,
    traits: traits ? JSON.stringify(traits) : null,
    ...(id ? { messageId: id } : {}),
  });

/** Stores the events (the loader's part) and resolves them (the pipeline's). */
async function feed(ctx: Ctx, events: StoredEvent[]): Promise<void> {
  const rows = events.map((e) => ({
    w: e.workspaceId,
    s: e.seq,
    m: e.messageId,
    t: e.type,
    e: e.event,
    u: e.userId,
    a: e.anonymousId,
    g: e.groupId,
    ts: e.timestamp,
    tr: e.traits,
  }));
  await ctx.db.writer.run(
    `INSERT INTO events (workspace_id, seq, message_id, type, event, user_id, anonymous_id, group_id, timestamp,
       received_at, traits, fingerprint)
     SELECT w, s, m, t, e, u, a, g, make_timestamp(ts * 1000), now(), tr::JSON, 'f'
     FROM (SELECT unnest(json_transform($1::JSON, '[{"w":"VARCHAR","s":"BIGINT","m":"VARCHAR","t":"VARCHAR",
       "e":"VARCHAR","u":"VARCHAR","a":"VARCHAR","g":"VARCHAR","ts":"BIGINT","tr":"VARCHAR"}]'), recursive := true))`,
    [JSON.stringify(rows)],
  );
  ctx.identity.process(events);
  await ctx.identity.flush();
}

const rowsOf = async (ctx: Ctx, sql: string) =>
  (await ctx.db.reader.runAndReadAll(sql))
    .getRowsJS()
    .map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)));

/**
 * The person model in SQL equals the graph: every event's person through joins, the map of
 * every identifier, the aliases, the per-person activity, and traits equal to the old fold.
 */
async function expectModelMatchesGraph(ctx: Ctx): Promise<void> {
  const { identity } = ctx;
  await identity.flush();
  // Every event reaches its person in SQL.
  const events = await rowsOf(
    ctx,
    `SELECT e.seq, ei.identifier_id, pm.person_key, pa.person_id, e.type, e.traits::VARCHAR,
       epoch_ms(e.timestamp)::DOUBLE, e.message_id
     FROM events e JOIN event_identity ei ON ei.seq = e.seq
     JOIN person_map pm ON pm.identifier_id = ei.identifier_id
     JOIN person_activity pa ON pa.person_key = pm.person_key
     ORDER BY e.seq`,
  );
  const [[stored]] = (await rowsOf(ctx, 'SELECT count(*) FROM events')) as [[number]];
  expect(events).toHaveLength(stored);
  for (const [, id, key, personId] of events as [number, number, number, string][]) {
    expect({ id, key, personId }).toEqual({
      id,
      key: identity.personKeyOf(id),
      personId: identity.personIdOfIdentifier(id),
    });
  }
  // The map holds every live identifier, and nothing else.
  const live: number[] = [];
  for (let id = 0; id < identity.graph.nextId; id++) if (identity.exists(id)) live.push(id);
  const map = await rowsOf(ctx, 'SELECT identifier_id, person_key FROM person_map ORDER BY identifier_id');
  expect(map).toEqual(live.map((id) => [id, identity.personKeyOf(id)]));
  // An alias for every identifier that is not its person's key: the person id it names.
  const aliases = await rowsOf(
    ctx,
    'SELECT alias_key, alias_id, person_key FROM person_aliases ORDER BY alias_key',
  );
  expect(aliases).toEqual(
    live
      .filter((id) => identity.personKeyOf(id) !== id)
      .map((id) => {
        const who = identity.identifier(id);
        return [id, personIdOf(who.workspaceId, who.type, who.value), identity.personKeyOf(id)];
      }),
  );
  // One row per person, with what its events add up to.
  const expected = new Map<number, { events: number; first: number | null; last: number | null }>();
  for (const id of live) {
    const key = identity.personKeyOf(id);
    if (!expected.has(key)) expected.set(key, { events: 0, first: null, last: null });
  }
  for (const [, id, , , , , at] of events as [number, number, number, string, string, string, number][]) {
    const p = expected.get(identity.personKeyOf(id))!;
    p.events++;
    p.first = Math.min(p.first ?? at, at);
    p.last = Math.max(p.last ?? at, at);
  }
  const activity = await rowsOf(
    ctx,
    `SELECT person_key, event_count, epoch_ms(first_seen)::DOUBLE, epoch_ms(last_seen)::DOUBLE, identifier_count
     FROM person_activity ORDER BY person_key`,
  );
  expect(activity).toEqual(
    [...expected]
      .sort((a, b) => a[0] - b[0])
      .map(([key, p]) => [key, p.events, p.first, p.last, identity.membersOf(key).length]),
  );
  // Traits: the stored ones equal the old computation (every identify call of every identifier, folded).
  const byPerson = new Map<number, { traits: string | null; timestamp: number; messageId: string }[]>();
  for (const [, id, , , type, traits, at, messageId] of events as [
    number,
    number,
    number,
    string,
    string,
    string | null,
    number,
    string,
  ][]) {
    if (type !== 'identify') continue;
    const key = identity.personKeyOf(id);
    byPerson.set(key, [...(byPerson.get(key) ?? []), { traits, timestamp: at, messageId }]);
  }
  const storedTraits = new Map<number, Record<string, [string, number]>>();
  for (const [key, k, value, at] of await rowsOf(
    ctx,
    'SELECT person_key, key, value, epoch_ms(updated_at)::DOUBLE FROM person_traits',
  )) {
    const traits = storedTraits.get(key as number) ?? {};
    traits[k as string] = [value as string, at as number];
    storedTraits.set(key as number, traits);
  }
  for (const key of expected.keys()) {
    const old = foldTraits(byPerson.get(key) ?? []);
    const oldRows = Object.fromEntries(
      Object.entries(old.traits).map(([k, v]) => [k, [JSON.stringify(v), old.updatedAt[k] as number]]),
    );
    expect(storedTraits.get(key) ?? {}).toEqual(oldRows);
    if (Object.keys(old.traits).length === 0) continue;
    // The profile reads them.
    const who = identity.identifier(key);
    const profile = await ctx.persons.profile('w', ref(ctx, `${who.type}:${who.value}`));
    expect(profile.traits).toEqual(old.traits);
    expect(profile.traitsUpdatedAt).toEqual(
      Object.fromEntries(Object.entries(old.updatedAt).map(([k, v]) => [k, new Date(v).toISOString()])),
    );
  }
}

/** The old computation of an account's traits: every group call naming it, folded. */
async function oldAccountTraits(ctx: Ctx, groupId: string) {
  const rows = await rowsOf(
    ctx,
    `SELECT e.traits::VARCHAR, epoch_ms(e.timestamp)::DOUBLE, e.message_id FROM events e
     JOIN event_identity ei ON ei.seq = e.seq WHERE ei.type = 'group' AND ei.group_id = '${groupId}'`,
  );
  return foldTraits(
    rows.map(([traits, timestamp, messageId]) => ({
      traits: traits as string | null,
      timestamp: timestamp as number,
      messageId: messageId as string,
    })),
  ).traits;
}

const ref = (ctx: Ctx, r: string) => {
  const p = ctx.persons.resolveIdentifier('w', r);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};

describe('the person model in SQL follows the graph (issue 13)', () => {
  it('after merges, a split, untrust/trust, undo, rule changes, a deletion and restarts', async () => {
    const dir = tempDir();
    dirs.push(dir);
    let ctx = await open(dir);
    expect(ctx.started.personModel).toBe('current');

    await feed(ctx, [
      ev({ at: 1, type: 'page', anonymousId: 'a1' }),
      identify(5, { anonymousId: 'a1', userId: 'u1' }, { plan: 'free', name: 'Ann' }),
      identify(10, { userId: 'u1' }, { plan: 'pro' }),
      ev({ at: 3, anonymousId: 'a2' }),
      identify(4, { anonymousId: 'a2' }, { email: 'X@y.io', city: 'Oslo' }),
      ev({ at: 20, type: 'identify', userId: 'mum', anonymousId: 'tablet' }),
      ev({ at: 21, type: 'identify', userId: 'kid', anonymousId: 'tablet' }),
      ev({ at: 15, type: 'group', userId: 'u1', groupId: 'acme', traits: '{"name":"Acme","tier":1}' }),
      ev({ at: 16, type: 'group', userId: 'kid', groupId: 'acme', traits: '{"name":"ACME Inc"}' }),
    ]);
    await expectModelMatchesGraph(ctx);
    // Out of order: an older plan arrives last and loses; a tie in time goes to the larger messageId.
    await feed(ctx, [
      identify(7, { userId: 'u1' }, { plan: 'trial' }),
      identify(30, { userId: 'u1' }, { color: 'red' }, 'tie-b'),
      identify(30, { anonymousId: 'a1' }, { color: 'blue' }, 'tie-a'),
    ]);
    expect((await ctx.persons.profile('w', ref(ctx, 'user_id:u1'))).traits).toEqual({
      plan: 'pro',
      name: 'Ann',
      color: 'red',
    });
    // A merge: the email's person (anchored on the email) joins u1's; its key becomes an alias.
    const emailPerson = ref(ctx, 'email:x@y.io');
    await feed(ctx, [identify(12, { userId: 'u1', anonymousId: 'a2' })]);
    expect(ref(ctx, 'email:x@y.io').personId).toBe(ref(ctx, 'user_id:u1').personId);
    const [[aliasOf]] = (await rowsOf(
      ctx,
      `SELECT pa.person_id FROM person_aliases al JOIN person_activity pa ON pa.person_key = al.person_key
       WHERE al.alias_id = '${emailPerson.personId}'`,
    )) as [[string]];
    expect(aliasOf).toBe(ref(ctx, 'user_id:u1').personId);
    await expectModelMatchesGraph(ctx);
    expect(
      (await ctx.persons.account('w', 'acme')).ok && (await ctx.persons.account('w', 'acme')),
    ).toMatchObject({
      value: { traits: await oldAccountTraits(ctx, 'acme') },
    });

    // A split: the email (and the anonymous id it came with) leave u1.
    const split = await ctx.admin.removeIdentifier('w', ref(ctx, 'user_id:u1'), 'anonymous_id:a2', null);
    expect(split.ok).toBe(true);
    await expectModelMatchesGraph(ctx);
    // Untrust and trust the tablet.
    expect((await ctx.admin.setTrusted('w', 'anonymous_id:tablet', false, 'family tablet')).ok).toBe(true);
    await expectModelMatchesGraph(ctx);
    expect((await ctx.admin.setTrusted('w', 'anonymous_id:tablet', true, null)).ok).toBe(true);
    await expectModelMatchesGraph(ctx);
    // Undo the split; a manual merge and its undo.
    const undone = await ctx.admin.undo('w', split.ok ? split.value.id : 0, null);
    expect(undone.ok).toBe(true);
    await expectModelMatchesGraph(ctx);
    const merged = await ctx.admin.merge('w', ref(ctx, 'user_id:mum'), ref(ctx, 'user_id:kid'), 'same human');
    expect(merged.ok).toBe(true);
    expect(ref(ctx, 'user_id:kid').personId).toBe(ref(ctx, 'user_id:mum').personId);
    await expectModelMatchesGraph(ctx);
    expect((await ctx.admin.undo('w', merged.ok ? merged.value.id : 0, null)).ok).toBe(true);
    await expectModelMatchesGraph(ctx);

    // New rules re-derive every person: two user ids may share a person, so the tablet joins them.
    await ctx.identity.setRules('w', { ...ctx.identity.rulesOf('w'), limits: { user_id: 2 } });
    expect(ref(ctx, 'user_id:kid').personId).toBe(ref(ctx, 'user_id:mum').personId);
    await expectModelMatchesGraph(ctx);
    await ctx.identity.setRules('w', { ...ctx.identity.rulesOf('w'), limits: { user_id: 1 } });
    await expectModelMatchesGraph(ctx);

    // A deletion: the kid's rows go, and the account's traits are folded again without their call.
    await ctx.admin.delete('w', ref(ctx, 'user_id:kid'), false);
    await expectModelMatchesGraph(ctx);
    const acme = await ctx.persons.account('w', 'acme');
    expect(acme.ok && acme.value.traits).toEqual({ name: 'Acme', tier: 1 });
    expect(acme.ok && acme.value.traits).toEqual(await oldAccountTraits(ctx, 'acme'));

    // A restart: the stored model matches the graph loaded from the log, and keys are kept.
    const keys = (await rowsOf(ctx, 'SELECT person_id FROM person_activity ORDER BY 1')).flat();
    await close(ctx);
    ctx = await open(dir);
    expect(ctx.started.personModel).toBe('current');
    expect((await rowsOf(ctx, 'SELECT person_id FROM person_activity ORDER BY 1')).flat()).toEqual(keys);
    await expectModelMatchesGraph(ctx);
    // New events after the restart: unrelated persons keep their keys.
    await feed(ctx, [
      ev({ at: 40, anonymousId: 'new-visitor' }),
      identify(41, { userId: 'u1' }, { plan: 'team' }),
    ]);
    // Events of persons whose identifiers and traits do not change: their rows are updated in place.
    await feed(ctx, [
      ev({ at: 45, anonymousId: 'a1' }),
      ev({ at: 0.5, userId: 'mum' }),
      ev({ at: 46, userId: 'u1' }),
    ]);
    await expectModelMatchesGraph(ctx);
    const after = (await rowsOf(ctx, 'SELECT person_id FROM person_activity ORDER BY 1')).flat();
    expect(keys.every((k) => after.includes(k))).toBe(true);
    await expectModelMatchesGraph(ctx);

    // Stale (a crash between a deletion and its consequences, say): told by the checksum, rewritten.
    await ctx.db.writer.run('UPDATE person_map SET person_key = identifier_id');
    await ctx.db.writer.run('DELETE FROM person_activity WHERE person_key % 2 = 0');
    await close(ctx);
    ctx = await open(dir);
    expect(ctx.started.personModel).toBe('remapped');
    await expectModelMatchesGraph(ctx);

    // A database from before migration 006: the model, facts included, is back-filled from the events.
    for (const table of [
      'person_map',
      'person_aliases',
      'person_activity',
      'person_traits',
      'identifier_activity',
      'identifier_traits',
      'account_members',
      'account_traits',
    ])
      await ctx.db.writer.run(`DELETE FROM ${table}`);
    await ctx.db.writer.run('UPDATE person_model_state SET version = 0');
    await close(ctx);
    ctx = await open(dir);
    expect(ctx.started.personModel).toBe('rebuilt');
    await expectModelMatchesGraph(ctx);
    const rebuilt = await ctx.persons.account('w', 'acme');
    expect(rebuilt.ok && rebuilt.value.traits).toEqual({ name: 'Acme', tier: 1 });
    expect((await ctx.persons.profile('w', ref(ctx, 'user_id:u1'))).traits).toMatchObject({ plan: 'team' });
    await close(ctx);
  });

  it("follows the graph's own untrust of an identifier that grew its region past the cap", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const ctx = await open(dir);
    // 2,100 users signing in on one hard-coded anonymous id: the region passes 2,000 links.
    await feed(
      ctx,
      Array.from({ length: 2_100 }, (_, i) =>
        identify(1 + ((i * 7919) % 5000) / 100, { userId: `hub-user-${i}`, anonymousId: 'hardcoded' }),
      ),
    );
    const hub = ctx.persons.identifierId('w', 'anonymous_id:hardcoded');
    expect(hub.ok && ctx.identity.graph.untrustReason(hub.value)).toBe('region_too_large');
    await expectModelMatchesGraph(ctx);
    expect(ref(ctx, 'user_id:hub-user-5').members).toHaveLength(1);
    await close(ctx);
  });
});
