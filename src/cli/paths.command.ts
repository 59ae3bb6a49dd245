import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type PathEdge, type PathsResponse, parsePathQuery } from '../core/analytics/paths.js';
import { runAnalytics } from './analytics-run.js';
import { bar, csvLine, seconds } from './chart-text.js';
import type { AccessFlags, LocalAccess } from './local-or-remote.js';
import { fail, printJson } from './output.js';

interface PathsFlags extends AccessFlags {
  workspace: string;
  query?: string;
  item?: string;
  count?: string;
  from?: string;
  to?: string;
  account?: boolean;
  includeBots?: boolean;
  start?: string;
  end?: string;
  steps?: string;
  group: string[];
  exclude: string[];
  edgeLimit?: string;
  minWeight?: string;
  top: string;
  json?: boolean;
  csv?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];
const int = (v: string | undefined) => (v === undefined ? undefined : Number(v));

/** The query: `--query file.json` first, flags on top of it. */
function queryOf(
  flags: PathsFlags,
): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let base: Record<string, unknown> = {};
  if (flags.query !== undefined) {
    try {
      base = JSON.parse(readFileSync(flags.query, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      return { ok: false, error: `--query ${flags.query}: ${(e as Error).message}` };
    }
  }
  const set = (k: string, v: unknown) => (v === undefined ? {} : { [k]: v });
  return {
    ok: true,
    value: {
      ...base,
      ...set('item', flags.item),
      ...set('count', flags.count),
      ...set('from', flags.from),
      ...set('to', flags.to),
      ...set('aggregateBy', flags.account ? 'account' : undefined),
      ...set('includeBots', flags.includeBots ? true : undefined),
      ...set('startPoint', flags.start),
      ...set('endPoint', flags.end),
      ...set('stepLimit', int(flags.steps)),
      ...set('pathGroupings', flags.group.length ? flags.group : undefined),
      ...set('excludeItems', flags.exclude.length ? flags.exclude : undefined),
      ...set('edgeLimit', int(flags.edgeLimit)),
      ...set('minEdgeWeight', int(flags.minWeight)),
    },
  };
}

/** `throughline paths`: the journey map's top edges as a table with bars, or JSON / CSV. */
export function registerPaths(program: Command, deps: LocalAccess): void {
  program
    .command('paths')
    .description('journey map: the paths persons take through events, pages, stages or channels (top edges)')
    .option('--query <file.json>', 'the query as JSON (POST /api/analytics/paths); flags override its fields')
    .option('--item <kind>', 'event (default), page, stage or channel')
    .option('--count <what>', 'persons (default: each counted once), paths or sessions (every path)')
    .option('--from <date>', 'events at or after this time (ISO-8601)')
    .option('--to <date>', 'events before this time (ISO-8601)')
    .option('--account', 'accounts instead of persons')
    .option('--include-bots', 'keep bot traffic')
    .option('--start <item>', 'paths begin at this item (e.g. /pricing)')
    .option('--end <item>', 'paths end at this item')
    .option('--steps <n>', 'step limit, 2–20 (default 5)')
    .option('--group <pattern>', 'path grouping with * wildcards (repeatable)', collect, [])
    .option('--exclude <item>', 'leave this item out (repeatable)', collect, [])
    .option('--edge-limit <n>', 'edges kept before the rest become (other) (default 50)')
    .option('--min-weight <n>', 'leave out edges lighter than this')
    .option('-n, --top <n>', 'edges to show in the table', '20')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('-w, --workspace <name>', 'workspace (local access only)', 'default')
    .option('--json', 'machine-readable output (the API response)')
    .option('--csv', 'the edges as CSV (source, target, value, average conversion ms)')
    .addHelpText(
      'after',
      `
Examples:
  ./throughline paths --item page --start /pricing --steps 4
  ./throughline paths --item stage --from 2026-01-01
  ./throughline paths --item channel --account --csv > channels.csv
  ./throughline paths --query journey.json --json | jq '.edges[0]'`,
    )
    .action(async (flags: PathsFlags) => {
      const top = Number(flags.top);
      if (!Number.isInteger(top) || top < 1) return fail('--top must be a whole number of at least 1');
      const raw = queryOf(flags);
      if (!raw.ok) return fail(raw.error);
      // Checked here as the server checks it, so a mistake is named before anything opens.
      const q = parsePathQuery(raw.value);
      if (!q.ok) return fail(`${q.error.path}: ${q.error.message}`);
      const got = await fetchPaths(deps, flags, raw.value);
      if (!got.ok) return fail(got.error);
      if (flags.json) printJson(got.value);
      else if (flags.csv) process.stdout.write(csv(got.value.edges));
      else process.stdout.write(render(got.value, top));
    });
}

function fetchPaths(
  deps: LocalAccess,
  flags: PathsFlags,
  body: Record<string, unknown>,
): Promise<{ ok: true; value: PathsResponse } | { ok: false; error: string }> {
  return runAnalytics<PathsResponse>(deps, flags, '/api/analytics/paths', body, async (p, ws) => {
    const q = parsePathQuery(body);
    if (!q.ok) return { ok: false, error: `${q.error.path}: ${q.error.message}` };
    return { ok: true, value: await p.paths.paths(ws, q.value) };
  });
}

export function csv(edges: readonly PathEdge[]): string {
  const rows = [csvLine(['source', 'target', 'value', 'average_conversion_time_ms'])];
  for (const e of edges)
    rows.push(
      csvLine([
        e.source,
        e.target,
        e.value,
        e.averageConversionTimeMs === null ? '' : Math.round(e.averageConversionTimeMs),
      ]),
    );
  return `${rows.join('\n')}\n`;
}

const duration = (ms: number | null) => (ms === null ? '' : seconds(ms / 1000));

/** The map as text: its size, then the top edges with bars. */
export function render(r: PathsResponse, top: number): string {
  const unit =
    r.query.count === 'persons' ? (r.query.aggregateBy === 'account' ? 'accounts' : 'persons') : 'paths';
  const out = [
    `Journey map of ${r.query.item}s — ${r.total} ${unit}, ${r.edges.length} edges${r.freshness.current ? '' : ' (journey tables catching up: older data)'}`,
    '',
  ];
  const shown = r.edges.slice(0, top);
  if (shown.length === 0) out.push('  (no paths in this range)');
  const max = Math.max(0, ...shown.map((e) => e.value));
  const width = Math.min(60, Math.max(...shown.map((e) => `${e.source} → ${e.target}`.length), 4));
  for (const e of shown) {
    const label = `${e.source} → ${e.target}`;
    out.push(
      `  ${(label.length > width ? `${label.slice(0, width - 1)}…` : label).padEnd(width)}  ${String(e.value).padStart(6)}  ${bar(e.value, max, 24)}  ${duration(e.averageConversionTimeMs)}`,
    );
  }
  if (r.edges.length > shown.length)
    out.push(`  … ${r.edges.length - shown.length} more (--top, --json or --csv for all)`);
  const dropped = r.dropOffs.reduce((s, e) => s + e.value, 0);
  if (dropped > 0) out.push('', `${dropped} ${unit} ended before the step limit (drop-off).`);
  return `${out.join('\n')}\n`;
}
