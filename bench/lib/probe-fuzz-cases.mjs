// The probe's Tracking API inputs: a deterministic stream of requests (one seed → the same
// requests), valid messages with unique messageIds mixed with hostile ones. Each case says which
// messageIds it carries and whether it is valid, so the answers can be checked against the store.
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { xorshift } from './prng.mjs';

/**
 * A case: { family, variant, method, path, headers, body | chunks | raw, items, single,
 * requestValid }. `items[i]` = { id, valid }: the messageId the i-th message would be stored
 * under (null when it has none we know) and whether it is valid. `requestValid`: the request as a
 * whole is well-formed (so every valid message in it must be accepted).
 */

// Placeholders replaced in the JSON text after JSON.stringify: nesting deeper than JSON.stringify
// can recurse, raw bytes that are not UTF-8, and keys (`__proto__`) a JS object literal cannot hold.
const DEEP = '@@DEEP@@';
const BYTES = '@@BYTES@@';
const PROTO = '@@PROTO@@';

/** A fixed past base time: the same timestamps on every run, never "in the future". */
const BASE_MS = Date.parse('2025-06-01T00:00:00.000Z');

const TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'];
const PATHS = {
  track: ['/v1/track', '/v1/t'],
  identify: ['/v1/identify', '/v1/i'],
  page: ['/v1/page', '/v1/p'],
  screen: ['/v1/screen', '/v1/s'],
  group: ['/v1/group', '/v1/g'],
  alias: ['/v1/alias', '/v1/a'],
};
const BATCH_PATHS = ['/v1/batch', '/v1/b', '/v1/import'];

const basic = (key, colon = true) => `Basic ${Buffer.from(colon ? `${key}:` : key).toString('base64')}`;

/** `depth` levels of objects or arrays, as JSON text (JSON.stringify would recurse that deep). */
export function deepText(depth, kind = 'object') {
  return kind === 'array'
    ? '['.repeat(depth) + ']'.repeat(depth)
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** JSON text of `value` with the placeholders replaced, as bytes. */
function encode(value, { deep, bytes } = {}) {
  let text = JSON.stringify(value).replaceAll(`"${PROTO}"`, '"__proto__"');
  if (deep !== undefined) text = text.split(`"${DEEP}"`).join(deep);
  if (bytes === undefined) return Buffer.from(text);
  const parts = text.split(BYTES);
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [Buffer.from(p)] : [bytes, Buffer.from(p)])));
}

/** Writes `value` at a dotted path, creating objects on the way. */
function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}

const iso = (ms) => new Date(ms).toISOString();

/** A plainly valid message of `type` (small, shallow, every required field). */
function validMessage(r, type, id, withType) {
  const user = `fz-user-${r.int(400)}`;
  const m = {
    ...(withType ? { type } : {}),
    messageId: id,
    timestamp: iso(BASE_MS + r.int(30 * 86_400_000)),
    context: { library: { name: 'probe', version: '1.0.0' }, locale: 'en-US' },
  };
  if (type === 'track') {
    Object.assign(m, {
      userId: user,
      event: r.pick(['Signed Up', 'Order Completed', 'Product Viewed', 'Trial Started']),
      properties: { revenue: r.int(10_000) / 100, currency: 'EUR', sku: `SKU-${r.int(100)}` },
    });
  } else if (type === 'identify') {
    Object.assign(m, {
      userId: user,
      anonymousId: `fz-anon-${r.int(1000)}`,
      traits: { email: `${user}@probe.example`, plan: r.pick(['free', 'pro']) },
    });
  } else if (type === 'page') {
    Object.assign(m, {
      anonymousId: `fz-anon-${r.int(1000)}`,
      name: 'Pricing',
      properties: { url: `https://probe.example/pricing?utm_source=fz${r.int(9)}` },
    });
  } else if (type === 'screen') {
    Object.assign(m, { userId: user, name: 'Home', properties: { variant: 'b' } });
  } else if (type === 'group') {
    Object.assign(m, { userId: user, groupId: `fz-org-${r.int(50)}`, traits: { name: 'Probe Org' } });
  } else {
    Object.assign(m, { userId: user, previousId: `fz-anon-${r.int(1000)}` });
  }
  return m;
}

/** Header auth in one of the documented forms, or the key in the body (`bodyKey`). */
function authFor(r, key) {
  const how = r.pick(['basic', 'basic', 'basic-no-colon', 'x-write-key', 'body']);
  if (how === 'basic') return { headers: { authorization: basic(key) } };
  if (how === 'basic-no-colon') return { headers: { authorization: basic(key, false) } };
  if (how === 'x-write-key') return { headers: { 'x-write-key': key } };
  return { headers: {}, bodyKey: key };
}

// ---------------------------------------------------------------------------------------------
// Message-level mutations: each changes one message and says what it did. `id` stays the message's
// messageId unless the mutation changes it (then `id` is what it would be stored under, or null).

