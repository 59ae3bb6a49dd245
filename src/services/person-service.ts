import { parseIdentifierRef } from '../core/identity/identifier-ref.js';
import { isPersonId } from '../core/identity/person-id.js';
import { err, ok, type Result } from '../core/result.js';
import type { JsonObject, JsonValue, StoredEvent } from '../core/spec/message.js';
import { decodeCursor, encodeCursor } from './event-query-service.js';
import type {
  ListAfter,
  ListQuery,
  ListSort,
  PersonReadModel,
  StageRef,
  TraitValue,
} from './identity-ports.js';
import type { IdentityService } from './identity-service.js';

/**
 * Reading people: lookup, profiles, identity explanations, timelines, lists and search,
 * accounts. Who holds which identifier comes from the identity service (the graph in memory);
 * activity, traits and lists from the person model in the database (`PersonReadModel`).
 */

export interface IdentifierView {
  type: string;
  value: string;
}

export interface PersonRef {
  anchor: number;
  personId: string;
  members: number[];
  /** Set when the person was looked up by an id it no longer has (merged, or re-anchored). */
  redirectedFrom?: string;
}

export interface Profile {
  id: string;
  redirectedFrom?: string;
  identifiers: (IdentifierView & { untrusted?: true })[];
  traits: JsonObject;
  traitsUpdatedAt: Record<string, string>;
  firstSeen: string | null;
  lastSeen: string | null;
  eventCount: number;
  eventsByType: Record<string, number>;
  lifetimeRevenue: number;
  accounts: string[];
}

export interface TimelinePage {
  events: StoredEvent[];
  nextCursor: string | null;
}

export interface TimelineOptions {
  cursor?: string;
  limit: number;
  order: 'asc' | 'desc';
}

/** Filters, order and page of a person or account list. */
export interface ListOptions {
  /** Text in an identifier (or `type:value`) or a current trait; for accounts, the id or a trait. */
  query?: string;
  /** Current trait equals (`trait.plan=pro`): all must hold. */
  traits: { key: string; value: string }[];
  /** Last activity in [seenFrom, seenTo), epoch ms. */
  seenFrom?: number;
  seenTo?: number;
  /** Current stage is one of these ids (null: no stage); see `parseStageFilter`. */
  stages?: (string | null)[];
  /** A touchpoint of one of these channels (an account: a member's); see `parseChannelFilter`. */
  channels?: string[];
  /** That touchpoint in [touchedFrom, touchedTo), epoch ms; alone: a touchpoint of any channel. */
  touchedFrom?: number;
  touchedTo?: number;
  sort: ListSort;
  order: 'asc' | 'desc';
  limit: number;
  cursor?: string;
  /** Only the total (no items): the count a link to the list shows. */
  countOnly?: boolean;
}

export interface PersonListItem {
  id: string;
  /** Set when a query was given: what matched (`identifier` for an exact type:value, a type, `traits`). */
  matched?: string;
  identifiers: IdentifierView[];
  traits: JsonObject;
  firstSeen: string | null;
  lastSeen: string | null;
  eventCount: number;
  lifetimeRevenue: number;
  /** The current lifecycle stage (the last stage entered, as stored), or null. */
  stage: StageRef | null;
}

export interface AccountListItem {
  id: string;
  traits: JsonObject;
  /** Member persons. */
  members: number;
  firstSeen: string | null;
  lastSeen: string | null;
  eventCount: number;
  lifetimeRevenue: number;
  /** The account's current lifecycle stage, or null. */
  stage: StageRef | null;
}

/** How a list's stage filter names "no stage". */
export const NO_STAGE = '(none)';
const MAX_FILTER_VALUES = 100;
const MAX_FILTER_LENGTH = 200;

/**
 * Values of a repeatable, comma-separated list parameter (`stage=a,b&stage=c`), trimmed; an
 * error for an empty one or too many.
 */
