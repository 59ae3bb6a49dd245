import type { Command } from 'commander';
import { journeyView } from '../core/journey/journey-view.js';
import { parseTimestamp } from '../core/spec/timestamp.js';
import { apiRequest } from './api-client.js';
import { workspaceIdOf } from './keys.command.js';
import { type AccessFlags, type LocalAccess, openAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';

interface JourneyFlags extends AccessFlags {
  workspace: string;
  json?: boolean;
  account?: boolean;
  steps: string;
  includeBots?: boolean;
  asOf?: string;
}

type View = ReturnType<typeof journeyView> & { person?: string; account?: string };

/** `throughline journey <identifier>`: stages, touchpoints, sessions and the annotated timeline. */
export function registerJourney(program: Command, deps: LocalAccess): void {
  const cmd = program
    .command('journey')
    .description(
      "show a person's (or account's) journey: lifecycle stages, touchpoints and channels, sessions",
    )
    .argument(
      '[identifier]',
      'type:value (email:jane@example.com, user_id:42…), a person id, or with --account a group id',
    )
    .option('--account', 'the argument is an account (group id): the account journey and stage')
    .option('-n, --steps <n>', 'timeline steps to show (first touch first)', '40')
    .option('--include-bots', 'keep bot traffic (flagged) in the journey')
    .option(
      '--as-of <date>',
      'evaluate inactivity (churn) as of this date instead of now, e.g. 2026-06-30 (UTC unless a zone is given)',
    )
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--json', 'machine-readable output (the API response)')
    .addHelpText(
      'after',
      `
Examples:
  ./throughline journey email:jane@example.com
  ./throughline journey acct_42 --account --steps 100
  ./throughline journey user_id:42 --json | jq '.touchpoints[].channel'`,
    )
    .action(async (ref: string | undefined, flags: JourneyFlags) => {
      if (ref === undefined) {
        cmd.help({ error: true });
        return;
      }
      const steps = Number.parseInt(flags.steps, 10);
      if (!Number.isInteger(steps) || steps < 0 || steps > 5000) return fail('--steps must be 0–5000');
      const asOf = flags.asOf === undefined ? undefined : parseTimestamp(flags.asOf);
      if (asOf !== undefined && !asOf.ok)
        return fail(`--as-of: ${asOf.error} (e.g. 2026-06-30 or 2026-06-30T12:00:00Z; no zone = UTC)`);
      const got = await fetchJourney(deps, flags, ref, steps, asOf?.value);
      if (!got.ok) return fail(got.error);
      if (flags.json) printJson(got.value);
      else process.stdout.write(render(got.value));
    });
}

async function fetchJourney(
  deps: LocalAccess,
  flags: JourneyFlags,
  ref: string,
  steps: number,
  /** Epoch ms, already checked. */
  asOfMs: number | undefined,
): Promise<{ ok: true; value: View } | { ok: false; error: string }> {
  const access = await openAccess(deps, flags, true);
  if (!access.ok) return access;
  const a = access.value;
  const page = { limit: Math.max(1, steps), offset: 0 };
  const includeBots = flags.includeBots === true;
  // Sent to a server as an ISO instant with its zone, so the server reads what we read.
  const asOf = asOfMs === undefined ? undefined : new Date(asOfMs).toISOString();
  const options = { includeBots, ...(asOfMs === undefined ? {} : { asOf: asOfMs }) };
  try {
    if (a.kind === 'remote') {
      const base = flags.account
        ? `/api/accounts/${encodeURIComponent(ref)}`
        : `/api/persons/${encodeURIComponent(ref)}`;
      const view = await apiRequest<View>(
        a.target,
        'GET',
        `${base}/journey?limit=${page.limit}&includeBots=${includeBots}${asOf ? `&asOf=${asOf}` : ''}`,
      );
      return { ok: true, value: view };
    }
    const ws = await workspaceIdOf(a.workspaces, flags.workspace);
    const { persons, journeys } = await a.people();
    if (flags.account) {
      const j = await journeys.accountJourney(ws, ref, options);
      if (!j.ok) return { ok: false, error: j.error };
      return { ok: true, value: { account: ref, ...journeyView(j.value, page) } };
    }
    const p = await persons.resolve(ws, ref);
    if (!p.ok) return { ok: false, error: p.error };
    const j = await journeys.personJourney(ws, p.value, options);
    return { ok: true, value: { person: p.value.personId, ...journeyView(j, page) } };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    if (a.kind === 'local') await a.close();
  }
}

const day = (iso: string | null) => (iso ?? '').slice(0, 10);
const minute = (iso: string | null) => (iso ?? '').replace('T', ' ').slice(0, 16);
const duration = (ms: number) =>
  ms < 60_000
    ? `${Math.round(ms / 1000)}s`
    : ms < 3_600_000
      ? `${Math.round(ms / 60_000)}m`
      : `${(ms / 3_600_000).toFixed(1)}h`;

/** The journey as text: stage path, touchpoints, sessions, then the timeline. */
export function render(v: View, width = 100): string {
  const out: string[] = [];
  const who = v.person ? `person ${v.person}` : `account ${v.account}`;
  const current = v.stages.at(-1)?.name ?? '(none)';
  out.push(`Journey of ${who} — stage: ${current}`);
  if (v.bot) out.push(`Flagged as a bot (${v.bot}); its events are left out. --include-bots shows them.`);
  if (v.botEvents > 0 && !v.bot) out.push(`${v.botEvents} bot events left out.`);
  out.push('', 'Stages');
  out.push(
    v.stages.length === 0
      ? '  (none yet)'
      : `  ${v.stages.map((s) => `${s.name} ${day(s.enteredAt)}${s.trigger.kind === 'inactivity' ? ' (inactive)' : ''}`).join(' → ')}`,
  );
  out.push('', `Touchpoints (${v.touchpoints.length})`);
  for (const t of v.touchpoints) {
    const detail =
      t.kind === 'event'
        ? (t.event ?? '')
        : `${t.source} / ${t.medium}${t.campaign ? ` / ${t.campaign}` : ''}${t.landingPage ? `  → ${t.landingPage}` : ''}`;
    out.push(`  ${minute(t.at)}  ${t.channel.padEnd(22)} ${detail}`.slice(0, width));
  }
  out.push('', `Sessions (${v.sessions.length})`);
  for (const s of v.sessions.slice(-20)) {
    out.push(
      `  #${String(s.index + 1).padEnd(4)} ${minute(s.start)}  ${String(s.eventCount).padStart(4)} events ${duration(s.durationMs).padStart(6)}  ${(s.channel ?? '–').padEnd(22)}${s.bounce ? ' bounce' : ''}`,
    );
  }
  if (v.sessions.length > 20) out.push(`  … ${v.sessions.length - 20} earlier sessions (--json lists all)`);
  out.push('', `Timeline (${v.steps.length} of ${v.totalSteps} steps, first touch first)`);
  let stage: string | null = null;
  for (const s of v.steps) {
    const mark = s.touchpoint !== null ? '◆' : ' ';
    const entered =
      s.stage !== stage ? `  ⇒ ${v.stages.find((x) => x.stage === s.stage)?.name ?? s.stage}` : '';
    stage = s.stage;
    const session = s.session === null ? '   ' : `#${s.session + 1}`.padEnd(3);
    out.push(
      `  ${minute(s.at)} ${session} ${mark} ${(s.channel ?? '').padEnd(20)} ${s.type.padEnd(8)} ${s.event ?? ''}${s.bot ? ' [bot]' : ''}${entered}`.slice(
        0,
        width + 20,
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
