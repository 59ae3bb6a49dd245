import { Components } from './components.js';
import { IdentifierTable } from './identifier-table.js';
import type { Identifier } from './identifiers-of.js';
import type { CompiledRules } from './identity-rules.js';
import {
  type Apart,
  before,
  type Drop,
  type Evidence,
  evidenceOf,
  type Link,
  type LinkRule,
  type ObserveResult,
} from './link.js';
import { diffPersons, type PersonChange } from './person-diff.js';

/**
 * The identity graph: an append-only log of links (identifiers seen together, with evidence)
 * and the identifier → person map derived from it.
 *
 * The map is defined as replaying the links in event-time order (timestamp, then messageId)
 * with the merge rules: identifiers join the message's highest-priority identifier one by one,
 * in priority order, and an identifier whose person would break a limit (or a keep-apart
 * constraint) is left out. That definition does not depend on arrival order. Keeping it cheap:
 *
 * - a *region* is a connected component of all links, rules ignored. Rules only ever act inside
 *   a region, so a region can be replayed on its own;
 * - a region within every limit resolves to itself whatever the order (nothing is ever left out),
 *   so most links are a plain union;
 * - a link later than everything in its region appends to the replay; only a late link into a
 *   region that breaks a limit (a shared device, a reused email) makes that region replay.
 */

export class IdentityGraph {
  readonly ids: IdentifierTable;

  // The link log.
  private readonly links: Link[] = [];
  private readonly linkByKey = new Map<string, number>();
  private readonly linksOf: number[][] = [];

  // Operations that shape resolution.
  private readonly untrusted = new Set<number>();
  private readonly apart = new Map<number, Apart>();
  private readonly ownTags = new Map<number, Map<number, number>>();

  // Derived state.
  private readonly regions: Components;
  private readonly persons: Components;
  private readonly regionLinks: (number[] | undefined)[] = [];
  private readonly regionLast: (Evidence | undefined)[] = [];
  private readonly regionOver: boolean[] = [];
  private readonly drops = new Map<number, Drop[]>();
  private changes: PersonChange[] = [];

  constructor(defaultRules: CompiledRules) {
    this.ids = new IdentifierTable(defaultRules);
    const typeOf = (id: number) => this.ids.typeOf(id);
    const anchorBefore = (a: number, b: number) => this.compareIdentifiers(a, b) < 0;
    const tags = (id: number) => this.ownTags.get(id);
    this.regions = new Components(typeOf, anchorBefore, tags);
    this.persons = new Components(typeOf, anchorBefore, tags);
  }

  // ── identifiers ────────────────────────────────────────────────────────────

  setRules(workspaceId: string, rules: CompiledRules): void {
    this.ids.setRules(workspaceId, rules);
  }

  rulesOf(workspaceId: string): CompiledRules {
    return this.ids.rulesOf(workspaceId);
  }

  /** The id of an identifier, interning it when new (`created`): a new identifier is a new person. */
  intern(workspaceId: string, type: string, value: string, id?: number): { id: number; created: boolean } {
    const r = this.ids.intern(workspaceId, type, value, id);
    if (!r.created) return r;
    const nid = r.id;
    this.linksOf[nid] = [];
    this.regions.reset(nid);
    this.persons.reset(nid);
    this.regionLinks[nid] = undefined;
    this.regionLast[nid] = undefined;
    this.regionOver[nid] = false;
    this.changes.push({ kind: 'created', person: nid });
    return r;
  }

  idOf(workspaceId: string, type: string, value: string): number | undefined {
    return this.ids.idOf(workspaceId, type, value);
  }

  get nextId(): number {
    return this.ids.nextId;
  }

  exists(id: number): boolean {
    return this.ids.exists(id);
  }

  identifier(id: number): Identifier & { workspaceId: string } {
    return this.ids.identifier(id);
  }

  search(workspaceId: string, match: (type: string, value: string) => boolean): Generator<number> {
    return this.ids.search(workspaceId, match);
  }

  // ── the log ────────────────────────────────────────────────────────────────