function filterValues(name: string, raw: string[]): Result<string[], string> {
  const values = raw.flatMap((r) => r.split(',')).map((v) => v.trim());
  if (values.some((v) => v === ''))
    return err(`${name}: an empty value; give one or more, separated by commas`);
  if (values.length > MAX_FILTER_VALUES) return err(`${name}: at most ${MAX_FILTER_VALUES} values`);
  const long = values.find((v) => v.length > MAX_FILTER_LENGTH);
  if (long !== undefined) return err(`${name}: a value longer than ${MAX_FILTER_LENGTH} characters`);
  return ok([...new Set(values)]);
}

/** `stage` values → stage ids, `(none)` → null (no stage). */
export function parseStageFilter(raw: string[]): Result<(string | null)[], string> {
  const v = filterValues('stage', raw);
  return v.ok ? ok(v.value.map((s) => (s === NO_STAGE ? null : s))) : v;
}

/** `channel` values → channel names (matched case-insensitively). */
export function parseChannelFilter(raw: string[]): Result<string[], string> {
  return filterValues('channel', raw);
}

/** The journey filters of list options, as the read model takes them. */
function journeyQuery(
  o: ListOptions,
): Pick<ListQuery<never>, 'stages' | 'channels' | 'touchedFrom' | 'touchedTo'> {
  return {
    ...(o.stages !== undefined ? { stages: o.stages } : {}),
    ...(o.channels !== undefined ? { channels: o.channels } : {}),
    ...(o.touchedFrom !== undefined ? { touchedFrom: o.touchedFrom } : {}),
    ...(o.touchedTo !== undefined ? { touchedTo: o.touchedTo } : {}),
  };
}

export interface ListPageOf<T> {
  items: T[];
  /** How many match the filters (all pages). */
  total: number;
  nextCursor: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Current traits as a profile shows them: values, and when each was set. */
function traitsView(values: TraitValue[]): { traits: JsonObject; traitsUpdatedAt: Record<string, string> } {
  const traits: JsonObject = {};
  const traitsUpdatedAt: Record<string, string> = {};
  for (const t of values) {
    traits[t.key] = JSON.parse(t.value) as JsonValue;
    traitsUpdatedAt[t.key] = new Date(t.at).toISOString();
  }
  return { traits, traitsUpdatedAt };
}

/** A list cursor: where the page ended, under the sort it was read with. */
function encodeListCursor<K>(sort: ListSort, order: string, value: number | null, key: K): string {
  return Buffer.from(JSON.stringify({ s: sort, o: order, v: value, k: key })).toString('base64url');
}

function decodeListCursor<K extends number | string>(
  cursor: string | undefined,
  o: ListOptions,
  keyType: 'number' | 'string',
): Result<ListAfter<K> | undefined, string> {
  if (cursor === undefined) return ok(undefined);
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const valueOk = c.v === null || Number.isSafeInteger(c.v);
    const keyOk = keyType === 'number' ? Number.isSafeInteger(c.k) : typeof c.k === 'string';
    if (valueOk && keyOk && typeof c.s === 'string' && typeof c.o === 'string') {
      if (c.s !== o.sort || c.o !== o.order)
        return err(`the cursor belongs to sort=${c.s}&order=${c.o}: keep the sort of the first page`);
      return ok({ value: c.v as number | null, key: c.k as K });
    }
  } catch {
    // fall through to the error below
  }
  return err('cursor is not one this server issued');
}

export class PersonService {
  constructor(
    private readonly identity: IdentityService,
    private readonly model: PersonReadModel,
  ) {}

  /** Who a person key is now (for analytics' people lists): its id and identifiers, or null when gone. */
  refOfKey(key: number): { id: string; identifiers: IdentifierView[] } | null {
    if (!this.identity.exists(key)) return null;
    return {
      id: this.identity.personIdOfIdentifier(key),
      identifiers: this.identity.membersOf(key).map((m) => this.view(m)),
    };
  }

  view(id: number): IdentifierView {
    const { type, value } = this.identity.identifier(id);
    return { type, value };
  }

