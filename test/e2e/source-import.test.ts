import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDirs } from '../support/cli.js';

const newDir = tempDirs();

const DEALS_CSV = `Deal ID,Company ID,Contact Email,Amount,Deal Stage,Create Date,Close Date
d-1,acme,ann@acme.example,"12,000",closedwon,2026-01-10,2026-02-20
d-2,acme,bob@acme.example,5000,appointmentscheduled,2026-01-15,
d-3,acme,ann@acme.example,900,closedwon,not-a-date,2026-02-01
d-4,initech,carl@initech.example,abc,closedlost,2026-01-03,2026-01-30
`;
const MAPPING = {
  object: 'deals',
  system: 'hubspot',
  columns: {
    id: 'Deal ID',
    account_id: 'Company ID',
    contact_email: 'Contact Email',
    amount: 'Amount',
    status: 'Deal Stage',
    stage: 'Deal Stage',
    created_at: 'Create Date',
    closed_at: 'Close Date',
  },
  values: { status: { closedwon: 'won', closedlost: 'lost', appointmentscheduled: 'open' } },
  defaults: { currency: 'USD' },
};
const NPS = [
  '{"id":"r1","email":"ann@acme.example","score":10,"responded_at":"2026-03-01T10:00:00Z"}',
  '{"id":"r2","email":"bob@acme.example","score":11,"responded_at":"2026-03-01T11:00:00Z"}',
  'not json',
  '{"id":"r3","email":"carl@initech.example","score":3,"responded_at":"2026-03-02"}',
].join('\n');

describe('throughline import --source', () => {
  it('maps a CRM export, reports bad rows with line numbers, keeps the good ones, and is idempotent', () => {
    const dir = newDir();
    const csv = join(dir, 'deals.csv');
    const mapping = join(dir, 'hubspot-deals.json');
    writeFileSync(csv, DEALS_CSV);
    writeFileSync(mapping, JSON.stringify(MAPPING));
    const data = join(dir, 'data');

    const first = cli([
      'import',
      csv,
      '--source',
      'crm',
      '--mapping',
      mapping,
      '--data',
      data,
      '--json',
      '--no-progress',
    ]);
    expect(first.code).toBe(2);
    const r = JSON.parse(first.stdout);
    // d-1: created + won + membership; d-2: created + membership. d-3 and d-4 are bad rows.
    expect(r).toMatchObject({ inserted: 5, rejected: 2, rejectedByCode: { invalid_row: 2 } });
    expect(r.rejectedSample).toEqual([
      'line 4: created_at: not a date: "not-a-date" (ISO 8601, YYYY-MM-DD or epoch)',
      'line 5: amount: not a number: "abc"',
    ]);

    const again = JSON.parse(
      cli(['import', csv, '--source', 'crm', '--mapping', mapping, '--data', data, '--json', '--no-progress'])
        .stdout,
    );
    expect(again).toMatchObject({ inserted: 0, duplicates: 5 });

    const nps = join(dir, 'nps.jsonl');
    writeFileSync(nps, NPS);
    const survey = JSON.parse(
      cli(['import', nps, '--source', 'survey', '--data', data, '--json', '--no-progress']).stdout,
    );
    expect(survey).toMatchObject({ inserted: 2, rejected: 2 });
    expect(survey.rejectedSample[0]).toBe('line 2: an NPS score is 0–10, not 11');
    expect(survey.rejectedSample[1]).toMatch(/^line 3: not JSON/);

    const j = cli(['journey', 'email:ann@acme.example', '--data', data, '--json', '--as-of', '2026-04-01']);
    expect(j.stderr).toBe('');
    const journey = JSON.parse(j.stdout);
    expect(journey.steps.map((s: { type: string; event: string | null }) => s.event ?? s.type)).toEqual([
      'Deal Created',
      'group',
      'Deal Closed Won',
      'Survey Responded',
    ]);
    expect(journey.stages.map((s: { stage: string }) => s.stage)).toEqual([
      'opportunity',
      'customer',
      'advocate',
    ]);

    // The account stage derives from its deals and members.
    const account = cli(['journey', 'acme', '--account', '--data', data, '--as-of', '2026-04-01']);
    expect(account.stdout).toContain('Journey of account acme — stage: Advocate');
    expect(account.stdout).toContain('Opportunity 2026-01-10 → Customer 2026-02-20 → Advocate 2026-03-01');
  });

  it('refuses a mapping that names an unknown object or field, before reading anything', () => {
    const dir = newDir();
    const mapping = join(dir, 'm.json');
    writeFileSync(mapping, JSON.stringify({ object: 'deals', columns: { amount_usd: 'Amount' } }));
    writeFileSync(join(dir, 'x.csv'), 'a\n1\n');
    const r = cli([
      'import',
      join(dir, 'x.csv'),
      '--source',
      'crm',
      '--mapping',
      mapping,
      '--data',
      join(dir, 'data'),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('columns.amount_usd: crm deals has no field "amount_usd"');
    writeFileSync(mapping, JSON.stringify({ object: 'leads' }));
    const r2 = cli([
      'import',
      join(dir, 'x.csv'),
      '--source',
      'crm',
      '--mapping',
      mapping,
      '--data',
      join(dir, 'data'),
    ]);
    expect(r2.stderr).toContain(
      'crm has no object "leads"; one of contacts, accounts, deals, deal_stages, activities',
    );
  });
});
