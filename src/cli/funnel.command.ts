import type { Command } from 'commander';
import type { FunnelResponse } from '../services/funnel-service.js';
import { type AnalyticsFlags, queryFrom, runAnalytics } from './analytics-run.js';
import { bar, csvLine, percent, seconds } from './chart-text.js';
import type { LocalAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';

interface FunnelFlags extends AnalyticsFlags {
  step: string[];
  order?: string;
  window?: string;
  from?: string;
  to?: string;
  by?: string;
  breakdown?: string;
  includeBots?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** `--step` text → a funnel step: `stage:<id>`, `type:<page|screen|…>`, or an event name. */
function stepOf(text: string): Record<string, unknown> {
  if (text.startsWith('stage:')) return { stage: text.slice(6) };
  if (text.startsWith('type:'))
    return { name: text, where: { field: 'type', op: 'eq', value: text.slice(5) } };
  return { event: text };
}

/** `14d`, `2h`, `30m`, `90s`, `3w`, `1mo` → the API's window. */
function windowOf(text: string): { value: number; unit: string } | null {
  const m = /^(\d+)\s*(s|m|h|d|w|mo)$/.exec(text.trim());
  if (!m) return null;
  const unit = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month' }[m[2] as 's'];
  return { value: Number(m[1]), unit };
}

/** The query from `--query file.json`, with any flag given on top. */
function queryOf(
  flags: FunnelFlags,
): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  const window = flags.window === undefined ? undefined : windowOf(flags.window);
  if (window === null)
    return { ok: false, error: `--window ${flags.window}: a number and a unit, e.g. 14d, 2h, 30m, 3w, 1mo` };
  const q = queryFrom(flags, {
    steps: flags.step.length ? flags.step.map(stepOf) : undefined,
    window,
    order: flags.order,
    from: flags.from,
    to: flags.to,
    aggregateBy: flags.by,
    breakdown: flags.breakdown ? { field: flags.breakdown } : undefined,
    includeBots: flags.includeBots || undefined,
  });
  if (q.ok && !q.value.steps)
    return {
      ok: false,
      error: 'give the steps: --step "Signed Up" --step "Demo Requested" … (or --query file.json)',
    };
  return q;
}

/** `throughline funnel`: a funnel's counts, conversion and drop-off per step, as bars. */
export function registerFunnel(program: Command, deps: LocalAccess): void {
  program
    .command('funnel')
    .description(
      'a funnel over event time: who did each step in order, conversion, drop-off and time to convert',
    )
    .option(
      '-s, --step <step>',
      'a step, in order (repeat): an event name, type:page, or stage:<stage id>',
      collect,
      [],
    )
    .option(
      '-q, --query <file>',
      'the whole query as JSON (POST /api/analytics/funnel); flags given override it',
    )
    .option('--order <order>', 'ordered (default), strict or unordered')
    .option('--window <window>', 'conversion window from step 1, e.g. 14d (default), 2h, 30m, 3w, 1mo')
    .option('--from <date>', 'step 1 on or after this date (default: 30 days ago)')
    .option('--to <date>', 'step 1 before this date; a date includes the whole day (default: now)')
    .option('--by <what>', 'count persons (default), accounts or sessions')
    .option(
      '--breakdown <field>',
      'one row per value: properties.plan, traits.industry, channel, campaign, …',
    )
    .option('--include-bots', 'count bot traffic too')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--json', 'machine-readable output (the API response)')
    .option('--csv', 'one CSV line per step (and breakdown value)')
    .addHelpText(
      'after',
      `
Examples:
  ./throughline funnel --step type:page --step "Signed Up" --step "Demo Requested" --window 30d
  ./throughline funnel --step stage:lead --step stage:customer --by account --from 2026-01-01
  ./throughline funnel --query funnel.json --breakdown channel --csv > funnel.csv`,
    )
    .action(async (flags: FunnelFlags) => {
      const q = queryOf(flags);
      if (!q.ok) return fail(q.error);
      const got = await run(deps, flags, q.value);
      if (!got.ok) return fail(got.error);
      if (flags.json) printJson(got.value);
      else if (flags.csv) process.stdout.write(csv(got.value));
      else process.stdout.write(render(got.value));
    });
}

function run(
  deps: LocalAccess,
  flags: FunnelFlags,
  query: Record<string, unknown>,
): Promise<{ ok: true; value: FunnelResponse } | { ok: false; error: string }> {
  return runAnalytics<FunnelResponse>(deps, flags, '/api/analytics/funnel', query, async (p, ws) => {
    const r = await p.funnels.funnel(ws, query);
    return r.ok ? r : { ok: false, error: r.error.message };
  });
}

function render(r: FunnelResponse): string {
  const first = r.steps[0]?.count ?? 0;
  const name = Math.max(4, ...r.steps.map((s) => s.name.length));
  const lines = [`Funnel ${r.range.from.slice(0, 10)} → ${r.range.to.slice(0, 10)}`, ''];
  for (const s of r.steps) {
    const dropped =
      s.index === 0 ? '' : `  −${s.dropOff.toLocaleString('en-US')} (${percent(1 - s.stepConversionRate)})`;
    const time = s.medianTimeToConvertS === null ? '' : `  median ${seconds(s.medianTimeToConvertS)}`;
    lines.push(
      `${String(s.index + 1).padStart(2)}. ${s.name.padEnd(name)}  ${bar(s.count, first, 30)}  ${s.count.toLocaleString('en-US').padStart(9)}  ${percent(s.conversionRate).padStart(6)}${dropped}${time}`,
    );
  }
  if (r.timeToConvert.medianS !== null)
    lines.push('', `Time to convert (first to last step): median ${seconds(r.timeToConvert.medianS)}`);
  for (const b of r.breakdown ?? []) {
    const counts = b.steps.map((s) => s.count.toLocaleString('en-US')).join(' → ');
    lines.push(
      `  ${b.value === '' ? '(none)' : b.value}: ${counts}  (${percent(b.steps.at(-1)?.conversionRate ?? 0)})`,
    );
  }
  if (!r.freshness.current)
    lines.push('', 'Note: the journey tables are still catching up; these numbers may change.');
  return `${lines.join('\n')}\n`;
}

function csv(r: FunnelResponse): string {
  const head = csvLine([
    'breakdown',
    'step',
    'name',
    'count',
    'conversion_rate',
    'step_conversion_rate',
    'drop_off',
    'median_time_to_convert_s',
  ]);
  const rows = [
    { value: '', steps: r.steps, all: true },
    ...(r.breakdown ?? []).map((b) => ({ ...b, all: false })),
  ].flatMap((b) =>
    b.steps.map((s) =>
      csvLine([
        b.all ? '(all)' : b.value,
        s.index,
        s.name,
        s.count,
        s.conversionRate,
        s.stepConversionRate,
        s.dropOff,
        s.medianTimeToConvertS ?? '',
      ]),
    ),
  );
  return `${[head, ...rows].join('\n')}\n`;
}
