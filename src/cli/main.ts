import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAccounts } from './accounts.command.js';
import { registerDemo } from './demo.command.js';
import { registerEvents } from './events-tail.command.js';
import { registerFunnel } from './funnel.command.js';
import { registerImport } from './import.command.js';
import { registerJourney } from './journey.command.js';
import { registerJourneys } from './journeys.command.js';
import { registerKeys } from './keys.command.js';
import { registerKpis } from './kpis.command.js';
import type { LocalAccess } from './local-or-remote.js';
import { registerPaths } from './paths.command.js';
import { registerPerson } from './person.command.js';
import { registerPersons } from './persons.command.js';
import { registerRetention } from './retention.command.js';
import { registerServe, type ServeDeps } from './serve.command.js';
import { registerSimulate } from './simulate.command.js';
import { registerStages } from './stages.command.js';
import { registerWorkspaces } from './workspaces.command.js';

/** CLI composition root: wires the commands to the real server and store. */

// The server and the store (DuckDB, Fastify, …) load only when a command opens them (`serve`, or
// a data directory): `--help`, `simulate`, `demo` and `events tail` start without them.
const server = () => import('../main.js');
const startServer: ServeDeps['startServer'] = async (config) => (await server()).startServer(config);
const openLocal: LocalAccess['openLocal'] = async (dataDir) => (await server()).openLocal(dataDir);
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const program = new Command()
  .name('throughline')
  .description(
    'Throughline — open customer-journey platform. Collects Segment-compatible events into embedded DuckDB.',
  )
  .version(VERSION)
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Quick start (from the repository's root):
  ./throughline serve                      # server on :8080, data in ./data
  ./throughline events tail --admin-key …  # watch events arrive`,
  );

registerServe(program, { startServer });
registerKeys(program, { openLocal });
registerWorkspaces(program, { openLocal });
registerEvents(program);
registerSimulate(program);
registerImport(program, { openLocal });
registerDemo(program);
registerPerson(program, { openLocal });
registerPersons(program, { openLocal });
registerAccounts(program, { openLocal });
registerJourney(program, { openLocal });
registerFunnel(program, { openLocal });
registerStages(program, { openLocal });
registerRetention(program, { openLocal });
registerJourneys(program, { openLocal });
registerKpis(program, { openLocal });
registerPaths(program, { openLocal });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`throughline: ${(e as Error).message}\n`);
  process.exit(1);
});