  /** The id of an identifier written as `type:value`. */
  identifierId(workspaceId: string, ref: string): Result<number, string> {
    if (isPersonId(ref)) return err('name an identifier (type:value) here, not a person id');
    const parsed = parseIdentifierRef(ref, this.identity.compiledRulesOf(workspaceId));
    if (!parsed.ok) return parsed;
    const id = this.identity.identifierIdOf(workspaceId, parsed.value.type, parsed.value.value);
    return id === undefined
      ? err(`no person has ${parsed.value.type} ${JSON.stringify(parsed.value.value)}`)
      : ok(id);
  }

  /** A person id (`p_…`) or an identifier (`email:jane@x.com`) → the person holding it now. */
  async resolve(workspaceId: string, ref: string): Promise<Result<PersonRef, string>> {
    if (!isPersonId(ref)) return this.resolveIdentifier(workspaceId, ref);
    const anchor = await this.identity.anchorOfPersonId(ref);
    if (anchor === undefined || this.identity.identifier(anchor).workspaceId !== workspaceId) {
      return err(`no person ${ref} in this workspace`);
    }
    const p = this.personOf(anchor);
    return ok(p.personId === ref ? p : { ...p, redirectedFrom: ref });
  }

  /** An identifier (`type:value`) → the person holding it now. */
  resolveIdentifier(workspaceId: string, ref: string): Result<PersonRef, string> {
    const id = this.identifierId(workspaceId, ref);
    return id.ok ? ok(this.personOf(id.value)) : id;
  }

  private personOf(identifier: number): PersonRef {
    return {
      anchor: this.identity.personKeyOf(identifier),
      personId: this.identity.personIdOfIdentifier(identifier),
      members: this.identity.membersOf(identifier),
    };
  }

  /** A person's profile: traits from `person_traits` (kept current by the pipeline), activity by identifier. */
  async profile(workspaceId: string, p: PersonRef): Promise<Profile> {
    await this.identity.readBarrier();
    const [activity, traits] = await Promise.all([
      this.model.activity(p.members),
      this.model.personTraits(p.anchor),
    ]);
    return {
      id: p.personId,
      ...(p.redirectedFrom ? { redirectedFrom: p.redirectedFrom } : {}),
      identifiers: p.members.map((m) => ({
        ...this.view(m),
        ...(this.identity.isUntrusted(m) ? { untrusted: true as const } : {}),
      })),
      ...traitsView(traits),
      firstSeen: iso(activity.firstSeen),
      lastSeen: iso(activity.lastSeen),
      eventCount: activity.events,
      eventsByType: activity.byType,
      lifetimeRevenue: activity.revenue,
      accounts: this.identity.accountsOf(workspaceId, p.members),
    };
  }

  /** Every identifier with the link that ties it in, every link that touches the person, and the ops. */
  explain(p: PersonRef) {
    const members = new Set(p.members);
    const linkIds = new Set<number>();
    for (const m of p.members) for (const l of this.identity.linksWith(m)) linkIds.add(l.id);
    // Links and operations are numbered within this answer and this workspace: the store's own
    // ids are shared by every workspace and would let one tenant count another's activity.
    const sortedLinks = [...linkIds].sort((a, b) => a - b);
    const linkNumber = new Map(sortedLinks.map((id, i) => [id, i + 1]));
    const links = sortedLinks.map((id) => {
      const l = this.identity.link(id)!;
      const dropped = this.identity.dropsOf(id);
      return {
        id: linkNumber.get(id) as number,
        rule: l.rule,
        messageId: l.messageId,
        timestamp: new Date(l.at).toISOString(),
        identifiers: l.members.filter((m) => this.identity.exists(m)).map((m) => this.view(m)),
        dropped: dropped.map((d) => ({ ...this.view(d.identifier), reason: d.reason })),
      };
    });
    // Why each identifier belongs: a path of links from the anchor, breadth first.
    const via = new Map<number, { link: number; from: number } | null>([[p.anchor, null]]);
    const queue = [p.anchor];
    while (queue.length > 0) {
      const cur = queue.shift() as number;
      for (const l of this.identity.linksWith(cur)) {
        const dropped = new Set(this.identity.dropsOf(l.id).map((d) => d.identifier));
        if (dropped.has(cur) || this.identity.isUntrusted(cur)) continue;
        for (const m of l.members) {
          if (!members.has(m) || via.has(m) || dropped.has(m) || this.identity.isUntrusted(m)) continue;
          via.set(m, { link: l.id, from: cur });
          queue.push(m);
        }
      }
    }
    const mine = this.identity.operationsOf(this.identity.identifier(p.anchor).workspaceId);
    const opNumber = new Map(mine.map((o, i) => [o.id, i + 1]));
    const undone = new Set(mine.flatMap((o) => (o.undoes === null ? [] : [o.undoes])));
    const operations = mine
      .filter(
        (o) =>
          [...o.identifiers, ...o.others].some((i) => members.has(i)) ||
          (o.linkId !== null && linkIds.has(o.linkId)),
      )
      .map((o) => ({
        id: opNumber.get(o.id) as number,
        kind: o.kind,
        identifiers: o.identifiers.filter((i) => this.identity.exists(i)).map((i) => this.view(i)),
        reason: o.reason,
        at: new Date(o.at).toISOString(),
        undone: undone.has(o.id),
      }));
    return {
      person: p.personId,
      anchor: this.view(p.anchor),
      identifiers: p.members.map((m) => {
        const v = via.get(m);
        return {
          ...this.view(m),
          untrusted: this.identity.isUntrusted(m),
          because: v ? { link: linkNumber.get(v.link) as number, with: this.view(v.from) } : null,
        };
      }),
      links,
      operations,
    };
  }