  /**
   * Records that `members` (interned, highest priority first) were seen together, and resolves.
   * One identifier alone links nothing; its person already exists from `intern`.
   */
  observe(members: number[], evidence: Evidence, rule: LinkRule = 'message'): ObserveResult {
    if (members.length < 2 && rule === 'message') return { link: null, logged: false };
    const key = members.join(',');
    const known = this.linkByKey.get(key);
    if (known !== undefined) {
      const link = this.links[known] as Link;
      if (!before(evidence, link)) return { link, logged: false };
      // The same identifiers seen earlier than we knew: the link moves back in the replay.
      Object.assign(link, evidenceOf(evidence));
      const region = this.regions.find(members[0] as number);
      if (this.regionOver[region]) this.replayRegion(region);
      return { link, logged: true };
    }
    const link = this.addLink(key, members, evidence, rule, this.links.length);
    this.place(link);
    return { link, logged: true };
  }

  /** Adds a link from the log as it was stored (loading); call `rebuild()` after the last. */
  restoreLink(members: number[], evidence: Evidence, rule: LinkRule, id?: number): Link {
    const key = members.join(',');
    const known = this.linkByKey.get(key);
    if (known !== undefined) {
      const link = this.links[known] as Link;
      if (before(evidence, link)) Object.assign(link, evidenceOf(evidence));
      return link;
    }
    return this.addLink(key, members, evidence, rule, id ?? this.links.length);
  }

  private addLink(key: string, members: number[], evidence: Evidence, rule: LinkRule, id: number): Link {
    const link: Link = { id, members, rule, alive: true, ...evidenceOf(evidence) };
    this.links[id] = link;
    this.linkByKey.set(key, id);
    for (const m of members) (this.linksOf[m] as number[]).push(id);
    return link;
  }

  link(id: number): Link | undefined {
    return this.links[id];
  }

  get linkCount(): number {
    return this.links.length;
  }

  /** Links that mention `id`, dead ones excluded. */
  linksWith(id: number): Link[] {
    return (this.linksOf[id] ?? []).map((l) => this.links[l] as Link).filter((l) => l.alive);
  }

  /** Identifiers a link's message carried but resolution left out, with the rule that did it. */
  dropsOf(linkId: number): Drop[] {
    return this.drops.get(linkId) ?? [];
  }

  // ── operations ─────────────────────────────────────────────────────────────

  /** A shared or untrusted identifier keeps its events but stops linking anything. */
  setUntrusted(id: number, untrusted: boolean): void {
    if (untrusted) this.untrusted.add(id);
    else this.untrusted.delete(id);
    this.recompute([id]);
  }

  isUntrusted(id: number): boolean {
    return this.untrusted.has(id);
  }

  /** Keeps `side` apart from `others` from now on (removing identifiers from a person). */
  addApart(apart: Apart): void {
    this.apart.set(apart.id, apart);
    for (const id of apart.side) this.tag(id, apart.id, 1);
    for (const id of apart.others) this.tag(id, apart.id, 2);
    this.recompute([...apart.side, ...apart.others]);
  }

  removeApart(apartId: number): void {
    const a = this.apart.get(apartId);
    if (!a) return;
    this.apart.delete(apartId);
    for (const id of [...a.side, ...a.others]) {
      const t = this.ownTags.get(id);
      t?.delete(apartId);
      if (t?.size === 0) this.ownTags.delete(id);
    }
    this.recompute([...a.side, ...a.others]);
  }

  /** Retires a link (an undone manual merge). */
  killLink(linkId: number): void {
    const link = this.links[linkId];
    if (!link?.alive) return;
    link.alive = false;
    this.linkByKey.delete(link.members.join(','));
    this.recompute(link.members);
  }

  /**
   * Forgets identifiers (data deletion). Links keep their other members, so what a deleted
   * identifier was seen with stays linked; what only it held together comes apart.
   */
  forget(ids: number[]): void {
    const region = this.regionMembers(ids);
    for (const id of ids) {
      this.ids.kill(id);
      this.untrusted.delete(id);
    }
    this.rebuildRegion(region, false);
  }

  /** Re-derives everything from the log (start-up, or after a rule change). */
  rebuild(): void {
    const all: number[] = [];
    for (let id = 0; id < this.ids.nextId; id++) if (this.ids.known(id)) all.push(id);
    this.rebuildRegion(all, false);
  }

