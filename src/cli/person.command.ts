import type { Command } from 'commander';
import type { JsonObject, StoredEvent } from '../core/spec/message.js';
import { toSegmentShape } from '../core/spec/segment-shape.js';
import type { DeletionReceipt } from '../services/person-admin-service.js';
import type { Profile } from '../services/person-service.js';
import { apiRequest } from './api-client.js';
import { workspaceIdOf } from './keys.command.js';
import { type AccessFlags, type LocalAccess, openAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';

interface PersonFlags extends AccessFlags {
  workspace: string;
  json?: boolean;
  limit: string;
}

const withAccess = (c: Command) =>
  c
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--json', 'machine-readable output');

type Timeline = JsonObject[];

/** `throughline person <identifier>`: a profile and its recent timeline; `person delete`. */
export function registerPerson(program: Command, deps: LocalAccess): void {
  const person = withAccess(
    program
      .command('person')
      .description('show a person: identifiers, traits, activity and recent timeline')
      .argument(
        '[identifier]',
        'type:value (email:jane@example.com, user_id:42, anonymous_id:…) or a person id',
      )
      .option('-n, --limit <n>', 'timeline events to show, newest first', '20'),
  ).action(async (ref: string | undefined, flags: PersonFlags) => {
    if (ref === undefined) {
      person.help({ error: true });
      return;
    }
    const limit = Number.parseInt(flags.limit, 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return fail('--limit must be 1–1000');
    const found = await lookup(deps, flags, ref, limit);
    if (!found.ok) return fail(found.error);
    if (flags.json) printJson(found.value);
    else printPerson(found.value.profile, found.value.timeline);
  });

  person
    .command('delete')
    .description('delete everything held about a person (events, identifiers, links, quarantined payloads)')
    .argument('<identifier>', 'type:value or a person id')
    .option('--suppress', 'also drop future messages carrying any of their identifiers')
    .option('-y, --yes', 'really delete (without it, nothing is deleted)')
    .action(async (ref: string, _own: unknown, command: Command) => {
      // --data, --json … are options of `person`: commander hands them to the parent command.
      const flags = command.optsWithGlobals() as PersonFlags & { suppress?: boolean; yes?: boolean };
      const found = await lookup(deps, flags, ref, 1);
      if (!found.ok) return fail(found.error);
      const p = found.value.profile;
      if (!flags.yes) {
        return fail(
          `would delete person ${p.id} (${p.identifiers.length} identifiers, ${p.eventCount} events); run again with --yes`,
        );
      }
      const receipt = await remove(deps, flags, ref, flags.suppress === true);
      if (!receipt.ok) return fail(receipt.error);
      if (flags.json) printJson(receipt.value);
      else {
        const d = receipt.value.deleted;
        process.stdout.write(
          `deleted ${receipt.value.person}: ${d.events} events, ${d.identifiers} identifiers, ${d.links} links, ` +
            `${d.quarantine} quarantined payloads; ${receipt.value.suppressed} identifiers suppressed\n` +
            `receipt ${receipt.value.id} at ${receipt.value.at}\n`,
        );
      }
    });
}

async function lookup(
  deps: LocalAccess,
  flags: PersonFlags,
  ref: string,
  limit: number,
): Promise<{ ok: true; value: { profile: Profile; timeline: Timeline } } | { ok: false; error: string }> {
  const access = await openAccess(deps, flags, true);
  if (!access.ok) return access;
  const a = access.value;
  try {
    if (a.kind === 'remote') {
      const path = `/api/persons/${encodeURIComponent(ref)}`;
      const profile = await apiRequest<Profile>(a.target, 'GET', path);
      const page = await apiRequest<{ events: Timeline }>(
        a.target,
        'GET',
        `${path}/timeline?order=desc&limit=${limit}`,
      );
      return { ok: true, value: { profile, timeline: page.events } };
    }
    const ws = await workspaceIdOf(a.workspaces, flags.workspace);
    const { persons } = await a.people();
    const p = await persons.resolve(ws, ref);
    if (!p.ok) return { ok: false, error: p.error };
    const profile = await persons.profile(ws, p.value);
    const page = await persons.timeline(p.value.members, { limit, order: 'desc' });
    if (!page.ok) return { ok: false, error: page.error };
    return {
      ok: true,
      value: { profile, timeline: page.value.events.map((e: StoredEvent) => toSegmentShape(e)) },
    };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    if (a.kind === 'local') await a.close();
  }
}

async function remove(
  deps: LocalAccess,
  flags: PersonFlags,
  ref: string,
  suppress: boolean,
): Promise<{ ok: true; value: DeletionReceipt } | { ok: false; error: string }> {
  const access = await openAccess(deps, flags, true);
  if (!access.ok) return access;
  const a = access.value;
  try {
    if (a.kind === 'remote') {
      const path = `/api/persons/${encodeURIComponent(ref)}?suppress=${suppress}`;
      return { ok: true, value: await apiRequest<DeletionReceipt>(a.target, 'DELETE', path) };
    }
    const ws = await workspaceIdOf(a.workspaces, flags.workspace);
    const { persons, admin } = await a.people();
    const p = await persons.resolve(ws, ref);
    if (!p.ok) return { ok: false, error: p.error };
    return { ok: true, value: await admin.delete(ws, p.value, suppress) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    if (a.kind === 'local') await a.close();
  }
}

function printPerson(p: Profile, timeline: Timeline): void {
  const out: string[] = [];
  const row = (label: string, value: string) => out.push(`${label.padEnd(12)} ${value}`);
  out.push(`Person ${p.id}${p.redirectedFrom ? ` (was ${p.redirectedFrom})` : ''}`);
  row(
    'Identifiers',
    p.identifiers.map((i) => `${i.type}:${i.value}${i.untrusted ? ' (untrusted)' : ''}`).join('  '),
  );
  const traits = Object.entries(p.traits).map(
    ([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`,
  );
  row('Traits', traits.length > 0 ? traits.join('  ') : '(none)');
  const byType = Object.entries(p.eventsByType)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  row('Activity', `${p.eventCount} events${byType ? ` (${byType})` : ''}`);
  row('Seen', `${p.firstSeen ?? '–'} → ${p.lastSeen ?? '–'}`);
  row('Revenue', String(p.lifetimeRevenue));
  row('Accounts', p.accounts.length > 0 ? p.accounts.join(', ') : '(none)');
  out.push('', `Recent timeline (newest first, ${timeline.length})`);
  for (const e of timeline) {
    const what = (e.event ?? e.name ?? (e.type === 'group' ? e.groupId : '') ?? '') as string;
    const who = (e.userId ?? e.anonymousId ?? '') as string;
    out.push(
      `${String(e.timestamp).replace('T', ' ').slice(0, 19)}  ${String(e.type).padEnd(8)}  ${what}  [${who}]`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
