import { IdentityGraph } from '../core/identity/identity-graph.js';
import {
  CompiledRules,
  DEFAULT_RULES,
  type IdentityRules,
  MAX_REGION_LINKS,
  REGION_TOO_LARGE,
} from '../core/identity/identity-rules.js';
import type { Drop, Link } from '../core/identity/link.js';
import type { PersonChange } from '../core/identity/person-diff.js';
import { personIdOf } from '../core/identity/person-id.js';
import { revenueOf } from '../core/identity/profile.js';
import { resolveEvent } from '../core/identity/resolve-event.js';
import type { StoredEvent } from '../core/spec/message.js';
import type { LogRecord } from './event-log.js';
import {
  type EventIdentityRow,
  type IdentifierActivityRow,
  type IdentifierRow,
  type IdentityLogStore,
  type IdentityOpRow,
  type LinkRow,
  type Membership,
  type PersonActivityDelta,
  type PersonMapRow,
  type PersonModelChanges,
  type PersonRow,
  personMapChecksum,
  type Suppression,
  type TraitEventRow,
  type TraitFactRow,
} from './identity-ports.js';
import type { Clock } from './ports.js';
import { PositionWaiters } from './position-waiters.js';

/** A person change as the pipeline publishes it: person ids, not graph internals. */
export type PersonEvent =
  | { kind: 'created'; workspaceId: string; personId: string }
  | { kind: 'merged'; workspaceId: string; personId: string; from: string[] }
  | { kind: 'split'; workspaceId: string; from: string; into: string[] }
  | { kind: 'deleted'; workspaceId: string; personId: string };

/** The identity pipeline's name as a consumer of the ingest log. */
export const IDENTITY = 'identity';

/**
 * The version of what the person model derives (tables of migration 006). A database built by
 * another version has its model rebuilt at start; bump it when the derivation changes.
 */
export const PERSON_MODEL_VERSION = 1;

export interface IdentityOptions {
  /** How long resolved rows may wait before they are written (they are in memory at once). */
  flushIntervalMs: number;
  /**
   * Resolves once the events table holds every event up to `seq`. The person model's one-time
   * back-fill reads the traits of stored identify and group calls; without it, the events table
   * is taken as complete.
   */
  eventsLoaded?: (seq: number) => Promise<void>;
}

/** How the stored person model compared with the graph at start. */
export type PersonModelStart = 'current' | 'remapped' | 'rebuilt';

/**
 * How long resolution may hold the event loop before it lets other work run (ms). One event
 * costs at most one replay of a capped region (about a millisecond), so a slice ends a few ms
 * after this: requests of every tenant wait at most that long behind identity.
 */
const SLICE_MS = 4;

/** The reason recorded on an identifier the graph untrusted for its region's size. */
const REGION_TOO_LARGE_REASON = `${REGION_TOO_LARGE}: seen with so many other identifiers that its region passed ${MAX_REGION_LINKS} links; it stops linking (trust it again to undo, until the region grows again)`;

/**
 * The identity pipeline: every committed event goes through the graph at once (in memory,
 * microseconds), and what it derived (identifiers, links, the event's identifier, and the person
 * model: who holds which identifier, per-identifier activity and traits, per-person rows) is
 * written in batches, with the position in the event log in the same transaction. After a crash
 * the pipeline resumes from that position. A large group of records is resolved in slices of
 * `SLICE_MS`, yielding to the event loop between them, so no tenant's traffic holds up another's.
 */
export class IdentityService {
  /** The graph itself. Services read people through the methods below, never through it. */
  readonly graph = new IdentityGraph(new CompiledRules(DEFAULT_RULES));
  private pending = emptyBatch();
  /** Identifiers whose person may have gained or lost identifiers since the last write. */
  private remapped = new Set<number>();
  /** Identifiers with new identify traits since the last write (their person's traits are re-derived). */
  private retraited = new Set<number>();
  private processedSeq = 0;
  /** Records being resolved in slices (`handle`); later calls queue behind them. */
  private handling: Promise<void> | null = null;
  private lastOpId = 0;
  /** Identifiers the graph marked untrusted for their region's size (a metric). */
  untrustedForRegionSize = 0;
  private writing: Promise<void> = Promise.resolve();
  private flushTimer: Promise<void> | null = null;
  private readonly listeners = new Set<(changes: PersonEvent[]) => void>();
  private readonly ops = new Map<number, IdentityOpRow>();
  /** workspace → account (groupId) → member identifiers. */
  private readonly members = new Map<string, Map<string, Set<number>>>();
  private readonly personIndex = new Map<string, number>();
  private indexedAll = false;
  private indexing: Promise<void> | null = null;
  private rulesLoaded: Promise<IdentityRules[]> | null = null;
  private persisted = 0;
  private readonly waiters: PositionWaiters;
  readonly name = IDENTITY;
  /** Told each durable position (the log's checkpoint for this consumer). */
  onPersisted: ((seq: number) => void) | null = null;
  onFlushError: ((error: Error) => void) | null = null;
  /** Where suppressions go: the collector's list (set by the composition root). */
  onSuppress: ((list: Suppression[]) => void) | null = null;
  /**
   * Waits until reads see everything acknowledged so far: the composition root makes it wait
   * for the loader's and this pipeline's durable positions. Alone (tests, offline tools) it
   * writes what is pending.
   */
  readBarrier: (options?: { strict: boolean }) => Promise<void> = () => this.flush();