  // ── reading ────────────────────────────────────────────────────────────────

  /** The anchor identifier that names `id`'s person. */
  personOf(id: number): number {
    return this.persons.anchorOf(id);
  }

  /** The identifiers of `id`'s person, highest priority first. */
  personMembers(id: number): number[] {
    return this.persons.members(id).sort((a, b) => this.compareIdentifiers(a, b));
  }

  /** Person changes since the last call, for the pipeline. */
  drainChanges(): PersonChange[] {
    const out = this.changes;
    this.changes = [];
    return out;
  }

  /** Orders identifiers as the rules rank them: priority, type name, value. */
  compareIdentifiers(a: number, b: number): number {
    return this.ids.compare(a, b);
  }

  // ── resolution ─────────────────────────────────────────────────────────────

  /** Puts a new link into its region and resolves it the cheapest correct way. */
  private place(link: Link): void {
    const effective = this.effective(link);
    if (effective.length === 0) return;
    const types = this.ids.typeCount;
    let region = this.regions.find(effective[0] as number);
    let last = this.regionLast[region];
    let over = this.regionOver[region] as boolean;
    const regionLinks = [this.regionLinks[region]];
    for (let i = 1; i < effective.length; i++) {
      const other = this.regions.find(effective[i] as number);
      if (other === region) continue;
      const otherLast = this.regionLast[other];
      if (otherLast && (!last || before(last, otherLast))) last = otherLast;
      over ||= this.regionOver[other] as boolean;
      regionLinks.push(this.regionLinks[other]);
      this.regionLinks[other] = undefined;
      region = this.regions.union(region, other, types);
    }
    const merged: number[] = [];
    for (const list of regionLinks) if (list) for (const l of list) merged.push(l);
    merged.push(link.id);
    this.regionLinks[region] = merged;
    this.regionLast[region] = last && before(link, last) ? last : evidenceOf(link);
    const limit = this.ids.limitFn(link.members[0] as number);
    over ||= this.regions.overLimit(region, limit, types);
    this.regionOver[region] = over;

    if (!over) {
      // Within every limit: the person is the whole region, whatever the order.
      this.applyTracked(link, true);
    } else if (!last || before(last, link)) {
      this.applyTracked(link, false);
    } else {
      this.replayRegion(region);
    }
  }

  /** Applies one link and reports the person changes it caused. */
  private applyTracked(link: Link, plain: boolean): void {
    const effective = this.effective(link);
    const beforeAnchors = effective.map((m) => this.persons.anchorOf(m));
    this.apply(link, plain);
    const after = effective.map((m) => this.persons.anchorOf(m));
    const changes = diffPersons(effective, beforeAnchors, after);
    for (const c of changes) this.changes.push(c);
  }

  /** Joins a link's identifiers to its highest-priority one, each if the rules allow. */
  private apply(link: Link, plain: boolean): void {
    const effective = this.effective(link);
    const types = this.ids.typeCount;
    const limit = this.ids.limitFn(link.members[0] as number);
    let root = -1;
    let dropped: Drop[] | undefined;
    for (const m of effective) {
      const r = this.persons.find(m);
      if (root === -1) {
        root = r;
        continue;
      }
      if (r === root) continue;
      const why =
        plain || link.rule === 'manual_merge' ? null : this.persons.violation(root, r, limit, types);
      if (why === null) root = this.persons.union(root, r, types);
      else {
        dropped ??= [];
        dropped.push({ identifier: m, reason: this.describe(why) });
      }
    }
    if (dropped) this.drops.set(link.id, dropped);
    else this.drops.delete(link.id);
  }

  private describe(why: string): string {
    const [kind, arg] = why.split(':');
    return kind === 'limit' ? `limit:${this.ids.typeName(Number(arg))}` : why;
  }

