import { type Condition, RuleError } from '../core/journey/conditions.js';
import { STAGE_PRESETS } from '../core/journey/default-stages.js';
import { buildJourney, type Journey, JourneyBuilder, type JourneyConfig } from '../core/journey/journey.js';
import { type JourneyEvent, journeyEventOf } from '../core/journey/journey-event.js';
import { compileJourneySettings, type JourneySettings } from '../core/journey/journey-settings.js';
import { effectiveChannelRules } from '../core/journey/rulesets.js';
import { touchJsonPaths } from '../core/journey/touch-fields.js';
import { err, ok, type Result } from '../core/result.js';
import type { JsonObject, JsonValue, MessageType } from '../core/spec/message.js';
import type { IdentityService } from './identity-service.js';
import type { JourneyPaths, JourneyScanRow, JourneyStore } from './journey-ports.js';
import type { PersonRef, PersonService } from './person-service.js';
import type { Clock } from './ports.js';

type Compiled = { settings: JourneySettings; config: JourneyConfig; problem?: string };

/** Journeys as the journey tables hold them (null: the tables cannot answer). */
export interface JourneyTablesReader {
  journeyOf(workspaceId: string, personKey: number, asOf: number): Promise<Journey | null>;
  accountJourneyOf(workspaceId: string, groupId: string, asOf: number): Promise<Journey | null>;
}

/** Journey settings from a config file: defaults for every workspace, and per workspace. */
export interface JourneyFileSettings {
  default?: unknown;
  workspaces?: Record<string, unknown>;
}

export interface JourneyOptions {
  includeBots?: boolean;
  /** Evaluate inactivity as of this time (default: now). */
  asOf?: number;
}

export interface BulkSummary {
  persons: number;
  events: number;
  touchpoints: number;
  sessions: number;
  stageEntries: number;
  bots: number;
  channels: Record<string, number>;
  stages: Record<string, number>;
}

const PAGE_SIZE = 5_000;

/**
 * Journeys: a person's or account's events read through the identity graph, turned into
 * touchpoints, sessions and stages under the workspace's settings (API, else config file,
 * else defaults).
 */
export class JourneyService {
  private readonly stored = new Map<string, unknown>();
  private readonly compiled = new Map<string, Compiled>();
  private readonly settingsListeners = new Set<(workspaceId: string) => void>();
  private tables: JourneyTablesReader | undefined;

  constructor(
    private readonly store: JourneyStore,
    private readonly identity: IdentityService,
    private readonly persons: PersonService,
    private readonly clock: Clock,
    private readonly file: JourneyFileSettings = {},
  ) {}

  async start(): Promise<void> {
    for (const { workspaceId, settings } of await this.store.loadSettings())
      this.stored.set(workspaceId, settings);
    // A broken config file must fail at start, not on the first request.
    if (this.file.default !== undefined) compileJourneySettings(this.file.default);
    for (const s of Object.values(this.file.workspaces ?? {})) compileJourneySettings(s);
  }

  /** Calls `listener` with the workspace whose settings were replaced. */
  onSettingsChanged(listener: (workspaceId: string) => void): () => void {
    this.settingsListeners.add(listener);
    return () => this.settingsListeners.delete(listener);
  }

  /** The settings in force and where they come from; `problem` when stored ones no longer compile. */
  settingsOf(workspaceId: string): {
    source: 'api' | 'file' | 'default';
    settings: JourneySettings;
    problem?: string;
  } {
    const { input, source } = this.inputOf(workspaceId);
    const c = this.compiledFor(workspaceId, input);
    return { source, settings: c.settings, ...(c.problem ? { problem: c.problem } : {}) };
  }

  /** Replaces a workspace's settings (throws RuleError naming the bad path). */
  async setSettings(workspaceId: string, input: unknown): Promise<JourneySettings> {
    const { settings } = compileJourneySettings(input);
    await this.store.saveSettings(workspaceId, input ?? {}, this.clock.now());
    this.stored.set(workspaceId, input ?? {});
    this.compiled.delete(workspaceId);
    for (const l of this.settingsListeners) l(workspaceId);
    return settings;
  }