const WRONG_TYPES = [
  ['event', 42],
  ['event', {}],
  ['event', ['a']],
  ['event', true],
  ['event', null],
  ['userId', {}],
  ['userId', ['x']],
  ['userId', true],
  ['anonymousId', { a: 1 }],
  ['properties', 'str'],
  ['properties', 42],
  ['properties', [1, 2]],
  ['properties', null],
  ['traits', 'vip'],
  ['traits', []],
  ['context', 'x'],
  ['context', 5],
  ['context', []],
  ['integrations', 'x'],
  ['timestamp', 1_700_000_000],
  ['timestamp', {}],
  ['sentAt', 1_700_000_000],
  ['type', 7],
  ['type', 'nonsense'],
  ['type', 'TRACK'],
  ['type', null],
  ['groupId', {}],
  ['previousId', []],
  ['name', 42],
  ['messageId', {}],
  ['messageId', true],
  ['messageId', 'number'],
];

const BAD_BYTES = [
  [0xff],
  [0xc3, 0x28],
  [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded as UTF-8 (CESU)
  [0xc0, 0xaf], // overlong "/"
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0xf0, 0x9f, 0x98], // a truncated emoji
  [0xfe, 0xfe, 0xff, 0xff],
];

/**
 * Whether a stored event of `type` shows the field at `path` in the events API (each type has its
 * own fields; others are not promised back where they were sent).
 */
function fits(type, path) {
  const own = {
    track: ['event', 'properties'],
    page: ['name', 'properties'],
    screen: ['name', 'properties'],
    identify: ['traits'],
    group: ['groupId', 'traits'],
    alias: ['previousId'],
  }[type];
  return ['userId', 'anonymousId', 'context'].includes(path[0]) || own.includes(path[0]);
}

const LONE = ['\ud800', '\udfff', 'x\ud83d', '\ude00y', '\ud800\ud800', 'ok\udbff'];

const TIMESTAMPS = [
  'yesterday',
  '2026-13-45T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '',
  ' ',
  '0',
  '1700000000',
  '2026-01-01T25:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00.000Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2026-01-01T00:00:00+14:00',
  '2026-01-01T00:00:00-12:00',
  '2026-01-01T00:00:00.123456789Z',
  '2016-12-31T23:59:60Z',
  '1969-12-31T23:59:59Z',
  '2026-01-01',
  '2026-01-01T00:00:00',
  '2026-W01-1',
  'Tue, 01 Jan 2026 00:00:00 GMT',
  '2026-01-01T00:00:00Z\u0000',
  '２０２６-01-01T00:00:00Z',
];

