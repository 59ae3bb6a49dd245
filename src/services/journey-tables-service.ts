import type { Journey } from '../core/journey/journey.js';
import { journeyFromRows } from '../core/journey/journey-rows.js';
import type { TablesFreshness } from './analytics-ports.js';
import { PERSON_MODEL_VERSION, type PersonEvent } from './identity-service.js';
import { journeyFingerprint, journeysPart } from './journey-fingerprint.js';
import type {
  JourneyBuildCounts,
  JourneyBuildPhase,
  JourneyTablesState,
  JourneyTablesStore,
} from './journey-ports.js';
import type { JourneyService } from './journey-service.js';
import type { Clock } from './ports.js';

/**
 * Keeps the journey tables (sessions, touchpoints, steps, stage history) current:
 *
 * - in bulk, when a workspace's settings change or were never built with this derivation
 *   (at start, and on `PUT` of the settings), in the background, with its phase in /health;
 * - per person, as events are loaded and identity merges, splits or deletes people: the persons
 *   with events past what the tables include, and those the identity pipeline changed, are
 *   derived again (a late event is just an event of a person whose rows are rebuilt).
 *
 * All work goes through one queue, so a bulk rebuild and a catch-up never overlap.
 */

/** Bump when what the journey tables hold changes: every workspace is rebuilt at the next start. */
export const JOURNEY_TABLES_VERSION = 3;
const SWEEP_EVERY_MS = 60_000;
/** Idle time after a catch-up round, as a multiple of how long the round took. */
const IDLE_SHARE = 4;
/** How long deferred facts may wait before a periodic round extracts them. */
const FACTS_WAIT_MS = 5_000;
/** A read catches the tables up first when they lag by at most this many seqs. */
const READ_CATCH_UP_MAX_SEQS = 50_000;
/** Persons to re-derive above which a catch-up rebuilds the whole workspace instead. */
const BULK_ABOVE = 5_000;

export interface JourneyTablesStatus {
  /** `busy`: working on another workspace (as a workspace sees it). */
  state: 'idle' | 'rebuilding' | 'catching up' | 'busy';
  workspace?: string;
  phase?: JourneyBuildPhase;
  startedAt?: string;
  /** The last bulk rebuild: when it ended, how long it took and what it wrote. */
  last?: { workspace: string; endedAt: string; ms: number; counts: JourneyBuildCounts };
  problem?: string;
}

export interface JourneyTablesDeps {
  store: JourneyTablesStore;
  journeys: JourneyService;
  /** The highest seq whose events and person map rows are both stored (loader and identity). */
  readyTo(): number;
  /** Writes what identity has resolved (so the person map holds its changes). */
  flushIdentity(): Promise<void>;
  /** The highest seq up to which every loaded event has its facts (`event_facts`). */
  factsTo(): number;
  /** Extracts the facts the loader deferred (all, or only those waiting `olderThanMs`). */
  flushFacts(o?: { olderThanMs?: number }): Promise<void>;
  clock: Clock;
  /** Where background failures are logged (they also show in `status.problem`). */
  onError?(e: Error, what: string): void;
}

export class JourneyTablesService {
  status: JourneyTablesStatus = { state: 'idle' };
  private readonly states = new Map<string, JourneyTablesState>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Person ids the identity pipeline changed, per workspace, not yet rebuilt. */
  private changed = new Map<string, Set<string>>();
  /** Person keys found stale at start (identity changes a crash lost), per workspace. */
  private stale = new Map<string, Set<number>>();
  /** Workspaces where a person was deleted since the last sweep. */
  private readonly deleted = new Set<string>();
  /** Bulk rebuilds asked for and not started yet (reads do not wait behind them). */
  private pendingRebuilds = 0;
  private timer: NodeJS.Timeout | null = null;
  private queuedCatchUp: { forRead: boolean; done: Promise<number> } | null = null;
  private readonly queuedRebuilds = new Map<string, Promise<JourneyBuildCounts>>();
  /** Each workspace's last bulk build. */
  private readonly lastOf = new Map<string, NonNullable<JourneyTablesStatus['last']>>();
  /** When each workspace's due inactivity was last written. */
  private readonly swept = new Map<string, number>();
  private stopped = false;

