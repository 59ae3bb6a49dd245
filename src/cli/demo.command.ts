import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULTS } from '../config/config.js';
import { LIMITS } from '../core/spec/message.js';
import { Simulation } from '../sim/simulate.js';
import { fail, printJson } from './output.js';
import { progressBar } from './progress.js';
import { WRITE_KEY_FILE } from './serve.command.js';
import { type SimulateFlags, simConfigFrom, withSimOptions } from './simulate.command.js';

interface DemoFlags extends SimulateFlags {
  url?: string;
  writeKey?: string;
  data?: string;
  concurrency: string;
  json?: boolean;
  progress: boolean;
}

const DAY = 86_400_000;

export function registerDemo(program: Command): void {
  withSimOptions(
    program
      .command('demo')
      .description('fill a running server with simulated journeys, sent through its real Tracking API'),
  )
    .option('--url <url>', 'server URL (env THROUGHLINE_URL)', undefined)
    .option('--write-key <key>', `write key (env THROUGHLINE_WRITE_KEY; default: <data>/${WRITE_KEY_FILE})`)
    .option('-d, --data <dir>', 'data directory of the server, to find its write key (default ./data)')
    .option('--concurrency <n>', 'batches in flight', '4')
    .option('--json', 'print the result as JSON')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Defaults: b2b-saas, 5,000 people (about 200K messages) over the last 365 days, to
http://localhost:8080 with the key \`npm start\` created. Journeys keep their real
history: each message's sentAt is re-based on the send time, so the server's clock-skew
correction puts it back at its simulated time.

Example (two terminals):
  npm start
  npm run demo`,
    )
    .action(async (flags: DemoFlags) => {
      const today = new Date(Math.floor(Date.now() / DAY) * DAY);
      const days = Number(flags.days ?? 365);
      const start = new Date(today.getTime() - days * DAY).toISOString().slice(0, 10);
      const config = await simConfigFrom(flags, { people: 5000, start });
      if (typeof config === 'string') return fail(config);
      const url = flags.url ?? process.env.THROUGHLINE_URL ?? `http://localhost:${DEFAULTS.port}`;
      const writeKey = flags.writeKey ?? process.env.THROUGHLINE_WRITE_KEY ?? (await keyFromFile(flags.data));
      if (!writeKey) {
        return fail(
          `no write key: pass --write-key or set THROUGHLINE_WRITE_KEY (\`throughline keys list\` shows the keys; ` +
            `the first \`npm start\` printed them and wrote ${join(flags.data ?? DEFAULTS.dataDir, WRITE_KEY_FILE)})`,
        );
      }
      const sender = new BatchSender(url, writeKey, Math.max(1, Number(flags.concurrency) || 4));
      const sim = new Simulation(config);
      const bar = progressBar('demo', config.people, 'people', flags.progress && !flags.json);
      const started = performance.now();
      let people = 0;
      try {
        for (const unit of sim.units()) {
          for (const m of unit.messages) await sender.add(m.line);
          people += unit.persons.filter((p) => p.isBot === false).length;
          bar.update(people, { sent: sender.sent, accepted: sender.accepted });
        }
        await sender.flush();
      } catch (e) {
        bar.stop();
        return fail((e as Error).message);
      }
      bar.stop();
      const seconds = (performance.now() - started) / 1000;
      const result = {
        url,
        scenario: config.scenario,
        seed: config.seed,
        people,
        sent: sender.sent,
        accepted: sender.accepted,
        duplicates: sender.duplicates,
        rejected: sender.rejected,
        seconds: Math.round(seconds * 10) / 10,
      };
      if (flags.json) printJson(result);
      else
        process.stdout.write(
          `sent ${result.sent.toLocaleString('en-US')} messages for ${people.toLocaleString('en-US')} people to ${url} in ` +
            `${result.seconds} s: ${result.accepted.toLocaleString('en-US')} accepted, ${result.duplicates} duplicate deliveries ` +
            `recognised, ${result.rejected} rejected\n`,
        );
      if (result.rejected > 0) process.exitCode = 2;
    });
}

async function keyFromFile(dataDir: string | undefined): Promise<string | undefined> {
  const dir = dataDir ?? process.env.THROUGHLINE_DATA_DIR ?? DEFAULTS.dataDir;
  return readFile(join(dir, WRITE_KEY_FILE), 'utf8').then(
    (s) => s.trim() || undefined,
    () => undefined,
  );
}

/** Batches under the Tracking API's limits, a few in flight, retrying overloads and network errors. */
class BatchSender {
  sent = 0;
  accepted = 0;
  duplicates = 0;
  rejected = 0;
  private batch: string[] = [];
  private bytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | null = null;

  constructor(
    private readonly url: string,
    private readonly writeKey: string,
    private readonly concurrency: number,
  ) {}

  async add(line: string): Promise<void> {
    if (this.failure) throw this.failure;
    const rebased = rebase(line, Date.now());
    if (this.bytes + rebased.length > LIMITS.requestBytes * 0.8 || this.batch.length >= 500)
      await this.send();
    this.batch.push(rebased);
    this.bytes += rebased.length + 1;
  }

  async flush(): Promise<void> {
    await this.send();
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private async send(): Promise<void> {
    if (this.batch.length === 0) return;
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    const body = `{"batch":[${this.batch.join(',')}]}`;
    const count = this.batch.length;
    this.batch = [];
    this.bytes = 0;
    const p = this.post(body, count).catch((e: Error) => {
      this.failure ??= e;
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async post(body: string, count: number): Promise<void> {
    const auth = `Basic ${Buffer.from(`${this.writeKey}:`).toString('base64')}`;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(new URL('/v1/batch', this.url), {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body,
        });
      } catch (e) {
        if (attempt >= 5) throw new Error(`cannot reach ${this.url}: ${(e as Error).message}`);
        await sleep(200 * 2 ** attempt);
        continue;
      }
      const text = await res.text();
      if ((res.status === 503 || res.status === 429) && attempt < 20) {
        await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        continue;
      }
      if (res.status === 401) throw new Error(`${this.url} refused the write key (401): ${text}`);
      const json = JSON.parse(text || '{}') as { accepted?: number; duplicates?: number; errors?: unknown[] };
      if (res.status >= 500) throw new Error(`${this.url}/v1/batch answered ${res.status}: ${text}`);
      this.sent += count;
      this.accepted += json.accepted ?? 0;
      this.duplicates += json.duplicates ?? 0;
      this.rejected += json.errors?.length ?? 0;
      return;
    }
  }
}

/**
 * Moves a historical message's send time to now, keeping its offset from arrival (device clock
 * skew and flush delay): the collector's correction `receivedAt − (sentAt − timestamp)` then
 * restores the simulated event time. The simulator's `receivedAt` is not part of what SDKs send.
 */
export function rebase(line: string, now: number): string {
  const m = JSON.parse(line) as { sentAt?: string; receivedAt?: string };
  if (m.sentAt && m.receivedAt)
    m.sentAt = new Date(now + (Date.parse(m.sentAt) - Date.parse(m.receivedAt))).toISOString();
  delete m.receivedAt;
  return JSON.stringify(m);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
