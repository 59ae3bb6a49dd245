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
          `no write key: pass --write-key or set THROUGHLINE_WRITE_KEY (\`./throughline keys list\` shows the keys; ` +
            `the first \`npm start\` printed them and wrote ${join(flags.data ?? DEFAULTS.dataDir, WRITE_KEY_FILE)})`,
        );
      }
      const sender = new BatchSender(url, writeKey, Math.max(1, Number(flags.concurrency) || 4));
      const sim = new Simulation(config);
      const bar = progressBar('demo', config.people, 'people', flags.progress && !flags.json);
      const started = performance.now();
      let people = 0;
      const sample = new SamplePicker();
      try {
        for (const unit of sim.units()) {
          for (const m of unit.messages) await sender.add(m.line);
          people += unit.persons.filter((p) => p.isBot === false).length;
          sample.consider(unit.persons, unit.account);
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
        sample: sample.best,
        tryNext: sample.best ? tryNext(url, sample.best) : [],
      };
      if (flags.json) printJson(result);
      else {
        process.stdout.write(
          `sent ${result.sent.toLocaleString('en-US')} messages for ${people.toLocaleString('en-US')} people to ${url} in ` +
            `${result.seconds} s: ${result.accepted.toLocaleString('en-US')} accepted, ${result.duplicates} duplicate deliveries ` +
            `recognised, ${result.rejected} rejected\n`,
        );
        if (sample.best) process.stdout.write(nextSteps(sample.best, result.tryNext));
      }
      if (result.rejected > 0) process.exitCode = 2;
    });
}

/** A person of the sent data worth looking at: identified, with an email, the longest journey. */
export interface DemoSample {
  email: string;
  userId: string;
  /** The b2b-saas account (group id) the person belongs to. */
  groupId: string | null;
  stages: string[];
  conversions: string[];
}

class SamplePicker {
  best: DemoSample | null = null;
  private score = -1;

  consider(persons: Array<Record<string, unknown>>, account: Record<string, unknown> | null): void {
    for (const p of persons) {
      const emails = p.emails as string[] | undefined;
      const shared = p.sharedDevices as string[] | undefined;
      if (p.isBot !== false || typeof p.userId !== 'string' || !emails?.[0] || (shared?.length ?? 0) > 0)
        continue;
      const stages = ((p.stages as Array<{ stage: string }> | undefined) ?? []).map((s) => s.stage);
      const conversions = ((p.conversions as Array<{ event: string }> | undefined) ?? []).map((c) => c.event);
      // Conversions first, then how far the journey went: the first such person wins ties.
      const score = conversions.length * 100 + stages.length;
      if (score <= this.score) continue;
      this.score = score;
      const groupId = typeof account?.groupId === 'string' ? account.groupId : null;
      this.best = { email: emails[0].toLowerCase(), userId: p.userId, groupId, stages, conversions };
    }
  }
}

/** Commands that show what the demo sent, run from the repository (see README). */
function tryNext(url: string, s: DemoSample): string[] {
  const remote = url === `http://localhost:${DEFAULTS.port}` ? '' : ` --url ${url}`;
  const access = `${remote} --admin-key "$ADMIN_KEY"`;
  const api = (path: string) => `curl -s "${url}${path}" -H "authorization: Bearer $ADMIN_KEY"`;
  const ref = (r: string) => encodeURIComponent(r).replace(/%3A/g, ':').replace(/%40/g, '@');
  return [
    `./throughline person email:${s.email}${access}`,
    `./throughline journey user_id:${s.userId}${access}`,
    ...(s.groupId ? [`./throughline journey ${s.groupId} --account${access}`] : []),
    api(`/api/persons/${ref(`email:${s.email}`)}/timeline?limit=20`),
    api(`/api/persons/${ref(`user_id:${s.userId}`)}/identity`),
  ];
}

function nextSteps(s: DemoSample, commands: string[]): string {
  const journey = s.stages.length > 0 ? ` (simulated journey: ${s.stages.join(' → ')})` : '';
  return [
    '',
    `Try next, with one of the people just sent: ${s.email}, user id ${s.userId}${journey}.`,
    'ADMIN_KEY is the admin key the first start printed (`./throughline keys create --kind admin`',
    'with the server stopped makes another):',
    '',
    ...commands.map((c) => `  ${c}`),
    '',
  ].join('\n');
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
