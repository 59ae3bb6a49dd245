import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { type ImportStats, linesAsRows } from '../services/import-service.js';
import {
  type ScoredTouchpoint,
  scoreTouches,
  type TouchScore,
  TouchTruthReader,
} from '../sim/touch-score.js';
import { type ApiTarget, apiRequest } from './api-client.js';
import { workspaceIdOf } from './keys.command.js';
import { type AccessFlags, type LocalAccess, type LocalPeople, openAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';
import { type Progress, progressBar } from './progress.js';
import { readLines } from './read-lines.js';

interface EvaluateFlags extends AccessFlags {
  workspace: string;
  min?: string;
  json?: boolean;
  progress: boolean;
}

/** Where the simulator wrote a run: its messages and its truth folder. */
interface SimFolder {
  messages: string;
  truth: string;
}

/** The journeys being scored, one person at a time: touchpoints, or null for an unknown identifier. */
interface JourneySource {
  /** What is scored, for the report: a temporary data directory, a data directory, or a server. */
  describe: string;
  /**
   * The person holding an identifier (`type:value`) and the touchpoints of their journey (none
   * when that person was read already); null for an identifier nobody holds.
   */
  journeyOf(
    ref: string,
    known: Set<string>,
  ): Promise<{ person: string; touchpoints: ScoredTouchpoint[] } | null>;
  close(): Promise<void>;
}

export interface EvaluateReport extends TouchScore {
  folder: string;
  journeysOf: string;
  messages: number;
  persons: number;
  identifiers: number;
  unknownIdentifiers: number;
  import?: Pick<ImportStats, 'inserted' | 'duplicates' | 'conflicts' | 'rejected'>;
}

const CONCURRENCY = 4;

/** `throughline journeys …`: journeys in bulk. */
export function registerJourneys(program: Command, deps: LocalAccess): void {
  const journeys = program
    .command('journeys')
    .description(
      'journeys in bulk: rebuild the journey tables, score touchpoints against a simulation’s truth',
    );
  registerRebuild(journeys, deps);
  const evaluate = journeys
    .command('evaluate')
    .description(
      'score the touchpoints of journeys against the truth of a simulation: precision and recall, per channel',
    )
    .argument('[dir]', 'simulator output folder (messages.ndjson and truth/), or its truth/ folder')
    .option(
      '-d, --data <dir>',
      'score the journeys of this data directory (the messages already imported) instead of a temporary one',
    )
    .option('--url <url>', "score a running server's journeys through its API (env THROUGHLINE_URL)")
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--min <ratio>', 'exit with code 2 when precision or recall is below this, e.g. 0.95')
    .option('--json', 'the scores as JSON')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
A true touch is a message truth/messages.csv gives a channel. A touchpoint matches it when its
triggering messageId is the message's id and its channel is the true channel, exactly.
Precision = matched / touchpoints; recall = matched / true touches (docs/journeys.md).

Journeys come from (first that applies):
  --data <dir>     that data directory, read in place (run "throughline import" first); when a
                   server holds it, through the server's API with --admin-key
  --url <url>      a running server's journey API (needs --admin-key); import the messages first
  (neither)        a temporary data directory: the folder's messages.ndjson is imported into it
                   with the same collector as "throughline import", scored, then removed
Every person holding an identifier of truth/identifiers.ndjson is read once, as the journey
API builds it, under the workspace's journey settings (defaults for a temporary directory).

Examples:
  ./throughline simulate --scenario ecommerce --people 2000 --out sim
  ./throughline journeys evaluate sim
  ./throughline journeys evaluate sim --min 0.95 --json | jq '{precision, recall}'
  ./throughline journeys evaluate sim --data data           # after: throughline import sim/messages.ndjson`,
    )
    .action(async (dir: string | undefined, flags: EvaluateFlags) => {
      if (dir === undefined) {
        evaluate.help({ error: true });
        return;
      }
      const min = flags.min === undefined ? undefined : Number(flags.min);
      if (min !== undefined && !(min >= 0 && min <= 1))
        return fail(`--min must be a ratio 0–1, not "${flags.min}"`);
      const folder = simFolderOf(dir);
      if (typeof folder === 'string') return fail(folder);
      try {
        const report = await evaluateFolder(deps, dir, folder, flags);
        if (report === null) return;
        if (flags.json) printJson(report);
        else process.stdout.write(render(report));
        if (min !== undefined && (report.precision < min || report.recall < min)) {
          if (!flags.json) process.stderr.write(`throughline: precision or recall is below --min ${min}\n`);
          process.exitCode = 2;
        }
      } catch (e) {
        fail(`evaluation failed: ${(e as Error).message}`);
      }
    });
}

