import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { resolveSimConfig, SCENARIOS, type SimConfig } from '../sim/sim-config.js';
import { Simulation } from '../sim/simulate.js';
import { LineWriter } from './ndjson-writer.js';
import { fail, printJson } from './output.js';
import { progressBar } from './progress.js';

export interface SimulateFlags {
  scenario: string;
  seed?: string;
  people?: string;
  days?: string;
  start?: string;
  config?: string;
  null?: boolean;
}

/** Reads the flags shared by `simulate` and `demo` into a checked configuration. */
export async function simConfigFrom(
  flags: SimulateFlags,
  defaults: Partial<SimConfig> = {},
): Promise<SimConfig | string> {
  let overrides: Record<string, unknown> = { ...defaults };
  if (flags.config) {
    try {
      overrides = { ...overrides, ...JSON.parse(await readFile(flags.config, 'utf8')) };
    } catch (e) {
      return `--config ${flags.config}: ${(e as Error).message}`;
    }
  }
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return;
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`--${name} must be a whole number, not "${v}"`);
    overrides[name] = n;
  };
  try {
    int('seed', flags.seed);
    int('people', flags.people);
    int('days', flags.days);
  } catch (e) {
    return (e as Error).message;
  }
  if (flags.start !== undefined) overrides.start = flags.start;
  if (flags.null) overrides.null = true;
  const resolved = resolveSimConfig(flags.scenario, overrides);
  return resolved.ok ? resolved.value : resolved.error;
}

export const withSimOptions = (c: Command, defaultScenario = 'b2b-saas') =>
  c
    .option('-s, --scenario <name>', `${SCENARIOS.join(' | ')}`, defaultScenario)
    .option('--seed <n>', 'random seed: the same seed and options give byte-identical output (default 1)')
    .option('-p, --people <n>', 'human persons to simulate (bots come on top)')
    .option('--days <n>', 'length of the simulated period in days')
    .option('--start <date>', 'first day of the period, YYYY-MM-DD (default 2026-01-01)')
    .option(
      '--config <file>',
      'JSON overrides of any knob (see docs/simulator.md), deep-merged into the defaults',
    )
    .option('--null', 'remove every planted pattern and churn driver (for false-discovery checks)');

export function registerSimulate(program: Command): void {
  withSimOptions(
    program
      .command('simulate')
      .description('generate realistic journeys as Segment NDJSON, with a ground-truth folder beside them'),
  )
    .option('-o, --out <dir>', 'output folder: messages.ndjson and truth/', 'simulation')
    .option('--json', 'print the run summary as JSON')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Examples:
  ./throughline simulate --scenario b2b-saas --people 3000 --out sim
  ./throughline simulate --scenario ecommerce --people 200000 --seed 7 --null --out sim-null
  ./throughline import sim/messages.ndjson      # load it into ./data`,
    )
    .action(async (flags: SimulateFlags & { out: string; json?: boolean; progress: boolean }) => {
      const config = await simConfigFrom(flags);
      if (typeof config === 'string') return fail(config);
      const summary = await writeSimulation(config, flags.out, flags.progress && !flags.json);
      if (flags.json)
        printJson({ out: flags.out, ...summary.counts, conversions: summary.causal.conversions });
      else
        process.stderr.write(
          `wrote ${summary.counts.messages.toLocaleString('en-US')} messages for ${summary.counts.persons.toLocaleString('en-US')} people` +
            ` (+${summary.counts.bots} bots) to ${join(flags.out, 'messages.ndjson')}; truth in ${join(flags.out, 'truth')}\n`,
        );
    });
}

/** Streams a simulation to disk: messages, then what is true about them. */
export async function writeSimulation(config: SimConfig, out: string, progress: boolean) {
  const truthDir = join(out, 'truth');
  await mkdir(truthDir, { recursive: true });
  const sim = new Simulation(config);
  const messages = new LineWriter(join(out, 'messages.ndjson'));
  const persons = new LineWriter(join(truthDir, 'persons.ndjson'));
  const accounts = new LineWriter(join(truthDir, 'accounts.ndjson'));
  const identifiers = new LineWriter(join(truthDir, 'identifiers.ndjson'));
  const messageTruth = new LineWriter(join(truthDir, 'messages.csv'));
  await messageTruth.write('message_id,person_id,account_id,channel,duplicate');
  const bar = progressBar('simulate', config.people, 'people', progress);
  let people = 0;
  let count = 0;
  for (const unit of sim.units()) {
    for (const m of unit.messages) {
      await messages.write(m.line);
      await messageTruth.write(
        `${m.messageId},${m.personId},${m.accountId ?? ''},${m.channel ?? ''},${m.duplicate}`,
      );
    }
    for (const p of unit.persons) {
      await persons.write(JSON.stringify(p));
      if (p.isBot === false) people++;
    }
    if (unit.account) await accounts.write(JSON.stringify(unit.account));
    for (const id of unit.identifiers) await identifiers.write(JSON.stringify(id));
    count += unit.messages.length;
    if ((people & 63) === 0) bar.update(people, { messages: count });
  }
  bar.update(people, { messages: count });
  bar.stop();
  await Promise.all([
    messages.close(),
    persons.close(),
    accounts.close(),
    identifiers.close(),
    messageTruth.close(),
  ]);
  const summary = sim.summary();
  await writeFile(join(truthDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