  /** Re-runs a region's links in event-time order from scratch. */
  private replayRegion(region: number): void {
    const members = this.regions.members(region);
    const beforeAnchors = members.map((m) => this.persons.anchorOf(m));
    for (const m of members) this.persons.reset(m);
    const order = (this.regionLinks[region] ?? []).filter((l) => (this.links[l] as Link).alive);
    order.sort((a, b) => this.compareLinks(a, b));
    for (const l of order) this.apply(this.links[l] as Link, false);
    const after = members.map((m) => this.persons.anchorOf(m));
    for (const c of diffPersons(members, beforeAnchors, after)) this.changes.push(c);
  }

  private compareLinks(a: number, b: number): number {
    const la = this.links[a] as Link;
    const lb = this.links[b] as Link;
    return before(la, lb) ? -1 : before(lb, la) ? 1 : a - b;
  }

  /** Re-derives the regions around `seeds` after the rules or the log changed. */
  private recompute(seeds: number[]): void {
    this.rebuildRegion(this.regionMembers(seeds), true);
  }

  /** The current regions of `seeds`, grown by every live link that touches them. */
  private regionMembers(seeds: number[]): number[] {
    const seen = new Set<number>();
    const queue: number[] = [];
    const addRegion = (id: number) => {
      if (seen.has(id)) return;
      for (const m of this.regions.members(id))
        if (!seen.has(m)) {
          seen.add(m);
          queue.push(m);
        }
    };
    for (const s of seeds) if (this.ids.known(s)) addRegion(s);
    while (queue.length > 0) {
      const id = queue.pop() as number;
      for (const l of this.linksOf[id] ?? []) {
        const link = this.links[l] as Link;
        if (link.alive) for (const m of link.members) addRegion(m);
      }
    }
    return [...seen];
  }

  private rebuildRegion(members: number[], report: boolean): void {
    const beforeAnchors = report ? members.map((m) => this.persons.anchorOf(m)) : [];
    const linkIds = new Set<number>();
    for (const m of members) {
      this.regions.reset(m);
      this.persons.reset(m);
      this.regionLinks[m] = undefined;
      this.regionLast[m] = undefined;
      this.regionOver[m] = false;
      for (const l of this.linksOf[m] ?? []) if ((this.links[l] as Link).alive) linkIds.add(l);
    }
    const types = this.ids.typeCount;
    const live = [...linkIds];
    for (const l of live) {
      const effective = this.effective(this.links[l] as Link);
      for (let i = 1; i < effective.length; i++) {
        const a = this.regions.find(effective[0] as number);
        const b = this.regions.find(effective[i] as number);
        if (a !== b) this.regions.union(a, b, types);
      }
    }
    const byRegion = new Map<number, number[]>();
    for (const l of live) {
      const link = this.links[l] as Link;
      const effective = this.effective(link);
      if (effective.length === 0) continue;
      const r = this.regions.find(effective[0] as number);
      const list = byRegion.get(r);
      if (list) list.push(l);
      else byRegion.set(r, [l]);
      const last = this.regionLast[r];
      if (!last || before(last, link)) this.regionLast[r] = evidenceOf(link);
    }
    for (const [r, list] of byRegion) {
      this.regionLinks[r] = list;
      const over = this.regions.overLimit(r, this.ids.limitFn(r), types);
      this.regionOver[r] = over;
      if (over) list.sort((a, b) => this.compareLinks(a, b));
      for (const l of list) this.apply(this.links[l] as Link, !over);
    }
    if (report) {
      const alive = members.filter((m) => !this.ids.isDead(m));
      const after = alive.map((m) => this.persons.anchorOf(m));
      const prior = members.flatMap((m, i) => (this.ids.isDead(m) ? [] : [beforeAnchors[i] as number]));
      for (const c of diffPersons(alive, prior, after)) this.changes.push(c);
    }
  }

  /** A link's members that may link: alive, and not marked untrusted. */
  private effective(link: Link): number[] {
    if (this.untrusted.size === 0 && !this.ids.anyDead) return link.members;
    return link.members.filter((m) => !this.untrusted.has(m) && !this.ids.isDead(m));
  }

  private tag(id: number, apartId: number, side: number): void {
    const t = this.ownTags.get(id) ?? new Map<number, number>();
    t.set(apartId, (t.get(apartId) ?? 0) | side);
    this.ownTags.set(id, t);
  }
}
