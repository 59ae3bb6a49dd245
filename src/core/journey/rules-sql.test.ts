import { readFileSync } from 'node:fs';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelRules } from './channel-rules.js';
import { type Condition, compileCondition, RuleError } from './conditions.js';
import { type JourneyEvent, textOf } from './journey-event.js';
import {
  CATEGORY_TABLES,
  compileChannelQuery,
  conditionSql,
  messageFieldSql,
  sqlJsNumber,
  sqlLowerJs,
  sqlRegistrableName,
  sqlSourceCategory,
  sqlString,
  sqlTextOfString,
  sqlTrimJs,
} from './rules-sql.js';
import { BASE_RULES } from './rulesets.js';
import { registrableName, sourceCategoryOf } from './source-categories.js';
import { messageField } from './touch-fields.js';

/**
 * The compiler's pieces against the JavaScript they stand for, evaluated by a real DuckDB:
 * quoting, `toLowerCase`, `trim`, `textOf`, `Number(string)`, source categories, and every
 * condition op over typed JSON values. The end-to-end differential test (events through the
 * loader, every rule set) is test/integration/facts-differential.test.ts.
 */

let db: DuckDBInstance;
let c: DuckDBConnection;
beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:', { threads: '1' });
  c = await db.connect();
});
afterAll(() => {
  c.closeSync();
  db.closeSync();
});

/**
 * Evaluates `expr(x)` in SQL for each input, in one query. Text comes back behind a `#`: the
 * client drops a leading U+FEFF from the VARCHARs it reads.
 */
async function evaluate(inputs: (string | null)[], expr: (x: string) => string): Promise<unknown[]> {
  const r = await c.runAndReadAll(
    `SELECT CASE WHEN typeof(v) = 'VARCHAR' THEN '#' || v::VARCHAR END, CASE WHEN typeof(v) <> 'VARCHAR' THEN v END
     FROM (SELECT ${expr('x')} AS v, i FROM (SELECT unnest(json_transform($v::JSON, '["VARCHAR"]')) AS x, generate_subscripts(json_transform($v::JSON, '["VARCHAR"]'), 1) AS i)) ORDER BY i`,
    { v: JSON.stringify(inputs) },
  );
  return r.getRowsJS().map(([text, other]) => (typeof text === 'string' ? text.slice(1) : (other ?? null)));
}

const TRICKY = [
  '',
  ' ',
  'abc',
  'ABC Def',
  '  padded\t',
  '\u00a0nbsp\u3000',
  '\ufeffbom',
  '\u2028line\u2029',
  '\u180emongolian',
  'null',
  'NULL',
  ' Undefined ',
  'undefİned',
  'nulls',
  'İstanbul',
  'İ',
  'ΟΔΟΣ',
  'ΟΔΟΣ ΑΣ Σ',
  'ΑΣ.Β',
  'ΑΣΣ',
  'Σ',
  'x\u0000y',
  "it's",
  'ǅungla',
  'ẞtraße',
  'Ꭺcherokee',
  'ＦＵＬＬ',
  'K\u212a',
  'ς',
  '😀 Emoji',
  'e\u0301',
  '\u1c89pro',
  'a\ua7cbPRO\u0130',
];