function simFolderOf(dir: string): SimFolder | string {
  if (existsSync(join(dir, 'truth', 'messages.csv')))
    return { messages: join(dir, 'messages.ndjson'), truth: join(dir, 'truth') };
  if (existsSync(join(dir, 'messages.csv')))
    return { messages: join(dirname(dir), 'messages.ndjson'), truth: dir };
  return `${dir} is not a simulator output folder: no truth/messages.csv in it (see ./throughline simulate --help)`;
}

async function evaluateFolder(
  deps: LocalAccess,
  dir: string,
  folder: SimFolder,
  flags: EvaluateFlags,
): Promise<EvaluateReport | null> {
  const show = flags.progress && !flags.json;
  const reader = new TouchTruthReader();
  for await (const lines of readLines(join(folder.truth, 'messages.csv')))
    for (const l of lines) reader.line(l);
  const refs = await identifiersOf(join(folder.truth, 'identifiers.ndjson'));

  let imported: ImportStats | undefined;
  let source: JourneySource;
  if (flags.data === undefined && flags.url !== undefined) {
    const adminKey = flags.adminKey ?? process.env.THROUGHLINE_ADMIN_KEY;
    if (!adminKey) {
      fail('--url needs --admin-key (or THROUGHLINE_ADMIN_KEY)');
      return null;
    }
    source = remoteSource({ url: flags.url, adminKey });
  } else if (flags.data !== undefined) {
    const access = await openAccess(deps, flags, true);
    if (!access.ok) {
      fail(access.error);
      return null;
    }
    const a = access.value;
    if (a.kind === 'remote') source = remoteSource(a.target);
    else {
      try {
        const ws = await workspaceIdOf(a.workspaces, flags.workspace);
        source = localSource(await a.people(), ws, `the data directory ${flags.data}`, () => a.close());
      } catch (e) {
        await a.close();
        throw e;
      }
    }
  } else {
    const made = await temporarySource(deps, folder.messages, show);
    if (made === null) return null;
    source = made.source;
    imported = made.imported;
  }

  const touchpoints: ScoredTouchpoint[] = [];
  const known = new Set<string>();
  const persons = new Set<string>();
  let unknown = 0;
  const bar = progressBar('journeys', refs.length, 'identifiers', show);
  try {
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < refs.length) {
        const ref = refs[next++] as string;
        if (!known.has(ref)) {
          const j = await source.journeyOf(ref, known);
          if (j === null) unknown++;
          else {
            // A person read twice (two of its identifiers at once) is scored once: the score
            // counts each message once.
            persons.add(j.person);
            touchpoints.push(...j.touchpoints);
          }
        }
        if (++done % 256 === 0) bar.update(done, { persons: persons.size, touchpoints: touchpoints.length });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    bar.update(refs.length, { persons: persons.size, touchpoints: touchpoints.length });
  } finally {
    bar.stop();
    await source.close();
  }
  return {
    folder: dir,
    journeysOf: source.describe,
    messages: reader.truth.messages,
    persons: persons.size,
    identifiers: refs.length,
    unknownIdentifiers: unknown,
    ...(imported
      ? {
          import: {
            inserted: imported.inserted,
            duplicates: imported.duplicates,
            conflicts: imported.conflicts,
            rejected: imported.rejected,
          },
        }
      : {}),
    ...scoreTouches(reader.truth, touchpoints),
  };
}

/** The anonymous and user ids of the truth: every message carries one of them. */
async function identifiersOf(path: string): Promise<string[]> {
  const refs = new Set<string>();
  for await (const lines of readLines(path)) {
    for (const line of lines) {
      if (line.trim() === '') continue;
      const id = JSON.parse(line) as { type?: string; value?: string };
      if ((id.type === 'anonymous_id' || id.type === 'user_id') && typeof id.value === 'string')
        refs.add(`${id.type}:${id.value}`);
    }
  }
  return [...refs];
}

const scored = (touchpoints: { messageId: string; channel: string }[]): ScoredTouchpoint[] =>
  touchpoints.map((t) => ({ messageId: t.messageId, channel: t.channel }));

