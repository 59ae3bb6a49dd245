import { parseIdentifierRef } from '../core/identity/identifier-ref.js';
import { isPersonId } from '../core/identity/person-id.js';
import { foldTraits } from '../core/identity/profile.js';
import { err, ok, type Result } from '../core/result.js';
import type { JsonObject, StoredEvent } from '../core/spec/message.js';
import { decodeCursor, encodeCursor } from './event-query-service.js';
import type { IdentityService } from './identity-service.js';

/** Reading people: lookup, profiles, identity explanations, timelines, search, accounts. */

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

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class PersonService {
  constructor(private readonly identity: IdentityService) {}

  private get graph() {
    return this.identity.graph;
  }

  view(id: number): IdentifierView {
    const { type, value } = this.graph.identifier(id);
    return { type, value };
  }

  /** The id of an identifier written as `type:value`. */
  identifierId(workspaceId: string, ref: string): Result<number, string> {
    if (isPersonId(ref)) return err('name an identifier (type:value) here, not a person id');
    const parsed = parseIdentifierRef(ref, this.graph.rulesOf(workspaceId));
    if (!parsed.ok) return parsed;
    const id = this.graph.idOf(workspaceId, parsed.value.type, parsed.value.value);
    return id === undefined
      ? err(`no person has ${parsed.value.type} ${JSON.stringify(parsed.value.value)}`)
      : ok(id);
  }

  /** A person id (`p_…`) or an identifier (`email:jane@x.com`) → the person holding it now. */
  async resolve(workspaceId: string, ref: string): Promise<Result<PersonRef, string>> {
    if (!isPersonId(ref)) return this.resolveIdentifier(workspaceId, ref);
    const anchor = await this.identity.anchorOfPersonId(ref);
    if (anchor === undefined || this.graph.identifier(anchor).workspaceId !== workspaceId) {
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
      anchor: this.graph.personOf(identifier),
      personId: this.identity.personIdOfIdentifier(identifier),
      members: this.graph.personMembers(identifier),
    };
  }

  async profile(workspaceId: string, p: PersonRef): Promise<Profile> {
    await this.identity.readBarrier();
    const [activity, traitEvents] = await Promise.all([
      this.identity.store.activity(p.members),
      this.identity.store.traitEvents(p.members),
    ]);
    const { traits, updatedAt } = foldTraits(traitEvents);
    return {
      id: p.personId,
      ...(p.redirectedFrom ? { redirectedFrom: p.redirectedFrom } : {}),
      identifiers: p.members.map((m) => ({
        ...this.view(m),
        ...(this.graph.isUntrusted(m) ? { untrusted: true as const } : {}),
      })),
      traits,
      traitsUpdatedAt: Object.fromEntries(Object.entries(updatedAt).map(([k, v]) => [k, iso(v) as string])),
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
    for (const m of p.members) for (const l of this.graph.linksWith(m)) linkIds.add(l.id);
    // Links and operations are numbered within this answer and this workspace: the store's own
    // ids are shared by every workspace and would let one tenant count another's activity.
    const sortedLinks = [...linkIds].sort((a, b) => a - b);
    const linkNumber = new Map(sortedLinks.map((id, i) => [id, i + 1]));
    const links = sortedLinks.map((id) => {
      const l = this.graph.link(id)!;
      const dropped = this.graph.dropsOf(id);
      return {
        id: linkNumber.get(id) as number,
        rule: l.rule,
        messageId: l.messageId,
        timestamp: new Date(l.at).toISOString(),
        identifiers: l.members.filter((m) => this.graph.exists(m)).map((m) => this.view(m)),
        dropped: dropped.map((d) => ({ ...this.view(d.identifier), reason: d.reason })),
      };
    });
    // Why each identifier belongs: a path of links from the anchor, breadth first.
    const via = new Map<number, { link: number; from: number } | null>([[p.anchor, null]]);
    const queue = [p.anchor];
    while (queue.length > 0) {
      const cur = queue.shift() as number;
      for (const l of this.graph.linksWith(cur)) {
        const dropped = new Set(this.graph.dropsOf(l.id).map((d) => d.identifier));
        if (dropped.has(cur) || this.graph.isUntrusted(cur)) continue;
        for (const m of l.members) {
          if (!members.has(m) || via.has(m) || dropped.has(m) || this.graph.isUntrusted(m)) continue;
          via.set(m, { link: l.id, from: cur });
          queue.push(m);
        }
      }
    }
    const workspaceId = this.graph.identifier(p.anchor).workspaceId;
    const mine = [...this.identity.ops.values()]
      .filter((o) => o.workspaceId === workspaceId)
      .sort((a, b) => a.id - b.id);
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
        identifiers: o.identifiers.filter((i) => this.graph.exists(i)).map((i) => this.view(i)),
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
          untrusted: this.graph.isUntrusted(m),
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
    const events = await this.identity.store.timeline({
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

  /** Persons whose identifiers contain the text, or whose traits mention it. */
  async search(workspaceId: string, query: string, limit: number) {
    const q = query.trim().toLowerCase();
    const hits = new Map<number, string>();
    const exact = q.includes(':') ? this.resolveIdentifier(workspaceId, query) : null;
    if (exact?.ok) hits.set(exact.value.anchor, 'identifier');
    for (const id of this.graph.search(workspaceId, (_t, v) => v.toLowerCase().includes(q))) {
      if (hits.size >= limit) break;
      const anchor = this.graph.personOf(id);
      if (!hits.has(anchor)) hits.set(anchor, `${this.graph.identifier(id).type}`);
    }
    if (hits.size < limit) {
      await this.identity.readBarrier();
      for (const id of await this.identity.store.identifiersWithTrait(workspaceId, q, limit)) {
        if (hits.size >= limit) break;
        if (!this.graph.exists(id)) continue;
        const anchor = this.graph.personOf(id);
        if (!hits.has(anchor)) hits.set(anchor, 'traits');
      }
    }
    return [...hits].map(([anchor, matched]) => ({
      id: this.identity.personIdOfIdentifier(anchor),
      matched,
      identifiers: this.graph.personMembers(anchor).map((m) => this.view(m)),
    }));
  }

  accountIds(workspaceId: string, query: string, limit: number): string[] {
    const q = query.toLowerCase();
    return this.identity
      .accountIds(workspaceId)
      .filter((a) => a.toLowerCase().includes(q))
      .slice(0, limit);
  }

  /** Every identifier of every member person of an account. */
  accountIdentifiers(workspaceId: string, groupId: string): Result<number[], string> {
    const members = this.identity.accountMembers(workspaceId, groupId);
    if (members === undefined) return err(`no account ${JSON.stringify(groupId)} in this workspace`);
    const anchors = new Set(members.map((m) => this.graph.personOf(m)));
    return ok([...anchors].flatMap((a) => this.graph.personMembers(a)));
  }

  async account(workspaceId: string, groupId: string) {
    const memberIds = this.accountIdentifiers(workspaceId, groupId);
    if (!memberIds.ok) return memberIds;
    await this.identity.readBarrier();
    const { traits, updatedAt } = foldTraits(
      await this.identity.store.accountTraitEvents(workspaceId, groupId),
    );
    const persons = new Map<number, string>();
    for (const m of memberIds.value) {
      const anchor = this.graph.personOf(m);
      if (!persons.has(anchor)) persons.set(anchor, this.identity.personIdOfIdentifier(anchor));
    }
    const activity = await this.identity.store.activity(memberIds.value);
    return ok({
      id: groupId,
      traits,
      traitsUpdatedAt: Object.fromEntries(Object.entries(updatedAt).map(([k, v]) => [k, iso(v) as string])),
      members: [...persons].map(([anchor, id]) => ({
        id,
        identifiers: this.graph.personMembers(anchor).map((m) => this.view(m)),
      })),
      firstSeen: iso(activity.firstSeen),
      lastSeen: iso(activity.lastSeen),
      eventCount: activity.events,
      lifetimeRevenue: activity.revenue,
    });
  }
}