describe('JavaScript semantics in SQL', () => {
  it('string literals round-trip any text, quotes and control characters included', async () => {
    const samples = [...TRICKY, "'; DROP TABLE x; --", "''", '\\', '\u0001\u001f\u007f', 'a\u0000'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...samples)), {
          minLength: 1,
          maxLength: 20,
        }),
        async (xs) => {
          const r = await c.runAndReadAll(`SELECT ${xs.map((x) => `'#' || ${sqlString(x)}`).join(', ')}`);
          expect(r.getRowsJS()[0]).toEqual(xs.map((x) => `#${x.toWellFormed()}`));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('lower-case as toLowerCase does, İ and final Σ included', async () => {
    const inputs = [...TRICKY, ...fc.sample(fc.string({ unit: 'grapheme' }), 200)];
    expect(await evaluate(inputs, sqlLowerJs)).toEqual(inputs.map((s) => s.toLowerCase()));
  });

  it('lower-case a word-final Σ as V8 does, among cased and case-ignorable neighbours', async () => {
    // Cased, case-ignorable, both (ʰ, ͅ, ᴬ, ⓐ…), neither; apostrophes and dots are case-ignorable.
    const alphabet = [..."ΣΣΑa .'\u0301\u02b01中ªⓐʰ\u00ad\u200d:·’‘\u0345ᴬⅰ-_ǅß"];
    const inputs = fc.sample(
      fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 7 }).map((a) => a.join('')),
      { numRuns: 3000, seed: 7 },
    );
    const got = await evaluate(inputs, sqlLowerJs);
    expect(inputs.filter((s, i) => got[i] !== s.toLowerCase())).toEqual([]);
  });

  it('lower-case every code point as toLowerCase does, alone and between letters', async () => {
    for (const [prefix, suffix] of [
      ['', ''],
      ['a', 'b'],
    ]) {
      // Generated and joined in SQL (one string back), compared here code point by code point.
      const r = await c.runAndReadAll(
        `SELECT '#' || string_agg(${sqlLowerJs(`'${prefix}' || chr(i::INTEGER) || '${suffix}'`)}, chr(1) ORDER BY i)
         FROM range(32, 1114112) t(i) WHERE i NOT BETWEEN 55296 AND 57343`,
      );
      const got = String(r.getRowsJS()[0]?.[0]).slice(1).split('\u0001');
      const differ: string[] = [];
      let k = 0;
      for (let cp = 32; cp < 0x110000; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const input = `${prefix}${String.fromCodePoint(cp)}${suffix}`;
        if (got[k++] !== input.toLowerCase()) differ.push(cp.toString(16));
      }
      expect(differ).toEqual([]);
    }
  }, 120_000);

  it('trim as String.prototype.trim does, and textOf', async () => {
    const inputs = [...TRICKY, ...fc.sample(fc.string({ unit: 'grapheme' }), 100)];
    expect(await evaluate(inputs, sqlTrimJs)).toEqual(inputs.map((s) => s.trim()));
    expect(await evaluate(inputs, sqlTextOfString)).toEqual(inputs.map((s) => textOf(s)));
  });

  it('Number(string) as JavaScript converts it (finite only)', async () => {
    const inputs = [
      '',
      ' ',
      '7',
      '  7 ',
      '-7.5',
      '+.5',
      '5.',
      '.',
      '1e3',
      '1E-3',
      '1e',
      '1e400',
      '-1e400',
      'Infinity',
      '-Infinity',
      'NaN',
      '0x1F',
      '0X1f',
      '-0x1F',
      '0x',
      '0o17',
      '0b101',
      '0b102',
      '0x20000000000001',
      '0xffffffffffffffffffffffffffffff',
      '007',
      '1_000',
      '12px',
      '１２',
      '\u00a012\u3000',
      '9007199254740993',
      '0.1',
      '-0',
    ];
    const js = inputs.map((s) => {
      const n = Number(s);
      return Number.isFinite(n) ? n : null;
    });
    expect(await evaluate(inputs, sqlJsNumber)).toEqual(js);
  });

  it('registrable names and source categories as source-categories.ts gives them', async () => {
    const hosts = [
      ...Object.keys(CATEGORY_TABLES.exact),
      ...Object.keys(CATEGORY_TABLES.brands),
      ...Object.keys(CATEGORY_TABLES.brands).map((b) => `www.${b}.co.uk`),
      ...Object.keys(CATEGORY_TABLES.brands).map((b) => `uk.m.${b}.com`),
      'uk.search.yahoo.com',
      'www.google.co.uk',
      'google.',
      '.com',
      'co.uk',
      'com.co.uk',
      'a.com.co.uk',
      'localhost',
      'www.',
      'www.www.google.com',
      '  Google  ',
      'GOOGLE.COM',
      'Google Shopping',
      'plus.google.com',
      'mail.google.com',
      'www.mail.google.com',
      'search.app',
      'xn--bcher-kva.example',
      'l.facebook.com',
      'İnstagram.com',
      'a..b',
      '',
    ];
    expect(await evaluate(hosts, sqlRegistrableName)).toEqual(
      hosts.map((h) => (h.includes('.') ? registrableName(h) : null)),
    );
    expect(await evaluate(hosts, sqlSourceCategory)).toEqual(hosts.map((h) => sourceCategoryOf(h)));
  });

  it('the category tables are a faithful copy of source-categories.ts (until it exports them)', () => {
    const source = readFileSync(new URL('./source-categories.ts', import.meta.url), 'utf8');
    const body = (name: string) => {
      const start = source.indexOf(`const ${name}`);
      return source.slice(source.indexOf('{', start) + 1, source.indexOf('\n};', start));
    };
    const entries = (text: string) =>
      Object.fromEntries(
        [...text.matchAll(/^\s*('[^']+'|[a-z]+): (SEARCH|SOCIAL|VIDEO|SHOPPING|null),/gm)].map((m) => [
          (m[1] as string).replaceAll("'", ''),
          m[2] === 'null' ? null : `SOURCE_CATEGORY_${m[2]}`,
        ]),
      );
    expect(CATEGORY_TABLES.exact).toEqual(entries(body('EXACT')));
    expect(CATEGORY_TABLES.brands).toEqual(entries(body('BRANDS')));
    const second = /const SECOND_LEVEL = new Set\(\[([^\]]*)\]\)/.exec(source)?.[1] ?? '';
    expect(CATEGORY_TABLES.secondLevel).toEqual([...second.matchAll(/'([^']+)'/g)].map((m) => m[1]));
  });
});

