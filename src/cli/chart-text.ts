/** Text pictures for the terminal: bars of block characters, percentages, durations, CSV cells. */

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar `width` characters at most, `value / max` of it filled, to an eighth of a character. */
export function bar(value: number, max: number, width: number): string {
  const eighths = max <= 0 ? 0 : Math.round((Math.max(0, Math.min(value, max)) / max) * width * 8);
  const full = Math.floor(eighths / 8);
  return `${'█'.repeat(full)}${EIGHTHS[eighths % 8]}`.padEnd(width);
}

export const percent = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;

/** A duration in seconds as `45s`, `12m`, `3.5h`, `4.2d`. */
export function seconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86_400).toFixed(1)}d`;
}

/** One CSV line (RFC 4180 quoting). */
export function csvLine(cells: readonly (string | number)[]): string {
  return cells
    .map((c) => {
      const t = String(c);
      return /[",\n\r]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
    })
    .join(',');
}
