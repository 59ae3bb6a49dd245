import type { Command } from 'commander';
import { createParser } from 'eventsource-parser';
import { DEFAULTS } from '../config/config.js';
import { fail } from './output.js';

interface TailFlags {
  url?: string;
  adminKey?: string;
  type?: string;
  event?: string;
  json?: boolean;
}

interface LiveEvent {
  type: string;
  event?: string;
  name?: string;
  userId?: string;
  anonymousId?: string;
  groupId?: string;
  messageId: string;
  timestamp: string;
}

export function registerEvents(program: Command): void {
  const events = program.command('events').description('look at stored events');
  events
    .command('tail')
    .description('print events as the server commits them (like Segment’s debugger)')
    .option('--url <url>', 'server URL (env THROUGHLINE_URL)')
    .option('--admin-key <key>', 'admin key (env THROUGHLINE_ADMIN_KEY)')
    .option('-t, --type <type>', 'only this message type (track, identify, page, …)')
    .option('-e, --event <name>', 'only track calls with this event name')
    .option('--json', 'one JSON event per line (NDJSON)')
    .action(async (flags: TailFlags) => {
      const adminKey = flags.adminKey ?? process.env.THROUGHLINE_ADMIN_KEY;
      if (!adminKey) return fail('an admin key is needed: --admin-key or THROUGHLINE_ADMIN_KEY');
      const base = flags.url ?? process.env.THROUGHLINE_URL ?? `http://localhost:${DEFAULTS.port}`;
      const url = new URL('/api/events/live', base);
      if (flags.type) url.searchParams.set('type', flags.type);
      if (flags.event) url.searchParams.set('event', flags.event);
      await tail(url, adminKey, flags.json === true);
    });
}

async function tail(url: URL, adminKey: string, json: boolean): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${adminKey}`, accept: 'text/event-stream' } });
  } catch (e) {
    return fail(`cannot reach ${url.origin}: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body) return fail(`${url.pathname} → ${res.status}: ${await res.text()}`);
  if (!json) process.stderr.write(`tailing ${url.origin} — Ctrl-C to stop\n`);
  const parser = createParser({
    onEvent(message) {
      if (message.event === 'missed') {
        process.stderr.write(`(missed ${JSON.parse(message.data).count} events: reader too slow)\n`);
        return;
      }
      if (json) {
        process.stdout.write(`${message.data}\n`);
        return;
      }
      const e = JSON.parse(message.data) as LiveEvent;
      const who = e.userId ? `user ${e.userId}` : `anon ${e.anonymousId}`;
      const what = e.event ?? e.name ?? e.groupId ?? '';
      process.stdout.write(`${e.timestamp}  ${e.type.padEnd(8)} ${what.padEnd(24)} ${who}  ${e.messageId}\n`);
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  process.stderr.write('stream closed by the server\n');
}