  constructor(private readonly deps: JourneyTablesDeps) {}

  /** Loads what the tables were built from (a command that only reads calls this alone). */
  async load(): Promise<void> {
    for (const s of await this.deps.store.states()) this.states.set(s.workspaceId, s);
  }

  /**
   * Loads what was built, rebuilds in the background every workspace built from other settings,
   * and queues the persons whose identities changed unseen.
   */
  async start(o: { catchUpEveryMs?: number } = {}): Promise<void> {
    await this.load();
    await this.findStale();
    for (const ws of await this.deps.store.workspacesWithEvents())
      if (this.states.get(ws)?.settingsHash !== this.hashOf(ws))
        void this.rebuild(ws).catch((e) => this.report(e, `rebuilding the journeys of ${ws}`));
    if (o.catchUpEveryMs !== undefined) {
      const every = o.catchUpEveryMs;
      // Background work yields to ingest: after a round that took d ms the next waits at least
      // IDLE_SHARE × d, so keeping journeys current takes at most 1 / (1 + IDLE_SHARE) of the
      // time while events pour in (a journey read still catches up at once when it needs to).
      const tick = (lastMs: number) => {
        if (this.stopped) return;
        this.timer = setTimeout(
          () => {
            const started = this.deps.clock.now();
            this.catchUp()
              .catch((e) => this.report(e, 'keeping journeys current'))
              .finally(() => tick(this.deps.clock.now() - started));
          },
          Math.max(every, IDLE_SHARE * lastMs),
        );
        this.timer.unref();
      };
      tick(0);
    }
  }

