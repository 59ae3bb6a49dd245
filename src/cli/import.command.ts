import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { DEFAULTS } from '../config/config.js';
import { type CompiledMapping, compileMapping, objectsOf } from '../core/sources/source-mapping.js';
import { SOURCE_KINDS, type SourceKind } from '../core/sources/source-object.js';
import { type ImportStats, linesAsRows } from '../services/import-service.js';
import { workspaceIdOf } from './keys.command.js';
import type { LocalAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';
import { progressBar } from './progress.js';
import { readLines } from './read-lines.js';
import { importThroughApi } from './remote-import.js';
import { sourceRows } from './source-rows.js';

interface ImportFlags {
  data?: string;
  url?: string;
  adminKey?: string;
  source?: string;
  mapping?: string;
  workspace: string;
  json?: boolean;
  progress: boolean;
}

export function registerImport(program: Command, deps: LocalAccess): void {
  program
    .command('import')
    .description('load Segment-format NDJSON, or a CRM/support/billing/survey/ad-spend export, in bulk')
    .argument(
      '<file>',
      'NDJSON file, one message per line; with --source a CSV or JSON Lines export (.gz accepted)',
    )
    .option('--source <kind>', `an offline source export: ${SOURCE_KINDS.join(', ')} (see docs/events.md)`)
    .option(
      '--mapping <file>',
      'with --source: JSON mapping of the file (object, system, columns, values, defaults)',
    )
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('-w, --workspace <name>', "workspace to load into (through the API: the admin key's)", 'default')
    .option('--admin-key <key>', 'while a server runs: import through its API (env THROUGHLINE_ADMIN_KEY)')
    .option('--url <url>', 'the running server (env THROUGHLINE_URL, default http://localhost:8080)')
    .option('--json', 'print the result as JSON')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Every line gets the Tracking API's validation and normalisation; bad lines are quarantined
with their line number. A line's "receivedAt" is used as its arrival time (clock-skew
correction); without it the import time is. Messages already stored (same messageId and
payload) are skipped, so re-running an import is harmless. Lines go to the ingest log
(durable) and are then loaded into the database; the command ends when they are queryable.
While a server holds the data directory, the file is streamed to its POST /api/import
(give --admin-key); the report is the same.

With --source, each row of a CSV (header row first) or JSON Lines export becomes Segment
messages with documented event names (docs/events.md). Message ids come from the system,
object and row id, so re-importing an export stores only what is new. Rows that cannot be
mapped are quarantined with their line number and reason; the others load.

Examples:
  ./throughline simulate --people 20000 --out sim && ./throughline import sim/messages.ndjson
  ./throughline import deals.csv --source crm --mapping hubspot-deals.json`,
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
      if (flags.mapping && !flags.source) return fail('--mapping needs --source <kind>');
      let mapping: CompiledMapping | null = null;
      if (flags.source) {
        let input: unknown = { object: defaultObject(flags.source) };
        if (flags.mapping) {
          try {
            input = JSON.parse(await readFile(flags.mapping, 'utf8'));
          } catch (e) {
            return fail(`cannot read the mapping ${flags.mapping}: ${(e as Error).message}`);
          }
        }
        const compiled = compileMapping(flags.source, input);
        if (!compiled.ok) return fail(`${flags.mapping ?? '--source'}: ${compiled.error}`);
        mapping = compiled.value;
      }
      const dataDir = flags.data ?? process.env.THROUGHLINE_DATA_DIR ?? DEFAULTS.dataDir;
      const local = await deps.openLocal(dataDir);
      if (!local.ok) {
        const adminKey = flags.adminKey ?? process.env.THROUGHLINE_ADMIN_KEY;
        if (!local.error.locked) return fail(local.error.message);
        if (!adminKey) {
          return fail(
            `${local.error.message}\nA server holds this directory: pass --admin-key (or set THROUGHLINE_ADMIN_KEY) to import through its API, or stop it.`,
          );
        }
        if (mapping) {
          return fail(
            `${local.error.message}\n--source imports need the data directory itself: stop the server, or convert the export with a local import elsewhere.`,
          );
        }
        const url = flags.url ?? process.env.THROUGHLINE_URL ?? `http://localhost:${DEFAULTS.port}`;
        const bar = progressBar('import', size, 'bytes', flags.progress && !flags.json);
        const started = performance.now();
        try {
          const stats = await importThroughApi({ url, adminKey }, file, (b) => bar.update(b));
          bar.update(size);
          bar.stop();
          report(file, stats.importId, stats, (performance.now() - started) / 1000, flags.json === true);
        } catch (e) {
          bar.stop();
          fail(`import through ${url} failed: ${(e as Error).message}`);
        }
        return;
      }
      const { workspaces, importer, close } = local.value;
      try {
        const boot = await workspaces.start({});
        if (boot.created && !flags.json) {
          for (const key of boot.keys)
            process.stderr.write(`created workspace "default" ${key.kind} key: ${key.secret}\n`);
        }
        const workspaceId = await workspaceIdOf(workspaces, flags.workspace);
        const showProgress = flags.progress && !flags.json;
        const { imports, run, loadedSeq, head } = await importer();
        const bar = progressBar('import', size, 'bytes', showProgress);
        const started = performance.now();
        let bytes = 0;
        const onBytes = (b: number) => {
          bytes = b;
        };
        let stats: ImportStats | undefined;
        // The log is loaded into the database while the file is read: the command ends queryable.
        await run(async () => {
          stats = await imports.importRows(
            mapping ? sourceRows(file, mapping, onBytes) : linesAsRows(readLines(file, onBytes)),
            {
              workspaceId,
              importId: randomUUID(),
              onProgress: (lines) =>
                bar.update(bytes, {
                  extra: `${lines.toLocaleString('en-US')} lines, ${Math.max(0, head() - loadedSeq()).toLocaleString('en-US')} to load`,
                }),
            },
          );
          bar.update(size, { extra: 'loading the rest' });
        });
        bar.stop();
        if (!stats) throw new Error('the import did not finish');
        report(file, workspaceId, stats, (performance.now() - started) / 1000, flags.json === true);
      } catch (e) {
        fail(
          `import failed: ${(e as Error).message}\nWhat was logged before the failure is kept; re-running the import is safe (deduplication).`,
        );
      } finally {
        await close();
      }
    });
}

