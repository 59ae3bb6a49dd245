import { Components } from './components.js';
import { IdentifierTable } from './identifier-table.js';
import type { Identifier } from './identifiers-of.js';
import { type CompiledRules, MAX_REGION_LINKS, REGION_TOO_LARGE } from './identity-rules.js';
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
 *   region that breaks a limit (a shared device, a reused email) makes that region replay;
 * - a region's links are kept in replay order, so a replay is one pass, never a sort;
 * - a region never grows past `maxRegionLinks`: the identifier that would grow it (the one with
 *   the most links: an id thousands of people share) is marked untrusted instead, so no single
 *   event costs more than one pass over that many links.
 */

export interface GraphOptions {
  /** Most links a region may hold before its hub is marked untrusted (tests use small ones). */
  maxRegionLinks?: number;
}

/** What resolution cost, for tests and benchmarks. */
export interface GraphStats {
  /** Links applied by replays, in total. */
  linksReplayed: number;
  /** The most links one replay applied. */
  largestReplay: number;
}

export type UntrustReason = 'operator' | typeof REGION_TOO_LARGE;

export class IdentityGraph {
  readonly ids: IdentifierTable;

  // The link log.
  private readonly links: Link[] = [];
  private readonly linkByKey = new Map<string, number>();
  private readonly linksOf: number[][] = [];

  // Operations that shape resolution.
  private readonly untrusted = new Set<number>();
  /** Untrusted by the graph itself: they grew a region past the cap. */
  private readonly capped = new Set<number>();
  private newlyCapped: number[] = [];
  private readonly maxRegionLinks: number;
  private readonly apart = new Map<number, Apart>();
  private readonly ownTags = new Map<number, Map<number, number>>();

  // Derived state.
  private readonly regions: Components;
  private readonly persons: Components;
  /** Per region root: its live links, in replay order (event time, then messageId, then id). */
  private readonly regionLinks: (number[] | undefined)[] = [];
  private readonly regionLast: (Evidence | undefined)[] = [];
  private readonly regionOver: boolean[] = [];
  private readonly drops = new Map<number, Drop[]>();
  private changes: PersonChange[] = [];
  private readonly reasons = new Map<string, string>();
  readonly stats: GraphStats = { linksReplayed: 0, largestReplay: 0 };
  private readonly byReplayOrder = (a: number, b: number) => this.compareLinks(a, b);