/** Journeys read in this process, with the services the journey API uses. */
function localSource(
  people: LocalPeople,
  workspaceId: string,
  describe: string,
  close: () => void | Promise<void>,
): JourneySource {
  const anchors = new Set<number>();
  let built: Promise<void> | undefined;
  return {
    describe,
    async journeyOf(ref) {
      // Journeys read from the journey tables: built once here when they are not current.
      built ??= people.journeyTables.isCurrent(workspaceId)
        ? Promise.resolve()
        : people.journeyTables.rebuild(workspaceId).then(() => undefined);
      await built;
      const p = await people.persons.resolve(workspaceId, ref);
      if (!p.ok) return null;
      if (anchors.has(p.value.anchor)) return { person: p.value.personId, touchpoints: [] };
      anchors.add(p.value.anchor);
      const j = await people.journeys.personJourney(workspaceId, p.value);
      return { person: p.value.personId, touchpoints: scored(j.touchpoints) };
    },
    close: async () => {
      await close();
    },
  };
}

/** Journeys through a running server's API: the profile names the person and all its identifiers. */
function remoteSource(target: ApiTarget): JourneySource {
  return {
    describe: `the server at ${target.url}`,
    async journeyOf(ref, known) {
      let profile: { id: string; identifiers: { type: string; value: string }[] };
      try {
        profile = await apiRequest(target, 'GET', `/api/persons/${encodeURIComponent(ref)}`);
      } catch (e) {
        if (/→ 404:/.test((e as Error).message)) return null;
        throw e;
      }
      for (const i of profile.identifiers) known.add(`${i.type}:${i.value}`);
      const j = await apiRequest<{ touchpoints: { messageId: string; channel: string }[] }>(
        target,
        'GET',
        `/api/persons/${encodeURIComponent(profile.id)}/journey?limit=1`,
      );
      return { person: profile.id, touchpoints: scored(j.touchpoints) };
    },
    close: async () => undefined,
  };
}

/** A temporary data directory holding the folder's messages, imported as `throughline import` does. */
async function temporarySource(
  deps: LocalAccess,
  messages: string,
  show: boolean,
): Promise<{ source: JourneySource; imported: ImportStats } | null> {
  const size = await stat(messages).then(
    (s) => s.size,
    () => null,
  );
  if (size === null) {
    fail(`cannot read ${messages}: the messages the truth is about are needed (or give --data / --url)`);
    return null;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'throughline-evaluate-'));
  const remove = () => rm(dataDir, { recursive: true, force: true });
  const local = await deps.openLocal(dataDir);
  if (!local.ok) {
    await remove();
    fail(local.error.message);
    return null;
  }
  const { workspaces, importer, people, close } = local.value;
  const closeAll = async () => {
    try {
      await close();
    } finally {
      await remove();
    }
  };
  let bar: Progress | undefined;
  try {
    await workspaces.start({});
    const workspaceId = await workspaceIdOf(workspaces, 'default');
    const { imports, run } = await importer();
    bar = progressBar('import', size, 'bytes', show);
    let bytes = 0;
    let stats: ImportStats | undefined;
    await run(async () => {
      stats = await imports.importRows(
        linesAsRows(
          readLines(messages, (b) => {
            bytes = b;
          }),
        ),
        { workspaceId, importId: randomUUID(), onProgress: () => bar?.update(bytes) },
      );
      bar?.update(size, { extra: 'loading the rest' });
    });
    bar.stop();
    if (!stats) throw new Error('the import did not finish');
    return {
      source: localSource(
        await people(),
        workspaceId,
        'a temporary data directory (default settings)',
        closeAll,
      ),
      imported: stats,
    };
  } catch (e) {
    bar?.stop();
    await closeAll();
    throw e;
  }
}

const pct = (x: number) => x.toFixed(3);
const n = (x: number) => x.toLocaleString('en-US');