  async timeline(
    members: number[],
    o: TimelineOptions,
    account?: { workspaceId: string; groupId: string },
  ): Promise<Result<TimelinePage, string>> {
    let after: { timestamp: number; seq: number } | undefined;
    if (o.cursor !== undefined) {
      const c = decodeCursor(o.cursor);
      if (!c.ok) return c;
      after = c.value;
    }
    await this.identity.readBarrier();
    const events = await this.model.timeline({
      identifierIds: members,
      order: o.order,
      limit: o.limit,
      ...(after ? { after } : {}),
      ...(account ? { account } : {}),
    });
    const last = events[events.length - 1];
    return ok({
      events,
      nextCursor:
        events.length === o.limit && last ? encodeCursor({ timestamp: last.timestamp, seq: last.seq }) : null,
    });
  }

  /**
   * A page of a workspace's persons (everyone, or those matching the filters), newest activity
   * first unless sorted otherwise, with how many match in all. Read from the person model in
   * SQL; a query matches text in an identifier (`type:value`, any part) or in a current trait,
   * and an exact `type:value` finds its person whatever the search text holds.
   */
  async list(workspaceId: string, o: ListOptions): Promise<Result<ListPageOf<PersonListItem>, string>> {
    const after = decodeListCursor<number>(o.cursor, o, 'number');
    if (!after.ok) return after;
    await this.identity.readBarrier();
    const text = o.query?.trim().toLowerCase() || undefined;
    const exact = text?.includes(':') ? this.resolveIdentifier(workspaceId, o.query!) : null;
    const orKey = exact?.ok ? exact.value.anchor : undefined;
    // One row more than the page: a next page exists only when it comes back.
    const page = await this.model.listPersons({
      workspaceId,
      limit: o.limit + 1,
      ...(o.countOnly ? { countOnly: true } : {}),
      sort: o.sort,
      order: o.order,
      traits: o.traits,
      ...(after.value ? { after: after.value } : {}),
      ...(text !== undefined ? { text } : {}),
      ...(orKey !== undefined ? { orKey } : {}),
      ...(o.seenFrom !== undefined ? { seenFrom: o.seenFrom } : {}),
      ...(o.seenTo !== undefined ? { seenTo: o.seenTo } : {}),
      ...journeyQuery(o),
    });
    const rows = page.rows.slice(0, o.limit);
    const items = rows.map((r): PersonListItem => {
      const members = this.identity.exists(r.personKey) ? this.identity.membersOf(r.personKey) : [];
      const identifiers = members.map((m) => this.view(m));
      const matched =
        text === undefined
          ? undefined
          : r.personKey === orKey
            ? 'identifier'
            : (identifiers.find((i) => `${i.type}:${i.value}`.toLowerCase().includes(text))?.type ??
              'traits');
      return {
        id: r.personId,
        ...(matched !== undefined ? { matched } : {}),
        identifiers,
        traits: traitsView(r.traits).traits,
        firstSeen: iso(r.firstSeen),
        lastSeen: iso(r.lastSeen),
        eventCount: r.events,
        lifetimeRevenue: r.revenue,
        stage: r.stage,
      };
    });
    const last = page.rows.length > o.limit ? rows[rows.length - 1] : undefined;
    const value = (r: { firstSeen: number | null; lastSeen: number | null }) =>
      o.sort === 'lastSeen' ? r.lastSeen : r.firstSeen;
    return ok({
      items,
      total: page.total,
      nextCursor: last ? encodeListCursor(o.sort, o.order, value(last), last.personKey) : null,
    });
  }