/** Each returns the label of what it did; `m` is mutated in place, `extra` collects encode options. */
const MESSAGE_MUTATIONS = {
  wrongType(r, m, item) {
    const [field, value] = r.pick(WRONG_TYPES);
    if (field === 'messageId' && value === 'number') {
      const n = 900_000_000 + item.seq;
      m.messageId = n;
      item.id = String(n);
      return 'messageId:number';
    }
    if (field === 'messageId') item.id = null;
    m[field] = value;
    return `${field}:${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}`;
  },
  missingField(r, m, _item, type, inBatch) {
    const options = ['ids', 'ids-empty'];
    if (type === 'track') options.push('event', 'event-empty');
    if (type === 'group') options.push('groupId');
    if (type === 'alias') options.push('previousId');
    if (inBatch) options.push('type');
    const which = r.pick(options);
    if (which === 'ids') {
      delete m.userId;
      delete m.anonymousId;
    } else if (which === 'ids-empty') {
      m.userId = '';
      m.anonymousId = '';
    } else if (which === 'event-empty') m.event = '';
    else delete m[which];
    return which;
  },
  hugeString(r, m, item) {
    const which = r.pick(['event', 'property', 'userId', 'key', 'messageId', 'multibyte', 'manyKeys']);
    if (which === 'event') m.event = 'E'.repeat(40_000);
    else if (which === 'property') m.properties = { ...(m.properties ?? {}), blob: 'x'.repeat(33_000) };
    else if (which === 'userId') m.userId = `${'u'.repeat(20_000)}-${item.seq}`;
    else if (which === 'key') m.properties = { ['k'.repeat(20_000)]: 1 };
    else if (which === 'messageId') {
      m.messageId = `${'m'.repeat(101 - String(item.seq).length - 1)}-${item.seq}`;
      item.id = m.messageId;
    } else if (which === 'multibyte') m.properties = { text: '€'.repeat(10_000 + r.int(2_000)) };
    else m.properties = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i]));
    return which;
  },
  deepNesting(r, m, _item, _type, inBatch, extra) {
    // A single call may also go as deep as 500 KB allows (arrays: 2 bytes a level).
    const depths = [65, 65, 100, 1000, 3000, 5000, ...(inBatch ? [] : [50_000, 200_000])];
    const depth = r.pick(depths);
    const kind = depth > 5000 ? 'array' : r.pick(['object', 'array']);
    const where = r.pick([
      'properties',
      'traits',
      'context',
      'integrations',
      'type',
      'userId',
      'event',
      'custom',
    ]);
    const field = where === 'custom' ? 'probeExtra' : where;
    // `depth` levels counted from the top-level field, as the limit is.
    m[field] = DEEP;
    extra.deep = deepText(depth, kind);
    return `${where}:${kind}:${depth}`;
  },
  invalidUtf8(r, m, item, type, _inBatch, extra) {
    const where = r.pick(['event', 'property', 'key', 'userId', 'email', 'context']);
    extra.bytes = Buffer.from(r.pick(BAD_BYTES));
    // What a UTF-8 decoder makes of the bytes (U+FFFD for each bad sequence): what must be stored.
    const d = extra.bytes.toString('utf8');
    const [path, sent, stored] = {
      event: [['event'], `Bad ${BYTES} Event`, `Bad ${d} Event`],
      property: [['properties', 'note'], `a${BYTES}b`, `a${d}b`],
      key: [['properties', `k${BYTES}`], 1, 1],
      userId: [['userId'], `fz-bad-${BYTES}`, `fz-bad-${d}`],
      email: [['traits', 'email'], `bad${BYTES}@probe.example`, `bad${d}@probe.example`],
      context: [['context', 'page', 'title'], `T${BYTES}`, `T${d}`],
    }[where];
    if (where === 'event' || where === 'property' || where === 'key') m.properties = {};
    setPath(m, path.join('.'), sent);
    const storedPath = where === 'key' ? ['properties', `k${d}`] : path;
    if (fits(type, storedPath)) item.expect = [[storedPath, stored]];
    return where;
  },
  loneSurrogate(r, m, item, type) {
    const s = r.pick(LONE);
    // Documented: unpaired surrogates are stored as U+FFFD.
    const w = s.toWellFormed();
    const where = r.pick(['event', 'property', 'key', 'userId', 'groupId', 'trait', 'anonymousId']);
    const [path, sent, stored, storedPath] = {
      event: [['event'], `Ev ${s}`, `Ev ${w}`],
      property: [['properties', 'v'], s, w],
      key: [['properties', s], 1, 1, ['properties', w]],
      trait: [['traits', 'name'], s, w],
      userId: [['userId'], `fz-${s}`, `fz-${w}`],
      groupId: [['groupId'], `fz-${s}`, `fz-${w}`],
      anonymousId: [['anonymousId'], `fz-${s}`, `fz-${w}`],
    }[where];
    if (path[0] === 'properties' || path[0] === 'traits') m[path[0]] = {};
    m[path[0]] = path.length === 1 ? sent : { ...m[path[0]], [path[1]]: sent };
    if (fits(type, storedPath ?? path)) item.expect = [[storedPath ?? path, stored]];
    return where;
  },
  protoKeys(r, m) {
    const which = r.pick([
      'top',
      'top-null',
      'properties',
      'context',
      'traits',
      'integrations',
      'constructor',
    ]);
    if (which === 'top') {
      delete m.event;
      m[PROTO] = { event: 'Injected Event', type: 'track', userId: 'proto-user' };
    } else if (which === 'top-null') m[PROTO] = null;
    else if (which === 'constructor') m.properties = { constructor: { prototype: { polluted: 'yes' } } };
    else m[which] = { [PROTO]: { polluted: 'yes', ip: '6.6.6.6', email: 'proto@evil.example', All: false } };
    return which;
  },
  badTimestamp(r, m) {
    const field = r.pick(['timestamp', 'timestamp', 'sentAt', 'originalTimestamp', 'both']);
    const v = r.pick(TIMESTAMPS);
    if (field === 'both') {
      m.timestamp = '0001-01-01T00:00:00Z';
      m.sentAt = r.pick(['9999-12-31T23:59:59Z', '+275760-09-13T00:00:00.000Z', '0001-01-01T00:00:00Z']);
      return `both:${m.sentAt}`;
    }
    m[field] = v;
    return `${field}:${v}`;
  },
};

/**
 * Documented as accepted and stored as sent (ids as strings): each sets its oddity on a track or
 * screen message and returns [path, value] pairs the stored event must show.
 */
const VALID_ODDITIES = {
  numberUserId: (m) => {
    m.userId = 12345;
    return [[['userId'], '12345']];
  },
  hugeNumberUserId: (m) => {
    m.userId = 1e21; // sent as 1e+21
    return [[['userId'], '1e+21']];
  },
  floatUserId: (m) => {
    m.userId = 1.5;
    return [[['userId'], '1.5']];
  },
  nul: (m) => {
    m.properties = { nul: 'a\u0000b' };
    return [[['properties', 'nul'], 'a\u0000b']];
  },
  emoji: (m) => {
    m.properties = { e: '👩‍👩‍👧‍👦🏳️‍🌈', rtl: 'שלום\u202eabc', ls: 'a\u2028b' };
    return [[['properties'], m.properties]];
  },
  escapeLookalike: (m) => {
    m.properties = { s: '\\ud800', t: '\\u0000' };
    return [[['properties'], m.properties]];
  },
  unknownTopLevel: (m) => {
    m.category = 'misc';
    m._metadata = { bundled: ['x'] };
    return [];
  },
  depth64: (m) => {
    // 1 (properties) + 62 nested objects + the leaf object: 64 levels, the limit itself.
    let v = { leaf: 1 };
    for (let i = 0; i < 62; i++) v = { a: v };
    m.properties = v;
    return [[['properties'], v]];
  },
};

