import type { Command } from 'commander';
import type { RetentionResponse } from '../services/retention-service.js';
import {
  type AnalyticsFlags,
  bar,
  csv,
  jsonFlag,
  pct,
  queryFrom,
  runAnalytics,
  shade,
  span,
  table,
} from './analytics-run.js';
import type { LocalAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';

interface RetentionFlags extends AnalyticsFlags {
  period?: string;
  intervals?: string;
  target?: string;
  targetWhere?: string;
  returning?: string;
  returningWhere?: string;
  firstTime?: boolean;
  from?: string;
  to?: string;
  timezone?: string;
  weekStart?: string;
  account?: boolean;
  includeBots?: boolean;
  signup?: string;
  activation?: string;
  withinDays?: string;
}

/** `throughline retention`: cohorts, churn and activation (POST /api/analytics/retention). */
export function registerRetention(program: Command, deps: LocalAccess): void {
  program
    .command('retention')
    .description('retention cohorts (the triangle, in percentages), churn by period, activation rate')
    .option('--period <p>', 'hour, day, week or month (default day)')
    .option('--intervals <n>', 'how many cohorts (default 11)')
    .option('--target <event>', 'the event that puts a person in a cohort (default: any event)')
    .option('--target-where <json>', 'a condition on the target event')
    .option('--returning <event>', 'the event that counts as coming back (default: any event)')
    .option('--returning-where <json>', 'a condition on the returning event')
    .option('--first-time', 'cohort each person only by the first target event ever (default: recurring)')
    .option('--from <date>', 'first cohort (default: `intervals` cohorts up to --to)')
    .option('--to <date>', 'last cohort: rounded down to the start of its interval (default now)')
    .option('--timezone <tz>', 'IANA time zone of the cohort boundaries (default UTC)')
    .option('--week-start <day>', 'sunday (default) or monday')
    .option('--account', 'cohorts of accounts instead of persons')
    .option('--include-bots', 'keep bot traffic')
    .option('--signup <event>', 'activation: the signup event')
    .option('--activation <event>', 'activation: the activation event')
    .option('--within-days <n>', 'activation: days after the signup (default 7)')
    .option('--query <file>', 'the query as JSON (the API body); flags override its fields; - reads stdin')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--json', 'machine-readable output (the API response)')
    .option('--csv', 'one CSV row per cohort: date, label, then the values')
    .addHelpText(
      'after',
      `
Examples:
  ./throughline retention --target "Signed Up" --returning "Report Viewed" --period week --intervals 8
  ./throughline retention --first-time --target "Signed Up" --to 2026-03-31 --timezone Europe/Berlin
  ./throughline retention --signup "Signed Up" --activation "Report Viewed" --within-days 7`,
    )
    .action(async (flags: RetentionFlags) => {
      const targetWhere = jsonFlag('--target-where', flags.targetWhere);
      if (!targetWhere.ok) return fail(targetWhere.error);
      const returningWhere = jsonFlag('--returning-where', flags.returningWhere);
      if (!returningWhere.ok) return fail(returningWhere.error);
      const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
      const intervals = number(flags.intervals);
      const within = number(flags.withinDays);
      if (Number.isNaN(intervals)) return fail('--intervals must be a number');
      if (Number.isNaN(within)) return fail('--within-days must be a number');
      const matcher = (event: string | undefined, where: unknown) =>
        event === undefined && where === undefined
          ? undefined
          : { ...(event !== undefined ? { event } : {}), ...(where !== undefined ? { where } : {}) };
      if ((flags.signup === undefined) !== (flags.activation === undefined))
        return fail('activation needs both --signup and --activation');
      const query = queryFrom(flags, {
        period: flags.period,
        intervals,
        targetEvent: matcher(flags.target, targetWhere.value),
        returningEvent: matcher(flags.returning, returningWhere.value),
        retentionType: flags.firstTime ? 'first_time' : undefined,
        from: flags.from,
        to: flags.to,
        timezone: flags.timezone,
        weekStart: flags.weekStart,
        aggregateBy: flags.account ? 'account' : undefined,
        includeBots: flags.includeBots,
        activation:
          flags.signup !== undefined && flags.activation !== undefined
            ? {
                signupEvent: { event: flags.signup },
                activationEvent: { event: flags.activation },
                withinDays: within ?? 7,
              }
            : undefined,
      });
      if (!query.ok) return fail(query.error);
      const got = await runAnalytics<RetentionResponse>(
        deps,
        flags,
        '/api/analytics/retention',
        query.value,
        async (p, ws) => {
          const r = await p.retention.retention(ws, query.value);
          return r.ok ? r : { ok: false, error: r.error.message };
        },
      );
      if (!got.ok) return fail(got.error);
      if (flags.json) printJson(got.value);
      else if (flags.csv)
        process.stdout.write(
          csv([
            [
              'date',
              'label',
              ...got.value.labels.map((_, k) => (k === 0 ? 'size' : `${got.value.period}_${k}`)),
            ],
            ...got.value.rows.map((r) => [r.date, r.label, ...r.values]),
          ]),
        );
      else process.stdout.write(renderRetention(got.value));
    });
}

/** The cohort triangle in percentages (shaded), churn with bars, and activation. */
export function renderRetention(r: RetentionResponse): string {
  const out: string[] = [];
  out.push(
    `Retention by ${r.period} (${r.retentionType === 'first_time' ? 'first time' : 'recurring'}), ${r.range.from} – ${r.range.to}`,
  );
  if (!r.freshness.current)
    out.push('(the journey tables lag the events: these numbers may be a little behind)');
  const n = r.rows.length;
  const date = (iso: string) => (r.period === 'hour' ? iso.slice(0, 16).replace('T', ' ') : iso.slice(0, 10));
  out.push(
    '',
    table(
      ['COHORT', 'SIZE', ...r.labels.slice(1).map((_, k) => `${r.period[0]?.toUpperCase()}${k + 1}`)],
      r.rows.map((row, i) => [
        date(row.date),
        String(row.values[0] ?? 0),
        ...row.values.slice(1).map((_v, k) => {
          if (i + k + 1 >= n) return '';
          const p = row.percentages[k + 1] ?? null;
          return p === null ? '–' : `${shade(p)}${(p * 100).toFixed(0)}%`;
        }),
      ]),
    ),
  );
  if (r.churn.length) {
    out.push('', 'Churn (of those active the period before, not active in this one)');
    out.push(
      table(
        ['PERIOD', 'ACTIVE BEFORE', 'CHURNED', 'RATE', ''],
        r.churn.map((c) => [
          date(c.date),
          String(c.previousActive),
          String(c.churned),
          pct(c.rate),
          bar(c.rate ?? 0, 20),
        ]),
      ),
    );
  }
  if (r.activation) {
    const a = r.activation;
    out.push(
      '',
      `Activation within ${a.withinDays} days: ${a.activated} of ${a.signedUp} signed up (${pct(a.rate)}) ${bar(a.rate ?? 0, 20)}  median ${span(a.medianTimeToActivateS)}`,
    );
  }
  return `${out.join('\n')}\n`;
}
