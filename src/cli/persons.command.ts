import type { Command } from 'commander';
import { parseTimestamp } from '../core/spec/timestamp.js';
import {
  type ListOptions,
  type ListPageOf,
  NO_STAGE,
  type PersonListItem,
  type PersonService,
  parseChannelFilter,
  parseStageFilter,
} from '../services/person-service.js';
import { apiRequest } from './api-client.js';
import { workspaceIdOf } from './keys.command.js';
import { type AccessFlags, type LocalAccess, openAccess } from './local-or-remote.js';
import { fail, printJson, printTable } from './output.js';

/** The flags every list command takes (`persons`, `accounts`). */
export interface ListFlags extends AccessFlags {
  workspace: string;
  json?: boolean;
  query?: string;
  trait: string[];
  seenFrom?: string;
  seenTo?: string;
  stage: string[];
  channel: string[];
  touchedFrom?: string;
  touchedTo?: string;
  sort: string;
  order: string;
  limit: string;
  cursor?: string;
}

const collect = (v: string, all: string[]) => [...all, v];

/** Adds the list flags and the access flags to a list command. */
export function withListFlags(
  c: Command,
  defaultLimit: number,
  queryHelp: string,
  subject: 'person' | 'account',
): Command {
  return c
    .option('-q, --query <text>', queryHelp)
    .option(
      '-t, --trait <name=value>',
      'the current trait equals the value (repeat for more; all must hold)',
      collect,
      [] as string[],
    )
    .option(
      '--seen-from <date>',
      'last activity at or after this date (ISO 8601, UTC unless a zone is given)',
    )
    .option('--seen-to <date>', 'last activity before this date')
    .option(
      '--stage <id>',
      `the current lifecycle stage is this stage id, ${NO_STAGE} for none (repeat or comma-separate: any of them)`,
      collect,
      [] as string[],
    )
    .option(
      '--channel <name>',
      `${subject === 'person' ? 'has' : 'a member has'} a journey touchpoint of this channel, case-insensitive (repeat or comma-separate: any of them)`,
      collect,
      [] as string[],
    )
    .option('--touched-from <date>', 'that touchpoint (any channel if no --channel) at or after this date')
    .option('--touched-to <date>', 'that touchpoint before this date')
    .option('--sort <by>', 'lastSeen or firstSeen', 'lastSeen')
    .option('--order <order>', 'desc (newest first) or asc', 'desc')
    .option('-n, --limit <n>', 'rows per page (1–1000)', String(defaultLimit))
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--json', 'machine-readable output (the API response)');
}

