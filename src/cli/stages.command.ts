import type { Command } from 'commander';
import type { StagesResponse } from '../services/stages-service.js';
import {
  type AnalyticsFlags,
  bar,
  csv,
  jsonFlag,
  pct,
  queryFrom,
  runAnalytics,
  span,
  table,
} from './analytics-run.js';
import type { LocalAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';

interface StagesFlags extends AnalyticsFlags {
  account?: boolean;
  from?: string;
  to?: string;
  timezone?: string;
  includeBots?: boolean;
  where?: string;
}

/** `throughline stages`: the stage flow of persons or accounts (POST /api/analytics/stages). */
export function registerStages(program: Command, deps: LocalAccess): void {
  program
    .command('stages')
    .description(
      'stage analytics: transition matrix, drop-off and time in each stage, conversion between stages, velocity by entry month',
    )
    .option('--account', 'the stage histories of accounts instead of persons')
    .option('--from <date>', 'count stage entries from this time (ISO date or time; default: all history)')
    .option('--to <date>', 'count stage entries before this time (a date includes that whole day)')
    .option('--timezone <tz>', 'IANA time zone for dates and entry months (default UTC)')
    .option('--include-bots', 'keep subjects judged bots')
    .option(
      '--where <json>',
      'a condition on traits, e.g. \'{"field":"traits.plan","op":"eq","value":"pro"}\'',
    )
    .option('--query <file>', 'the query as JSON (the API body); flags override its fields; - reads stdin')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--json', 'machine-readable output (the API response)')
    .option('--csv', 'one CSV row per stage')
    .addHelpText(
      'after',
      `
Examples:
  ./throughline stages
  ./throughline stages --account --from 2026-01-01 --to 2026-03-31
  ./throughline stages --where '{"field":"traits.plan","op":"eq","value":"pro"}' --json`,
    )
    .action(async (flags: StagesFlags) => {
      const where = jsonFlag('--where', flags.where);
      if (!where.ok) return fail(where.error);
      const query = queryFrom(flags, {
        subject: flags.account ? 'account' : undefined,
        from: flags.from,
        to: flags.to,
        timezone: flags.timezone,
        includeBots: flags.includeBots,
        where: where.value,
      });
      if (!query.ok) return fail(query.error);
      const got = await runAnalytics<StagesResponse>(
        deps,
        flags,
        '/api/analytics/stages',
        query.value,
        async (p, ws) => {
          const r = await p.stages.stages(ws, query.value);
          return r.ok ? r : { ok: false, error: r.error.message };
        },
      );
      if (!got.ok) return fail(got.error);
      if (flags.json) printJson(got.value);
      else if (flags.csv) process.stdout.write(stagesCsv(got.value));
      else process.stdout.write(renderStages(got.value));
    });
}

export function stagesCsv(r: StagesResponse): string {
  return csv([
    [
      'stage',
      'name',
      'entered',
      'entries',
      'advanced',
      'dropped',
      'drop_off_rate',
      'current',
      'exits',
      'median_s',
      'p75_s',
      'mean_s',
    ],
    ...r.stages.map((s) => [
      s.id,
      s.name,
      s.entered,
      s.entries,
      s.advanced,
      s.dropped,
      s.dropOffRate,
      s.current,
      s.timeInStage.count,
      s.timeInStage.medianS,
      s.timeInStage.p75S,
      s.timeInStage.meanS,
    ]),
  ]);
}

/** The stage table with bars, the transition matrix, conversions onward and velocity. */
export function renderStages(r: StagesResponse): string {
  const out: string[] = [];
  const range = r.range.from || r.range.to ? ` entered ${r.range.from ?? '…'} – ${r.range.to ?? '…'}` : '';
  out.push(`Stages of ${r.subject === 'account' ? 'accounts' : 'persons'}${range}`);
  if (!r.freshness.current)
    out.push('(the journey tables lag the events: these numbers may be a little behind)');
  const top = Math.max(1, ...r.stages.map((s) => s.entered));
  out.push(
    '',
    table(
      ['STAGE', 'ENTERED', '', 'ADVANCED', 'DROP-OFF', 'NOW IN', 'MEDIAN TIME', 'P75'],
      r.stages.map((s) => [
        s.name,
        String(s.entered),
        bar(s.entered / top),
        String(s.advanced),
        pct(s.dropOffRate),
        String(s.current),
        span(s.timeInStage.medianS),
        span(s.timeInStage.p75S),
      ]),
    ),
  );
  // The matrix: only stages that appear in a transition, in model order.
  const used = new Set(r.transitions.flatMap((t) => [t.from, t.to]));
  const rows = ['(none)', ...r.model.map((m) => m.id)].filter((id) => used.has(id));
  const cols = r.model.map((m) => m.id).filter((id) => used.has(id));
  const nameOf = (id: string) => r.model.find((m) => m.id === id)?.name ?? id;
  const mark = { entry: '', forward: '', skip: '»', regression: '↩', repeat: '=' } as const;
  if (r.transitions.length) {
    out.push('', 'Transitions (from ↓ to →; » skips stages, ↩ goes back)');
    out.push(
      table(
        ['FROM \\ TO', ...cols.map(nameOf)],
        rows.map((from) => [
          from === '(none)' ? '(start)' : nameOf(from),
          ...cols.map((to) => {
            const t = r.transitions.find((x) => x.from === from && x.to === to);
            return t ? `${t.count}${mark[t.kind]}` : '·';
          }),
        ]),
      ),
    );
  } else out.push('', 'No stage entries in range.');
  const onward = r.conversions.filter(
    (c) =>
      c.converted > 0 &&
      (r.model.find((m) => m.id === c.to)?.index ?? 0) > (r.model.find((m) => m.id === c.from)?.index ?? 0),
  );
  if (onward.length) {
    out.push('', 'Conversion between stages (entered A, later entered B)');
    out.push(
      table(
        ['FROM', 'TO', 'CONVERTED', 'RATE', '', 'MEDIAN', 'P75'],
        onward.map((c) => [
          nameOf(c.from),
          nameOf(c.to),
          `${c.converted}/${c.entered}`,
          pct(c.rate),
          bar(c.rate ?? 0, 10),
          span(c.time.medianS),
          span(c.time.p75S),
        ]),
      ),
    );
  }
  if (r.velocity.length) {
    const stages = r.model.filter((m) => r.velocity.some((v) => v.stages.some((s) => s.stage === m.id)));
    out.push('', 'Velocity by entry month (median days from the first stage)');
    out.push(
      table(
        ['COHORT', 'SUBJECTS', ...stages.map((s) => s.name)],
        r.velocity.map((v) => [
          v.cohort,
          String(v.subjects),
          ...stages.map((s) => {
            const x = v.stages.find((y) => y.stage === s.id);
            return x ? `${x.medianDays?.toFixed(1)}d (${x.reached})` : '–';
          }),
        ]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
