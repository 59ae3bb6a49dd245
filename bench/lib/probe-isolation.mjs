// Part 1 of the probe: cross-tenant isolation. Two workspaces with distinctive data; workspace A's
// admin key calls every /api route of /openapi.json with B's person ids, identifiers, accounts,
// keys, operations and cursors (and A's own); no answer may hold anything of B's, and B's data
// must read the same afterwards.

import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import {
  createWorkspace,
  freePort,
  startServer,
  stopServer,
  tempDir,
  waitHealthy,
  waitLoaded,
} from './probe-server.mjs';

// Every B string contains "bravo" and no A string does, so "bravo" anywhere in A's answers is a
// leak (unless the request itself carried it: see leaksIn). Tenant B is seeded first, so ids that
// were store-wide rather than per workspace would start above 1 in A.
const B_MESSAGES = [
  {
    type: 'identify',
    userId: 'bravo-secret-user-1',
    anonymousId: 'bravo-secret-anon-1',
    traits: {
      email: 'bravo-secret-1@bravo-tenant.example',
      plan: 'bravo-secret-plan',
      note: 'BRAVO-SENTINEL-TRAIT',
    },
  },
  {
    type: 'identify',
    userId: 'bravo-secret-user-2',
    anonymousId: 'bravo-secret-anon-2',
    traits: { email: 'bravo-secret-2@bravo-tenant.example' },
  },
  { type: 'identify', userId: 'bravo-secret-user-3', anonymousId: 'bravo-secret-anon-shared' },
  { type: 'identify', userId: 'bravo-secret-user-2', anonymousId: 'bravo-secret-anon-shared' },
  {
    type: 'track',
    userId: 'bravo-secret-user-1',
    event: 'Bravo Secret Purchase',
    properties: { sku: 'BRAVO-SKU-SENTINEL', revenue: 777.77 },
  },
  {
    type: 'page',
    anonymousId: 'bravo-secret-anon-1',
    name: 'Bravo Secret Page',
    properties: { url: 'https://bravo-secret-domain.example/landing?utm_source=bravo-secret-source' },
  },
  {
    type: 'group',
    userId: 'bravo-secret-user-1',
    groupId: 'bravo-secret-acct-1',
    traits: { name: 'Bravo Secret Org', plan: 'bravo-enterprise' },
  },
  { type: 'alias', previousId: 'bravo-secret-anon-3', userId: 'bravo-secret-user-3' },
  { type: 'screen', userId: 'bravo-secret-user-2', name: 'Bravo Secret Screen' },
  {
    type: 'track',
    userId: 'bravo-secret-user-2',
    event: 'Bravo Secret Signup',
    context: { externalIds: [{ id: 'bravo-secret-cus-1', type: 'stripe customer id' }] },
  },
  // Refused (no event name): it goes to B's quarantine.
  { type: 'track', userId: 'bravo-secret-user-1', properties: { q: 'bravo-quarantine-sentinel' } },
].map((m, i) => ({ ...m, messageId: `bravo-msg-${i}`, timestamp: `2026-03-0${1 + (i % 9)}T10:00:00.000Z` }));

const A_MESSAGES = [
  {
    type: 'identify',
    userId: 'alpha-user-1',
    anonymousId: 'alpha-anon-1',
    traits: { email: 'alpha-1@alpha.example', plan: 'alpha-plan' },
  },
  { type: 'identify', userId: 'alpha-user-2', anonymousId: 'alpha-anon-shared' },
  { type: 'identify', userId: 'alpha-user-3', anonymousId: 'alpha-anon-shared' },
  { type: 'track', userId: 'alpha-user-1', event: 'Alpha Purchase', properties: { revenue: 12 } },
  {
    type: 'page',
    anonymousId: 'alpha-anon-1',
    name: 'Alpha Page',
    properties: { url: 'https://alpha.example/?utm_source=alpha' },
  },
  { type: 'group', userId: 'alpha-user-1', groupId: 'alpha-acct-1', traits: { name: 'Alpha Org' } },
  { type: 'track', userId: 'alpha-user-2' },
].map((m, i) => ({ ...m, messageId: `alpha-msg-${i}`, timestamp: `2026-03-0${1 + (i % 9)}T11:00:00.000Z` }));

