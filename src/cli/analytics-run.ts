import { readFileSync } from 'node:fs';
import { apiRequest } from './api-client.js';
import { bar as blockBar } from './chart-text.js';
import { workspaceIdOf } from './keys.command.js';
import { type AccessFlags, type LocalAccess, type LocalPeople, openAccess } from './local-or-remote.js';

/**
 * What the analytics commands share: the query from flags or a JSON file (`--query`, flags on
 * top), answered on the data directory or, when a server holds it, through the server's API.
 */

export interface AnalyticsFlags extends AccessFlags {
  workspace: string;
  query?: string;
  json?: boolean;
  csv?: boolean;
}

type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

/** `--query file.json` (or `-` for stdin) merged under the flags' fields. */
export function queryFrom(
  flags: AnalyticsFlags,
  fromFlags: Record<string, unknown>,
): Answer<Record<string, unknown>> {
  let base: Record<string, unknown> = {};
  if (flags.query !== undefined) {
    try {
      const text = readFileSync(flags.query === '-' ? 0 : flags.query, 'utf8');
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        return { ok: false, error: `--query: ${flags.query} does not hold a JSON object` };
      base = parsed as Record<string, unknown>;
    } catch (e) {
      return { ok: false, error: `--query: ${(e as Error).message}` };
    }
  }
  const defined = Object.fromEntries(Object.entries(fromFlags).filter(([, v]) => v !== undefined));
  return { ok: true, value: { ...base, ...defined } };
}

/** A JSON flag value (a condition), or the error naming the flag. */
export function jsonFlag(name: string, text: string | undefined): Answer<unknown> {
  if (text === undefined) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: `${name}: not JSON (${(e as Error).message})` };
  }
}

export async function runAnalytics<T>(
  deps: LocalAccess,
  flags: AnalyticsFlags,
  path: string,
  query: Record<string, unknown>,
  local: (people: LocalPeople, workspaceId: string) => Promise<Answer<T>>,
): Promise<Answer<T>> {
  const access = await openAccess(deps, flags, true);
  if (!access.ok) return access;
  const a = access.value;
  try {
    if (a.kind === 'remote') return { ok: true, value: await apiRequest<T>(a.target, 'POST', path, query) };
    const ws = await workspaceIdOf(a.workspaces, flags.workspace);
    return await local(await a.people(), ws);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    if (a.kind === 'local') await a.close();
  }
}

/** A bar of `width` cells for a share in [0, 1], in eighths of a block (chart-text's, unpadded). */
export const bar = (share: number, width = 20): string => blockBar(share, 1, width).trimEnd();

/** A shade for a share in [0, 1]: a heat map in text. */
export function shade(share: number): string {
  return share <= 0 ? ' ' : share < 0.25 ? '░' : share < 0.5 ? '▒' : share < 0.75 ? '▓' : '█';
}

export const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

/** A duration in seconds, short: 45s, 12m, 5.5h, 3.2d. */
export function span(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86_400).toFixed(1)}d`;
}

/** Rows as a text table with right-aligned numbers. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const numeric = header.map((_, i) => i > 0 && rows.every((r) => /^[-–\d.,%sdhm ]*$/.test(r[i] ?? '')));
  const cell = (t: string, i: number) => {
    const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - [...t].length));
    return numeric[i] ? pad + t : t + pad;
  };
  return [header, ...rows].map((r) => r.map(cell).join('  ').trimEnd()).join('\n');
}

/** RFC 4180 CSV. */
export function csv(rows: (string | number | null)[][]): string {
  const q = (v: string | number | null) => {
    const t = v === null ? '' : String(v);
    return /[",\n\r]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
  };
  return `${rows.map((r) => r.map(q).join(',')).join('\n')}\n`;
}