  /** The effective channel rules and stage model, for display. */
  rulesOf(workspaceId: string) {
    const { settings } = this.settingsOf(workspaceId);
    return {
      channelRules: effectiveChannelRules(settings.channels),
      stageModel: settings.stageModel ?? STAGE_PRESETS[settings.stagePreset],
    };
  }

  configFor(workspaceId: string, includeBots = false): JourneyConfig {
    const { config } = this.compiledFor(workspaceId, this.inputOf(workspaceId).input);
    return includeBots ? { ...config, includeBots: true } : config;
  }

  /**
   * Where journeys are read from when their tables can answer (journey-tables-service.ts); the
   * journey model derives them from the events otherwise, and always with bots included.
   */
  readFromTables(tables: JourneyTablesReader): void {
    this.tables = tables;
  }

  async personJourney(workspaceId: string, p: PersonRef, o: JourneyOptions = {}): Promise<Journey> {
    if (this.tables && !o.includeBots) {
      await this.identity.readBarrier();
      const stored = await this.tables.journeyOf(workspaceId, p.anchor, o.asOf ?? this.clock.now());
      if (stored) return stored;
    }
    return this.journeyOf(workspaceId, p.members, undefined, o);
  }

  async accountJourney(
    workspaceId: string,
    groupId: string,
    o: JourneyOptions = {},
  ): Promise<Result<Journey, string>> {
    const members = this.persons.accountIdentifiers(workspaceId, groupId);
    if (!members.ok) return err(members.error);
    if (this.tables && !o.includeBots) {
      await this.identity.readBarrier();
      const stored = await this.tables.accountJourneyOf(workspaceId, groupId, o.asOf ?? this.clock.now());
      if (stored) return ok(stored);
    }
    return ok(await this.journeyOf(workspaceId, members.value, { workspaceId, groupId }, o));
  }

  /**
   * Derives every person's journey in a workspace straight from the store (bulk): one sorted
   * scan, one builder per person, only the JSON paths the rules read. The journey tables replace
   * it (journey-tables-service.ts); kept as the baseline `npm run bench -- journey` measures.
   */
  async deriveAll(
    workspaceId: string,
    o: { onProgress?: (events: number) => void } = {},
  ): Promise<BulkSummary> {
    await this.identity.readBarrier();
    const config = this.configFor(workspaceId);
    const personOf = this.identity.personKeysOf(workspaceId);
    const summary: BulkSummary = {
      persons: 0,
      events: 0,
      touchpoints: 0,
      sessions: 0,
      stageEntries: 0,
      bots: 0,
      channels: {},
      stages: {},
    };
    const asOf = this.clock.now();
    let person = -1;
    let builder: JourneyBuilder | null = null;
    const finish = () => {
      if (!builder) return;
      const j = builder.journey(asOf);
      summary.persons++;
      if (j.bot) summary.bots++;
      summary.touchpoints += j.touchpoints.length;
      summary.sessions += j.sessions.length;
      summary.stageEntries += j.stages.length;
      for (const t of j.touchpoints) summary.channels[t.channel] = (summary.channels[t.channel] ?? 0) + 1;
      if (j.stage) summary.stages[j.stage] = (summary.stages[j.stage] ?? 0) + 1;
    };
    await this.store.scan(workspaceId, personOf, pathsFor(this.settingsOf(workspaceId).settings), (rows) => {
      for (const r of rows) {
        if (r.person !== person) {
          finish();
          person = r.person;
          builder = new JourneyBuilder(config);
        }
        builder!.add(scanEvent(r));
      }
      summary.events += rows.length;
      o.onProgress?.(summary.events);
    });
    finish();
    return summary;
  }

