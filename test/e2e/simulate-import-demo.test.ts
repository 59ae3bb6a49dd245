import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, cliAsync, tempDirs } from '../support/cli.js';
import { allEvents, getApi, type Json } from '../support/http.js';
import { ADMIN_KEY, startTestServer, type TestServer, WRITE_KEY } from '../support/servers.js';

const digest = (dir: string) =>
  Object.fromEntries(
    ['messages.ndjson', ...readdirSync(join(dir, 'truth')).map((f) => join('truth', f))].sort().map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    ]),
  );

const fresh = tempDirs();

describe('throughline simulate', () => {
  const out = fresh();
  const run = (to: string, seed = '9') =>
    cli(['simulate', '--scenario', 'b2b-saas', '--people', '300', '--seed', seed, '--out', to, '--json']);

  it('writes messages and a truth folder, byte-identical for the same seed', () => {
    const first = run(out);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary.persons).toBe(300);
    const lines = readFileSync(join(out, 'messages.ndjson'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(summary.messages);
    expect(readdirSync(join(out, 'truth')).sort()).toEqual([
      'accounts.ndjson',
      'identifiers.ndjson',
      'messages.csv',
      'persons.ndjson',
      'summary.json',
    ]);
    const again = fresh();
    expect(run(again).code).toBe(0);
    expect(digest(again)).toEqual(digest(out));
    const other = fresh();
    expect(run(other, '10').code).toBe(0);
    expect(digest(other)['messages.ndjson']).not.toBe(digest(out)['messages.ndjson']);
  });

  it('explains a bad option', () => {
    const r = cli(['simulate', '--scenario', 'retail', '--out', fresh()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown scenario "retail"');
    const config = join(fresh(), 'bad.json');
    writeFileSync(config, JSON.stringify({ realism: { botsPer100: -1 } }));
    const bad = cli(['simulate', '--config', config, '--out', fresh()]);
    expect(bad.stderr).toContain('realism.botsPer100');
  });
});

const MIXED = [
  // A device two hours fast: receivedAt is when it really arrived.
  '{"type":"track","event":"A","userId":"u1","messageId":"m-1","timestamp":"2026-03-01T12:00:00Z","sentAt":"2026-03-01T12:00:05Z","receivedAt":"2026-03-01T10:00:05Z"}',
  '{"type":"track","userId":"u1","messageId":"m-2"}',
  '',
  'not json at all',
  '{"type":"identify","userId":"u1","traits":{"email":"a@b.co"},"messageId":"m-3","timestamp":"2026-03-01T10:01:00Z"}',
  '{"type":"track","event":"A","userId":"u1","messageId":"m-1","timestamp":"2026-03-01T12:00:00Z","properties":{"changed":true}}',
  '{"type":"page","anonymousId":"x","messageId":"m-4","timestamp":"yesterday"}',
];

describe('throughline import', () => {
  const sim = fresh();
  const data = fresh();
  let server: TestServer | null = null;
  afterAll(async () => server?.close());

  it('loads simulator output: every line stored once, retries recognised, truth conversions present', async () => {
    expect(cli(['simulate', '--people', '400', '--seed', '4', '--out', sim, '--json']).code).toBe(0);
    const truth = JSON.parse(readFileSync(join(sim, 'truth', 'summary.json'), 'utf8'));
    // A first server start creates the workspace with the test keys; then it lets go of the file.
    await (await startTestServer(data)).close();
    const r = cli(['import', join(sim, 'messages.ndjson'), '--data', data, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.lines).toBe(truth.counts.messages);
    expect(stats.duplicates).toBe(truth.counts.duplicateDeliveries);
    expect(stats.inserted).toBe(truth.counts.messages - truth.counts.duplicateDeliveries);
    expect(stats.rejected).toBe(0);

    // Running it again stores nothing new.
    const again = JSON.parse(cli(['import', join(sim, 'messages.ndjson'), '--data', data, '--json']).stdout);
    expect(again).toMatchObject({ inserted: 0, duplicates: truth.counts.messages, conflicts: 0 });

    // What was stored is what the API shows: won deals equal the truth's conversions.
    server = await startTestServer(data);
    const won = await allEvents(server.url, 'type=track&event=Deal Closed Won');
    expect(won).toHaveLength(truth.causal.conversions);
  });

  it('keeps good lines beside bad ones, quarantines the bad with line numbers, and corrects clock skew', async () => {
    await server?.close();
    server = null;
    const file = join(fresh(), 'mixed.ndjson');
    const lines = MIXED;
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = cli(['import', file, '--data', data, '--json']);
    expect(r.code).toBe(2); // something was quarantined: scripts can tell
    const stats = JSON.parse(r.stdout);
    expect(stats).toMatchObject({ lines: 7, blankLines: 1, inserted: 2, conflicts: 1, rejected: 3 });
    expect(stats.rejectedByCode).toEqual({ missing_field: 1, invalid_json: 1, invalid_timestamp: 1 });

    server = await startTestServer(data);
    const m1 = (await allEvents(server.url, 'userId=u1&event=A')) as Json[];
    expect(m1.map((e) => e.timestamp)).toEqual(['2026-03-01T10:00:00.000Z']);
    const q = await getApi(server.url, '/api/quarantine?limit=100');
    const reasons = (q.json.items as Json[]).map((x) => `${x.code} ${x.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^missing_field line 2: /),
        expect.stringMatching(/^invalid_json line 4: /),
        expect.stringMatching(/^invalid_timestamp line 7: /),
        expect.stringMatching(/^conflicting_duplicate line 6: messageId "m-1"/),
      ]),
    );
  });

  it('while a server holds the data directory: says what to do, and with the admin key streams to it', async () => {
    const file = join(fresh(), 'more.ndjson');
    writeFileSync(file, `${MIXED.join('\n')}\n`);
    const refused = await cliAsync(['import', file, '--data', data]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/in use[\s\S]*--admin-key/);

    // Through the API: the same report, line numbers included; what was already there is not stored twice.
    const more = [
      '{"type":"track","event":"Through API","userId":"u9","messageId":"api-1","timestamp":"2026-03-02T10:00:00Z"}',
      '{"type":"track","userId":"u9","messageId":"api-2"}',
      MIXED[4] as string, // m-3, imported before: a duplicate
    ];
    writeFileSync(file, `${more.join('\n')}\n`);
    const url = (server as TestServer).url;
    const args = ['import', file, '--data', data, '--admin-key', ADMIN_KEY, '--url', url, '--json'];
    const r = await cliAsync(args);
    expect(r.code, r.stderr).toBe(2);
    const stats = JSON.parse(r.stdout);
    expect(stats).toMatchObject({ lines: 3, inserted: 1, duplicates: 1, rejected: 1 });
    expect(stats.rejectedSample).toEqual([
      expect.stringMatching(/^line 2: track requires a non-empty event name/),
    ]);
    expect(await allEvents(url, 'event=Through%20API')).toHaveLength(1);

    // A gzip file goes as it is; running it again stores nothing new.
    const gz = `${file}.gz`;
    writeFileSync(gz, gzipSync(`${more.join('\n')}\n`));
    const again = JSON.parse((await cliAsync([...args.slice(0, 1), gz, ...args.slice(2)])).stdout);
    expect(again).toMatchObject({ lines: 3, inserted: 0, duplicates: 2, rejected: 1 });
    expect(await allEvents(url, 'event=Through%20API')).toHaveLength(1);
  });
});

describe('throughline demo', () => {
  let server: TestServer;
  afterAll(async () => server?.close());

  it('sends a simulated dataset through the Tracking API; the server keeps its history', async () => {
    server = await startTestServer();
    const args = ['--people', '150', '--seed', '8', '--start', '2026-01-01', '--days', '120'];
    const r = await cliAsync(['demo', '--url', server.url, '--write-key', WRITE_KEY, '--json', ...args]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.rejected).toBe(0);
    expect(result.accepted + result.duplicates).toBe(result.sent);
    expect(result.duplicates).toBeGreaterThan(0);

    // Compare with the same simulation on disk: each stored event sits at its simulated,
    // skew-corrected time (within network jitter), not at the time the demo sent it.
    const sim = fresh();
    expect(cli(['simulate', '--out', sim, ...args]).code).toBe(0);
    const expected = new Map<string, number>();
    for (const line of readFileSync(join(sim, 'messages.ndjson'), 'utf8').trimEnd().split('\n')) {
      const m = JSON.parse(line);
      expected.set(m.messageId, Date.parse(m.receivedAt) - (Date.parse(m.sentAt) - Date.parse(m.timestamp)));
    }
    const stored = await allEvents(server.url);
    expect(stored).toHaveLength(result.accepted);
    expect(stored).toHaveLength(expected.size);
    for (const e of stored) {
      const want = expected.get(e.messageId);
      expect(want, e.messageId).toBeDefined();
      expect(Math.abs(Date.parse(e.timestamp) - (want as number))).toBeLessThan(30_000);
    }
  });

  it('says where to find a write key when it has none', () => {
    const r = cli(['demo', '--url', 'http://127.0.0.1:9', '--data', fresh(), '--people', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no write key');
  });
});