/** The flags as the service takes them, and as the API's query string; or what is wrong. */
export function listRequestOf(
  flags: ListFlags,
): { ok: true; options: ListOptions; query: URLSearchParams } | { ok: false; error: string } {
  const limit = Number.parseInt(flags.limit, 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    return { ok: false, error: '--limit must be 1–1000' };
  if (flags.sort !== 'lastSeen' && flags.sort !== 'firstSeen')
    return { ok: false, error: '--sort must be lastSeen or firstSeen' };
  if (flags.order !== 'desc' && flags.order !== 'asc')
    return { ok: false, error: '--order must be desc or asc' };
  const query = new URLSearchParams({ limit: String(limit), sort: flags.sort, order: flags.order });
  const options: ListOptions = { traits: [], sort: flags.sort, order: flags.order, limit };
  for (const t of flags.trait) {
    const eq = t.indexOf('=');
    if (eq <= 0) return { ok: false, error: `--trait ${t}: write name=value, e.g. --trait plan=pro` };
    const key = t.slice(0, eq);
    const value = t.slice(eq + 1);
    options.traits.push({ key, value });
    query.append(`trait.${key}`, value);
  }
  if (flags.stage.length > 0) {
    const stages = parseStageFilter(flags.stage);
    if (!stages.ok) return { ok: false, error: `--${stages.error}` };
    options.stages = stages.value;
    for (const st of stages.value) query.append('stage', st ?? NO_STAGE);
  }
  if (flags.channel.length > 0) {
    const channels = parseChannelFilter(flags.channel);
    if (!channels.ok) return { ok: false, error: `--${channels.error}` };
    options.channels = channels.value;
    for (const ch of channels.value) query.append('channel', ch);
  }
  for (const [flag, field] of [
    ['seenFrom', '--seen-from'],
    ['seenTo', '--seen-to'],
    ['touchedFrom', '--touched-from'],
    ['touchedTo', '--touched-to'],
  ] as const) {
    const raw = flags[flag];
    if (raw === undefined) continue;
    const at = parseTimestamp(raw);
    if (!at.ok)
      return { ok: false, error: `${field}: ${at.error} (e.g. 2026-06-30 or 2026-06-30T12:00:00Z)` };
    options[flag] = at.value;
    query.set(flag, new Date(at.value).toISOString());
  }
  if (flags.query !== undefined) {
    options.query = flags.query;
    query.set('query', flags.query);
  }
  if (flags.cursor !== undefined) {
    options.cursor = flags.cursor;
    query.set('cursor', flags.cursor);
  }
  return { ok: true, options, query };
}

/**
 * Runs a list against the data directory, or the server's API when a server holds it. The
 * result has the API's shape: `{<name>: [...], total, nextCursor}`.
 */
export async function runList<T>(
  deps: LocalAccess,
  flags: ListFlags,
  path: string,
  local: (persons: PersonService, workspaceId: string, o: ListOptions) => Promise<ListPageOf<T>>,
): Promise<{ ok: true; value: ListPageOf<T> } | { ok: false; error: string }> {
  const request = listRequestOf(flags);
  if (!request.ok) return request;
  const access = await openAccess(deps, flags, true);
  if (!access.ok) return access;
  const a = access.value;
  try {
    if (a.kind === 'remote') {
      const name = path.slice(path.lastIndexOf('/') + 1);
      const r = await apiRequest<Record<string, unknown>>(a.target, 'GET', `${path}?${request.query}`);
      return {
        ok: true,
        value: { items: r[name] as T[], total: r.total as number, nextCursor: r.nextCursor as string | null },
      };
    }
    const ws = await workspaceIdOf(a.workspaces, flags.workspace);
    const { persons } = await a.people();
    return { ok: true, value: await local(persons, ws, request.options) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    if (a.kind === 'local') await a.close();
  }
}

/** After a page: how many of how many, and the command for the next page. */
export function printPageFooter(shown: number, total: number, nextCursor: string | null, what: string): void {
  process.stdout.write(`\n${shown} of ${total} ${what}`);
  process.stdout.write(nextCursor ? `; next page: --cursor ${nextCursor}\n` : '\n');
}

const day = (iso: string | null) => (iso === null ? '–' : iso.replace('T', ' ').slice(0, 19));

/** `throughline persons`: everyone, or those matching filters, newest activity first, a page at a time. */
export function registerPersons(program: Command, deps: LocalAccess): void {
  withListFlags(
    program
      .command('persons')
      .description(
        'list persons: everyone, or by identifier or trait text, trait values, last activity, current stage, channels touched',
      )
      .addHelpText(
        'after',
        `
Examples:
  ./throughline persons                                  # newest activity first
  ./throughline persons --trait plan=pro --seen-from 2026-06-01 --limit 50
  ./throughline persons --query jane@ --json
  ./throughline persons --stage customer --channel "Paid Search"
  ./throughline persons --stage "(none)" --channel Email --touched-from 2026-06-01 --touched-to 2026-07-01`,
      ),
    20,
    'text in an identifier (type:value, or any part of a value) or a current trait',
    'person',
  ).action(async (flags: ListFlags) => {
    const page = await runList<PersonListItem>(deps, flags, '/api/persons', async (persons, ws, o) => {
      const r = await persons.list(ws, o);
      if (!r.ok) throw new Error(r.error);
      return r.value;
    });
    if (!page.ok) return fail(page.error);
    const { items, total, nextCursor } = page.value;
    if (flags.json) {
      printJson({ persons: items, total, nextCursor });
      return;
    }
    printTable(
      items.map((p) => ({
        id: p.id,
        lastSeen: day(p.lastSeen),
        firstSeen: day(p.firstSeen),
        events: p.eventCount,
        identifiers:
          p.identifiers
            .slice(0, 2)
            .map((i) => `${i.type}:${i.value}`)
            .join(' ') + (p.identifiers.length > 2 ? ` +${p.identifiers.length - 2}` : ''),
        stage: p.stage?.id ?? '–',
      })),
      ['id', 'lastSeen', 'firstSeen', 'events', 'identifiers', 'stage'],
    );
    printPageFooter(items.length, total, nextCursor, 'persons');
  });
}