/** The import's report: a summary with the reasons of bad lines, or JSON. Bad lines exit 2. */
function report(file: string, target: string, stats: ImportStats, seconds: number, json: boolean): void {
  const perSecond = Math.round((stats.lines - stats.blankLines) / seconds);
  if (json) {
    printJson({
      file,
      target,
      seconds: Math.round(seconds * 100) / 100,
      messagesPerSecond: perSecond,
      ...stats,
    });
  } else {
    process.stdout.write(
      `imported ${stats.inserted.toLocaleString('en-US')} events from ${file} in ${seconds.toFixed(1)} s ` +
        `(${perSecond.toLocaleString('en-US')} lines/s): ${stats.duplicates} duplicates skipped, ` +
        `${stats.conflicts} conflicting ids and ${stats.rejected} bad lines quarantined` +
        `${stats.suppressed > 0 ? `; ${stats.suppressed} lines of deleted, suppressed persons dropped` : ''}\n`,
    );
    for (const [code, n] of Object.entries(stats.rejectedByCode)) process.stdout.write(`  ${code}: ${n}\n`);
    for (const r of stats.rejectedSample) process.stdout.write(`  ${r}\n`);
    if (stats.rejected > stats.rejectedSample.length)
      process.stdout.write(`  … all ${stats.rejected} reasons are in the quarantine (GET /api/quarantine)\n`);
  }
  if (stats.rejected > 0 || stats.conflicts > 0) process.exitCode = 2;
}

/** Without a mapping file, a source with a single object needs none (ad-spend, survey). */
function defaultObject(kind: string): string {
  const objects = (SOURCE_KINDS as readonly string[]).includes(kind) ? objectsOf(kind as SourceKind) : [];
  return objects.length === 1 ? (objects[0] as string) : '(give --mapping with "object")';
}
