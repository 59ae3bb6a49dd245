import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, basic, getApi, type Json, post } from '../support/http.js';
import { ADMIN_KEY, BIN, type ChildServer, removeDir, spawnServer, tempDir } from '../support/servers.js';

const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, THROUGHLINE_ADMIN_KEY: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('throughline --help', () => {
  it('lists the commands', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'keys', 'workspaces', 'events']) expect(r.stdout).toContain(cmd);
  });
  it('stops on bad configuration with a clear message', () => {
    const r = cli(['serve', '--port', 'eighty', '--data', tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port / THROUGHLINE_PORT = "eighty"');
  });
});

describe('workspaces and keys', () => {
  const dir = tempDir();
  let server: ChildServer;
  let acme: { write: string; admin: string };

  beforeAll(async () => {
    // First start creates "default" with the keys from the environment; then stop it.
    server = await spawnServer(dir);
    server.child.kill('SIGTERM');
    await server.exited;

    const made = cli(['workspaces', 'create', 'acme', '--data', dir, '--json']);
    expect(made.code).toBe(0);
    const keys = JSON.parse(made.stdout).keys as Array<{ kind: string; secret: string }>;
    acme = {
      write: keys.find((k) => k.kind === 'write')!.secret,
      admin: keys.find((k) => k.kind === 'admin')!.secret,
    };
    expect(cli(['workspaces', 'create', 'acme', '--data', dir]).stderr).toContain('already exists');
    server = await spawnServer(dir);
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    removeDir(dir);
  });

  it('keeps every workspace’s data to itself', async () => {
    expect((await post(server.url, '/v1/track', { userId: 'd', event: 'Default Only' })).status).toBe(200);
    const acmeAuth = { authorization: basic(acme.write) };
    expect((await post(server.url, '/v1/track', { userId: 'a', event: 'Acme Only' }, acmeAuth)).status).toBe(
      200,
    );
    // The same messageId in two workspaces is two different messages.
    const same = { userId: 'x', event: 'Shared Id', messageId: 'same-id' };
    expect((await post(server.url, '/v1/track', same)).json).toEqual({ success: true });
    expect((await post(server.url, '/v1/track', same, acmeAuth)).json).toEqual({ success: true });

    const defaults = (await allEvents(server.url)).map((e) => e.event).sort();
    expect(defaults).toEqual(['Default Only', 'Shared Id']);
    const acmes = (await getApi(server.url, '/api/events', acme.admin)).json.events
      .map((e: Json) => e.event)
      .sort();
    expect(acmes).toEqual(['Acme Only', 'Shared Id']);
  });

  it('says the database is held by the server, or goes through its API with an admin key', () => {
    const held = cli(['keys', 'list', '--data', dir]);
    expect(held.code).toBe(1);
    expect(held.stderr).toMatch(/in use by another process/);
    expect(held.stderr).toContain('--admin-key');

    const viaApi = cli([
      'keys',
      'list',
      '--data',
      dir,
      '--json',
      '--url',
      server.url,
      '--admin-key',
      acme.admin,
    ]);
    expect(viaApi.code).toBe(0);
    const keys = JSON.parse(viaApi.stdout) as Array<{ kind: string; key: string }>;
    expect(keys.map((k) => k.kind).sort()).toEqual(['admin', 'write']);
    expect(keys.find((k) => k.kind === 'write')!.key).toBe(acme.write);

    const created = cli(['keys', 'create', '--kind', 'write', '--json', '--url', server.url, '--data', dir], {
      THROUGHLINE_ADMIN_KEY: ADMIN_KEY,
    });
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).secret).toMatch(/^wk_/);
  });

  it('tails live events as NDJSON', async () => {
    const tail = spawn(process.execPath, [BIN, 'events', 'tail', '--json', '--url', server.url], {
      env: { ...process.env, THROUGHLINE_ADMIN_KEY: ADMIN_KEY },
    });
    let out = '';
    tail.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    // Keep sending until the subscription is up and a line arrives.
    for (let i = 0; i < 50 && !out.includes('\n'); i++) {
      await post(server.url, '/v1/track', { userId: 'tail', event: 'Tailed' });
      await new Promise((r) => setTimeout(r, 100));
    }
    tail.kill();
    const first = JSON.parse(out.split('\n')[0]!);
    expect(first).toMatchObject({ type: 'track', event: 'Tailed', userId: 'tail' });
  });
});

describe('keys on a stopped server', () => {
  it('lists, creates and revokes keys on the file', async () => {
    const dir = tempDir();
    const s = await spawnServer(dir);
    s.child.kill('SIGTERM');
    await s.exited;
    const created = JSON.parse(
      cli(['keys', 'create', '--kind', 'admin', '--label', 'ci', '--data', dir, '--json']).stdout,
    );
    const list = JSON.parse(cli(['keys', 'list', '--data', dir, '--json']).stdout) as Json[];
    expect(list.find((k) => k.id === created.id)).toMatchObject({
      kind: 'admin',
      label: 'ci',
      revokedAt: null,
    });
    expect(cli(['keys', 'revoke', created.id, '--data', dir]).code).toBe(0);
    const after = JSON.parse(cli(['keys', 'list', '--data', dir, '--json']).stdout) as Json[];
    expect(after.find((k) => k.id === created.id).revokedAt).not.toBeNull();
    expect(cli(['keys', 'revoke', created.id, '--data', dir]).code).toBe(1);
    removeDir(dir);
  });
});