  constructor(
    private readonly store: IdentityLogStore,
    private readonly clock: Clock,
    private readonly options: IdentityOptions,
  ) {
    this.waiters = new PositionWaiters(clock);
  }

  /**
   * Loads the graph from its link log, then checks the stored person model against it (and
   * rewrites it when missing or stale). Events it has not resolved yet are replayed from the
   * ingest log by a ConsumerRunner; `catchUpFromStore` covers what only the database holds
   * (data written before the ingest log existed).
   */
  async start(): Promise<{
    identifiers: number;
    links: number;
    processedSeq: number;
    personModel: PersonModelStart;
  }> {
    await this.loadRules();
    const ops: IdentityOpRow[] = [];
    let identifiers = 0;
    const { processedSeq } = await this.store.load({
      identifier: (r) => {
        this.graph.intern(r.workspaceId, r.type, r.value, r.id);
        identifiers++;
      },
      link: (r) => {
        this.graph.restoreLink(r.members, { at: r.at, messageId: r.messageId, seq: r.seq }, r.rule, r.id);
      },
      op: (r) => ops.push(r),
      membership: (m) => this.addMember(m.workspaceId, m.groupId, m.identifierId),
    });
    for (const op of ops) this.replayOp(op);
    this.graph.rebuild();
    this.graph.drainChanges();
    this.processedSeq = processedSeq;
    this.persisted = processedSeq;
    const personModel = await this.checkPersonModel();
    return { identifiers, links: this.graph.linkCount, processedSeq, personModel };
  }

  /**
   * The person model is written with the links that shape it, so it matches the graph loaded
   * from them, unless it was never built (a database from before migration 006, or a new model
   * version) or a crash fell between a deletion and the write of its consequences. Stale is
   * told by a checksum of person_map against the graph's map; then the map and the per-person
   * rows are rewritten, and when the model was never built, the per-identifier facts too.
   */
  private async checkPersonModel(): Promise<PersonModelStart> {
    const state = await this.store.personModelState();
    const live = this.liveIdentifiers();
    const checksum = personMapChecksum(live.map((id): [number, number] => [id, this.graph.personOf(id)]));
    const built = state.version === PERSON_MODEL_VERSION;
    if (built && state.mapRows === live.length && state.checksum === checksum) return 'current';
    let traits: TraitFactRow[] | null = null;
    if (!built) {
      await this.options.eventsLoaded?.(this.processedSeq);
      traits = await this.storedTraitFacts();
    }
    const map: PersonMapRow[] = [];
    const persons: PersonRow[] = [];
    for (const id of live) {
      const key = this.graph.personOf(id);
      map.push(this.mapRow(id, key));
      if (key === id) persons.push(this.personRow(key, this.graph.personMembers(key)));
    }
    await this.store.rebuildPersonModel({ version: PERSON_MODEL_VERSION, traits, map, persons });
    if (built) return 'remapped';
    return live.length === 0 && state.mapRows === 0 ? 'current' : 'rebuilt';
  }

  /** Trait facts folded from every stored identify and group call (the back-fill). */
  private async storedTraitFacts(): Promise<TraitFactRow[]> {
    const facts = new Map<string, TraitFactRow>();
    await this.store.traitEvents((rows: TraitEventRow[]) => {
      for (const r of rows) addTraitFacts(facts, r);
    });
    return [...facts.values()];
  }

  private liveIdentifiers(): number[] {
    const out: number[] = [];
    for (let id = 0; id < this.graph.nextId; id++) if (this.graph.exists(id)) out.push(id);
    return out;
  }