const B_ADMIN_SETUP = [
  [
    'PUT',
    '/api/identity/settings',
    {
      limits: { user_id: 1 },
      defaultLimit: 5,
      priority: ['user_id', 'email'],
      blockedValues: ['bravo-blocked-sentinel@x.example'],
      customIdentifiers: [{ type: 'bravo_secret_id', path: 'traits.bravo_secret_id' }],
    },
  ],
  [
    'PUT',
    '/api/journey/settings',
    { ownDomains: ['bravo-secret-domain.example'], conversions: ['Bravo Secret Purchase'] },
  ],
  ['PUT', '/api/webhooks/stripe', { endpointSecret: 'whsec_bravoSecretSentinel' }],
  ['POST', '/api/keys', { kind: 'write', label: 'bravo-secret-label' }],
  [
    'POST',
    `/api/persons/${encodeURIComponent('user_id:bravo-secret-user-1')}/merge`,
    { with: 'user_id:bravo-secret-user-2', reason: 'bravo-secret-reason' },
  ],
  [
    'POST',
    `/api/identifiers/${encodeURIComponent('anonymous_id:bravo-secret-anon-shared')}/untrust`,
    { reason: 'bravo-secret-reason' },
  ],
];

/**
 * An admin-API call; string bodies (NDJSON) are sent as they are. `key` is an admin key, or an
 * `{ authorization }` header value to send instead (null: none).
 */
async function api(base, key, method, path, body, contentType = 'application/json') {
  const authorization = typeof key === 'string' ? `Bearer ${key}` : key.authorization;
  const headers = authorization === null ? {} : { authorization };
  let payload;
  if (body !== undefined) {
    headers['content-type'] = contentType;
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: payload,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, text, json };
}

async function track(base, writeKey, path, body) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

/**
 * The leaks in an answer: each sentinel of B found in it, once the request's own values that
 * contain that sentinel are removed (a 404 may repeat the id it was asked for).
 */
export function leaksIn(text, sentinels, requestValues) {
  const lower = text.toLowerCase();
  const found = [];
  for (const s of sentinels) {
    const needle = s.toLowerCase();
    let t = lower;
    for (const v of requestValues) {
      const lv = String(v).toLowerCase();
      if (lv.includes(needle)) t = t.replaceAll(lv, '');
    }
    if (t.includes(needle)) found.push(s);
  }
  return found;
}

const b64 = (s) => Buffer.from(s).toString('base64url');
/** Query values no client should send: each must be a 4xx, never a 5xx. */
const HOSTILE_QUERY = {
  cursor: [
    'abc',
    b64('[1]'),
    b64('[1e400,1]'),
    b64('[null,null]'),
    b64('{"__proto__":1}'),
    b64('[9007199254740993,-1]'),
    b64('["x","y"]'),
    '%',
  ],
  limit: ['0', '-1', '1e9', 'abc', '1001', ''],
  from: ['garbage', '+275760-09-13T00:00:00.001Z'],
  to: ['0'],
  order: ['sideways'],
  asOf: ['garbage', '-271821-04-20T00:00:00.000Z'],
  offset: ['-1', '1e12', 'x'],
  includeBots: ['maybe'],
  type: ['nonsense'],
  query: ['', '%', '*', "' OR 1=1 --", 'x'.repeat(5000)],
  code: ["'; DROP TABLE events; --"],
};