describe('conditions in SQL', () => {
  /** Typed JSON values a message field may hold. */
  const VALUES: unknown[] = [
    ...TRICKY,
    'Pro',
    ' pro ',
    'PRO',
    'podcast fm',
    'Summer-Shop',
    'google',
    'www.Facebook.com',
    'cpc',
    'Paid_Social',
    '7',
    '  7 ',
    '0x1F',
    '1e2',
    '12px',
    0,
    7,
    9,
    100,
    -3.5,
    1e21,
    1.5e-7,
    12345678901234567000,
    true,
    false,
    null,
    { a: 1 },
    [1, 2],
  ];
  const LEAVES: Condition[] = [
    ...(['present', 'absent'] as const).map((op) => ({ field: 'properties.v', op })),
    ...(['eq', 'neq', 'contains', 'starts_with', 'ends_with'] as const).flatMap((op) =>
      ['pro', 'PRO', '', '7', 'true', 'istanbul', 'i̇stanbul', 'οδος', '1e+21', 1e21, 7, true, "it's"].map(
        (value) => ({
          field: 'properties.v',
          op,
          value,
        }),
      ),
    ),
    { field: 'properties.v', op: 'in', value: ['pro', 'Google', 7, '1.5e-7'] },
    { field: 'properties.v', op: 'in', value: [] },
    ...['^pro$', 'pro', '^\\s*7\\s*$', '(?i)SHOP', 'ο', '^$', '\\d+', '[a-z]+px'].map((value) => ({
      field: 'properties.v',
      op: 'regex' as const,
      value,
    })),
    ...['SOURCE_CATEGORY_SEARCH', 'SOURCE_CATEGORY_SOCIAL'].map((value) => ({
      field: 'properties.v',
      op: 'in_category' as const,
      value,
    })),
    ...(['gt', 'gte', 'lt', 'lte'] as const).flatMap((op) =>
      [0, 7, 8.5, -10, 1e21].map((value) => ({ field: 'properties.v', op, value })),
    ),
    {
      all: [
        { field: 'properties.v', op: 'present' },
        { not: { field: 'properties.v', op: 'eq', value: 'pro' } },
      ],
    },
    {
      any: [
        { field: 'properties.w', op: 'present' },
        { field: 'properties.v', op: 'lt', value: 1 },
      ],
    },
    { else: true },
  ];

  it('every op gives what the interpreter gives, over strings, numbers, booleans and the rest', async () => {
    await c.run(
      'CREATE OR REPLACE TEMP TABLE e AS SELECT unnest(json_transform($v::JSON, \'["JSON"]\')) AS properties',
      {
        v: JSON.stringify(VALUES.map((v) => ({ v }))),
      },
    );
    const docs = (await c.runAndReadAll('SELECT properties::VARCHAR FROM e'))
      .getRowsJS()
      .map((r) => r[0] as string);
    const field = messageFieldSql('properties', 'v', 'e');
    for (const leaf of LEAVES) {
      const sql = conditionSql(leaf, {
        field: (name) =>
          name === 'properties.v' ? field : messageFieldSql('properties', name.slice(11), 'e'),
        category: () => sqlSourceCategory(field.text),
      });
      const got = (await c.runAndReadAll(`SELECT properties::VARCHAR, ${sql} FROM e`)).getRowsJS();
      const test = compileCondition(leaf);
      const want = docs.map((doc) => {
        const event = { properties: JSON.parse(doc) } as JourneyEvent;
        return [doc, test((f) => messageField(event, f))];
      });
      expect({ leaf, got }).toEqual({ leaf, want: undefined, got: want });
    }
  });

  it('reads objects only, as the interpreter does (a numeric key does not index an array)', async () => {
    const docs = [
      { list: [5, 6] },
      { list: { '1': 'one' } },
      { a: { '': { b: 'x' } } },
      { 'a~b': { 'x/y': 2 } },
    ];
    await c.run(
      'CREATE OR REPLACE TEMP TABLE e AS SELECT unnest(json_transform($v::JSON, \'["JSON"]\')) AS properties',
      {
        v: JSON.stringify(docs),
      },
    );
    for (const path of ['list.1', 'list', 'a..b', 'a~b.x/y', 'constructor', '__proto__']) {
      const f = messageFieldSql('properties', path, 'e');
      const got = (await c.runAndReadAll(`SELECT ${f.text} FROM e`)).getRowsJS().map((r) => r[0]);
      const want = docs.map((d) => {
        const v = messageField({ properties: d } as unknown as JourneyEvent, `properties.${path}`);
        return v === null ? null : String(v);
      });
      expect({ path, got }).toEqual({ path, got: want });
    }
  });
});