  /** Resolves stored events after the position up to `upTo` (those the ingest log no longer holds). */
  async catchUpFromStore(upTo: number): Promise<number> {
    if (this.processedSeq >= upTo) return 0;
    const rules = await this.loadRules();
    let caughtUp = 0;
    const custom = rules.some((r) => r.customIdentifiers.length > 0);
    await this.store.eventsAfter(this.processedSeq, custom, async (events) => {
      const mine = events.filter((e) => e.seq <= upTo);
      await this.handle(mine.map((event): LogRecord => ({ kind: 'event', seq: event.seq, event })));
      caughtUp += mine.length;
      if (this.pending.events.length >= 50_000) await this.flush();
    });
    await this.flush();
    return caughtUp;
  }

  /** The last seq resolved in memory (the graph is current up to it). */
  get position(): number {
    return this.processedSeq;
  }

  /** The last seq whose derived rows are durable: reads of timelines wait for this. */
  get persistedSeq(): number {
    return this.persisted;
  }

  /** The last seq whose identity rows are stored, read from the store (without loading the graph). */
  storedPosition(): Promise<number> {
    return this.store.processedSeq();
  }

  /** The stored suppression list (the collector's, at its start). */
  loadSuppressions(): Promise<Suppression[]> {
    return this.store.loadSuppressions();
  }

  /**
   * Consumer of the ingest log: resolves its events and steps past its quarantine records, in
   * slices. What fits in one slice is resolved on return; otherwise the rest follows in slices
   * that yield to the event loop, and the promise settles when all is resolved (or rejects at the
   * event that failed). The position moves past a record only once it is resolved.
   */
  handle(records: LogRecord[]): Promise<void> | undefined {
    if (this.handling) return this.track(this.handling.then(() => this.resolveRest(records, 0)));
    const stop = this.resolveSlice(records, 0);
    return stop < records.length ? this.track(this.resolveRest(records, stop)) : undefined;
  }

  /** Resolves records from `from` in slices, yielding to the event loop before each. */
  private async resolveRest(records: LogRecord[], from: number): Promise<void> {
    for (let i = from; i < records.length; ) {
      await this.clock.sleep(0);
      i = this.resolveSlice(records, i);
    }
  }

  /** Resolves records from `from` until the slice's time is spent (at least one); returns where it stopped. */
  private resolveSlice(records: LogRecord[], from: number): number {
    const until = this.clock.now() + SLICE_MS;
    let i = from;
    try {
      while (i < records.length) {
        const r = records[i] as LogRecord;
        if (r.seq > this.processedSeq) {
          if (r.kind === 'event') this.resolve(r.event);
          this.advance(r.seq);
        }
        i++;
        if (this.clock.now() >= until) break;
      }
    } finally {
      this.publish();
      this.scheduleFlush();
    }
    return i;
  }

  private track(work: Promise<void>): Promise<void> {
    this.handling = work;
    const done = () => {
      if (this.handling === work) this.handling = null;
    };
    work.then(done, done);
    return work;
  }

  /** Resolves once derived rows up to `seq` are durable, or false after `timeoutMs`. */
  waitFor(seq: number, timeoutMs: number): Promise<boolean> {
    return this.waiters.wait(this.persisted, seq, timeoutMs);
  }

  /**
   * The workspaces' rules (the collector reads them to find an event's identifiers), without
   * loading the graph. Loaded once; returns the stored rules.
   */
  loadRules(): Promise<IdentityRules[]> {
    this.rulesLoaded ??= (async () => {
      const settings = await this.store.loadSettings();
      for (const s of settings)
        this.graph.setRules(s.workspaceId, new CompiledRules(s.rules as IdentityRules));
      return settings.map((s) => s.rules as IdentityRules);
    })();
    return this.rulesLoaded;
  }