/** What an answer may repeat of its request: each value, and an identifier's value without its type. */
function echoable(p) {
  const values = [
    ...p.values,
    ...(p.body ? [typeof p.body === 'string' ? p.body : JSON.stringify(p.body)] : []),
  ];
  return values.flatMap((v) => {
    const s = String(v);
    const colon = s.indexOf(':');
    return colon > 0 && !s.startsWith('{') ? [s, s.slice(colon + 1)] : [s];
  });
}

/** Every string (value or key) in `v`. */
function stringsIn(v, out = []) {
  if (typeof v === 'string') out.push(v);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      stringsIn(x, out);
    }
  }
  return out;
}

/** JSON with every object's keys sorted. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Everything B can read about itself, answer by answer: compared before and after A's calls. */
async function snapshot(base, key, refs) {
  const paths = [
    '/api/events?limit=1000',
    '/api/quarantine?limit=1000',
    '/api/keys',
    '/api/persons?query=bravo',
    '/api/accounts',
    '/api/identity/operations',
    '/api/identity/settings',
    '/api/journey/settings',
    '/api/journey/rules',
    '/api/webhooks/stripe',
    ...refs.personIds.flatMap((p) => [
      `/api/persons/${p}`,
      `/api/persons/${p}/identity`,
      `/api/persons/${p}/timeline?limit=1000`,
      `/api/persons/${p}/export`,
      `/api/persons/${p}/journey`,
    ]),
    ...refs.accounts.flatMap((a) => [
      `/api/accounts/${a}`,
      `/api/accounts/${a}/timeline?limit=1000`,
      `/api/accounts/${a}/journey`,
    ]),
  ];
  const out = new Map();
  for (const p of paths) {
    const r = await api(base, key, 'GET', p);
    // When the export was made is not data, nor the order of an object's keys (eventsByType's
    // varies from call to call).
    if (r.json && typeof r.json === 'object') delete r.json.exportedAt;
    out.set(p, `${r.status} ${r.json ? canonical(r.json) : r.text}`);
  }
  return out;
}

/** The ids and cursors a tenant's admin can see, to throw at the other tenant's key. */
async function refsOf(base, key, query) {
  const persons = (await api(base, key, 'GET', `/api/persons?query=${query}&limit=50`)).json?.persons ?? [];
  const accounts = (await api(base, key, 'GET', '/api/accounts')).json?.accounts ?? [];
  const keys = (await api(base, key, 'GET', '/api/keys')).json?.keys ?? [];
  const ops = (await api(base, key, 'GET', '/api/identity/operations')).json?.operations ?? [];
  const eventsCursor = (await api(base, key, 'GET', '/api/events?limit=2')).json?.nextCursor ?? null;
  const personIds = persons.map((p) => p.id);
  const timelineCursor = personIds[0]
    ? ((await api(base, key, 'GET', `/api/persons/${personIds[0]}/timeline?limit=1`)).json?.nextCursor ??
      null)
    : null;
  const accountCursor = accounts[0]
    ? ((await api(base, key, 'GET', `/api/accounts/${encodeURIComponent(accounts[0])}/timeline?limit=1`)).json
        ?.nextCursor ?? null)
    : null;
  return { personIds, accounts, keys, ops, eventsCursor, timelineCursor, accountCursor };
}

/**
 * The requests A makes: for every /api operation of the OpenAPI document, each combination of
 * path parameters (B's values, A's own, an unknown one), without and with query parameters
 * pointing at B. Tagged 'B' when they name B's things, 'A' when they touch A's (run last).
 */