describe('compiling channel rules', () => {
  it('refuses what the interpreter refuses, with the same message', () => {
    const bad = [
      [{ channel: 'X', when: { field: 'medium', op: 'regex', value: '(' } }],
      [{ channel: 'X', when: { field: 'medium', op: 'regex', value: '^(a)\\1$' } }],
      [{ channel: 'X', when: { field: 'medium', op: 'in', value: 'cpc' } }],
      [{ channel: 'X', when: { field: 'medium', op: 'inn', value: 'cpc' } }],
    ];
    for (const rules of bad) {
      const js = (() => {
        try {
          ChannelRules.compile(rules as never);
          return null;
        } catch (e) {
          return e;
        }
      })();
      expect(js).toBeInstanceOf(RuleError);
      expect(() => compileChannelQuery(rules as never, { ownDomains: [], ignoreReferrers: [] })).toThrow(
        (js as Error).message,
      );
    }
  });

  it('keeps rule values out of the SQL text: they are quoted literals', async () => {
    await c.run('CREATE OR REPLACE TABLE event_facts AS SELECT * FROM (VALUES (1)) t(x) LIMIT 0');
    const evil = "x'); DROP TABLE event_facts; --";
    const q = compileChannelQuery(
      [
        { channel: evil, when: { field: 'utm_source', op: 'in', value: [evil, "'"] } },
        { channel: 'B', when: { field: 'utm_medium', op: 'regex', value: "'\\x00|'" } },
        { channel: 'C', when: { field: 'campaign', op: 'eq', value: 'a\u0000b' } },
      ],
      { ownDomains: ["own'; --"], ignoreReferrers: ['x\u0000y'] },
    );
    expect(q.sql).not.toContain('\u0000');
    expect(q.sql).toContain(`'x''); DROP TABLE event_facts; --'`);
  });

  it('is fenced off from filters on its outputs (no push-down into the rule expressions)', async () => {
    await c.run('DROP TABLE IF EXISTS event_facts');
    await c.run(
      `CREATE TABLE event_facts (workspace_id VARCHAR, seq BIGINT, type VARCHAR, event VARCHAR, has_page BOOLEAN,
         referrer_host VARCHAR, page_host VARCHAR, page_url VARCHAR, page_path VARCHAR, utm_source VARCHAR,
         utm_medium VARCHAR, utm_campaign VARCHAR, utm_content VARCHAR, utm_term VARCHAR, click_id VARCHAR,
         gclid VARCHAR, fbclid VARCHAR, gad_source VARCHAR, self_reported VARCHAR, promo_code VARCHAR)`,
    );
    await c.run(
      'CREATE TABLE IF NOT EXISTS events (workspace_id VARCHAR, seq BIGINT, properties JSON, traits JSON, context JSON)',
    );
    for (const shape of ['counts', 'events'] as const) {
      const q = compileChannelQuery(BASE_RULES.journey, { ownDomains: [], ignoreReferrers: [] }, { shape });
      const started = performance.now();
      await c.run(`EXPLAIN SELECT * FROM (${q.sql}) WHERE event_channel IS NOT NULL AND channel <> 'Direct'`);
      // Without the fence this plan alone took over 6 s.
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });

  it('uses a small key: near-unique fields reach it only as a leaf result', () => {
    const q = compileChannelQuery(
      [
        { channel: 'Ref', when: { field: 'landing_url', op: 'regex', value: '[?&]ref=' } },
        { channel: 'G', when: { field: 'gclid', op: 'present' } },
        { channel: 'P', when: { field: 'properties.plan', op: 'eq', value: 'pro' } },
      ],
      { ownDomains: [], ignoreReferrers: [] },
    );
    expect(q.keys).not.toContain('page_url');
    expect(q.keys).not.toContain('gclid');
    expect(q.keys.filter((k) => k.startsWith('l_'))).toHaveLength(3);
    expect(q.joinsEvents).toBe(true);
    expect(q.sql).toContain(`contains(e.properties::VARCHAR, '"plan":')`);
    // The journey rules read properties.campaign.source only beside event = 'Install Attributed'.
    const journey = compileChannelQuery(BASE_RULES.journey, { ownDomains: [], ignoreReferrers: [] });
    expect(journey.sql).toMatch(
      /SELECT g.seq, g.workspace_id FROM event_facts g WHERE .*install attributed/s,
    );
    // The built-in GA4 rules need no JSON at all.
    expect(compileChannelQuery(BASE_RULES.ga4, { ownDomains: [], ignoreReferrers: [] }).joinsEvents).toBe(
      false,
    );
  });
});
