import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type Config, type ConfigFlags, loadConfig } from '../config/config.js';
import type { Result } from '../core/result.js';
import type { IssuedKey } from '../services/workspace-service.js';
import { fail } from './output.js';

export interface ServeDeps {
  startServer(config: Config): Promise<
    Result<
      {
        url: string;
        createdKeys: IssuedKey[];
        keysReissued: boolean;
        keysShown(): Promise<void>;
        close(): Promise<void>;
      },
      string
    >
  >;
}

export function registerServe(program: Command, deps: ServeDeps): void {
  program
    .command('serve')
    .description('run the collector and API on an embedded database (what `npm start` runs)')
    .option('-p, --port <port>', 'port to listen on (env THROUGHLINE_PORT)', undefined)
    .option('-d, --data <dir>', 'data directory for the database (env THROUGHLINE_DATA_DIR)', undefined)
    .option('--host <host>', 'address to bind (env THROUGHLINE_HOST)', undefined)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env THROUGHLINE_LOG_LEVEL)')
    .option(
      '--journey-config <file>',
      'JSON journey settings {"default": {...}, "workspaces": {"<id>": {...}}} (env THROUGHLINE_JOURNEY_CONFIG; docs/journeys.md)',
    )
    .addHelpText(
      'after',
      `
Defaults: port 8080, data ./data. On the first start of an empty data directory a workspace
"default" is created and its write key and admin key are printed once; set THROUGHLINE_WRITE_KEY
and THROUGHLINE_ADMIN_KEY beforehand to choose them yourself.`,
    )
    .action(async (flags: ConfigFlags) => {
      const config = loadConfig(flags, process.env);
      if (!config.ok) {
        fail(`invalid configuration:\n  ${config.error.join('\n  ')}`, 2);
        return;
      }
      const started = await deps.startServer(config.value);
      if (!started.ok) {
        fail(started.error);
        return;
      }
      const server = started.value;
      if (server.createdKeys.length > 0) {
        printNewKeys(server.createdKeys, server.keysReissued);
        await rememberWriteKey(config.value.dataDir, server.createdKeys);
        await server.keysShown();
      }
      process.stderr.write(`throughline listening on ${server.url} (data: ${config.value.dataDir})\n`);

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`throughline: ${signal} received, flushing and closing…\n`);
        try {
          await server.close();
          process.exit(0);
        } catch (e) {
          process.stderr.write(`throughline: shutdown failed: ${(e as Error).message}\n`);
          process.exit(1);
        }
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}

function printNewKeys(keys: IssuedKey[], reissued: boolean): void {
  const write = keys.find((k) => k.kind === 'write');
  const admin = keys.find((k) => k.kind === 'admin');
  process.stdout.write(
    [
      '',
      reissued
        ? 'An earlier first start created workspace "default" but stopped before showing its keys;\n' +
          'its admin key is revoked and replaced. These keys are shown once — keep the admin key secret:'
        : 'Created workspace "default". These keys are shown once — keep the admin key secret:',
      ...(write ? [`  write key (public, for SDKs):   ${write.secret}`] : []),
      ...(admin ? [`  admin key (secret, for /api/*): ${admin.secret}`] : []),
      '',
    ].join('\n'),
  );
  process.stdout.write('\n');
}

/** The file `throughline demo` reads the default write key from, so `npm run demo` needs no flags. */
export const WRITE_KEY_FILE = 'write-key.txt';

/** Write keys are public (they ship inside web pages), so keeping one in a file is safe. */
async function rememberWriteKey(dataDir: string, keys: IssuedKey[]): Promise<void> {
  const write = keys.find((k) => k.kind === 'write');
  if (write?.secret)
    await writeFile(join(dataDir, WRITE_KEY_FILE), `${write.secret}\n`).catch(() => undefined);
}
