import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerDemo } from '../../src/cli/demo.command.js';
import { registerServe } from '../../src/cli/serve.command.js';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { tempDirs } from '../support/cli.js';
import { basic, getApi, post } from '../support/http.js';
import { ADMIN_KEY, startTestServer, WRITE_KEY } from '../support/servers.js';

const fresh = tempDirs();

/** `throughline serve` in this process, as a new user runs it: no keys in the environment. */
async function serve(args: string[]) {
  let server: RunningServer | null = null;
  const program = new Command().exitOverride();
  registerServe(program, {
    startServer: async (config) => {
      const started = await startServer(config);
      if (started.ok) server = started.value;
      return started;
    },
  });
  const ran = await run(program, ['serve', '--host', '127.0.0.1', '--log-level', 'silent', ...args]);
  return { ...ran, server: server as RunningServer | null };
}

/** A CLI program in this process, its output captured. */
async function run(program: Command, args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const errOut = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const signals = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    out.mockRestore();
    errOut.mockRestore();
    // The command stops on SIGTERM/SIGINT with process.exit: not in a test worker.
    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      for (const l of process.listeners(signal)) if (!signals[signal].includes(l)) process.off(signal, l);
  }
  const exitCode = process.exitCode === undefined ? undefined : Number(process.exitCode);
  process.exitCode = undefined;
  return { stdout, stderr, exitCode };
}

const keysIn = (stdout: string) => ({
  write: /write key \(public, for SDKs\):\s+(wk_\S+)/.exec(stdout)?.[1],
  admin: /admin key \(secret, for \/api\/\*\):\s+(ak_\S+)/.exec(stdout)?.[1],
});

const urlOf = (server: RunningServer) => server.url.replace('localhost', '127.0.0.1');

let busy: Server | null = null;
const open: RunningServer[] = [];

beforeEach(() => {
  vi.stubEnv('THROUGHLINE_WRITE_KEY', '');
  vi.stubEnv('THROUGHLINE_ADMIN_KEY', '');
  vi.stubEnv('THROUGHLINE_PORT', '');
  vi.stubEnv('THROUGHLINE_DATA_DIR', '');
});
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const s of open.splice(0)) await s.close();
  await new Promise<void>((resolve) => (busy ? busy.close(() => resolve()) : resolve()));
  busy = null;
});

