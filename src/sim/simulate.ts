import type { JsonObject } from '../core/spec/message.js';
import { CausalLedger } from './causal.js';
import { botVisit, DAY } from './journey-kit.js';
import { Random } from './random.js';
import type { PersonRecord, Scenario, ScenarioFactory } from './scenario.js';
import { b2bSaas } from './scenarios/b2b-saas.js';
import { ecommerce } from './scenarios/ecommerce.js';
import { subscriptionApp } from './scenarios/subscription-app.js';
import type { ScenarioName, SimConfig } from './sim-config.js';
import { type Action, type Emitted, emitActions, newDevice, type Person } from './world.js';

const FACTORIES: Record<ScenarioName, ScenarioFactory> = {
  'b2b-saas': b2bSaas,
  ecommerce,
  'subscription-app': subscriptionApp,
};

/** Random streams per unit; bots get their own so adding bots never changes the humans. */
const STREAM = { size: 0, world: 1, outcome: 2, detail: 3, emit: 4, bot: 5 } as const;

/** One simulated unit's output: its messages in arrival order and what is true about them. */
export interface UnitOutput {
  messages: Emitted[];
  persons: JsonObject[];
  account: JsonObject | null;
  identifiers: JsonObject[];
}

export interface SimulationSummary {
  scenario: ScenarioName;
  seed: number;
  config: SimConfig;
  counts: {
    units: number;
    persons: number;
    bots: number;
    messages: number;
    duplicateDeliveries: number;
    messagesByType: Record<string, number>;
  };
  causal: ReturnType<CausalLedger['totals']>;
  planted: JsonObject;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Runs a scenario unit by unit. Nothing is kept between units but running totals, so the
 * output can be streamed at any size; the same config always yields the same units.
 */
export class Simulation {
  readonly scenario: Scenario;
  private readonly ledger: CausalLedger;
  private readonly counts: SimulationSummary['counts'] = {
    units: 0,
    persons: 0,
    bots: 0,
    messages: 0,
    duplicateDeliveries: 0,
    messagesByType: {},
  };

  constructor(readonly config: SimConfig) {
    this.scenario = FACTORIES[config.scenario](config);
    this.ledger = new CausalLedger(this.scenario.channels);
  }

  /** Yields units until `config.people` human persons have been simulated. */
  *units(): Generator<UnitOutput> {
    const { config } = this;
    let persons = 0;
    for (let index = 0; persons < config.people; index++) {
      const size = Math.min(
        config.people - persons,
        this.scenario.unitSize(index, Random.for(config.seed, index, STREAM.size)),
      );
      persons += size;
      yield this.human(index, size);
      const bots = Random.for(config.seed, index, STREAM.bot);
      if (bots.chance((size * config.realism.botsPer100) / 100)) yield this.bot(index, bots);
    }
  }

  private human(index: number, size: number): UnitOutput {
    const { config } = this;
    const built = this.scenario.unit(index, size, {
      world: Random.for(config.seed, index, STREAM.world),
      outcome: Random.for(config.seed, index, STREAM.outcome),
      detail: Random.for(config.seed, index, STREAM.detail),
    });
    this.ledger.add(built.exposedMask, built.outcome);
    const messages = emitActions(built.actions, Random.for(config.seed, index, STREAM.emit), config.realism);
    this.counts.units++;
    this.counts.persons += built.people.length;
    this.tally(messages);
    return {
      messages,
      persons: built.people.map((r) => personTruth(r)),
      account: built.account,
      identifiers: identifiersOf(
        built.people.map((r) => r.person),
        built.people,
        messages,
      ),
    };
  }

  private bot(index: number, rng: Random): UnitOutput {
    const { config } = this;
    const device = newDevice(rng, 'bot', config.realism);
    const bot: Person = {
      id: `bot_${index}`,
      accountId: null,
      userId: '',
      email: '',
      firstName: '',
      lastName: '',
      devices: [device],
      isBot: true,
    };
    const actions: Action[] = [];
    const startMs = Date.parse(`${config.start}T00:00:00Z`);
    const bursts = rng.int(1, 3);
    for (let b = 0; b < bursts; b++)
      botVisit(
        actions,
        rng,
        bot,
        startMs + rng.float() * config.days * DAY,
        this.scenario.site,
        this.scenario.sitePages,
      );
    const messages = emitActions(actions, rng, config.realism);
    this.counts.bots++;
    this.tally(messages);
    return {
      messages,
      persons: [{ personId: bot.id, accountId: null, isBot: true, userAgent: device.userAgent }],
      account: null,
      identifiers: identifiersOf([], [], messages, bot.id),
    };
  }

  private tally(messages: Emitted[]): void {
    for (const m of messages) {
      this.counts.messages++;
      if (m.duplicate) this.counts.duplicateDeliveries++;
      this.counts.messagesByType[m.type] = (this.counts.messagesByType[m.type] ?? 0) + 1;
    }
  }

  /** Totals so far; complete once `units()` is exhausted. */
  summary(): SimulationSummary {
    return {
      scenario: this.config.scenario,
      seed: this.config.seed,
      config: this.config,
      counts: {
        ...this.counts,
        messagesByType: Object.fromEntries(Object.entries(this.counts.messagesByType).sort()),
      },
      causal: this.ledger.totals(),
      planted: this.scenario.plantedTruth(),
    };
  }
}

function personTruth(r: PersonRecord): JsonObject {
  const p = r.person;
  return {
    personId: p.id,
    accountId: p.accountId,
    isBot: false,
    userId: r.identified ? p.userId : null,
    emails: [...r.emails].sort(),
    anonymousIds: p.devices.map((d) => d.anonymousId),
    sharedDevices: p.devices.filter((d) => d.shared).map((d) => d.anonymousId),
    stages: r.stages.sort((a, b) => a.at - b.at).map((s) => ({ stage: s.stage, at: iso(s.at) })),
    conversions: r.conversions
      .sort((a, b) => a.at - b.at)
      .map((c) => ({ event: c.event, at: iso(c.at), value: c.value })),
    ...(r.facts ? { facts: r.facts } : {}),
  };
}

/**
 * Every identifier the unit's messages carry, with the true person(s) behind it. A shared
 * device's anonymousId has two; everything else has exactly one.
 */
function identifiersOf(
  persons: Person[],
  records: PersonRecord[],
  messages: Emitted[],
  botId?: string,
): JsonObject[] {
  const anon = new Map<string, Set<string>>();
  for (const m of messages) {
    if (m.anonymousId === null) continue;
    const set = anon.get(m.anonymousId) ?? new Set<string>();
    set.add(m.personId);
    anon.set(m.anonymousId, set);
  }
  const out: JsonObject[] = [];
  for (const [value, ids] of anon) out.push({ type: 'anonymous_id', value, personIds: [...ids].sort() });
  if (botId !== undefined) return out;
  records.forEach((r, i) => {
    const p = persons[i] as Person;
    if (!r.identified) return;
    out.push({ type: 'user_id', value: p.userId, personIds: [p.id] });
    for (const email of [...r.emails].sort()) out.push({ type: 'email', value: email, personIds: [p.id] });
  });
  return out;
}