function planRequests(openapi, ctx) {
  const enc = encodeURIComponent;
  const candidates = {
    ref: [
      ...ctx.b.personIds.map((v) => ['B', v]),
      ['B', 'user_id:bravo-secret-user-1'],
      ['B', 'email:bravo-secret-1@bravo-tenant.example'],
      ['B', 'anonymous_id:bravo-secret-anon-1'],
      ['B', 'stripe_customer_id:bravo-secret-cus-1'],
      ['A', ctx.a.personIds[0]],
      ['A', 'user_id:alpha-user-1'],
      ['none', 'user_id:nobody-here'],
    ],
    identifier: [
      ['B', 'user_id:bravo-secret-user-1'],
      ['B', 'anonymous_id:bravo-secret-anon-1'],
      ['B', 'email:bravo-secret-2@bravo-tenant.example'],
      ['A', 'anonymous_id:alpha-anon-1'],
      ['none', 'anonymous_id:nobody-here'],
    ],
    keyId: [...ctx.b.keys.map((k) => ['B', k.id]), ['A', ctx.aSpareKeyId], ['none', 'key_nothing1']],
    // Operation numbers are per workspace: B's numbers are also A's own operations.
    opId: [...ctx.b.ops.map((o) => ['A', String(o.id)]), ['none', '999'], ['none', 'abc']],
    accountId: [
      ['B', 'bravo-secret-acct-1'],
      ['A', 'alpha-acct-1'],
      ['none', 'nobody-acct'],
    ],
  };
  const kindOf = (path, name) => {
    if (name === 'id' && path.startsWith('/api/keys')) return 'keyId';
    if (name === 'id' && path.startsWith('/api/identity/operations')) return 'opId';
    if (name === 'id') return 'accountId';
    return name;
  };
  const bQuery = (path, name) => {
    const cursor =
      path === '/api/events'
        ? ctx.b.eventsCursor
        : path.startsWith('/api/accounts')
          ? ctx.b.accountCursor
          : ctx.b.timelineCursor;
    return {
      query: 'bravo',
      userId: 'bravo-secret-user-1',
      anonymousId: 'bravo-secret-anon-1',
      event: 'Bravo Secret Purchase',
      type: 'track',
      cursor,
      limit: '20',
      code: 'missing_field',
      order: 'asc',
      from: '2000-01-01T00:00:00Z',
      to: '2100-01-01T00:00:00Z',
      offset: '0',
      includeBots: 'true',
      asOf: new Date().toISOString(),
      suppress: 'true',
    }[name];
  };
  const bodyFor = (method, template) =>
    ({
      'POST /api/keys': { kind: 'write', label: 'alpha probe key' },
      'POST /api/identifiers/{identifier}/untrust': { reason: 'alpha probe' },
      'POST /api/identifiers/{identifier}/trust': { reason: 'alpha probe' },
      'POST /api/identity/operations/{id}/undo': {},
      'PUT /api/identity/settings': ctx.aIdentitySettings,
      'PUT /api/journey/settings': { ownDomains: ['alpha.example'] },
      'PUT /api/webhooks/stripe': { endpointSecret: 'whsec_alphaProbe' },
    })[`${method} ${template}`];

  const plan = [];
  for (const [template, ops] of Object.entries(openapi.paths)) {
    if (!template.startsWith('/api')) continue;
    for (const [lower, op] of Object.entries(ops)) {
      const method = lower.toUpperCase();
      if (template === '/api/events/live') continue; // a stream: probed on its own
      const params = op.parameters ?? [];
      const pathParams = params.filter((p) => p.in === 'path').map((p) => p.name);
      const queryParams = params.filter((p) => p.in === 'query').map((p) => p.name);
      // Every combination of path parameter values.
      let combos = [{ tags: [], values: {} }];
      for (const name of pathParams) {
        combos = combos.flatMap((c) =>
          candidates[kindOf(template, name)].map(([tag, v]) => ({
            tags: [...c.tags, tag],
            values: { ...c.values, [name]: v },
          })),
        );
      }
      for (const c of combos) {
        const path = template.replace(/\{(\w+)\}/g, (_, n) => enc(c.values[n]));
        const tag = c.tags.includes('A') ? 'A' : c.tags.includes('B') ? 'B' : 'none';
        const values = Object.values(c.values);
        const param = pathParams.length === 1 ? `${kindOf(template, pathParams[0])}` : null;
        const base = { method, template, path, tag, values, param, paramTag: c.tags[0] };
        if (template === '/api/persons/{ref}/merge') {
          const withs = [...candidates.ref.filter(([t]) => t !== 'A'), ['A', 'user_id:alpha-user-2']];
          for (const [wt, w] of withs) {
            const t = tag === 'A' || wt === 'A' ? 'A' : 'B';
            plan.push({ ...base, tag: t, body: { with: w, reason: 'alpha probe' }, values: [...values, w] });
          }
          continue;
        }
        if (template === '/api/import') {
          const line = JSON.stringify({
            type: 'track',
            userId: 'alpha-user-1',
            event: 'Alpha Imported',
            messageId: 'alpha-import-1',
          });
          plan.push({ ...base, tag: 'A', body: `${line}\n`, contentType: 'application/x-ndjson' });
          continue;
        }
        plan.push({ ...base, body: bodyFor(method, template) });
        if (method === 'GET' && queryParams.length > 0) {
          const qs = queryParams
            .map((n) => [n, bQuery(template, n)])
            .filter(([, v]) => v !== null && v !== undefined);
          const q = new URLSearchParams(qs).toString();
          plan.push({
            ...base,
            path: `${path}?${q}`,
            values: [...values, ...qs.map(([, v]) => v)],
            tag: tag === 'A' ? 'A' : 'B',
            param: null,
          });
          if (queryParams.includes('query')) {
            for (const v of [
              'bravo-secret-user-1',
              'email:bravo-secret-1@bravo-tenant.example',
              'bravo-tenant.example',
              'Bravo Secret Org',
              'p_',
            ]) {
              plan.push({
                ...base,
                path: `${path}?query=${enc(v)}`,
                values: [...values, v],
                tag: 'B',
                param: null,
              });
            }
          }
        }
        if (method === 'DELETE' && queryParams.includes('suppress')) {
          plan.push({ ...base, path: `${path}?suppress=true`, param: null });
        }
      }
      // On A's own things (or none): malformed query values, and keys that are not A's admin key.
      const own = combos.find((c) => c.tags.every((t) => t === 'A')) ?? combos[0];
      const ownPath = template.replace(/\{(\w+)\}/g, (_, n) => enc(own.values[n]));
      const ownBase = {
        method,
        template,
        tag: 'A',
        values: Object.values(own.values),
        param: null,
        body: bodyFor(method, template),
      };
      if (method === 'GET') {
        for (const name of queryParams) {
          for (const v of HOSTILE_QUERY[name] ?? []) {
            plan.push({ ...ownBase, path: `${ownPath}?${name}=${enc(v)}`, values: [...ownBase.values, v] });
          }
        }
      }
      for (const [authLabel, authorization] of ctx.wrongAuth) {
        plan.push({ ...ownBase, path: ownPath, auth: { authorization }, authLabel });
      }
    }
  }
  // Not under /api, but addressed by B's workspace id: an unsigned Stripe webhook for B.
  plan.push({
    method: 'POST',
    template: '/webhooks/stripe/{workspace}',
    path: `/webhooks/stripe/${ctx.bWorkspaceId}`,
    tag: 'B',
    values: [ctx.bWorkspaceId],
    param: null,
    body: { type: 'customer.created', data: { object: { id: 'cus_alpha' } } },
  });
  // Reads first, then changes that name only B's things, then A's own changes (deleting A's
  // person last, so the calls before it still find it).
  const rank = (p) =>
    p.method === 'GET'
      ? 0
      : p.tag !== 'A'
        ? 1
        : p.method === 'DELETE' && p.template === '/api/persons/{ref}'
          ? 3
          : 2;
  return plan.sort((x, y) => rank(x) - rank(y));
}