/** The scores as text: totals, per channel, the most frequent errors. */
export function render(r: EvaluateReport): string {
  const out: string[] = [];
  out.push(`Touchpoints of ${r.folder} against its truth (journeys of ${r.journeysOf})`);
  out.push(
    `  precision ${pct(r.precision)}   (${n(r.matched)} of ${n(r.predicted)} touchpoints are true touches, channel included)`,
  );
  out.push(`  recall    ${pct(r.recall)}   (${n(r.matched)} of ${n(r.truth)} true touches found)`);
  out.push(
    `  ${n(r.persons)} persons, ${n(r.messages)} messages; ${n(r.notATouch)} touchpoints on no true touch, ${n(r.wrongChannel)} with another channel, ${n(r.missed)} true touches without a touchpoint`,
  );
  if (r.import && (r.import.rejected > 0 || r.import.conflicts > 0))
    out.push(`  import: ${n(r.import.rejected)} lines rejected, ${n(r.import.conflicts)} conflicting ids`);
  if (r.unknownIdentifiers > 0)
    out.push(`  ${n(r.unknownIdentifiers)} identifiers of the truth are unknown to the journeys read`);
  out.push('');
  const rows = r.channels.map((c) => [
    c.channel,
    n(c.truth),
    n(c.predicted),
    n(c.matched),
    pct(c.precision),
    pct(c.recall),
  ]);
  const head = ['CHANNEL', 'TRUE', 'GIVEN', 'MATCHED', 'PRECISION', 'RECALL'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ')}`;
  out.push(line(head));
  for (const row of rows) out.push(line(row));
  if (r.confusions.length > 0) {
    out.push('', '  Most frequent errors (true → given; (none): no touch / no touchpoint)');
    for (const c of r.confusions) out.push(`    ${`${c.truth} → ${c.predicted}`.padEnd(48)} ${n(c.count)}`);
  }
  return `${out.join('\n')}\n`;
}

interface RebuildFlags extends AccessFlags {
  workspace: string;
  json?: boolean;
  progress: boolean;
}

/** `throughline journeys rebuild`: the journey tables of a workspace, rebuilt in bulk. */
function registerRebuild(journeys: Command, deps: LocalAccess): void {
  journeys
    .command('rebuild')
    .description(
      "rebuild a workspace's journey tables (sessions, touchpoints, stage history) from its events and settings",
    )
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'when a server holds the data directory: its URL (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access)', 'default')
    .option('--json', 'what was written, as JSON')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
The server keeps the journey tables current by itself: it rebuilds a workspace in the background
when its journey settings change (progress in /health and GET /api/journey/build), and derives
again the persons that new events, late events and identity merges touch. Run this after changing
the settings file (THROUGHLINE_JOURNEY_CONFIG) with the server stopped, or to time a rebuild.

When a server holds the data directory, the rebuild runs in the server (needs --admin-key) and
this command waits for it.

Examples:
  ./throughline journeys rebuild
  ./throughline journeys rebuild --json | jq .ms
  ./throughline journeys rebuild --admin-key $THROUGHLINE_ADMIN_KEY    # a server is running`,
    )
    .action(async (flags: RebuildFlags) => {
      try {
        const access = await openAccess(deps, flags, true);
        if (!access.ok) return fail(access.error);
        const a = access.value;
        const started = Date.now();
        const show = flags.progress && !flags.json;
        let result: { workspace: string; counts: unknown };
        if (a.kind === 'remote') result = await rebuildRemote(a.target, show);
        else {
          try {
            const ws = await workspaceIdOf(a.workspaces, flags.workspace);
            const { journeyTables } = await a.people();
            const bar = progressBar('rebuild', 3, 'phases', show);
            let done = 0;
            const counts = await journeyTables.rebuild(ws, {
              full: true,
              onPhase: (phase) => bar.update(done++, { extra: phase }),
            });
            bar.update(3, { extra: 'done' });
            bar.stop();
            result = { workspace: ws, counts };
          } finally {
            await a.close();
          }
        }
        const ms = Date.now() - started;
        if (flags.json) printJson({ ...result, ms });
        else {
          const c = result.counts as Record<string, number>;
          process.stdout.write(
            `rebuilt the journeys of ${result.workspace} in ${(ms / 1000).toFixed(1)} s: ${fmt(c.persons)} persons, ${fmt(c.events)} events, ${fmt(c.sessions)} sessions, ${fmt(c.touchpoints)} touchpoints, ${fmt(c.stageSpans)} stage entries, ${fmt(c.accounts ?? 0)} accounts\n`,
          );
        }
      } catch (e) {
        fail(`rebuild failed: ${(e as Error).message}`);
      }
    });
}

const fmt = (n: number | undefined) => (n ?? 0).toLocaleString('en-US');

interface BuildAnswer {
  current: boolean;
  builder: { state: string; phase?: string; last?: { workspace: string; counts: unknown }; problem?: string };
}

/** Asks the server to rebuild, then waits until its builder is idle again. */
async function rebuildRemote(
  target: ApiTarget,
  show: boolean,
): Promise<{ workspace: string; counts: unknown }> {
  await apiRequest(target, 'POST', '/api/journey/rebuild');
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const b = await apiRequest<BuildAnswer>(target, 'GET', '/api/journey/build');
    if (show) process.stderr.write(`\rrebuilding: ${b.builder.phase ?? b.builder.state}          `);
    if (b.builder.state === 'idle') {
      if (show) process.stderr.write('\n');
      if (b.builder.problem) throw new Error(b.builder.problem);
      if (!b.current || !b.builder.last) throw new Error('the server did not finish the rebuild');
      return { workspace: b.builder.last.workspace, counts: b.builder.last.counts };
    }
  }
}
