import type { Command } from 'commander';
import type { KpiValue } from '../core/analytics/kpis.js';
import type { KpisResponse } from '../services/kpi-service.js';
import { apiRequest } from './api-client.js';
import { workspaceIdOf } from './keys.command.js';
import { type AccessFlags, type LocalAccess, openAccess } from './local-or-remote.js';
import { fail, printJson, printTable } from './output.js';

interface KpiFlags extends AccessFlags {
  workspace: string;
  from?: string;
  to?: string;
  timezone?: string;
  stage?: string;
  signupEvents?: string;
  activationEvents?: string;
  activationDays?: string;
  churnStages?: string;
  churnEvents?: string;
  grossMargin?: string;
  metric?: string;
  json?: boolean;
  csv?: boolean;
}

// Flag → query parameter: the query is validated where the API validates it (core/analytics/kpi-query.ts).
const PARAMS = [
  'from',
  'to',
  'timezone',
  'stage',
  'signupEvents',
  'activationEvents',
  'activationDays',
  'churnStages',
  'churnEvents',
  'grossMargin',
] as const;

/** `throughline kpis`: the journey KPIs over a range, as a table, JSON or CSV. */
export function registerKpis(program: Command, deps: LocalAccess): void {
  program
    .command('kpis')
    .description(
      'the journey KPIs over a range: conversion, stages, activation, retention, revenue, CAC, NPS…',
    )
    .option('--from <date>', 'start of the range (inclusive; default 30 days before --to)')
    .option('--to <date>', 'end of the range (exclusive; a date includes that day; default now)')
    .option('--timezone <tz>', 'time zone of dates without one', 'UTC')
    .option('--metric <name>', 'one metric only (conversion-rate, nrr, cac…)')
    .option('--stage <id>', 'the stage that counts as converted (default customer)')
    .option('--signup-events <list>', 'comma-separated sign-up events (activation rate)')
    .option('--activation-events <list>', 'comma-separated activation events')
    .option('--activation-days <n>', 'days after sign-up an activation counts (default 7)')
    .option('--churn-stages <list>', 'comma-separated churn stage ids (default churned,lapsed)')
    .option('--churn-events <list>', 'comma-separated churn events (default Subscription Cancelled)')
    .option('--gross-margin <x>', 'gross margin for CAC payback, 0.01–1 (default 1)')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--json', 'machine-readable output (the API response)')
    .option('--csv', 'one CSV row per metric')
    .addHelpText(
      'after',
      `
Formulas: docs/metrics.md.
Examples:
  ./throughline kpis --from 2026-04-01 --to 2026-06-30
  ./throughline kpis --metric activation-rate --activation-events "Dashboard Created" --activation-days 14
  ./throughline kpis --csv > kpis.csv`,
    )
    .action(async (flags: KpiFlags) => {
      const got = await fetchKpis(deps, flags);
      if (!got.ok) return fail(got.error);
      const r = got.value;
      const kpis = flags.metric ? r.kpis.filter((k) => k.metric === flags.metric) : r.kpis;
      if (flags.metric && kpis.length === 0) return fail(`--metric: unknown metric "${flags.metric}"`);
      if (flags.json) return printJson(flags.metric ? kpis[0] : r);
      if (flags.csv) {
        process.stdout.write(csv(kpis));
        return;
      }
      process.stdout.write(
        `KPIs ${r.from} → ${r.to}${r.freshness.current ? '' : ' (journey tables catching up)'}\n`,
      );
      printTable(
        kpis.map((k) => ({
          metric: k.label,
          value: shown(k),
          bar: k.unit === 'percent' && k.value !== null ? bar(k.value) : '',
          note: k.value === null ? (k.missing ?? '') : note(k),
        })),
        ['metric', 'value', 'bar', 'note'],
      );
    });
}

async function fetchKpis(
  deps: LocalAccess,
  flags: KpiFlags,
): Promise<{ ok: true; value: KpisResponse } | { ok: false; error: string }> {
  const params: Record<string, string> = {};
  for (const p of PARAMS) if (flags[p] !== undefined) params[p] = flags[p] as string;
  const access = await openAccess(deps, flags, true);
  if (!access.ok) return access;
  const a = access.value;
  try {
    if (a.kind === 'remote')
      return {
        ok: true,
        value: await apiRequest<KpisResponse>(a.target, 'GET', `/api/kpis?${new URLSearchParams(params)}`),
      };
    const ws = await workspaceIdOf(a.workspaces, flags.workspace);
    const { kpis } = await a.people();
    const r = await kpis.all(ws, params);
    if (!r.ok) return { ok: false, error: `--${kebab(r.error.field)}: ${r.error.message}` };
    return { ok: true, value: r.value };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    if (a.kind === 'local') await a.close();
  }
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const UNIT: Record<KpiValue['unit'], string> = {
  percent: '%',
  days: 'days',
  touchpoints: 'touchpoints',
  conversions: 'conversions',
  currency: '',
  months: 'months',
  score: '',
};

function shown(k: KpiValue): string {
  if (k.value === null) return '—';
  const digits = k.unit === 'conversions' ? 0 : k.unit === 'currency' ? 2 : 1;
  const n = k.value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return k.unit === 'percent' ? `${n} %` : `${n} ${UNIT[k.unit]}`.trimEnd();
}

const bar = (percent: number) => {
  const filled = Math.round(Math.max(0, Math.min(100, percent)) / 5);
  return `${'█'.repeat(filled)}${'░'.repeat(20 - filled)}`;
};

/** The counts behind a value, briefly. */
const note = (k: KpiValue) =>
  Object.entries(k.inputs)
    .filter(([, v]) => typeof v === 'number')
    .map(([name, v]) => `${name} ${Number.isInteger(v) ? v : (v as number).toFixed(2)}`)
    .join(', ');

const cell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

function csv(kpis: KpiValue[]): string {
  const head = 'metric,label,value,unit,missing,formula,inputs';
  const rows = kpis.map((k) =>
    [k.metric, k.label, k.value, k.unit, k.missing, k.formula, JSON.stringify(k.inputs)].map(cell).join(','),
  );
  return `${[head, ...rows].join('\n')}\n`;
}
