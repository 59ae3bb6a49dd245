import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, cliAsync, tempDirs } from '../support/cli.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../support/servers.js';

const fresh = tempDirs();

/** The figures every way of reading the journeys must agree on. */
const figures = (r: Record<string, unknown>) => ({
  precision: r.precision,
  recall: r.recall,
  truth: r.truth,
  predicted: r.predicted,
  matched: r.matched,
  channels: r.channels,
});

describe('throughline journeys evaluate', () => {
  const sim = fresh();
  const data = fresh();
  let server: TestServer | null = null;
  let temporary: Record<string, unknown>;
  afterAll(async () => server?.close());

  it('scores a simulation in a temporary data directory: precision and recall ≥ 0.95', () => {
    const made = cli(['simulate', '--scenario', 'b2b-saas', '--people', '120', '--seed', '6', '--out', sim]);
    expect(made.code, made.stderr).toBe(0);
    const r = cli(['journeys', 'evaluate', sim, '--json', '--min', '0.95']);
    expect(r.code, r.stderr).toBe(0);
    temporary = JSON.parse(r.stdout);
    const truthRows = readFileSync(join(sim, 'truth', 'messages.csv'), 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1);
    const touches = new Set(truthRows.filter((l) => l.split(',')[3] !== '').map((l) => l.split(',')[0]));
    expect(temporary).toMatchObject({
      folder: sim,
      journeysOf: expect.stringContaining('temporary data directory'),
      truth: touches.size,
      import: { rejected: 0, conflicts: 0 },
      unknownIdentifiers: 0,
    });
    expect(temporary.precision).toBeGreaterThanOrEqual(0.95);
    expect(temporary.recall).toBeGreaterThanOrEqual(0.95);
    const channels = (temporary.channels as { channel: string }[]).map((c) => c.channel);
    expect(channels).toEqual(expect.arrayContaining(['Direct', 'Sales', 'Webinar', 'Paid Search']));
  }, 120_000);

  it('scores the journeys of a data directory, and of a running server through its API, alike', async () => {
    await (await startTestServer(data)).close(); // the workspace and the test keys
    const imported = cli(['import', join(sim, 'messages.ndjson'), '--data', data, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const local = cli(['journeys', 'evaluate', sim, '--data', data, '--json']);
    expect(local.code, local.stderr).toBe(0);
    const fromData = JSON.parse(local.stdout);
    expect(fromData.journeysOf).toBe(`the data directory ${data}`);
    expect(figures(fromData)).toEqual(figures(temporary));

    server = await startTestServer(data);
    const remote = await cliAsync([
      'journeys',
      'evaluate',
      sim,
      '--url',
      server.url,
      '--admin-key',
      ADMIN_KEY,
      '--json',
    ]);
    expect(remote.code, remote.stderr).toBe(0);
    const fromApi = JSON.parse(remote.stdout);
    expect(fromApi.journeysOf).toBe(`the server at ${server.url}`);
    expect(figures(fromApi)).toEqual(figures(temporary));

    // --data of a directory the server holds goes through the server too, given the key.
    const held = await cliAsync([
      'journeys',
      'evaluate',
      sim,
      '--data',
      data,
      '--url',
      server.url,
      '--admin-key',
      ADMIN_KEY,
      '--json',
    ]);
    expect(held.code, held.stderr).toBe(0);
    expect(figures(JSON.parse(held.stdout))).toEqual(figures(temporary));
  }, 180_000);

  it('exits 2 under --min, and explains bad input', () => {
    // A truth that names every touch wrongly: precision and recall 0.
    const wrong = fresh();
    cpSync(join(sim, 'messages.ndjson'), join(wrong, 'messages.ndjson'));
    mkdirSync(join(wrong, 'truth'));
    cpSync(join(sim, 'truth', 'identifiers.ndjson'), join(wrong, 'truth', 'identifiers.ndjson'));
    const rows = readFileSync(join(sim, 'truth', 'messages.csv'), 'utf8')
      .split('\n')
      .map((l, i) => {
        const cells = l.split(',');
        if (i > 0 && cells[3]) cells[3] = 'Carrier Pigeon';
        return cells.join(',');
      });
    writeFileSync(join(wrong, 'truth', 'messages.csv'), rows.join('\n'));
    // In words this time, given the truth folder itself (messages.ndjson is beside it).
    const r = cli(['journeys', 'evaluate', join(wrong, 'truth'), '--min', '0.95', '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/precision 0\.000 /);
    expect(r.stdout).toMatch(/recall {4}0\.000 /);
    expect(r.stdout).toMatch(/CHANNEL\s+TRUE\s+GIVEN\s+MATCHED\s+PRECISION\s+RECALL/);
    expect(r.stdout).toMatch(/\n {2}Carrier Pigeon\s+\d+\s+0\s+0\s+1\.000\s+0\.000\n/);
    expect(r.stdout).toMatch(/Carrier Pigeon → Direct\s+\d+/);
    expect(r.stderr).toContain('below --min 0.95');

    const none = cli(['journeys', 'evaluate', fresh()]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('not a simulator output folder');
    expect(cli(['journeys', 'evaluate', sim, '--min', '95']).stderr).toContain('--min must be a ratio');
    expect(cli(['journeys', 'evaluate', sim, '--url', 'http://127.0.0.1:9']).stderr).toContain(
      '--url needs --admin-key',
    );
    const help = cli(['journeys', 'evaluate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('triggering messageId');
  }, 120_000);
});