// ---------------------------------------------------------------------------------------------
// The generator.

/**
 * Yields `count` cases from `seed`. `keys`: { write, revoked, admin }. Valid singles are kept in a
 * small pool so later cases can retry them exactly (a duplicate) or reuse their messageId with
 * another payload (a conflict); `contested` (a Set) receives the messageIds given to a conflict.
 */
export function* fuzzCases({ seed, count, keys, port, contested }) {
  const r = xorshift(seed);
  const pool = [];
  let seq = 0;
  const nextId = () => `fz-${seed}-${seq++}`;

  const single = (family, variant, type, m, extra = {}, item = null, opts = {}) => {
    // Given headers are sent as they are (a case about headers must not get a default added).
    const auth = opts.headers ? { headers: opts.headers } : authFor(r, keys.write);
    if (auth.bodyKey) m.writeKey = auth.bodyKey;
    const headers = opts.headers
      ? { ...opts.headers }
      : { 'content-type': 'application/json', ...auth.headers };
    return {
      family,
      variant,
      method: 'POST',
      path: opts.path ?? r.pick(PATHS[type]),
      headers,
      body: encode(m, extra),
      items: [item ?? { id: m.messageId, valid: true }],
      single: true,
      requestValid: opts.requestValid ?? true,
    };
  };

  const batchOf = (
    family,
    variant,
    messages,
    items,
    { envelope = {}, extra = {}, requestValid = true } = {},
  ) => {
    const auth = authFor(r, keys.write);
    const body = { batch: messages, ...envelope };
    if (auth.bodyKey) body.writeKey = auth.bodyKey;
    if (r.chance(0.3)) body.sentAt = iso(BASE_MS + 31 * 86_400_000);
    if (r.chance(0.2) && body.context === undefined) body.context = { library: { name: 'probe-batch' } };
    return {
      family,
      variant,
      method: 'POST',
      path: r.pick(BATCH_PATHS),
      headers: { 'content-type': 'application/json', ...auth.headers },
      body: encode(body, extra),
      items,
      single: false,
      requestValid,
    };
  };

  /** A message mutated by one of MESSAGE_MUTATIONS; item says where it would be stored. */
  const mutated = (inBatch, extra) => {
    const type = r.pick(TYPES);
    const id = nextId();
    const m = validMessage(r, type, id, inBatch);
    const item = { id, valid: false, seq };
    const name = r.pick(Object.keys(MESSAGE_MUTATIONS));
    const label = MESSAGE_MUTATIONS[name](r, m, item, type, inBatch, extra);
    return { type, m, item: { id: item.id, valid: false, expect: item.expect }, variant: `${name}:${label}` };
  };

  const FAMILIES = {
    valid: 38,
    batch: 17,
    message: 18,
    oddity: 3,
    encoding: 4,
    contentType: 3,
    emptyBody: 1,
    nonObject: 1,
    badJson: 2,
    oversize: 0.6,
    batchShape: 2,
    envelope: 3,
    badKey: 3,
    route: 2,
    raw: 3,
    retry: 2,
    conflict: 1,
    burst: 0.5,
  };

  const pending = [];
  for (let i = 0; i < count; i++) {
    const c = pending.shift() ?? makeCase(r.weighted(FAMILIES));
    c.index = i;
    yield c;
  }

  function makeCase(family) {
    switch (family) {
      case 'valid': {
        const type = r.pick(TYPES);
        const m = validMessage(r, type, nextId(), r.chance(0.5));
        const c = single('valid', type, type, m);
        pool.push(c);
        if (pool.length > 300) pool.shift();
        return c;
      }
      case 'batch': {
        const n = r.between(1, 30);
        const messages = [];
        const items = [];
        const extra = {};
        let bad = 0;
        for (let j = 0; j < n; j++) {
          // At most one deep or raw-byte item per batch: the placeholders are per body.
          if (r.chance(0.12) && Object.keys(extra).length === 0) {
            const x = mutated(true, extra);
            messages.push(x.m);
            items.push(x.item);
            bad++;
          } else {
            const type = r.pick(TYPES);
            const id = nextId();
            messages.push(validMessage(r, type, id, true));
            items.push({ id, valid: true });
          }
        }
        return batchOf('batch', bad > 0 ? 'mixed' : 'valid', messages, items, { extra });
      }
      case 'message': {
        const extra = {};
        const x = mutated(false, extra);
        // One family per mutation, so the report shows how each kind of damage is answered.
        const [mutation, ...rest] = x.variant.split(':');
        const c = single(`message/${mutation}`, rest.join(':'), x.type, x.m, extra, x.item, {
          requestValid: false,
        });
        c.detail = x.type;
        return c;
      }
      case 'oddity': {
        const type = r.pick(['track', 'screen']);
        const m = validMessage(r, type, nextId(), false);
        const name = r.pick(Object.keys(VALID_ODDITIES));
        const expect = VALID_ODDITIES[name](m);
        return single('oddity', name, type, m, {}, { id: m.messageId, valid: true, expect });
      }
      case 'burst': {
        // The same request five times at once (consecutive cases go to different workers): an SDK
        // retrying while the first attempt is still in flight. Stored once, every copy answered 200.
        const c = r.chance(0.5) ? makeCase('valid') : makeCase('batch');
        if (c.items.some((x) => !x.valid)) return c;
        for (let k = 0; k < 4; k++)
          pending.push({ ...c, family: 'burst', variant: `${c.single ? 'single' : 'batch'} copy` });
        return { ...c, family: 'burst', variant: `${c.single ? 'single' : 'batch'} first` };
      }
      case 'encoding':
        return encodingCase();
      case 'contentType':
        return contentTypeCase();
      case 'emptyBody':
        return rawBodyCase('emptyBody', r.pick([null, '', ' ', '\n\n', '\u0000']));
      case 'nonObject':
        return rawBodyCase('nonObject', r.pick(['null', '[]', '"x"', '42', 'true', '[{"type":"track"}]']));
      case 'badJson':
        return badJsonCase();
      case 'oversize':
        return oversizeCase();
      case 'batchShape':
        return batchShapeCase();
      case 'envelope':
        return envelopeCase();
      case 'badKey':
        return badKeyCase();
      case 'route':
        return routeCase();
      case 'raw':
        return rawCase();
      case 'retry': {
        const orig = pool.length > 0 ? r.pick(pool) : null;
        if (!orig) return makeCase('valid');
        // The same bytes again, as an SDK retry sends them: stored once, answered 200 (duplicate).
        return { ...orig, family: 'retry', variant: 'exact', retryOf: orig.index };
      }
      case 'conflict': {
        const orig = pool.length > 0 ? r.pick(pool) : null;
        if (!orig) return makeCase('valid');
        const m = JSON.parse(orig.body.toString());
        m.properties = { conflicting: true };
        delete m.writeKey;
        // Whichever of the two arrives first is stored; the other is refused (409): neither is judged.
        contested.add(m.messageId);
        const c = single(
          'conflict',
          'same-id-other-payload',
          'track',
          m,
          {},
          { id: m.messageId, valid: false },
        );
        c.path = orig.path;
        c.requestValid = false;
        return c;
      }
      default:
        throw new Error(`unknown family ${family}`);
    }
  }

  function encodingCase() {
    const m = validMessage(r, 'track', nextId(), false);
    const json = encode(m);
    const variant = r.pick([
      'gzip',
      'deflate',
      'br',
      'GZIP',
      'x-gzip',
      'identity',
      'gzip-truncated',
      'gzip-garbage',
      'gzip-plain-json',
      'gzip-empty',
      'deflate-with-gzip-bytes',
      'gzip-bomb',
      'compress',
      'zstd',
      'gzip, br',
    ]);
    const enc = {
      gzip: ['gzip', gzipSync(json), true],
      deflate: ['deflate', deflateSync(json), true],
      br: ['br', brotliCompressSync(json), true],
      GZIP: ['GZIP', gzipSync(json), true],
      'x-gzip': ['x-gzip', gzipSync(json), true],
      identity: ['identity', json, true],
      'gzip-truncated': ['gzip', gzipSync(json).subarray(0, 20), false],
      'gzip-garbage': ['gzip', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(64, 7)]), false],
      'gzip-plain-json': ['gzip', json, false],
      'gzip-empty': ['gzip', Buffer.alloc(0), false],
      'deflate-with-gzip-bytes': ['deflate', gzipSync(json), false],
      // 4 MB of JSON whitespace around a message: a few KB compressed, over the limit decompressed.
      'gzip-bomb': ['gzip', gzipSync(Buffer.concat([Buffer.alloc(4 << 20, 0x20), json])), false],
      compress: ['compress', json, false],
      zstd: ['zstd', json, false],
      'gzip, br': ['gzip, br', brotliCompressSync(gzipSync(json)), false],
    }[variant];
    const c = single('encoding', variant, 'track', m, {}, null, {
      path: '/v1/track',
      headers: { 'content-type': 'application/json', authorization: basic(keys.write) },
      requestValid: enc[2],
    });
    c.headers['content-encoding'] = enc[0];
    c.body = enc[1];
    c.items = [{ id: m.messageId, valid: enc[2] }];
    return c;
  }

  function contentTypeCase() {
    const m = validMessage(r, 'track', nextId(), false);
    const [ct, valid] = r.pick([
      ['text/plain', true],
      ['text/plain;charset=UTF-8', true],
      [undefined, true],
      ['application/x-www-form-urlencoded', true],
      ['application/octet-stream', true],
      ['application/json; charset=utf-8', true],
      ['', false],
      ['json', false],
      ['/', false],
      ['application/', false],
      ['multipart/form-data; boundary=x', null],
    ]);
    const headers = { authorization: basic(keys.write) };
    if (ct !== undefined) headers['content-type'] = ct;
    const c = single(
      'contentType',
      ct === undefined ? '(none)' : ct === '' ? '(empty)' : ct,
      'track',
      m,
      {},
      null,
      {
        path: '/v1/track',
        headers,
        requestValid: valid === true,
      },
    );
    c.items = [{ id: m.messageId, valid: valid === true }];
    return c;
  }

  /** A body that is not a message: nothing to store. */
  function rawBodyCase(family, text) {
    return {
      family,
      variant: text === null ? '(no body)' : JSON.stringify(text),
      method: 'POST',
      path: r.pick(['/v1/track', '/v1/batch', '/v1/identify']),
      headers: { 'content-type': 'application/json', authorization: basic(keys.write) },
      body: text === null ? undefined : Buffer.from(text),
      items: [],
      single: true,
      requestValid: false,
    };
  }

  function badJsonCase() {
    const m = validMessage(r, 'track', nextId(), false);
    const json = JSON.stringify(m);
    const variant = r.pick([
      'truncated',
      'trailing-garbage',
      'two-objects',
      'bom',
      'comment',
      'NaN',
      'single-quotes',
      'trailing-comma',
      'unterminated-string',
      'unclosed-arrays',
      'nul',
    ]);
    const text = {
      truncated: json.slice(0, 1 + r.int(json.length - 2)),
      'trailing-garbage': `${json}xyz`,
      'two-objects': `${json}${json}`,
      bom: `\ufeff${json}`,
      comment: `/* c */${json}`,
      NaN: json.replace(/"revenue":[\d.]+/, '"revenue":NaN'),
      'single-quotes': json.replaceAll('"', "'"),
      'trailing-comma': `${json.slice(0, -1)},}`,
      'unterminated-string': '{"userId":"abc',
      'unclosed-arrays': '['.repeat(10_000),
      nul: '\u0000',
    }[variant];
    return {
      family: 'badJson',
      variant,
      method: 'POST',
      path: '/v1/track',
      headers: { 'content-type': 'application/json', authorization: basic(keys.write) },
      body: Buffer.from(text),
      // A lenient parser might store it; it must not be stored twice, and it is not acknowledged.
      items: [{ id: m.messageId, valid: false }],
      single: true,
      requestValid: false,
    };
  }

  function oversizeCase() {
    const variant = r.pick(['600KB-batch', '2MB-single', '700KB-chunked', '6MB-batch']);
    const size = {
      '600KB-batch': 600_000,
      '2MB-single': 2_000_000,
      '700KB-chunked': 700_000,
      '6MB-batch': 6_000_000,
    }[variant];
    const items = [];
    const messages = [];
    const filler = 'f'.repeat(1000);
    const n = variant === '2MB-single' ? 1 : Math.ceil(size / 1100);
    for (let j = 0; j < n; j++) {
      const id = nextId();
      messages.push({ type: 'track', userId: 'big', event: 'Big', messageId: id, properties: { filler } });
      items.push({ id, valid: false });
    }
    const body =
      variant === '2MB-single'
        ? encode({ ...messages[0], properties: { filler: 'f'.repeat(size) } })
        : encode({ batch: messages });
    const c = {
      family: 'oversize',
      variant,
      method: 'POST',
      path: variant === '2MB-single' ? '/v1/track' : '/v1/batch',
      headers: { 'content-type': 'application/json', authorization: basic(keys.write) },
      body,
      items: variant === '2MB-single' ? items.slice(0, 1) : items,
      single: variant === '2MB-single',
      requestValid: false,
    };
    if (variant === '700KB-chunked') {
      c.chunks = Array.from({ length: Math.ceil(body.length / 65_536) }, (_, k) =>
        body.subarray(k * 65_536, (k + 1) * 65_536),
      );
    }
    return c;
  }

  function batchShapeCase() {
    const variant = r.pick([
      'batch-object',
      'batch-string',
      'batch-null',
      'batch-number',
      'batch-missing',
      'batch-empty',
      'items-not-objects',
      '2501-items',
      '2500-items',
      'same-id-twice',
      'same-id-different',
    ]);
    const tiny = () => {
      const id = nextId();
      return [{ type: 'track', userId: 'fz-tiny', event: 'Tiny', messageId: id }, id];
    };
    if (variant === '2500-items' || variant === '2501-items') {
      const n = variant === '2500-items' ? 2500 : 2501;
      const made = Array.from({ length: n }, tiny);
      const valid = n === 2500;
      return batchOf(
        'batchShape',
        variant,
        made.map(([m]) => m),
        made.map(([, id]) => ({ id, valid })),
        { requestValid: valid },
      );
    }
    if (variant === 'same-id-twice' || variant === 'same-id-different') {
      // One messageId twice in a batch: an exact repeat is a duplicate, another payload a conflict.
      const [m, id] = tiny();
      const other = variant === 'same-id-twice' ? { ...m } : { ...m, event: 'Tiny Other' };
      if (variant === 'same-id-different') contested.add(id);
      return batchOf(
        'batchShape',
        variant,
        [m, other],
        [
          { id, valid: true },
          { id, valid: variant === 'same-id-twice' },
        ],
      );
    }
    if (variant === 'items-not-objects') {
      const [m, id] = tiny();
      const messages = [null, 42, 'str', [], [[]], m, true];
      const items = messages.map((x) => (x === m ? { id, valid: true } : { id: null, valid: false }));
      return batchOf('batchShape', variant, messages, items);
    }
    const value = {
      'batch-object': {},
      'batch-string': 'x',
      'batch-null': null,
      'batch-number': 42,
      'batch-empty': [],
    }[variant];
    const body = variant === 'batch-missing' ? { messages: [] } : { batch: value };
    return {
      family: 'batchShape',
      variant,
      method: 'POST',
      path: r.pick(BATCH_PATHS),
      headers: { 'content-type': 'application/json', authorization: basic(keys.write) },
      body: encode(body),
      items: [],
      single: false,
      requestValid: variant === 'batch-empty',
    };
  }

  function envelopeCase() {
    const n = r.between(1, 5);
    const messages = [];
    const items = [];
    for (let j = 0; j < n; j++) {
      const type = r.pick(TYPES);
      const id = nextId();
      messages.push(validMessage(r, type, id, true));
      items.push({ id, valid: true });
    }
    const variant = r.pick([
      'context-deep',
      'integrations-deep',
      'context-string',
      'context-array',
      'proto-batch',
      'proto-context',
      'sentAt-bad',
      'sentAt-number',
      'writeKey-number',
      'envelope-type',
    ]);
    const extra = {};
    let envelope = {};
    let requestValid = false;
    if (variant === 'context-deep' || variant === 'integrations-deep') {
      const depth = r.pick([65, 1000, 5000, 50_000]);
      envelope = { [variant.split('-')[0]]: DEEP };
      extra.deep = deepText(depth, r.pick(['object', 'array']));
      return batchOf('envelope', `${variant}:${depth}`, messages, items, { envelope, extra, requestValid });
    }
    if (variant === 'context-string') envelope = { context: 'str' };
    else if (variant === 'context-array') envelope = { context: [] };
    else if (variant === 'proto-batch') {
      // The messages only under `__proto__`: there is no own `batch` field.
      const c = batchOf('envelope', variant, messages, items, { requestValid });
      const body = JSON.parse(c.body.toString());
      c.body = Buffer.from(
        JSON.stringify({ ...body, batch: undefined, [PROTO]: { batch: body.batch } }).replaceAll(
          `"${PROTO}"`,
          '"__proto__"',
        ),
      );
      c.items = items.map((x) => ({ ...x, valid: false }));
      return c;
    } else if (variant === 'proto-context') {
      envelope = { context: { [PROTO]: { ip: '6.6.6.6' }, app: { name: 'x' } } };
      requestValid = true;
    } else if (variant === 'sentAt-bad') envelope = { sentAt: 'not-a-date' };
    else if (variant === 'sentAt-number') envelope = { sentAt: 1_700_000_000 };
    else if (variant === 'writeKey-number') envelope = { writeKey: 42 };
    else envelope = { type: 'track', messageId: 'envelope-id' };
    return batchOf('envelope', variant, messages, items, { envelope, requestValid });
  }

  function badKeyCase() {
    const m = validMessage(r, 'track', nextId(), false);
    const variant = r.pick([
      'none',
      'wrong',
      'revoked',
      'admin-as-write',
      'basic-garbage',
      'basic-colon-only',
      'bearer-write',
      'two-x-write-keys',
      'body-key-number',
      'body-key-wrong',
      'x-write-key-empty',
    ]);
    const headers = { 'content-type': 'application/json' };
    const body = { ...m };
    if (variant === 'wrong') headers.authorization = basic('wk_not_a_real_key_0000');
    else if (variant === 'revoked') headers.authorization = basic(keys.revoked);
    else if (variant === 'admin-as-write') headers.authorization = basic(keys.admin);
    else if (variant === 'basic-garbage') headers.authorization = 'Basic !!!not-base64!!!';
    else if (variant === 'basic-colon-only') headers.authorization = basic('', true);
    else if (variant === 'bearer-write') headers.authorization = `Bearer ${keys.write}`;
    else if (variant === 'two-x-write-keys') headers['x-write-key'] = [keys.write, 'wk_other_key_00000'];
    else if (variant === 'body-key-number') body.writeKey = 42;
    else if (variant === 'body-key-wrong') body.writeKey = 'wk_wrong_in_body_000';
    else if (variant === 'x-write-key-empty') headers['x-write-key'] = '';
    return {
      family: 'badKey',
      variant,
      method: 'POST',
      path: '/v1/track',
      headers,
      body: encode(body),
      items: [{ id: m.messageId, valid: false }],
      single: true,
      requestValid: false,
    };
  }

  function routeCase() {
    const m = validMessage(r, 'track', nextId(), false);
    const [variant, method, path, valid] = r.pick([
      ['GET /v1/track', 'GET', '/v1/track', false],
      ['PUT /v1/batch', 'PUT', '/v1/batch', false],
      ['DELETE /v1/track', 'DELETE', '/v1/track', false],
      ['/v1/TRACK', 'POST', '/v1/TRACK', false],
      ['/v1/track/', 'POST', '/v1/track/', false],
      ['/v1/track?query', 'POST', '/v1/track?x=1&y', true],
      ['/v1//track', 'POST', '/v1//track', false],
      ['/v1/track%00', 'POST', '/v1/track%00', false],
      ['dot-dot', 'POST', '/v1/track/..%2f..%2fapi/keys', false],
      ['settings', 'GET', `/v1/projects/${keys.write}/settings`, null],
      ['settings-unknown', 'GET', '/v1/projects/nope/settings', null],
      ['settings-bad-escape', 'GET', '/v1/projects/%ff%fe/settings', null],
      ['settings-huge', 'GET', `/v1/projects/${'k'.repeat(5000)}/settings`, null],
      ['OPTIONS preflight', 'OPTIONS', '/v1/track', null],
      ['type-contradicts-path', 'POST', '/v1/identify', false],
    ]);
    const headers = { 'content-type': 'application/json', authorization: basic(keys.write) };
    if (method === 'OPTIONS') {
      headers.origin = 'https://probe.example';
      headers['access-control-request-method'] = 'POST';
    }
    const hasBody = method === 'POST' || method === 'PUT';
    const body = variant === 'type-contradicts-path' ? { ...m, type: 'track' } : m;
    return {
      family: 'route',
      variant,
      method,
      path,
      headers,
      body: hasBody ? encode(body) : undefined,
      items: hasBody ? [{ id: m.messageId, valid: valid === true }] : [],
      single: true,
      requestValid: valid === true,
    };
  }

  /** HTTP no client library would send: pipelining, smuggling shapes, bad framing. */
  function rawCase() {
    const auth = basic(keys.write);
    const msg = () => {
      const m = validMessage(r, 'track', nextId(), false);
      return [m.messageId, JSON.stringify(m)];
    };
    const req = (
      body,
      { close = true, extraHeaders = '', method = 'POST', target = '/v1/track', proto = 'HTTP/1.1' } = {},
    ) =>
      `${method} ${target} ${proto}\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${auth}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}` +
      `${close ? 'Connection: close\r\n' : ''}\r\n${body}`;
    const variant = r.pick([
      'pipelined',
      'cl-and-te',
      'bad-chunk-size',
      'chunked-valid',
      'huge-header',
      'nul-in-header',
      'http10-no-host',
      'absolute-uri',
      'lowercase-method',
      'expect-100',
      'two-content-lengths',
      'obs-fold',
      'tls-hello',
      'latin1-write-key',
      'utf8-header-value',
    ]);
    const [id1, b1] = msg();
    let raw;
    let items = [{ id: id1, valid: false }];
    let requestValid = false;
    if (variant === 'pipelined') {
      const [id2, b2] = msg();
      raw = req(b1, { close: false }) + req(b2);
      items = [
        { id: id1, valid: true },
        { id: id2, valid: true },
      ];
      requestValid = true;
    } else if (variant === 'cl-and-te') {
      raw =
        `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Length: 4\r\n` +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${Buffer.byteLength(b1).toString(16)}\r\n${b1}\r\n0\r\n\r\n`;
    } else if (variant === 'bad-chunk-size') {
      raw = `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n${b1}\r\n0\r\n\r\n`;
    } else if (variant === 'chunked-valid') {
      const half = Math.floor(b1.length / 2);
      const [p, q] = [b1.slice(0, half), b1.slice(half)];
      raw =
        `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\n` +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n${Buffer.byteLength(q).toString(16)}\r\n${q}\r\n0\r\n\r\n`;
      items = [{ id: id1, valid: true }];
      requestValid = true;
    } else if (variant === 'huge-header') raw = req(b1, { extraHeaders: `X-Big: ${'b'.repeat(20_000)}\r\n` });
    else if (variant === 'nul-in-header') raw = req(b1, { extraHeaders: 'X-Nul: a\u0000b\r\n' });
    else if (variant === 'http10-no-host') {
      raw =
        `POST /v1/track HTTP/1.0\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(b1)}\r\n\r\n${b1}`;
      items = [{ id: id1, valid: true }];
      requestValid = true;
    } else if (variant === 'absolute-uri') {
      raw = req(b1, { target: `http://127.0.0.1:${port}/v1/track` });
      items = [{ id: id1, valid: true }];
      requestValid = true;
    } else if (variant === 'lowercase-method') raw = req(b1, { method: 'post' });
    else if (variant === 'expect-100') {
      raw = req(b1, { extraHeaders: 'Expect: 100-continue\r\n' });
      items = [{ id: id1, valid: true }];
      requestValid = true;
    } else if (variant === 'two-content-lengths') raw = req(b1, { extraHeaders: 'Content-Length: 3\r\n' });
    else if (variant === 'obs-fold') raw = req(b1, { extraHeaders: 'X-Fold: a\r\n  folded\r\n' });
    else if (variant === 'latin1-write-key') {
      raw =
        `POST /v1/track HTTP/1.1\r\nHost: x\r\nX-Write-Key: wk\u00ff\u00fe\u0080key\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(b1)}\r\nConnection: close\r\n\r\n${b1}`;
    } else if (variant === 'utf8-header-value')
      raw = req(b1, { extraHeaders: 'X-Note: caf\u00c3\u00a9\r\n' });
    else
      raw = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]).toString(
        'latin1',
      );
    return {
      family: 'raw',
      variant,
      method: 'RAW',
      path: '(raw socket)',
      headers: {},
      raw: Buffer.from(raw, 'latin1'),
      items,
      single: true,
      requestValid,
    };
  }
}
