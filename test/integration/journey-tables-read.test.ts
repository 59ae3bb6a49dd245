import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceIdOf } from '../../src/cli/keys.command.js';
import type { LocalPeople, LocalStore } from '../../src/cli/local-or-remote.js';
import { buildJourney, type Journey } from '../../src/core/journey/journey.js';
import { type JourneyEvent, journeyEventOf } from '../../src/core/journey/journey-event.js';
import { openLocal } from '../../src/main.js';
import { linesAsRows } from '../../src/services/import-service.js';
import { resolveSimConfig } from '../../src/sim/sim-config.js';
import { Simulation } from '../../src/sim/simulate.js';
import { removeDir, tempDir } from '../support/servers.js';

/**
 * Journeys read from the journey tables equal the journey model's, person by person, through
 * the whole stack: the collector and the log, the loader's facts, identity's person map, the
 * sessions and touchpoints in SQL, the stage history fold, and the read that puts them back
 * together. The model's journey is built here from the person's timeline, as the service does
 * when the tables cannot answer.
 */

const dir = tempDir();
let local: LocalStore;
let people: LocalPeople;
let ws: string;

async function* chunks(lines: string[]): AsyncGenerator<string[]> {
  for (let i = 0; i < lines.length; i += 1000) yield lines.slice(i, i + 1000);
}

beforeAll(async () => {
  const opened = await openLocal(dir);
  if (!opened.ok) throw new Error(opened.error.message);
  local = opened.value;
  await local.workspaces.start({});
  ws = await workspaceIdOf(local.workspaces, 'default');
  const lines: string[] = [];
  for (const [scenario, n] of [
    ['b2b-saas', 60],
    ['ecommerce', 120],
  ] as const) {
    const config = resolveSimConfig(scenario, { people: n, seed: 11 });
    if (!config.ok) throw new Error(config.error);
    for (const unit of new Simulation(config.value).units())
      for (const m of unit.messages) lines.push(m.line);
  }
  const { imports, run } = await local.importer();
  await run(async () => {
    await imports.importRows(linesAsRows(chunks(lines)), { workspaceId: ws, importId: randomUUID() });
  });
  people = await local.people();
}, 240_000);

afterAll(async () => {
  await local?.close();
  removeDir(dir);
});

/** Every event of these identifiers (and of the account), in time order. */
async function timelineOf(members: number[], account?: { workspaceId: string; groupId: string }) {
  const events: JourneyEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await people.persons.timeline(
      members,
      { order: 'asc', limit: 1000, ...(cursor ? { cursor } : {}) },
      account,
    );
    if (!page.ok) throw new Error(page.error);
    events.push(...page.value.events.map(journeyEventOf));
    if (!page.value.nextCursor) break;
    cursor = page.value.nextCursor;
  }
  return events;
}

/** The journey as the model derives it from the person's whole timeline. */
async function modelJourney(ref: string, asOf: number) {
  const p = await people.persons.resolve(ws, ref);
  if (!p.ok) throw new Error(p.error);
  const events = await timelineOf(p.value.members);
  return { person: p.value, journey: buildJourney(events, people.journeys.configFor(ws), asOf) };
}

/** An account's journey as the model derives it: its members' events and its own. */
async function modelAccountJourney(groupId: string, asOf: number) {
  const members = people.persons.accountIdentifiers(ws, groupId);
  if (!members.ok) throw new Error(members.error);
  const events = await timelineOf(members.value, { workspaceId: ws, groupId });
  return buildJourney(events, people.journeys.configFor(ws), asOf);
}

async function everyAccount(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await people.persons.accounts(ws, {
      traits: [],
      sort: 'lastSeen',
      order: 'desc',
      limit: 500,
      ...(cursor ? { cursor } : {}),
    });
    if (!page.ok) throw new Error(page.error);
    ids.push(...page.value.items.map((i) => i.id));
    if (!page.value.nextCursor) break;
    cursor = page.value.nextCursor;
  }
  return ids;
}

async function everyone(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await people.persons.list(ws, {
      traits: [],
      sort: 'lastSeen',
      order: 'desc',
      limit: 500,
      ...(cursor ? { cursor } : {}),
    });
    if (!page.ok) throw new Error(page.error);
    ids.push(...page.value.items.map((i) => i.id));
    if (!page.value.nextCursor) break;
    cursor = page.value.nextCursor;
  }
  return ids;
}

