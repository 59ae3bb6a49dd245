import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

/**
 * A progress bar on stderr for long work, so stdout stays clean for `--json` and pipes.
 * Off when stderr is not a terminal (CI logs, scripts) unless forced.
 */
export function progressBar(
  label: string,
  total: number,
  unit: string,
  enabled = process.stderr.isTTY,
): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {extra} | {duration_formatted} (eta {eta_formatted})`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { extra: '' });
  return {
    update: (done, payload) =>
      bar.update(done, {
        extra: payload
          ? Object.entries(payload)
              .map(([k, v]) => `${typeof v === 'number' ? v.toLocaleString('en-US') : v} ${k}`)
              .join(', ')
          : '',
      }),
    stop: () => bar.stop(),
  };
}