  private async journeyOf(
    workspaceId: string,
    members: number[],
    account: { workspaceId: string; groupId: string } | undefined,
    o: JourneyOptions,
  ): Promise<Journey> {
    const events: JourneyEvent[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.persons.timeline(
        members,
        { order: 'asc', limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
        account,
      );
      if (!page.ok) throw new Error(page.error);
      for (const e of page.value.events) events.push(journeyEventOf(e));
      if (!page.value.nextCursor) break;
      cursor = page.value.nextCursor;
    }
    return buildJourney(events, this.configFor(workspaceId, o.includeBots), o.asOf ?? this.clock.now());
  }

  private inputOf(workspaceId: string): { input: unknown; source: 'api' | 'file' | 'default' } {
    if (this.stored.has(workspaceId)) return { input: this.stored.get(workspaceId), source: 'api' };
    const own = this.file.workspaces?.[workspaceId];
    if (own !== undefined) return { input: own, source: 'file' };
    if (this.file.default !== undefined) return { input: this.file.default, source: 'file' };
    return { input: {}, source: 'default' };
  }

  /**
   * Stored settings that an upgrade no longer accepts (a regex RE2 cannot run, say) must not break
   * every journey read of the workspace: the defaults apply, and the reason is shown with the
   * settings until they are saved again.
   */
  private compiledFor(workspaceId: string, input: unknown) {
    let c: Compiled | undefined = this.compiled.get(workspaceId);
    if (!c) {
      try {
        c = compileJourneySettings(input);
      } catch (e) {
        if (!(e instanceof RuleError)) throw e;
        c = {
          ...compileJourneySettings({}),
          problem: `the stored settings are no longer valid (${e.message}); the defaults apply until they are saved again`,
        };
      }
      this.compiled.set(workspaceId, c);
    }
    return c;
  }
}

/** Every JSON path the journey model and the workspace's rules read. */
function pathsFor(settings: JourneySettings): JourneyPaths {
  // Where the touch fields read (core/journey/touch-fields.ts), then the paths the rules name.
  const paths: JourneyPaths = touchJsonPaths();
  const visit = (c: Condition) => {
    if ('all' in c) c.all.forEach(visit);
    else if ('any' in c) c.any.forEach(visit);
    else if ('not' in c) visit(c.not);
    else if ('field' in c) {
      const dot = c.field.indexOf('.');
      const root = c.field.slice(0, dot) as keyof JourneyPaths;
      if (dot > 0 && root in paths && !paths[root].includes(c.field.slice(dot + 1)))
        paths[root].push(c.field.slice(dot + 1));
    }
  };
  for (const r of effectiveChannelRules(settings.channels)) visit(r.when as Condition);
  const model = settings.stageModel ?? STAGE_PRESETS[settings.stagePreset];
  for (const s of model.stages) for (const t of s.enter ?? []) visit(t.when as Condition);
  return paths;
}

/** A scan row back into the shape the journey model reads (flat dotted keys → nested). */
function scanEvent(r: JourneyScanRow): JourneyEvent {
  return {
    seq: r.seq,
    messageId: r.messageId,
    type: r.type as MessageType,
    event: r.event,
    name: r.event,
    groupId: r.groupId,
    timestamp: r.timestamp,
    properties: nest(r.properties),
    traits: nest(r.traits),
    context: nest(r.context),
  };
}

function nest(json: string | null): JsonObject | null {
  if (json === null) return null;
  const flat = JSON.parse(json) as Record<string, JsonValue>;
  let out: JsonObject | null = null;
  for (const key in flat) {
    const v = flat[key];
    if (v === null || v === undefined) continue;
    out ??= {};
    const parts = key.split('.');
    let at: JsonObject = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const k = parts[i] as string;
      const next = at[k];
      if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) at[k] = {};
      at = at[k] as JsonObject;
    }
    at[parts[parts.length - 1] as string] = v;
  }
  return out;
}
