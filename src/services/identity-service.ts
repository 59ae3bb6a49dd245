import { IdentityGraph } from '../core/identity/identity-graph.js';
import {
  CompiledRules,
  DEFAULT_RULES,
  type IdentityRules,
  MAX_REGION_LINKS,
  REGION_TOO_LARGE,
} from '../core/identity/identity-rules.js';
import type { PersonChange } from '../core/identity/person-diff.js';
import { personIdOf } from '../core/identity/person-id.js';
import { revenueOf } from '../core/identity/profile.js';
import { resolveEvent } from '../core/identity/resolve-event.js';
import type { StoredEvent } from '../core/spec/message.js';
import type { LogRecord } from './event-log.js';
import type {
  EventIdentityRow,
  IdentifierRow,
  IdentityOpRow,
  IdentityStore,
  LinkRow,
  Suppression,
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

export interface IdentityOptions {
  /** How long resolved rows may wait before they are written (they are in memory at once). */
  flushIntervalMs: number;
}

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
 * microseconds), and what it derived (identifiers, links, the event's identifier) is written in
 * batches, with the position in the event log in the same transaction. After a crash the
 * pipeline resumes from that position. A large group of records is resolved in slices of
 * `SLICE_MS`, yielding to the event loop between them, so no tenant's traffic holds up another's.
 */
export class IdentityService {
  readonly graph = new IdentityGraph(new CompiledRules(DEFAULT_RULES));
  private pending = emptyBatch();
  private processedSeq = 0;
  /** Records being resolved in slices (`handle`); later calls queue behind them. */
  private handling: Promise<void> | null = null;
  private lastOpId = 0;
  /** Identifiers the graph marked untrusted for their region's size (a metric). */
  untrustedForRegionSize = 0;
  private writing: Promise<void> = Promise.resolve();
  private flushTimer: Promise<void> | null = null;
  private readonly listeners = new Set<(changes: PersonEvent[]) => void>();
  readonly ops = new Map<number, IdentityOpRow>();
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
    readonly store: IdentityStore,
    private readonly clock: Clock,
    private readonly options: IdentityOptions,
  ) {
    this.waiters = new PositionWaiters(clock);
  }

  /**
   * Loads the graph from its link log. Events it has not resolved yet are replayed from the
   * ingest log by a ConsumerRunner; `catchUpFromStore` covers what only the database holds
   * (data written before the ingest log existed).
   */
  async start(): Promise<{ identifiers: number; links: number; processedSeq: number }> {
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
    return { identifiers, links: this.graph.linkCount, processedSeq };
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
      p.events.push({
        seq: e.seq,
        workspaceId: e.workspaceId,
        identifierId: r.primary,
        timestamp: e.timestamp,
        type: e.type,
        groupId,
        revenue: revenueOf(e.type, e.event, e.properties),
      });
      if (e.type === 'group' && groupId !== null) this.addMember(e.workspaceId, groupId, r.primary);
    }
  }

  private advance(seq: number): void {
    this.processedSeq = seq;
    this.pending.processedSeq = seq;
  }

  /** Writes everything resolved so far; resolves when it is durable. */
  flush(): Promise<void> {
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        const batch = this.pending;
        if (batch.processedSeq === 0 && batch.ops.length === 0) return;
        this.pending = emptyBatch();
        const { ops, ...rows } = batch;
        if (rows.processedSeq !== 0) {
          try {
            await this.store.append(rows);
          } catch (e) {
            // Keep the rows for the next attempt, ahead of anything resolved meanwhile.
            this.pending = mergeBatches(batch, this.pending);
            this.onFlushError?.(e as Error);
            throw e;
          }
          this.persisted = Math.max(this.persisted, rows.processedSeq);
          this.onPersisted?.(this.persisted);
          this.waiters.reached(this.persisted);
        }
        await this.writeOps(ops);
      });
    return this.writing;
  }

  /**
   * Writes the graph's own operations after the rows of the events that caused them (they name
   * those events' identifiers). A crash between the two loses the mark, not its cause: the
   * region is still past the cap, and the next link into it marks the identifier again.
   */
  private async writeOps(ops: IdentityOpRow[]): Promise<void> {
    for (const [i, op] of ops.entries()) {
      try {
        await this.store.appendOp(op, []);
      } catch (e) {
        this.pending.ops.unshift(...ops.slice(i));
        this.onFlushError?.(e as Error);
        throw e;
      }
    }
  }

  // ── rules ──────────────────────────────────────────────────────────────────

  rulesOf(workspaceId: string): IdentityRules {
    return this.graph.rulesOf(workspaceId).rules;
  }

  /** New rules apply at once: the graph is re-derived from its log under them. */
  async setRules(workspaceId: string, rules: IdentityRules): Promise<void> {
    await this.store.saveSettings(workspaceId, rules, this.clock.now());
    this.graph.setRules(workspaceId, new CompiledRules(rules));
    this.graph.rebuild();
    this.graph.drainChanges();
  }

  // ── operations ─────────────────────────────────────────────────────────────

  /** Records and applies an operation on the graph; returns it with its id. */
  async operate(op: Omit<IdentityOpRow, 'id' | 'at' | 'linkId'>): Promise<IdentityOpRow> {
    await this.flush();
    const id = ++this.lastOpId;
    const full: IdentityOpRow = { ...op, id, at: this.clock.now(), linkId: null };
    const links: LinkRow[] = [];
    if (op.kind === 'merge') {
      const r = this.graph.observe(
        [...op.identifiers].sort((a, b) => this.graph.compareIdentifiers(a, b)),
        { at: full.at, messageId: `op_${id}`, seq: 0 },
        'manual_merge',
      );
      if (r.link) {
        full.linkId = r.link.id;
        links.push(this.linkRow(r.link.id));
      }
    } else {
      this.applyOp(full);
    }
    await this.store.appendOp(full, links);
    this.ops.set(id, full);
    this.publish();
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

  accountIds(workspaceId: string): string[] {
    return [...(this.members.get(workspaceId)?.keys() ?? [])].sort();
  }

  /** Forgets a person's identifiers in memory after the store deleted them. */
  forget(workspaceId: string, personId: string, identifierIds: number[], suppress: Suppression[]): void {
    this.graph.forget(identifierIds);
    this.graph.drainChanges();
    for (const groups of this.members.get(workspaceId)?.values() ?? [])
      for (const i of identifierIds) groups.delete(i);
    this.suppress(suppress);
    this.emit([{ kind: 'deleted', workspaceId, personId }]);
  }

  // ── suppression ────────────────────────────────────────────────────────────

  /** Tells the collector (which owns the suppression list) to drop these identifiers' messages. */
  suppress(list: Suppression[]): void {
    if (list.length > 0) this.onSuppress?.(list);
  }

  // ── internals ──────────────────────────────────────────────────────────────

  private addMember(workspaceId: string, groupId: string, identifierId: number): void {
    let accounts = this.members.get(workspaceId);
    if (!accounts) {
      accounts = new Map();
      this.members.set(workspaceId, accounts);
    }
    const set = accounts.get(groupId) ?? new Set<number>();
    set.add(identifierId);
    accounts.set(groupId, set);
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

  private publish(): void {
    this.recordCapped();
    const changes = this.graph.drainChanges();
    if (changes.length === 0 || this.listeners.size === 0) return;
    this.emit(changes.map((c) => this.toPersonEvent(c)));
  }

  /**
   * The graph marks an identifier untrusted when it would grow a region past the cap; that is
   * recorded as an `untrust` operation (shown in explanations, undoable) and counted.
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
    if (this.flushTimer || (this.pending.processedSeq === 0 && this.pending.ops.length === 0)) return;
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
  /** Operations the graph made itself, written after the rows. */
  ops: IdentityOpRow[];
};

const emptyBatch = (): PendingBatch => ({
  identifiers: [],
  links: [],
  events: [],
  processedSeq: 0,
  ops: [],
});

function mergeBatches(a: PendingBatch, b: PendingBatch): PendingBatch {
  return {
    identifiers: [...a.identifiers, ...b.identifiers],
    links: [...a.links, ...b.links],
    events: [...a.events, ...b.events],
    processedSeq: Math.max(a.processedSeq, b.processedSeq),
    ops: [...a.ops, ...b.ops],
  };
}
