import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when Debian's wrk is installed (`apt-get install wrk`); it needs far less CPU than a Node load generator. */
export const haveWrk = () => spawnSync('wrk', ['--version']).error === undefined;

/** `taskset -c <core>` when taskset exists, so server and load generator get a core each. */
export function pinned(core, command, args) {
  const hasTaskset = spawnSync('taskset', ['--version']).error === undefined;
  return hasTaskset ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const toMs = (v) => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : Number.NaN;
};

/**
 * Drives `url` with POSTs of `body` for `seconds` over `connections` keep-alive connections,
 * pinned to `core`. Returns requests/s, latency percentiles (ms) and the count of non-2xx answers.
 */
export async function postLoad({ url, body, headers, connections, seconds, core }) {
  if (!haveWrk()) throw new Error('wrk is not installed: `apt-get install wrk` (Debian package)');
  const script = join(tmpdir(), `throughline-bench-${process.pid}.lua`);
  const lua = [
    'wrk.method = "POST"',
    ...Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
    `wrk.body = [==[${body}]==]`,
  ].join('\n');
  writeFileSync(script, lua);
  const [cmd, args] = pinned(core, 'wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    '--timeout',
    '10s',
    '-s',
    script,
    url,
  ]);
  const out = await new Promise((resolve, reject) => {
    const child = spawn(cmd, args);
    let text = '';
    child.stdout.on('data', (c) => {
      text += c;
    });
    child.stderr.on('data', (c) => {
      text += c;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}:\n${text}`)),
    );
  });
  const num = (re) => {
    const m = re.exec(out);
    return m ? m[1] : undefined;
  };
  const nonOk = Number(num(/Non-2xx or 3xx responses: (\d+)/) ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? null;
  return {
    requestsPerSecond: Number(num(/Requests\/sec:\s+([\d.]+)/)),
    p50: toMs(num(/\s50%\s+(\S+)/)),
    p99: toMs(num(/\s99%\s+(\S+)/)),
    nonOk,
    errors,
    requests: Number(num(/(\d+) requests in/)),
  };
}