/** Reads `GET /api/events/live` with A's key while B and A send events: B's must not show up. */
function liveStream(base, aAdmin, during) {
  return new Promise((resolve) => {
    let text = '';
    const req = httpRequest(
      `${base}/api/events/live`,
      { headers: { authorization: `Bearer ${aAdmin}` } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('error', () => {});
        during().then(async () => {
          const until = Date.now() + 5_000;
          while (!text.includes('alpha-live-marker') && Date.now() < until)
            await new Promise((r) => setTimeout(r, 100));
          await new Promise((r) => setTimeout(r, 500));
          req.destroy();
          resolve({ status: res.statusCode, text, sawOwn: text.includes('alpha-live-marker') });
        });
      },
    );
    req.on('error', () => resolve({ status: undefined, text, sawOwn: text.includes('alpha-live-marker') }));
    req.end();
  });
}

/** Changed answers between two snapshots, by path, each shown around its first difference. */
function snapshotDiff(before, after) {
  const diffs = [];
  for (const [p, v] of before) {
    const w = after.get(p) ?? '(missing)';
    if (w === v) continue;
    let i = 0;
    while (i < v.length && v[i] === w[i]) i++;
    const from = Math.max(0, i - 120);
    diffs.push({ path: p, at: i, before: v.slice(from, i + 200), after: w.slice(from, i + 200) });
  }
  return diffs;
}