describe('first start', () => {
  it('on a busy port says how to choose another and creates no keys; the next start shows them', async () => {
    busy = createServer();
    const port = await new Promise<number>((resolve) =>
      busy!.listen(0, '127.0.0.1', () => resolve((busy!.address() as { port: number }).port)),
    );
    const data = fresh();

    const failed = await serve(['--port', String(port), '--data', data]);
    expect(failed.exitCode).toBe(1);
    expect(failed.server).toBeNull();
    expect(failed.stderr).toContain(`port ${port}`);
    expect(failed.stderr).toContain('already in use');
    expect(failed.stderr).toContain('--port');
    expect(failed.stderr).toContain('THROUGHLINE_PORT');
    expect(failed.stdout).not.toMatch(/wk_|ak_/);
    expect(existsSync(join(data, 'write-key.txt'))).toBe(false);

    const started = await serve(['--port', '0', '--data', data]);
    expect(started.exitCode, started.stderr).toBeUndefined();
    const server = started.server!;
    open.push(server);
    expect(started.stdout).toContain('Created workspace "default"');
    const keys = keysIn(started.stdout);
    expect(keys.write).toBeDefined();
    expect(keys.admin).toBeDefined();
    expect(readFileSync(join(data, 'write-key.txt'), 'utf8').trim()).toBe(keys.write);
    // Shown: nothing is left to show again.
    expect(existsSync(join(data, 'keys-not-shown.json'))).toBe(false);

    const url = urlOf(server);
    await server.recovered;
    const tracked = await post(
      url,
      '/v1/track',
      { userId: 'first-run', event: 'Tried It' },
      {
        authorization: basic(keys.write),
      },
    );
    expect(tracked.status).toBe(200);
    const events = await getApi(url, '/api/events?limit=5', keys.admin);
    expect(events.status).toBe(200);
    expect(events.json.events.map((e: { userId: string }) => e.userId)).toEqual(['first-run']);

    // A later start shows no keys.
    await server.close();
    open.length = 0;
    const again = await serve(['--port', '0', '--data', data]);
    open.push(again.server!);
    expect(again.stdout).not.toMatch(/wk_|ak_/);
    expect(again.server!.createdKeys).toEqual([]);
  });

  it('keys created by a start that stopped before showing them are shown on the next start', async () => {
    const data = fresh();
    const config = loadConfig({ port: 0, host: '127.0.0.1', data, logLevel: 'silent' }, {});
    if (!config.ok) throw new Error(config.error.join('; '));

    // Created, never shown (the process died before printing them).
    const first = await startServer(config.value);
    if (!first.ok) throw new Error(first.error);
    const lost = first.value.createdKeys;
    const lostAdmin = lost.find((k) => k.kind === 'admin')!.secret;
    const write = lost.find((k) => k.kind === 'write')!.secret;
    await first.value.close();

    const next = await serve(['--port', '0', '--data', data]);
    expect(next.exitCode, next.stderr).toBeUndefined();
    const server = next.server!;
    open.push(server);
    expect(next.stdout).toContain('stopped before showing its keys');
    const shown = keysIn(next.stdout);
    expect(shown.write).toBe(write);
    expect(shown.admin).toBeDefined();
    expect(shown.admin).not.toBe(lostAdmin);
    expect(readFileSync(join(data, 'write-key.txt'), 'utf8').trim()).toBe(write);
    const url = urlOf(server);
    await server.recovered;
    expect((await getApi(url, '/api/events?limit=1', shown.admin)).status).toBe(200);
    // The key nobody saw no longer opens anything.
    expect((await getApi(url, '/api/events?limit=1', lostAdmin)).status).toBe(401);

    await server.close();
    open.length = 0;
    const third = await serve(['--port', '0', '--data', data]);
    open.push(third.server!);
    expect(third.stdout).not.toMatch(/wk_|ak_/);
  });

  it('keys chosen in the environment are known to the user: nothing is re-issued', async () => {
    const data = fresh();
    const env = {
      THROUGHLINE_WRITE_KEY: 'wk_chosen_write_0001',
      THROUGHLINE_ADMIN_KEY: 'ak_chosen_admin_key_000001',
    };
    const config = loadConfig({ port: 0, host: '127.0.0.1', data, logLevel: 'silent' }, env);
    if (!config.ok) throw new Error(config.error.join('; '));
    const first = await startServer(config.value);
    if (!first.ok) throw new Error(first.error);
    expect(first.value.createdKeys.map((k) => k.secret).sort()).toEqual(
      [env.THROUGHLINE_ADMIN_KEY, env.THROUGHLINE_WRITE_KEY].sort(),
    );
    await first.value.close();
    const second = await startServer(config.value);
    if (!second.ok) throw new Error(second.error);
    open.push(second.value);
    expect(second.value.createdKeys).toEqual([]);
  });
});

describe('demo', () => {
  it('ends with real ids from what it sent, and the commands to look them up', async () => {
    const server = await startTestServer();
    try {
      const program = new Command().exitOverride();
      registerDemo(program);
      const args = ['--people', '60', '--seed', '3', '--days', '120', '--no-progress'];
      const demo = await run(program, ['demo', '--url', server.url, '--write-key', WRITE_KEY, ...args]);
      expect(demo.exitCode, demo.stderr).toBeUndefined();
      const email = /Try next, with one of the people just sent: (\S+), user id (\S+)/.exec(demo.stdout);
      expect(email, demo.stdout).not.toBeNull();
      const [, address, userId] = email as unknown as [string, string, string];
      const shown = address.replace(/,$/, '');
      for (const command of [
        `./throughline person email:${shown} --url ${server.url} --admin-key "$ADMIN_KEY"`,
        `./throughline journey user_id:${userId.replace(/\.$/, '')} --url ${server.url} --admin-key "$ADMIN_KEY"`,
        `curl -s "${server.url}/api/persons/email:${shown}/timeline?limit=20"`,
      ])
        expect(demo.stdout).toContain(command);

      // What it names is there: the person by email, with that user id and a timeline.
      const json = JSON.parse(
        (await run(program, ['demo', '--url', server.url, '--write-key', WRITE_KEY, '--json', ...args]))
          .stdout,
      );
      expect(json.sample.email).toBe(shown);
      const person = await getApi(server.url, `/api/persons/email:${encodeURIComponent(shown)}`, ADMIN_KEY);
      expect(person.status, JSON.stringify(person.json)).toBe(200);
      expect(person.json.identifiers).toContainEqual({ type: 'user_id', value: json.sample.userId });
      const timeline = await getApi(
        server.url,
        `/api/persons/user_id:${json.sample.userId}/timeline?limit=5`,
      );
      expect(timeline.json.events.length).toBeGreaterThan(0);
      if (json.sample.groupId) {
        const account = await getApi(server.url, `/api/accounts/${json.sample.groupId}`);
        expect(account.status).toBe(200);
      }
    } finally {
      await server.close();
    }
  });
});