  constructor(defaultRules: CompiledRules, options: GraphOptions = {}) {
    this.maxRegionLinks = options.maxRegionLinks ?? MAX_REGION_LINKS;
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
      this.moveEarlier(link, evidence);
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

  /**
   * Identifiers a link's message carried but resolution left out, with the rule that did it; an
   * identifier the graph marked untrusted for its region's size is left out of all its links.
   */
  dropsOf(linkId: number): Drop[] {
    const ruled = this.drops.get(linkId) ?? [];
    const link = this.links[linkId];
    if (this.capped.size === 0 || !link) return ruled;
    const capped = link.members.filter((m) => this.capped.has(m));
    return capped.length === 0
      ? ruled
      : [...ruled, ...capped.map((identifier) => ({ identifier, reason: REGION_TOO_LARGE }))];
  }

  // ── operations ─────────────────────────────────────────────────────────────

  /**
   * A shared or untrusted identifier keeps its events but stops linking anything. `why` is
   * `region_too_large` when restoring a mark the graph made itself (see `drainCapped`).
   */
  setUntrusted(id: number, untrusted: boolean, why: UntrustReason = 'operator'): void {
    if (untrusted) this.untrusted.add(id);
    else this.untrusted.delete(id);
    if (untrusted && why === REGION_TOO_LARGE) this.capped.add(id);
    else this.capped.delete(id);
    this.recompute([id]);
  }

  isUntrusted(id: number): boolean {
    return this.untrusted.has(id);
  }

  /** Why an identifier is untrusted: an operator said so, or it grew a region past the cap. */
  untrustReason(id: number): UntrustReason | undefined {
    if (!this.untrusted.has(id)) return undefined;
    return this.capped.has(id) ? REGION_TOO_LARGE : 'operator';
  }

  /** Identifiers marked untrusted for their region's size since the last call (to record them). */
  drainCapped(): number[] {
    const out = this.newlyCapped;
    this.newlyCapped = [];
    return out;
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
      this.capped.delete(id);
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
    // One identifier left (the others untrusted or deleted) joins nothing: no region holds it.
    const effective = this.effective(link);
    if (effective.length < 2) return;
    if (link.rule === 'message' && this.linksJoined(effective) > this.maxRegionLinks) {
      this.capRegion(link);
      return;
    }
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
    const merged = this.mergeInOrder(regionLinks);
    insertInOrder(merged, link.id, this.byReplayOrder);
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
    // A replay mostly drops what the last one did: keep those drops rather than allocate anew.
    const prior = this.drops.get(link.id);
    let same = 0;
    let dropped: Drop[] | undefined;
    let root = -1;
    for (const m of effective) {
      const r = this.persons.find(m);
      if (root === -1) {
        root = r;
        continue;
      }
      if (r === root) continue;
      const why =
        plain || link.rule === 'manual_merge' ? null : this.persons.violation(root, r, limit, types);
      if (why === null) {
        root = this.persons.union(root, r, types);
        continue;
      }
      const reason = this.describe(why);
      const again = prior?.[same];
      if (!dropped && again?.identifier === m && again.reason === reason) same++;
      else {
        dropped ??= prior ? prior.slice(0, same) : [];
        dropped.push({ identifier: m, reason });
      }
    }
    if (dropped) this.drops.set(link.id, dropped);
    else if (!prior || same === prior.length) return;
    else if (same === 0) this.drops.delete(link.id);
    else this.drops.set(link.id, prior.slice(0, same));
  }

  private describe(why: string): string {
    let reason = this.reasons.get(why);
    if (reason === undefined) {
      const [kind, arg] = why.split(':');
      reason = kind === 'limit' ? `limit:${this.ids.typeName(Number(arg))}` : why;
      this.reasons.set(why, reason);
    }
    return reason;
  }

  /** Re-runs a region's links in event-time order from scratch: one pass, they are kept in order. */
  private replayRegion(region: number): void {
    const members = this.regions.members(region);
    const beforeAnchors = members.map((m) => this.persons.anchorOf(m));
    for (const m of members) this.persons.reset(m);
    const order = this.regionLinks[region] ?? [];
    for (const l of order) {
      const link = this.links[l] as Link;
      if (link.alive) this.apply(link, false);
    }
    this.stats.linksReplayed += order.length;
    this.stats.largestReplay = Math.max(this.stats.largestReplay, order.length);
    this.reportMoves(members, beforeAnchors);
  }

  /**
   * Reports person changes among `members`. Only persons that lost or gained a member can have
   * changed, so the diff runs on their members alone: a replay that moved nobody costs one pass.
   */
  private reportMoves(members: number[], beforeAnchors: number[]): void {
    let moved = false;
    for (let i = 0; i < members.length && !moved; i++)
      moved = this.persons.anchorOf(members[i] as number) !== beforeAnchors[i];
    if (!moved) return;
    const after = members.map((m) => this.persons.anchorOf(m));
    const touched = new Set<number>();
    for (let i = 0; i < members.length; i++) {
      if (beforeAnchors[i] === after[i]) continue;
      touched.add(beforeAnchors[i] as number);
      touched.add(after[i] as number);
    }
    if (touched.size === 0) return;
    const keep: number[] = [];
    for (let i = 0; i < members.length; i++)
      if (touched.has(beforeAnchors[i] as number) || touched.has(after[i] as number)) keep.push(i);
    const pick = (list: number[]) => keep.map((i) => list[i] as number);
    for (const c of diffPersons(pick(members), pick(beforeAnchors), pick(after))) this.changes.push(c);
  }

  /** A known link seen at an earlier time: it moves back in its region's replay order. */
  private moveEarlier(link: Link, evidence: Evidence): void {
    const effective = this.effective(link);
    const region = effective.length > 0 ? this.regions.find(effective[0] as number) : -1;
    const list = region === -1 ? undefined : this.regionLinks[region];
    const at = list ? list.indexOf(link.id) : -1;
    if (list && at !== -1) list.splice(at, 1);
    Object.assign(link, evidenceOf(evidence));
    if (!list || at === -1) return;
    insertInOrder(list, link.id, this.byReplayOrder);
    if (!this.regionOver[region]) return;
    // A region already past the cap (grown before it existed, or trusted again): cap it first.
    if (link.rule === 'message' && list.length > this.maxRegionLinks && effective.length > 1)
      this.capRegion(link);
    else this.replayRegion(region);
  }

  /** How many links the region would hold once `effective` (a new link's members) are joined. */
  private linksJoined(effective: number[]): number {
    const roots: number[] = [];
    let n = 1;
    for (const m of effective) {
      const r = this.regions.find(m);
      if (roots.includes(r)) continue;
      roots.push(r);
      n += this.regionLinks[r]?.length ?? 0;
    }
    return n;
  }

  /**
   * `link` would grow its region past the cap. Its member with the most links (the hub: an id
   * thousands of people share) is marked untrusted, and the regions around it are re-derived
   * without it, this link included; again while the link still joins a region past the cap (a
   * message can carry two hubs). That is one pass over the region, once per hub; afterwards the
   * hub's links join nothing, so they cost nothing.
   */
  private capRegion(link: Link): void {
    for (;;) {
      const effective = this.effective(link);
      if (effective.length < 2) return;
      const hub = this.hubOf(effective);
      this.untrusted.add(hub);
      this.capped.add(hub);
      this.newlyCapped.push(hub);
      // Regions are current here, and untrusting the hub only splits its own: no need to search.
      this.rebuildRegion(this.regionsOf(link.members), true);
      const rest = this.effective(link);
      const region = rest.length > 0 ? this.regions.find(rest[0] as number) : -1;
      if (region === -1 || (this.regionLinks[region]?.length ?? 0) <= this.maxRegionLinks) return;
    }
  }

  /** The member with the most links; on a tie the lower-priority one (an anonymous id before a user id). */
  private hubOf(effective: number[]): number {
    let hub = effective[0] as number;
    for (const m of effective) {
      const d = (this.linksOf[m] as number[]).length - (this.linksOf[hub] as number[]).length;
      if (d > 0 || (d === 0 && this.compareIdentifiers(m, hub) > 0)) hub = m;
    }
    return hub;
  }

  /** Every member of the regions holding `ids`. */
  private regionsOf(ids: number[]): number[] {
    const roots = new Set<number>();
    const out: number[] = [];
    for (const id of ids) {
      const root = this.regions.find(id);
      if (roots.has(root)) continue;
      roots.add(root);
      for (const m of this.regions.members(root)) out.push(m);
    }
    return out;
  }

  /** The regions' link lists (each in replay order) as one list in replay order. */
  private mergeInOrder(lists: (number[] | undefined)[]): number[] {
    let merged: number[] | undefined;
    for (const list of lists) {
      if (!list) continue;
      if (!merged) merged = list;
      else if (list.length > merged.length) merged = mergeSorted(list, merged, this.byReplayOrder);
      else merged = mergeSorted(merged, list, this.byReplayOrder);
    }
    return merged ?? [];
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
    // Regions are derived here from whatever the log holds; the cap acts on growth (`place`).
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
    // `members` are whole regions. An untrusted member's links can still name identifiers of
    // other regions (their effective members lie wholly outside): those regions are not rebuilt
    // here, and taking such a link would overwrite their link lists with a partial one.
    const inside = new Set(members);
    const live = [...linkIds].filter((l) =>
      this.effective(this.links[l] as Link).every((m) => inside.has(m)),
    );
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
      if (effective.length < 2) {
        this.drops.delete(l);
        continue;
      }
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
      list.sort(this.byReplayOrder);
      for (const l of list) this.apply(this.links[l] as Link, !over);
    }
    if (report) {
      const alive = members.filter((m) => !this.ids.isDead(m));
      const prior = members.flatMap((m, i) => (this.ids.isDead(m) ? [] : [beforeAnchors[i] as number]));
      this.reportMoves(alive, prior);
    }
  }