  /**
   * Identity changes reach this service in memory only: those an ended process never passed on
   * (a crash, a command that merged and exited) show as persons whose identifiers differ from what
   * their rows were derived from. Queues them for the next catch-up (unless every journey of the
   * workspace is derived again anyway).
   */
  async findStale(): Promise<void> {
    for (const [ws, state] of this.states) {
      if (journeysPart(state.settingsHash) !== journeysPart(this.hashOf(ws))) continue;
      const keys = await this.deps.store.staleIdentities(ws);
      if (keys.length > 0) this.stale.set(ws, new Set([...(this.stale.get(ws) ?? []), ...keys]));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.queue.catch(() => undefined);
    // Identity changes are kept in memory: take the few published since the last round in now,
    // or they would be lost with the process (a larger backlog waits for the next start's rounds).
    const pending = [...this.changed.values(), ...this.stale.values()].reduce((n, ids) => n + ids.size, 0);
    if (pending > 0 && pending <= BULK_ABOVE)
      await this.catchUp().catch((e) => this.report(e, 'the last catch-up'));
  }

  /** The identity pipeline's changes (`IdentityService.onChange`). */
  personsChanged(changes: PersonEvent[]): void {
    for (const c of changes) {
      const ids = this.changed.get(c.workspaceId) ?? new Set<string>();
      if (c.kind === 'split') for (const id of [c.from, ...c.into]) ids.add(id);
      else if (c.kind === 'merged') for (const id of [c.personId, ...c.from]) ids.add(id);
      else ids.add(c.personId);
      this.changed.set(c.workspaceId, ids);
      // A deleted person's rows must go at once, not at the next minute's sweep: its key no longer
      // resolves, so only the sweep (rows of keys no person holds) finds them, and those who
      // shared its events (accounts, another person) by the rows whose events are gone.
      if (c.kind === 'deleted') {
        this.swept.delete(c.workspaceId);
        this.deleted.add(c.workspaceId);
      }
    }
  }

  /** Whether identity changes of the workspace wait for a catch-up. */
  private hasChanges(workspaceId: string): boolean {
    return (this.changed.get(workspaceId)?.size ?? 0) > 0 || this.stale.has(workspaceId);
  }

  /** For /health (no workspace's ids or sizes): what the builder is doing, and any problem. */
  healthStatus(): { state: JourneyTablesStatus['state']; phase?: string; lastMs?: number; problem?: string } {
    const { state, phase, last, problem } = this.status;
    return {
      state,
      ...(phase ? { phase } : {}),
      ...(last ? { lastMs: last.ms } : {}),
      ...(problem ? { problem } : {}),
    };
  }

  /** The builder's status as one workspace may see it (another workspace's work is "busy"). */
  statusOf(workspaceId: string): JourneyTablesStatus {
    const { state, workspace, phase, startedAt, problem } = this.status;
    const own = workspace === undefined || workspace === workspaceId;
    return {
      state: own ? state : 'busy',
      ...(own && workspace ? { workspace } : {}),
      ...(own && phase ? { phase } : {}),
      ...(own && startedAt ? { startedAt } : {}),
      ...(this.lastOf.get(workspaceId) ? { last: this.lastOf.get(workspaceId) } : {}),
      ...(problem?.includes(workspaceId) ? { problem } : {}),
    };
  }

  /** Whether the workspace's tables were built from its current settings. */
  isCurrent(workspaceId: string): boolean {
    return this.states.get(workspaceId)?.settingsHash === this.hashOf(workspaceId);
  }

  /**
   * Rebuilds a workspace's journey tables in bulk (queued behind any work under way). Only the
   * stage histories when nothing but the stage model changed since the last build, unless `full`.
   */
  rebuild(
    workspaceId: string,
    o: { onPhase?: (p: JourneyBuildPhase) => void; full?: boolean } = {},
  ): Promise<JourneyBuildCounts> {
    // A rebuild of this workspace that has not started yet will see everything this one would.
    const queued = this.queuedRebuilds.get(workspaceId);
    if (queued && !o.onPhase && !o.full) return queued;
    this.pendingRebuilds++;
    const next = this.enqueue(() => {
      this.pendingRebuilds--;
      if (this.queuedRebuilds.get(workspaceId) === next) this.queuedRebuilds.delete(workspaceId);
      return this.build(workspaceId, o);
    });
    if (!o.onPhase && !o.full) this.queuedRebuilds.set(workspaceId, next);
    return next;
  }

  private async build(
    workspaceId: string,
    o: { onPhase?: (p: JourneyBuildPhase) => void; full?: boolean } = {},
  ): Promise<JourneyBuildCounts> {
    const started = this.deps.clock.now();
    this.status = { state: 'rebuilding', workspace: workspaceId, startedAt: new Date(started).toISOString() };
    try {
      const settingsHash = this.hashOf(workspaceId);
      const built = this.states.get(workspaceId);
      // Sessions and touchpoints do not read the stage model: when only it changed, the stage
      // histories are folded again over the rows the tables hold (up to where they were built;
      // the next catch-up takes later events, stages included).
      const stagesOnly =
        !o.full &&
        built !== undefined &&
        built.settingsHash !== settingsHash &&
        journeysPart(built.settingsHash) === journeysPart(settingsHash);
      let builtSeq = built?.builtSeq ?? 0;
      if (!stagesOnly) {
        await this.deps.flushFacts();
        // Everything up to here is loaded, resolved and has its facts; later events are the next
        // catch-up's.
        builtSeq = Math.min(this.deps.readyTo(), this.deps.factsTo());
        await this.deps.flushIdentity();
      }
      const state = { settingsHash, builtSeq };
      const counts = await this.deps.store.rebuild(workspaceId, this.inputOf(workspaceId), {
        ...(stagesOnly ? { stagesOnly: true } : {}),
        state,
        onPhase: (phase) => {
          this.status = { ...this.status, phase };
          o.onPhase?.(phase);
        },
      });
      this.states.set(workspaceId, { workspaceId, ...state });
      this.swept.delete(workspaceId);
      const ended = this.deps.clock.now();
      const last = {
        workspace: workspaceId,
        endedAt: new Date(ended).toISOString(),
        ms: ended - started,
        counts,
      };
      this.lastOf.set(workspaceId, last);
      this.status = { state: 'idle', last };
      return counts;
    } catch (e) {
      this.status = {
        state: 'idle',
        problem: `rebuilding the journeys of ${workspaceId} failed: ${(e as Error).message}`,
      };
      throw e;
    }
  }

  /**
   * Derives again the persons with events the tables do not include yet, and those the identity
   * pipeline changed. Returns how many persons were rebuilt.
   */
  catchUp(o: { forRead?: boolean } = {}): Promise<number> {
    // One queued round serves every caller that arrives before it starts.
    if (this.queuedCatchUp && (this.queuedCatchUp.forRead || !o.forRead)) return this.queuedCatchUp.done;
    const round = { forRead: o.forRead === true, done: Promise.resolve(0) };
    round.done = this.enqueue(async () => {
      if (this.queuedCatchUp === round) this.queuedCatchUp = null;
      // A read needs every acknowledged event; the periodic round takes the facts the loader
      // extracted, and those that waited long enough.
      await this.deps.flushFacts(o.forRead ? {} : { olderThanMs: FACTS_WAIT_MS });
      const target = Math.min(this.deps.readyTo(), this.deps.factsTo());
      const changed = this.changed;
      this.changed = new Map();
      const stale = this.stale;
      this.stale = new Map();
      let rebuilt = 0;
      try {
        await this.deps.flushIdentity();
        const workspaces = new Set([
          ...this.states.keys(),
          ...changed.keys(),
          ...(await this.deps.store.workspacesWithEvents()),
        ]);
        for (const ws of workspaces) {
          let state = this.states.get(ws);
          if (!state || state.settingsHash !== this.hashOf(ws)) {
            // Never built (a new workspace), or built from other settings: in bulk.
            const counts = await this.build(ws);
            rebuilt++;
            // Only the stage histories were folded again: the persons below still need theirs.
            if (counts.scope === 'journeys') continue;
            state = this.states.get(ws) as JourneyTablesState;
          }
          const upTo = Math.max(state.builtSeq, target);
          const keys = new Set(await this.deps.store.personsWithEventsIn(ws, state.builtSeq, upTo));
          for (const k of await this.deps.store.personKeysOf(ws, [...(changed.get(ws) ?? [])])) keys.add(k);
          for (const k of stale.get(ws) ?? []) keys.add(k);
          // After a deletion, the persons and accounts that shared its events are derived again.
          const orphaned = await this.sweepIfDue(ws);
          for (const k of orphaned.persons) keys.add(k);
          const accounts = orphaned.accounts;
          if (keys.size === 0 && accounts.length === 0) {
            // Nothing of this workspace's changed: the tables include everything up to here.
            this.states.set(ws, { ...state, builtSeq: upTo });
            continue;
          }
          if (keys.size > BULK_ABOVE) {
            // So many persons (an import, a first start after one) that the whole workspace at
            // once is cheaper than the persons one by one.
            await this.build(ws, { full: true });
            rebuilt += keys.size;
            continue;
          }
          this.status = { ...this.status, state: 'catching up', workspace: ws };
          await this.deps.store.rebuild(ws, this.inputOf(ws), {
            persons: [...keys],
            accounts,
            after: state.builtSeq,
            state: { settingsHash: state.settingsHash, builtSeq: upTo },
          });
          this.states.set(ws, { ...state, builtSeq: upTo });
          rebuilt += keys.size;
        }
      } catch (e) {
        // Try these persons again on the next round.
        for (const [ws, ids] of changed) {
          const now = this.changed.get(ws) ?? new Set<string>();
          for (const id of ids) now.add(id);
          this.changed.set(ws, now);
        }
        for (const [ws, keys] of stale) {
          const now = this.stale.get(ws) ?? new Set<number>();
          for (const k of keys) now.add(k);
          this.stale.set(ws, now);
        }
        this.status = { ...this.status, problem: `keeping journeys current failed: ${(e as Error).message}` };
        throw e;
      } finally {
        if (this.status.state === 'catching up') {
          const { state: _s, workspace: _w, ...rest } = this.status;
          this.status = { ...rest, state: 'idle' };
        }
      }
      // A round that went through clears what an earlier one reported.
      if (this.status.problem?.startsWith('keeping journeys current')) {
        const { problem: _p, ...rest } = this.status;
        this.status = rest;
      }
      return rebuilt;
    });
    this.queuedCatchUp = round;
    return round.done;
  }

  /**
   * A person's journey from the tables, once they hold everything loaded and resolved (a
   * catch-up runs first when they lag); null when they cannot answer (built from other
   * settings, a rebuild under way, or no journey for the key): the caller derives it instead.
   */
  async journeyOf(workspaceId: string, personKey: number, asOf: number): Promise<Journey | null> {
    if (!(await this.readable(workspaceId))) return null;
    const rows = await this.deps.store.journeyRows(workspaceId, personKey);
    return rows && journeyFromRows(rows, this.deps.journeys.configFor(workspaceId).stages, asOf);
  }

  /** An account's journey from the tables, as `journeyOf` gives a person's. */
  async accountJourneyOf(workspaceId: string, groupId: string, asOf: number): Promise<Journey | null> {
    if (!(await this.readable(workspaceId))) return null;
    const rows = await this.deps.store.accountJourneyRows(workspaceId, groupId);
    return rows && journeyFromRows(rows, this.deps.journeys.configFor(workspaceId).stages, asOf);
  }

  /** For analytics, which reads the tables directly: caught up when they lag a little, and how current. */
  async freshen(workspaceId: string): Promise<TablesFreshness> {
    const current = await this.readable(workspaceId);
    return { current, builtSeq: this.states.get(workspaceId)?.builtSeq ?? 0, readyTo: this.deps.readyTo() };
  }

  /** Whether the tables can answer a read now: current, after a catch-up when they lag a little. */
  private async readable(workspaceId: string): Promise<boolean> {
    // While a bulk rebuild runs (or waits), the model answers: a read must not wait for it.
    if (!this.isCurrent(workspaceId) || this.status.state === 'rebuilding' || this.pendingRebuilds > 0)
      return false;
    const target = this.deps.readyTo();
    const built = this.states.get(workspaceId)?.builtSeq ?? 0;
    // Far behind (an import, a backlog, many persons whose identity changed unseen): deriving this
    // one journey is quicker than catching up.
    if (target - built > READ_CATCH_UP_MAX_SEQS || (this.stale.get(workspaceId)?.size ?? 0) > BULK_ABOVE)
      return false;
    if (built < target || this.hasChanges(workspaceId)) {
      await this.catchUp({ forRead: true }).catch(() => undefined);
      if (!this.isCurrent(workspaceId) || (this.states.get(workspaceId)?.builtSeq ?? 0) < target)
        return false;
    }
    return true;
  }

  /**
   * Once a minute per workspace (and after each rebuild): rows of persons that no longer exist
   * removed (a deletion's derived rows must go too), inactivity that came due written.
   */
  private async sweepIfDue(workspaceId: string): Promise<{ persons: number[]; accounts: number[] }> {
    const now = this.deps.clock.now();
    if (now - (this.swept.get(workspaceId) ?? 0) < SWEEP_EVERY_MS) return { persons: [], accounts: [] };
    const afterDeletion = this.deleted.delete(workspaceId);
    const orphaned = await this.deps.store.sweep(workspaceId, this.inputOf(workspaceId).stageModel, now, {
      afterDeletion,
    });
    this.swept.set(workspaceId, now);
    return orphaned;
  }

  private report(e: unknown, what: string): void {
    this.deps.onError?.(e as Error, what);
  }

  private inputOf(workspaceId: string) {
    const { settings } = this.deps.journeys.settingsOf(workspaceId);
    return {
      settings,
      config: this.deps.journeys.configFor(workspaceId),
      stageModel: this.deps.journeys.rulesOf(workspaceId).stageModel,
    };
  }

  private hashOf(workspaceId: string): string {
    const { settings } = this.deps.journeys.settingsOf(workspaceId);
    return journeyFingerprint(settings, { version: JOURNEY_TABLES_VERSION, persons: PERSON_MODEL_VERSION });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
