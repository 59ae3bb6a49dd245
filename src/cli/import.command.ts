import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { DEFAULTS } from '../config/config.js';
import { workspaceIdOf } from './keys.command.js';
import type { LocalAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';
import { progressBar } from './progress.js';
import { readLines } from './read-lines.js';

interface ImportFlags {
  data?: string;
  workspace: string;
  json?: boolean;
  progress: boolean;
}

export function registerImport(program: Command, deps: LocalAccess): void {
  program
    .command('import')
    .description('load Segment-format NDJSON (simulator output, exports) into a data directory, in bulk')
    .argument('<file>', 'NDJSON file, one message per line (.gz accepted)')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('-w, --workspace <name>', 'workspace to load into', 'default')
    .option('--json', 'print the result as JSON')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Every line gets the Tracking API's validation and normalisation; bad lines are quarantined
with their line number. A line's "receivedAt" is used as its arrival time (clock-skew
correction); without it the import time is. Messages already stored (same messageId and
payload) are skipped, so re-running an import is harmless. The load is all-or-nothing.
The server must not be running on the same data directory (use \`throughline demo\` then).

Example:
  throughline simulate --people 20000 --out sim && throughline import sim/messages.ndjson`,
    )
    .action(async (file: string, flags: ImportFlags) => {
      const size = await stat(file).then(
        (s) => s.size,
        (e: Error) => {
          fail(`cannot read ${file}: ${e.message}`);
          return null;
        },
      );
      if (size === null) return;
      const dataDir = flags.data ?? process.env.THROUGHLINE_DATA_DIR ?? DEFAULTS.dataDir;
      const local = await deps.openLocal(dataDir);
      if (!local.ok) {
        return fail(
          local.error.locked
            ? `${local.error.message}\nStop the server to import into this directory, or send the data through its API (throughline demo).`
            : local.error.message,
        );
      }
      const { workspaces, imports, admission, close } = local.value;
      try {
        const boot = await workspaces.start({});
        if (boot.created && !flags.json) {
          for (const key of boot.keys)
            process.stderr.write(`created workspace "default" ${key.kind} key: ${key.secret}\n`);
        }
        const workspaceId = await workspaceIdOf(workspaces, flags.workspace);
        const bar = progressBar('import', size, 'bytes', flags.progress && !flags.json);
        const started = performance.now();
        let bytes = 0;
        const stats = await imports.importLines(
          readLines(file, (b) => {
            bytes = b;
          }),
          {
            workspaceId,
            importId: randomUUID(),
            onProgress: (lines) => bar.update(bytes, { lines }),
            admit: await admission(),
          },
        );
        bar.update(size);
        bar.stop();
        const seconds = (performance.now() - started) / 1000;
        const perSecond = Math.round((stats.lines - stats.blankLines) / seconds);
        if (flags.json)
          printJson({
            file,
            workspaceId,
            seconds: Math.round(seconds * 100) / 100,
            messagesPerSecond: perSecond,
            ...stats,
          });
        else {
          process.stdout.write(
            `imported ${stats.inserted.toLocaleString('en-US')} events from ${file} in ${seconds.toFixed(1)} s ` +
              `(${perSecond.toLocaleString('en-US')} lines/s): ${stats.duplicates} duplicates skipped, ` +
              `${stats.conflicts} conflicting ids and ${stats.rejected} bad lines quarantined` +
              `${stats.suppressed > 0 ? `; ${stats.suppressed} lines of deleted, suppressed persons dropped` : ''}\n`,
          );
          for (const [code, n] of Object.entries(stats.rejectedByCode))
            process.stdout.write(`  ${code}: ${n}\n`);
        }
        if (stats.rejected > 0 || stats.conflicts > 0) process.exitCode = 2;
      } catch (e) {
        fail(`import failed, nothing was stored: ${(e as Error).message}`);
      } finally {
        await close();
      }
    });
}