describe('journeys read from the journey tables', () => {
  it('equal the journey model for every person, stages as of now included', async () => {
    const counts = await people.journeyTables.rebuild(ws);
    expect(counts.persons).toBeGreaterThan(100);
    expect(people.journeyTables.isCurrent(ws)).toBe(true);
    const asOf = Date.UTC(2031, 0, 1);
    const ids = await everyone();
    expect(ids.length).toBeGreaterThan(100);
    let touchpoints = 0;
    for (const id of ids) {
      const { person, journey } = await modelJourney(id, asOf);
      const stored = await people.journeyTables.journeyOf(ws, person.anchor, asOf);
      expect(stored, id).not.toBeNull();
      expect(stored, id).toEqual(journey);
      touchpoints += journey.touchpoints.length;
    }
    expect(touchpoints).toBeGreaterThan(ids.length / 2);
  }, 240_000);

  it('equal the journey model for every account, and give the account lists their stage', async () => {
    const counts = await people.journeyTables.rebuild(ws);
    const asOf = Date.UTC(2031, 0, 1);
    const ids = await everyAccount();
    expect(ids.length).toBeGreaterThan(5);
    expect(counts.accounts).toBe(ids.length);
    // The stage the model gives as of a time: its last span entered by then.
    const stageAt = (j: Journey, t: number) => j.stages.filter((h) => h.enteredAt <= t).at(-1)?.stage ?? null;
    const stages = new Map<string, (string | null)[]>();
    let touchpoints = 0;
    for (const id of ids) {
      const journey = await modelAccountJourney(id, asOf);
      const stored = await people.journeyTables.accountJourneyOf(ws, id, asOf);
      expect(stored, id).not.toBeNull();
      expect(stored, id).toEqual(journey);
      touchpoints += journey.touchpoints.length;
      // Stored histories end at the last event, or where the sweep wrote inactivity due by now.
      const last = journey.steps.at(-1)?.at ?? 0;
      stages.set(id, [stageAt(journey, last), stageAt(journey, Date.now())]);
      const served = await people.journeys.accountJourney(ws, id, { asOf });
      expect(served.ok && served.value, id).toEqual(journey);
    }
    expect(touchpoints).toBeGreaterThan(ids.length);
    // The lists' current stage is the stored history's.
    const page = await people.persons.accounts(ws, {
      traits: [],
      sort: 'lastSeen',
      order: 'desc',
      limit: 500,
    });
    if (!page.ok) throw new Error(page.error);
    expect(page.value.items.filter((a) => a.stage !== null).length).toBeGreaterThan(0);
    for (const a of page.value.items) expect(stages.get(a.id), a.id).toContain(a.stage?.id ?? null);
  }, 240_000);

  it('drop a deleted member from the account journeys at once, as the model does', async () => {
    await people.journeyTables.rebuild(ws);
    const asOf = Date.UTC(2031, 0, 1);
    let target: { groupId: string; member: string } | undefined;
    for (const id of await everyAccount()) {
      const a = await people.persons.account(ws, id);
      if (a.ok && a.value.members.length >= 2) {
        target = { groupId: id, member: a.value.members[0]?.id as string };
        break;
      }
    }
    if (!target) throw new Error('no account with two members in the simulation');
    const before = await people.journeyTables.accountJourneyOf(ws, target.groupId, asOf);
    const member = await people.persons.resolve(ws, target.member);
    if (!member.ok) throw new Error(member.error);
    await people.admin.delete(ws, member.value, false);
    await people.journeyTables.catchUp();
    const model = await modelAccountJourney(target.groupId, asOf);
    expect(model.steps.length).toBeLessThan(before?.steps.length ?? 0);
    // Read from the tables (not the model's fallback: no step of it names a deleted event).
    const stored = await people.journeyTables.accountJourneyOf(ws, target.groupId, asOf);
    expect(stored).not.toBeNull();
    expect(stored).toEqual(model);
  }, 120_000);

  it('are the ones the journey service answers with', async () => {
    const [id] = await everyone();
    const p = await people.persons.resolve(ws, id as string);
    if (!p.ok) throw new Error(p.error);
    const asOf = Date.UTC(2031, 0, 1);
    const served = await people.journeys.personJourney(ws, p.value, { asOf });
    expect(served).toEqual(await people.journeyTables.journeyOf(ws, p.value.anchor, asOf));
    expect(served).toEqual((await modelJourney(id as string, asOf)).journey);
  }, 60_000);
});
