// Benchmark datasets come from the simulator at fixed seeds, generated once and cached in
// bench/.data (git-ignored). People counts are chosen so b2b-saas yields ≈ 1M / 10M / 30M events.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const BIN = new URL('../../bin/throughline.js', import.meta.url).pathname;
const ROOT = new URL('../.data/', import.meta.url).pathname;

export const DATASETS = {
  '1M': { scenario: 'b2b-saas', people: 24_600, seed: 1 },
  '10M': { scenario: 'b2b-saas', people: 246_000, seed: 10 },
  '30M': { scenario: 'b2b-saas', people: 738_000, seed: 30 },
};

/** The folder of a dataset, generating it first if it is not cached. */
export function dataset(name) {
  const spec = DATASETS[name];
  if (!spec) throw new Error(`unknown dataset ${name}`);
  const dir = join(ROOT, `${spec.scenario}-${name}-seed${spec.seed}`);
  if (!existsSync(join(dir, 'truth', 'summary.json'))) {
    process.stderr.write(`  generating dataset ${name} (${spec.people.toLocaleString('en-US')} people)…\n`);
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'simulate',
        '--scenario',
        spec.scenario,
        '--people',
        String(spec.people),
        '--seed',
        String(spec.seed),
        '--out',
        dir,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`simulate failed for dataset ${name}`);
  }
  const summary = JSON.parse(readFileSync(join(dir, 'truth', 'summary.json'), 'utf8'));
  return { dir, file: join(dir, 'messages.ndjson'), messages: summary.counts.messages, spec };
}

const GNU_TIME = existsSync('/usr/bin/time');

/** Runs a command, returning wall seconds and (with GNU time installed) its peak RSS. */
export function timed(cmd, args, env = {}) {
  if (!GNU_TIME) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
    if (r.status !== 0 && r.status !== 2) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
    return { seconds: (performance.now() - t0) / 1000, peakMiB: null, stdout: r.stdout };
  }
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0 && r.status !== 2) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [seconds, kib] = last.split(' ').map(Number);
  return { seconds, peakMiB: Math.round(kib / 1024), stdout: r.stdout };
}

export { BIN };