export async function runIsolation({ log = () => {} }) {
  const dir = tempDir('tenants');
  // B first: store-wide counters would then show in A's ids.
  const B = createWorkspace(dir, 'bravo');
  const A = createWorkspace(dir, 'alpha');
  const port = await freePort();
  const srv = startServer({ dataDir: dir, port });
  const result = {
    requests: 0,
    byClass: {},
    byRoute: new Map(),
    authFailures: [],
    leaks: [],
    fiveXX: [],
    oracles: [],
    problems: [],
    idChecks: {},
    snapshotDiffs: [],
  };
  const count = (status) => {
    const cls = status === undefined ? 'no answer' : `${Math.floor(status / 100)}xx`;
    result.byClass[cls] = (result.byClass[cls] ?? 0) + 1;
  };
  try {
    await waitHealthy(srv);
    const base = srv.base;
    log('isolation: seeding both workspaces…');
    for (const [who, messages] of [
      [B, B_MESSAGES],
      [A, A_MESSAGES],
    ]) {
      const r = await track(base, who.write, '/v1/batch', { batch: messages });
      if (r.status !== 200) throw new Error(`seeding ${who.name}: ${r.status} ${JSON.stringify(r.json)}`);
    }
    await waitLoaded(srv);
    for (const [method, path, body] of B_ADMIN_SETUP) {
      const r = await api(base, B.admin, method, path, body);
      if (r.status >= 300) throw new Error(`B setup ${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
    }
    const aOp = await api(
      base,
      A.admin,
      'POST',
      `/api/identifiers/${encodeURIComponent('anonymous_id:alpha-anon-shared')}/untrust`,
      { reason: 'alpha op' },
    );
    const aSpare = await api(base, A.admin, 'POST', '/api/keys', { kind: 'write', label: 'alpha spare' });
    await waitLoaded(srv);

    const b = await refsOf(base, B.admin, 'bravo');
    const a = await refsOf(base, A.admin, 'alpha');
    const aIdentity = await api(
      base,
      A.admin,
      'GET',
      `/api/persons/${encodeURIComponent('user_id:alpha-user-1')}/identity`,
    );
    const bIdentity = await api(
      base,
      B.admin,
      'GET',
      `/api/persons/${encodeURIComponent('user_id:bravo-secret-user-1')}/identity`,
    );
    // Per-workspace numbering: each tenant's first operation and first link are number 1.
    result.idChecks = {
      bOperationIds: b.ops.map((o) => o.id),
      aFirstOperationId: aOp.json?.operation?.id,
      aFirstLinkId: Math.min(...(aIdentity.json?.links ?? []).map((l) => l.id)),
      bFirstLinkId: Math.min(...(bIdentity.json?.links ?? []).map((l) => l.id)),
    };
    result.idChecks.perWorkspace =
      result.idChecks.bOperationIds[0] === 1 &&
      result.idChecks.aFirstOperationId === 1 &&
      result.idChecks.aFirstLinkId === 1;

    const sentinels = [
      'bravo',
      // Each of B's strings in full too: a request carrying "bravo" must not hide "Bravo Secret Org".
      ...new Set(stringsIn([B_MESSAGES, B_ADMIN_SETUP]).filter((x) => /bravo/i.test(x))),
      ...B_MESSAGES.map((m) => m.messageId),
      ...b.personIds,
      ...b.keys.map((k) => k.id),
      ...b.keys.map((k) => k.key).filter((k) => k && !k.endsWith('…')),
      B.write,
      B.admin,
      B.id,
    ];
    // The live stream first (it adds an event to B), then B's picture before A's calls.
    const live = await liveStream(base, A.admin, async () => {
      await track(base, B.write, '/v1/track', {
        userId: 'bravo-secret-user-1',
        event: 'Bravo Live Sentinel',
        messageId: 'bravo-live-1',
      });
      await track(base, A.write, '/v1/track', {
        userId: 'alpha-user-1',
        event: 'alpha-live-marker',
        messageId: 'alpha-live-1',
      });
    });
    result.requests++;
    count(live.status);
    const liveLeaks = leaksIn(live.text, [...sentinels, 'bravo-live-1'], []);
    if (liveLeaks.length)
      result.leaks.push({
        request: 'GET /api/events/live',
        status: live.status,
        found: liveLeaks,
        answer: live.text.slice(0, 400),
      });
    if (!live.sawOwn)
      result.problems.push(
        'GET /api/events/live did not deliver A’s own event within 5 s (stream not probed)',
      );
    await waitLoaded(srv);
    const liveEvent = (await api(base, B.admin, 'GET', '/api/events?limit=1&event=Bravo%20Live%20Sentinel'))
      .text;
    if (!liveEvent.includes('bravo-live-1')) result.problems.push('B’s live-test event is not stored in B');

    const before = await snapshot(base, B.admin, b);
    result.snapshotReads = before.size;
    // The detector must see B in B's own answer, or a clean result would mean nothing.
    if (leaksIn(before.get('/api/events?limit=1000'), sentinels, []).length === 0) {
      result.problems.push('leak detector self-test failed: it finds nothing of B in B’s own events');
    }
    const openapi = await (await fetch(`${base}/openapi.json`)).json();
    const aIdentitySettings = (await api(base, A.admin, 'GET', '/api/identity/settings')).json;
    const wrongAuth = [
      ['no authorization', null],
      ["A's write key as bearer", `Bearer ${A.write}`],
      ["B's admin key as Basic", `Basic ${Buffer.from(`${B.admin}:`).toString('base64')}`],
      ['an unknown admin key', 'Bearer ak_not_a_real_admin_key_000000000'],
    ];
    const plan = planRequests(openapi, {
      a,
      b,
      aSpareKeyId: aSpare.json?.id,
      aIdentitySettings,
      bWorkspaceId: B.id,
      wrongAuth,
    });
    result.routes = new Set(plan.map((p) => `${p.method} ${p.template}`)).size + 1; // + the live stream
    log(`isolation: ${plan.length} requests over ${result.routes} routes with A's admin key…`);

    const outcomes = [];
    for (const p of plan) {
      const r = await api(base, p.auth ?? A.admin, p.method, p.path, p.body, p.contentType);
      result.requests++;
      count(r.status);
      const requestValues = echoable(p);
      const found = leaksIn(r.text, sentinels, requestValues);
      if (found.length)
        result.leaks.push({
          request: `${p.method} ${p.path}`,
          status: r.status,
          found,
          answer: r.text.slice(0, 400),
        });
      if (p.auth && r.status < 400)
        result.authFailures.push(`${p.method} ${p.path} with ${p.authLabel} → ${r.status}`);
      if (r.status >= 500)
        result.fiveXX.push({
          request: `${p.method} ${p.path} ${p.body ? JSON.stringify(p.body).slice(0, 200) : ''}`,
          status: r.status,
          answer: r.text.slice(0, 400),
        });
      outcomes.push({ ...p, status: r.status, code: r.json?.error?.code ?? '' });
      const key = `${p.method} ${p.template} [${p.tag}]`;
      const route = result.byRoute.get(key) ?? new Map();
      const st = `${r.status}${r.json?.error?.code ? ` ${r.json.error.code}` : ''}`;
      route.set(st, (route.get(st) ?? 0) + 1);
      result.byRoute.set(key, route);
    }
    // An answer about B's thing that differs from one about a thing that does not exist tells A it exists.
    for (const o of outcomes.filter((x) => x.param && x.paramTag === 'B' && x.method === 'GET')) {
      const unknown = outcomes.find(
        (x) =>
          x.template === o.template &&
          x.method === o.method &&
          x.param === o.param &&
          x.paramTag === 'none' &&
          x.path.includes('?') === o.path.includes('?'),
      );
      if (unknown && (unknown.status !== o.status || unknown.code !== o.code)) {
        result.oracles.push(
          `${o.method} ${o.path} → ${o.status} ${o.code}, unknown → ${unknown.status} ${unknown.code}`,
        );
      }
    }

    await waitLoaded(srv);
    result.snapshotDiffs = snapshotDiff(before, await snapshot(base, B.admin, b));

    // Deduplication is per workspace: B's messageIds are new to A (no "duplicate", nothing refused).
    const dup = await track(base, A.write, '/v1/track', {
      userId: 'alpha-user-1',
      event: 'Alpha Same Id',
      messageId: 'bravo-msg-4',
    });
    const imp = await api(
      base,
      A.admin,
      'POST',
      '/api/import',
      `${JSON.stringify({ type: 'track', userId: 'alpha-user-1', event: 'Alpha Same Id', messageId: 'bravo-msg-5' })}\n`,
      'application/x-ndjson',
    );
    result.requests += 2;
    count(dup.status);
    count(imp.status);
    result.crossDedup = {
      track: { status: dup.status, body: dup.json },
      import: {
        status: imp.status,
        inserted: imp.json?.inserted,
        duplicates: imp.json?.duplicates,
        conflicts: imp.json?.conflicts,
      },
    };
    if (dup.status !== 200 || dup.json?.duplicate || imp.json?.inserted !== 1) {
      result.leaks.push({
        request: 'A sends B’s messageIds',
        status: dup.status,
        found: ['cross-workspace deduplication'],
        answer: JSON.stringify(result.crossDedup),
      });
    }
    // B's keys still work after A's DELETE /api/keys/<B's ids>.
    const bKeys = await api(base, B.admin, 'GET', '/api/keys');
    const bWrite = await track(base, B.write, '/v1/track', {
      userId: 'bravo-secret-user-1',
      event: 'Bravo After',
      messageId: 'bravo-after-1',
    });
    if (bKeys.status !== 200 || bWrite.status !== 200)
      result.problems.push(`B's keys stopped working: admin ${bKeys.status}, write ${bWrite.status}`);
  } catch (e) {
    result.problems.push(e.message);
  } finally {
    result.crash =
      srv.exitInfo && !srv.expectedExit ? { exit: srv.exitInfo, output: srv.output().slice(-3000) } : null;
    await stopServer(srv);
  }
  const failed =
    result.leaks.length ||
    result.fiveXX.length ||
    result.crash ||
    result.problems.length ||
    result.snapshotDiffs.length;
  if (failed) log(`isolation: data directory kept for inspection: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return result;
}