  /** A page of a workspace's accounts, with the same filters as persons (the query: id or traits). */
  async accounts(workspaceId: string, o: ListOptions): Promise<Result<ListPageOf<AccountListItem>, string>> {
    const after = decodeListCursor<string>(o.cursor, o, 'string');
    if (!after.ok) return after;
    await this.identity.readBarrier();
    const text = o.query?.trim().toLowerCase() || undefined;
    // One row more than the page: a next page exists only when it comes back.
    const page = await this.model.listAccounts({
      workspaceId,
      limit: o.limit + 1,
      ...(o.countOnly ? { countOnly: true } : {}),
      sort: o.sort,
      order: o.order,
      traits: o.traits,
      ...(after.value ? { after: after.value } : {}),
      ...(text !== undefined ? { text } : {}),
      ...(o.seenFrom !== undefined ? { seenFrom: o.seenFrom } : {}),
      ...(o.seenTo !== undefined ? { seenTo: o.seenTo } : {}),
      ...journeyQuery(o),
    });
    const rows = page.rows.slice(0, o.limit);
    const last = page.rows.length > o.limit ? rows[rows.length - 1] : undefined;
    const value = (r: { firstSeen: number | null; lastSeen: number | null }) =>
      o.sort === 'lastSeen' ? r.lastSeen : r.firstSeen;
    return ok({
      items: rows.map((r) => ({
        id: r.groupId,
        traits: traitsView(r.traits).traits,
        members: r.members,
        firstSeen: iso(r.firstSeen),
        lastSeen: iso(r.lastSeen),
        eventCount: r.events,
        lifetimeRevenue: r.revenue,
        stage: r.stage,
      })),
      total: page.total,
      nextCursor: last ? encodeListCursor(o.sort, o.order, value(last), last.groupId) : null,
    });
  }

  /** Every identifier of every member person of an account. */
  accountIdentifiers(workspaceId: string, groupId: string): Result<number[], string> {
    const members = this.identity.accountMembers(workspaceId, groupId);
    if (members === undefined) return err(`no account ${JSON.stringify(groupId)} in this workspace`);
    const anchors = new Set(members.map((m) => this.identity.personKeyOf(m)));
    return ok([...anchors].flatMap((a) => this.identity.membersOf(a)));
  }

  async account(workspaceId: string, groupId: string) {
    const memberIds = this.accountIdentifiers(workspaceId, groupId);
    if (!memberIds.ok) return memberIds;
    await this.identity.readBarrier();
    const [traits, activity] = await Promise.all([
      this.model.accountTraits(workspaceId, groupId),
      this.model.activity(memberIds.value),
    ]);
    const persons = new Map<number, string>();
    for (const m of memberIds.value) {
      const anchor = this.identity.personKeyOf(m);
      if (!persons.has(anchor)) persons.set(anchor, this.identity.personIdOfIdentifier(anchor));
    }
    return ok({
      id: groupId,
      ...traitsView(traits),
      members: [...persons].map(([anchor, id]) => ({
        id,
        identifiers: this.identity.membersOf(anchor).map((m) => this.view(m)),
      })),
      firstSeen: iso(activity.firstSeen),
      lastSeen: iso(activity.lastSeen),
      eventCount: activity.events,
      lifetimeRevenue: activity.revenue,
    });
  }
}