  /** A link's members that may link: alive, and not marked untrusted. */
  private effective(link: Link): number[] {
    if (this.untrusted.size === 0 && !this.ids.anyDead) return link.members;
    // Most links hold no untrusted member: no copy for them (this runs per link in a replay).
    const members = link.members;
    let kept: number[] | undefined;
    for (let i = 0; i < members.length; i++) {
      const m = members[i] as number;
      const links = !this.untrusted.has(m) && !this.ids.isDead(m);
      if (kept) {
        if (links) kept.push(m);
      } else if (!links) kept = members.slice(0, i);
    }
    return kept ?? members;
  }

  private tag(id: number, apartId: number, side: number): void {
    const t = this.ownTags.get(id) ?? new Map<number, number>();
    t.set(apartId, (t.get(apartId) ?? 0) | side);
    this.ownTags.set(id, t);
  }
}

/**
 * Inserts `x` into `list` (in `cmp` order) after its equals. A link later than everything in
 * its region (the usual case) lands at the end, found in log(n) steps.
 */
function insertInOrder(list: number[], x: number, cmp: (a: number, b: number) => number): void {
  let lo = 0;
  let hi = list.length;
  if (hi === 0 || cmp(list[hi - 1] as number, x) <= 0) {
    list.push(x);
    return;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(list[mid] as number, x) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, x);
}

/**
 * Merges `small` into `big` (both in `cmp` order): in place by insertion when `small` is a few
 * links (a link joining a person to a big region), else a linear merge.
 */
function mergeSorted(big: number[], small: number[], cmp: (a: number, b: number) => number): number[] {
  if (small.length <= 16) {
    for (const x of small) insertInOrder(big, x, cmp);
    return big;
  }
  const out: number[] = new Array(big.length + small.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < big.length && j < small.length)
    out[k++] = cmp(big[i] as number, small[j] as number) <= 0 ? (big[i++] as number) : (small[j++] as number);
  while (i < big.length) out[k++] = big[i++] as number;
  while (j < small.length) out[k++] = small[j++] as number;
  return out;
}