  /** Subscribes to person changes (created, merged, split, deleted). */
  onChange(listener: (changes: PersonEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves events in seq order. Synchronous: the graph is current on return. The position
   * moves past an event only once it is resolved, so an exception leaves it at the event that
   * failed (the runner retries from there) and never skips the rest of a batch.
   */
  process(events: StoredEvent[]): void {
    try {
      for (const e of events) {
        if (e.seq <= this.processedSeq) continue;
        this.resolve(e);
        this.advance(e.seq);
      }
    } finally {
      this.publish();
      this.scheduleFlush();
    }
  }

  /** One event through the graph, and the rows it derives into the pending batch. */
  private resolve(e: StoredEvent): void {
    const p = this.pending;
    const r = resolveEvent(this.graph, e);
    for (const id of r.created) {
      p.identifiers.push(this.identifierRow(id));
      if (this.indexedAll) this.index(id);
    }
    if (r.logged) p.links.push(this.linkRow(r.logged.id));
    if (r.primary !== null) {
      const groupId = e.groupId ?? null;
      const revenue = revenueOf(e.type, e.event, e.properties);
      p.events.push({
        seq: e.seq,
        workspaceId: e.workspaceId,
        identifierId: r.primary,
        timestamp: e.timestamp,
        type: e.type,
        groupId,
        revenue,
      });
      addActivity(p.activity, {
        identifierId: r.primary,
        workspaceId: e.workspaceId,
        firstSeen: e.timestamp,
        lastSeen: e.timestamp,
        events: 1,
        revenue: revenue ?? 0,
      });
      // A person's traits come from identify calls; an account's from group calls naming it.
      if (e.type === 'identify' || (e.type === 'group' && groupId !== null)) {
        if (e.type === 'identify' && e.traits !== null) this.retraited.add(r.primary);
        addTraitFacts(p.traits, {
          identifierId: r.primary,
          workspaceId: e.workspaceId,
          groupId: e.type === 'group' ? groupId : null,
          traits: e.traits,
          at: e.timestamp,
          messageId: e.messageId,
        });
      }
      if (e.type === 'group' && groupId !== null && this.addMember(e.workspaceId, groupId, r.primary))
        p.memberships.push({ workspaceId: e.workspaceId, groupId, identifierId: r.primary });
    }
  }

  private advance(seq: number): void {
    this.processedSeq = seq;
    this.pending.processedSeq = seq;
  }

  /**
   * Writes everything resolved so far, with the person model's changes, in one transaction;
   * resolves when it is durable.
   */
  flush(): Promise<void> {
    this.writing = this.writing.catch(() => undefined).then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    this.publish();
    const batch = this.pending;
    const remapped = this.remapped;
    const retraited = this.retraited;
    if (batch.processedSeq === 0 && batch.ops.length === 0 && remapped.size === 0 && retraited.size === 0)
      return;
    this.pending = emptyBatch();
    this.remapped = new Set();
    this.retraited = new Set();
    // Taken with the batch, synchronously: the person model written is the graph's state after
    // exactly the rows of this batch.
    const persons = this.personChanges(remapped, retraited, batch.activity);
    try {
      await this.store.append({
        identifiers: batch.identifiers,
        links: batch.links,
        events: batch.events,
        ops: batch.ops,
        processedSeq: batch.processedSeq === 0 ? null : batch.processedSeq,
        activity: [...batch.activity.values()],
        traits: [...batch.traits.values()],
        memberships: batch.memberships,
        persons,
      });
    } catch (e) {
      // Keep the rows for the next attempt, ahead of anything resolved meanwhile.
      this.pending = mergeBatches(batch, this.pending);
      for (const id of remapped) this.remapped.add(id);
      for (const id of retraited) this.retraited.add(id);
      this.onFlushError?.(e as Error);
      throw e;
    }
    if (batch.processedSeq !== 0) {
      this.persisted = Math.max(this.persisted, batch.processedSeq);
      this.onPersisted?.(this.persisted);
      this.waiters.reached(this.persisted);
    }
  }

  /**
   * The person model rows to write: every identifier of every person that gained or lost one
   * (with its alias when it is not the key); a re-derived row for those persons and those whose
   * traits changed; what the batch's events add to every other person they touch; and the keys
   * that stopped naming a person.
   */
  private personChanges(
    remapped: Set<number>,
    retraited: Set<number>,
    activity: Map<number, IdentifierActivityRow>,
  ): PersonModelChanges {
    const map: PersonMapRow[] = [];
    const retired = new Set<number>();
    const keys = new Map<number, number[]>();
    for (const id of remapped) {
      if (!this.graph.exists(id)) {
        retired.add(id);
        continue;
      }
      const key = this.graph.personOf(id);
      if (key !== id) retired.add(id);
      if (keys.has(key)) continue;
      const members = this.graph.personMembers(key);
      keys.set(key, members);
      for (const m of members) map.push(this.mapRow(m, key));
    }
    for (const id of retraited) {
      if (!this.graph.exists(id)) continue;
      const key = this.graph.personOf(id);
      if (!keys.has(key)) keys.set(key, this.graph.personMembers(key));
    }
    const deltas = new Map<number, PersonActivityDelta>();
    for (const a of activity.values()) {
      if (!this.graph.exists(a.identifierId)) continue;
      const key = this.graph.personOf(a.identifierId);
      if (keys.has(key)) continue;
      const d = deltas.get(key);
      if (!d) deltas.set(key, { personKey: key, ...a });
      else {
        d.firstSeen = Math.min(d.firstSeen, a.firstSeen);
        d.lastSeen = Math.max(d.lastSeen, a.lastSeen);
        d.events += a.events;
        d.revenue += a.revenue;
      }
    }
    return {
      map,
      persons: [...keys].map(([key, members]) => this.personRow(key, members)),
      activity: [...deltas.values()].map(({ personKey, firstSeen, lastSeen, events, revenue }) => ({
        personKey,
        firstSeen,
        lastSeen,
        events,
        revenue,
      })),
      retired: [...retired],
    };
  }

  private mapRow(id: number, key: number): PersonMapRow {
    const who = this.graph.identifier(id);
    return {
      identifierId: id,
      workspaceId: who.workspaceId,
      personKey: key,
      aliasId: key === id ? null : personIdOf(who.workspaceId, who.type, who.value),
    };
  }

  private personRow(key: number, members: number[]): PersonRow {
    let search = '';
    for (const m of members) {
      const { type, value } = this.graph.identifier(m);
      search += `${type}:${value}\n`;
    }
    return {
      personKey: key,
      workspaceId: this.graph.identifier(key).workspaceId,
      personId: this.nameOf(key),
      identifiers: members.length,
      search: search.toLowerCase(),
    };
  }

  // ── rules ──────────────────────────────────────────────────────────────────

  rulesOf(workspaceId: string): IdentityRules {
    return this.graph.rulesOf(workspaceId).rules;
  }

  /** The compiled rules of a workspace (identifier parsing, ordering). */
  compiledRulesOf(workspaceId: string): CompiledRules {
    return this.graph.rulesOf(workspaceId);
  }

  /** New rules apply at once: the graph is re-derived from its log under them. */
  async setRules(workspaceId: string, rules: IdentityRules): Promise<void> {
    await this.store.saveSettings(workspaceId, rules, this.clock.now());
    this.remapAround(this.liveIdentifiers(), () => {
      this.graph.setRules(workspaceId, new CompiledRules(rules));
      this.graph.rebuild();
    });
    await this.flush();
  }

  /**
   * Runs `work` (a re-derivation that reports no person changes) and marks for the person model
   * every identifier among `ids` whose person changed, with its former key.
   */
  private remapAround(ids: number[], work: () => void): void {
    const before = ids.map((id) => (this.graph.exists(id) ? this.graph.personOf(id) : -1));
    work();
    this.graph.drainChanges();
    ids.forEach((id, i) => {
      const was = before[i] as number;
      if (!this.graph.exists(id)) {
        if (was !== -1) this.remapped.add(id).add(was);
      } else if (this.graph.personOf(id) !== was) {
        this.remapped.add(id);
        if (was !== -1) this.remapped.add(was);
      }
    });
  }

  // ── operations ─────────────────────────────────────────────────────────────

  /**
   * Records and applies an operation on the graph; returns it with its id once it is written,
   * in one transaction with the person model's changes it caused.
   */
  async operate(op: Omit<IdentityOpRow, 'id' | 'at' | 'linkId'>): Promise<IdentityOpRow> {
    const id = ++this.lastOpId;
    const full: IdentityOpRow = { ...op, id, at: this.clock.now(), linkId: null };
    if (op.kind === 'merge') {
      const r = this.graph.observe(
        [...op.identifiers].sort((a, b) => this.graph.compareIdentifiers(a, b)),
        { at: full.at, messageId: `op_${id}`, seq: 0 },
        'manual_merge',
      );
      if (r.link) {
        full.linkId = r.link.id;
        this.pending.links.push(this.linkRow(r.link.id));
      }
    } else {
      this.applyOp(full);
    }
    this.ops.set(id, full);
    this.pending.ops.push(full);
    this.publish();
    try {
      await this.flush();
    } catch (e) {
      // Applied and kept pending: the next write stores it.
      this.scheduleFlush();
      throw e;
    }
    return full;
  }

  /** Applies a stored op again (start-up); the caller rebuilds afterwards. */
  private replayOp(op: IdentityOpRow): void {
    this.ops.set(op.id, op);
    this.lastOpId = Math.max(this.lastOpId, op.id);
    if (op.kind !== 'merge') this.applyOp(op);
  }

  private applyOp(op: IdentityOpRow): void {
    const live = (ids: number[]) => ids.filter((i) => this.graph.exists(i));
    switch (op.kind) {
      case 'untrust': {
        const why = op.reason?.startsWith(REGION_TOO_LARGE) ? REGION_TOO_LARGE : 'operator';
        for (const i of live(op.identifiers)) this.graph.setUntrusted(i, true, why);
        return;
      }
      case 'trust':
        for (const i of live(op.identifiers)) this.graph.setUntrusted(i, false);
        return;
      case 'remove':
        this.graph.addApart({ id: op.id, side: live(op.identifiers), others: live(op.others) });
        return;
      case 'undo': {
        const target = op.undoes === null ? undefined : this.ops.get(op.undoes);
        if (!target) return;
        if (target.kind === 'merge' && target.linkId !== null) this.graph.killLink(target.linkId);
        if (target.kind === 'remove') this.graph.removeApart(target.id);
        if (target.kind === 'untrust')
          for (const i of live(target.identifiers)) this.graph.setUntrusted(i, false);
        if (target.kind === 'trust')
          for (const i of live(target.identifiers)) this.graph.setUntrusted(i, true);
        return;
      }
      case 'merge':
        return;
    }
  }

  /**
   * Runs `work` between two writes of the pipeline (a deletion and what it does to the graph):
   * no batch is written meanwhile, so none can bring back rows the work removes.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writing.catch(() => undefined).then(work);
    this.writing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** A workspace's operations, oldest first. */
  operationsOf(workspaceId: string): IdentityOpRow[] {
    return [...this.ops.values()].filter((o) => o.workspaceId === workspaceId).sort((a, b) => a.id - b.id);
  }

  // ── reading the graph ──────────────────────────────────────────────────────

  identifier(id: number): { workspaceId: string; type: string; value: string } {
    return this.graph.identifier(id);
  }

  /** The id of a live identifier, if any. */
  identifierIdOf(workspaceId: string, type: string, value: string): number | undefined {
    return this.graph.idOf(workspaceId, type, value);
  }

  exists(id: number): boolean {
    return this.graph.exists(id);
  }

  /** The key of the person holding `id` now: its anchor identifier's id. */
  personKeyOf(id: number): number {
    return this.graph.personOf(id);
  }

  /** The identifiers of `id`'s person, highest priority first. */
  membersOf(id: number): number[] {
    return this.graph.personMembers(id);
  }

  isUntrusted(id: number): boolean {
    return this.graph.isUntrusted(id);
  }

  /** Live links that mention `id`. */
  linksWith(id: number): Link[] {
    return this.graph.linksWith(id);
  }

  link(id: number): Link | undefined {
    return this.graph.link(id);
  }

  /** Identifiers a link's message carried that resolution left out, with the reason. */
  dropsOf(linkId: number): Drop[] {
    return this.graph.dropsOf(linkId);
  }

  /**
   * Each identifier's person key in a workspace, indexed by identifier id (-1: another
   * workspace's, or deleted): what a bulk scan groups events by. The same keys as `person_map`.
   */
  personKeysOf(workspaceId: string): Int32Array {
    const keys = new Int32Array(this.graph.nextId).fill(-1);
    for (let id = 0; id < this.graph.nextId; id++) {
      if (this.graph.exists(id) && this.graph.identifier(id).workspaceId === workspaceId)
        keys[id] = this.graph.personOf(id);
    }
    return keys;
  }

  // ── people ─────────────────────────────────────────────────────────────────

  /** The id of the person holding identifier `id` now. */
  personIdOfIdentifier(id: number): string {
    const anchor = this.graph.personOf(id);
    const pid = this.nameOf(anchor);
    this.personIndex.set(pid, anchor);
    return pid;
  }

  /** The person id an anchor identifier names. */
  private nameOf(anchor: number): string {
    const who = this.graph.identifier(anchor);
    return personIdOf(who.workspaceId, who.type, who.value);
  }

  /**
   * The identifier a person id was named after, if it still exists (perhaps in another person
   * now). Person ids are hashes; the first lookup of one not seen in this process indexes every
   * identifier, in slices that leave the event loop free, and the index then stays current.
   */
  async anchorOfPersonId(personId: string): Promise<number | undefined> {
    const live = (id: number | undefined) => (id !== undefined && this.graph.exists(id) ? id : undefined);
    const known = live(this.personIndex.get(personId));
    if (known !== undefined || this.indexedAll) return known;
    this.indexing ??= this.indexAll();
    await this.indexing;
    return live(this.personIndex.get(personId));
  }

  private async indexAll(): Promise<void> {
    for (let id = 0; id < this.graph.nextId; id++) {
      if (this.graph.exists(id)) this.index(id);
      if (id % 20_000 === 19_999) await this.clock.sleep(0);
    }
    this.indexedAll = true;
  }

  private index(id: number): void {
    this.personIndex.set(this.nameOf(id), id);
  }

  /** Accounts (groupIds) any of these identifiers joined through a group call. */
  accountsOf(workspaceId: string, identifierIds: number[]): string[] {
    const accounts = this.members.get(workspaceId);
    if (!accounts) return [];
    const ids = new Set(identifierIds);
    const out: string[] = [];
    for (const [groupId, members] of accounts) {
      for (const m of members) {
        if (ids.has(m)) {
          out.push(groupId);
          break;
        }
      }
    }
    return out.sort();
  }

  /** An account's member identifiers, or undefined for an account never seen. */
  accountMembers(workspaceId: string, groupId: string): number[] | undefined {
    const m = this.members.get(workspaceId)?.get(groupId);
    return m ? [...m].filter((i) => this.graph.exists(i)) : undefined;
  }

  /**
   * Forgets a person's identifiers in memory after the store deleted them. Persons around them
   * may change (what only they held together comes apart): those changes go to the person model
   * with the next write (`flush`).
   */
  forget(workspaceId: string, personId: string, identifierIds: number[], suppress: Suppression[]): void {
    this.remapAround(this.regionAround(identifierIds), () => this.graph.forget(identifierIds));
    for (const groups of this.members.get(workspaceId)?.values() ?? [])
      for (const i of identifierIds) groups.delete(i);
    this.suppress(suppress);
    this.emit([{ kind: 'deleted', workspaceId, personId }]);
    this.scheduleFlush();
  }

  /** Every identifier connected to `ids` by live links (rules ignored), `ids` included. */
  private regionAround(ids: number[]): number[] {
    const seen = new Set(ids);
    const queue = [...ids];
    while (queue.length > 0) {
      const id = queue.pop() as number;
      for (const l of this.graph.linksWith(id))
        for (const m of l.members)
          if (!seen.has(m) && this.graph.exists(m)) {
            seen.add(m);
            queue.push(m);
          }
    }
    return [...seen];
  }

  // ── suppression ────────────────────────────────────────────────────────────

  /** Tells the collector (which owns the suppression list) to drop these identifiers' messages. */
  suppress(list: Suppression[]): void {
    if (list.length > 0) this.onSuppress?.(list);
  }

  // ── internals ──────────────────────────────────────────────────────────────

  /** Adds a membership; true when it is new. */
  private addMember(workspaceId: string, groupId: string, identifierId: number): boolean {
    let accounts = this.members.get(workspaceId);
    if (!accounts) {
      accounts = new Map();
      this.members.set(workspaceId, accounts);
    }
    let set = accounts.get(groupId);
    if (!set) {
      set = new Set<number>();
      accounts.set(groupId, set);
    }
    if (set.has(identifierId)) return false;
    set.add(identifierId);
    return true;
  }

  private identifierRow(id: number): IdentifierRow {
    return { id, ...this.graph.identifier(id) };
  }

  private linkRow(linkId: number): LinkRow {
    const l = this.graph.link(linkId);
    if (!l) throw new Error(`link ${linkId} is unknown`);
    const workspaceId = this.graph.identifier(l.members[0] as number).workspaceId;
    return {
      id: l.id,
      workspaceId,
      members: l.members,
      rule: l.rule,
      at: l.at,
      messageId: l.messageId,
      seq: l.seq,
    };
  }

  /** Drains the graph's changes: into the person model's pending work, and to the listeners. */
  private publish(): void {
    this.recordCapped();
    const changes = this.graph.drainChanges();
    if (changes.length === 0) return;
    for (const c of changes) this.markRemapped(c);
    if (this.listeners.size === 0) return;
    this.emit(changes.map((c) => this.toPersonEvent(c)));
  }

  private markRemapped(c: PersonChange): void {
    switch (c.kind) {
      case 'created':
      case 'deleted':
        this.remapped.add(c.person);
        return;
      case 'merged':
        this.remapped.add(c.person);
        for (const f of c.from) this.remapped.add(f);
        return;
      case 'split':
        this.remapped.add(c.from);
        for (const i of c.into) this.remapped.add(i);
        return;
    }
  }

  /**
   * The graph marks an identifier untrusted when it would grow a region past the cap; that is
   * recorded as an `untrust` operation (shown in explanations, undoable) and counted. It is
   * written with the rows of the events that caused it.
   */
  private recordCapped(): void {
    for (const id of this.graph.drainCapped()) {
      const op: IdentityOpRow = {
        id: ++this.lastOpId,
        workspaceId: this.graph.identifier(id).workspaceId,
        kind: 'untrust',
        identifiers: [id],
        others: [],
        linkId: null,
        undoes: null,
        reason: REGION_TOO_LARGE_REASON,
        at: this.clock.now(),
      };
      this.ops.set(op.id, op);
      this.pending.ops.push(op);
      this.untrustedForRegionSize++;
    }
  }

  private emit(events: PersonEvent[]): void {
    for (const l of this.listeners) l(events);
  }

  private toPersonEvent(c: PersonChange): PersonEvent {
    const name = (anchor: number) => this.nameOf(anchor);
    const ws = (anchor: number) => this.graph.identifier(anchor).workspaceId;
    switch (c.kind) {
      case 'created':
        return { kind: 'created', workspaceId: ws(c.person), personId: name(c.person) };
      case 'merged':
        return {
          kind: 'merged',
          workspaceId: ws(c.person),
          personId: name(c.person),
          from: c.from.map(name),
        };
      case 'split':
        return { kind: 'split', workspaceId: ws(c.from), from: name(c.from), into: c.into.map(name) };
      case 'deleted':
        return { kind: 'deleted', workspaceId: ws(c.person), personId: name(c.person) };
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    const idle =
      this.pending.processedSeq === 0 &&
      this.pending.ops.length === 0 &&
      this.remapped.size === 0 &&
      this.retraited.size === 0;
    if (idle) return;
    this.flushTimer = this.clock.sleep(this.options.flushIntervalMs).then(async () => {
      this.flushTimer = null;
      // A failed write keeps its rows pending (reported through onFlushError): try again later.
      await this.flush().catch(() => this.scheduleFlush());
    });
  }

  /** Waits for records being resolved and a scheduled write (shutdown). */
  async drain(): Promise<void> {
    while (this.handling) await this.handling.catch(() => undefined);
    await this.flushTimer;
    await this.flush();
  }
}

type PendingBatch = {
  identifiers: IdentifierRow[];
  links: LinkRow[];
  events: EventIdentityRow[];
  processedSeq: number;
  /** Operations: the operator's, and those the graph made itself. */
  ops: IdentityOpRow[];
  /** Per identifier, what this batch's events add. */
  activity: Map<number, IdentifierActivityRow>;
  /** Per identifier, account and trait, the newest value in this batch. */
  traits: Map<string, TraitFactRow>;
  memberships: Membership[];
};

const emptyBatch = (): PendingBatch => ({
  identifiers: [],
  links: [],
  events: [],
  processedSeq: 0,
  ops: [],
  activity: new Map(),
  traits: new Map(),
  memberships: [],
});

function mergeBatches(a: PendingBatch, b: PendingBatch): PendingBatch {
  const activity = new Map(a.activity);
  for (const r of b.activity.values()) addActivity(activity, r);
  const traits = new Map(a.traits);
  for (const r of b.traits.values()) addTrait(traits, r);
  return {
    identifiers: [...a.identifiers, ...b.identifiers],
    links: [...a.links, ...b.links],
    events: [...a.events, ...b.events],
    processedSeq: Math.max(a.processedSeq, b.processedSeq),
    ops: [...a.ops, ...b.ops],
    activity,
    traits,
    memberships: [...a.memberships, ...b.memberships],
  };
}

function addActivity(into: Map<number, IdentifierActivityRow>, r: IdentifierActivityRow): void {
  const had = into.get(r.identifierId);
  if (!had) {
    into.set(r.identifierId, { ...r });
    return;
  }
  had.firstSeen = Math.min(had.firstSeen, r.firstSeen);
  had.lastSeen = Math.max(had.lastSeen, r.lastSeen);
  had.events += r.events;
  had.revenue += r.revenue;
}

/** Newer by event time, then messageId: the order `foldTraits` applies. */
const newer = (a: { at: number; messageId: string }, b: { at: number; messageId: string }): boolean =>
  a.at > b.at || (a.at === b.at && a.messageId > b.messageId);

function addTrait(into: Map<string, TraitFactRow>, r: TraitFactRow): void {
  const k = `${r.identifierId}\u0001${r.groupId ?? ''}\u0001${r.key}`;
  const had = into.get(k);
  if (!had || newer(r, had)) into.set(k, r);
}

/**
 * An identify or group call's traits as facts: each key's value as JSON text. Traits that are
 * not a JSON object hold nothing, as `foldTraits` reads them.
 */
function addTraitFacts(into: Map<string, TraitFactRow>, e: TraitEventRow): void {
  if (e.traits === null) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(e.traits);
  } catch {
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
  for (const [key, v] of Object.entries(parsed as Record<string, unknown>)) {
    addTrait(into, {
      identifierId: e.identifierId,
      workspaceId: e.workspaceId,
      groupId: e.groupId,
      key,
      value: JSON.stringify(v),
      at: e.at,
      messageId: e.messageId,
    });
  }
}
