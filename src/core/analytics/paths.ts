import { z } from 'zod';
import { type Condition, compileCondition, conditionSchema, RuleError } from '../journey/conditions.js';
import { err, ok, type Result } from '../result.js';
import { parseTimestamp } from '../spec/timestamp.js';

/**
 * Journey maps (POST /api/analytics/paths): the query, its validation and the response shape
 * (the dashboard imports the types). Semantics follow PostHog's paths (peer-semantics.md §b),
 * counted in unique persons by default.
 */

export const PATH_ITEMS = ['event', 'page', 'stage', 'channel'] as const;
export type PathItemKind = (typeof PATH_ITEMS)[number];
/** `persons` (default): each person's first path; `paths`/`sessions`: every path (PostHog's count). */
export const PATH_COUNTS = ['persons', 'sessions', 'paths'] as const;
export type PathCount = (typeof PATH_COUNTS)[number];

/** Items that are not items of a journey: the long tail, the middle of a long anchored path. */
export const OTHER_ITEM = '(other)';
export const ELLIPSIS_ITEM = '...';
export const DROP_OFF_ITEM = '(drop-off)';
/** A gap this long (or longer) between two events starts a new path (event and page items). */
export const SESSION_GAP_MS = 1_800_000;

const text = (what: string, max: number) =>
  z
    .string({ error: `${what} (a string)` })
    .min(1, `${what}: not empty`)
    .max(max, `${what}: at most ${max} characters`);
const time = z.string({ error: 'an ISO-8601 date-time (string)' }).transform((v, ctx) => {
  const t = parseTimestamp(v);
  if (t.ok) return t.value;
  ctx.addIssue({ code: 'custom', message: t.error, input: v });
  return z.NEVER;
});

export const pathQuerySchema = z
  .object({
    item: z.enum(PATH_ITEMS, { error: `one of ${PATH_ITEMS.join(', ')}` }).default('event'),
    count: z.enum(PATH_COUNTS, { error: `one of ${PATH_COUNTS.join(', ')}` }).default('persons'),
    from: time.optional(),
    to: time.optional(),
    aggregateBy: z.enum(['person', 'account'], { error: 'person or account' }).default('person'),
    includeBots: z.boolean({ error: 'true or false' }).default(false),
    startPoint: text('an item', 2000).optional(),
    endPoint: text('an item', 2000).optional(),
    stepLimit: z
      .number({ error: 'a whole number from 2 to 20' })
      .int('a whole number from 2 to 20')
      .min(2, 'at least 2')
      .max(20, 'at most 20')
      .default(5),
    pathGroupings: z.array(text('a pattern', 500)).max(50, 'at most 50 patterns').default([]),
    excludeItems: z.array(text('an item', 2000)).max(200, 'at most 200 items').default([]),
    edgeLimit: z
      .number({ error: 'a whole number from 1 to 1000' })
      .int('a whole number from 1 to 1000')
      .min(1, 'at least 1')
      .max(1000, 'at most 1000')
      .default(50),
    minEdgeWeight: z
      .number({ error: 'a whole number' })
      .int('a whole number')
      .min(1, 'at least 1')
      .optional(),
    /** Persons (or accounts) left out, by their current traits (e.g. test accounts). */
    excludePersons: conditionSchema.optional(),
  })
  .strict();

export type PathQuery = z.output<typeof pathQuerySchema>;

/** Where a node sits: position (1-based) and item; its key is `"{position}_{item}"`. */
export interface NodeRef {
  position: number;
  item: string;
}

export const nodeKey = (n: NodeRef): string => `${n.position}_${n.item}`;

/** `"2_/pricing"` → position 2, item `/pricing`. */
export function parseNodeKey(key: string): NodeRef | null {
  const m = /^([0-9]{1,3})_([\s\S]+)$/.exec(key);
  if (!m) return null;
  const position = Number(m[1]);
  return position >= 1 ? { position, item: m[2]! } : null;
}

/** Whose people a `/paths/people` query asks for. */
export type PathSelection =
  | { node: NodeRef }
  | { edge: { source: NodeRef; target: NodeRef } }
  | { dropOff: NodeRef };

const nodeKeySchema = z
  .string({ error: 'a node key ("{position}_{item}", e.g. "2_/pricing")' })
  .transform((v, ctx) => {
    const n = parseNodeKey(v);
    if (n) return n;
    ctx.addIssue({
      code: 'custom',
      message: `"${v.slice(0, 80)}" is not a node key ("{position}_{item}", e.g. "2_/pricing")`,
    });
    return z.NEVER;
  });

const PEOPLE_KEYS = ['node', 'edge', 'dropOff', 'limit', 'cursor'] as const;

export const pathPeopleSchema = z
  .object({
    node: nodeKeySchema.optional(),
    edge: z.object({ source: nodeKeySchema, target: nodeKeySchema }).strict().optional(),
    dropOff: nodeKeySchema.optional(),
    limit: z
      .number({ error: 'a whole number from 1 to 1000' })
      .int('a whole number from 1 to 1000')
      .min(1, 'at least 1')
      .max(1000, 'at most 1000')
      .default(100),
    cursor: z.string({ error: 'the nextCursor of the previous page' }).max(200).optional(),
  })
  .strict();

export interface PathPeopleQuery {
  query: PathQuery;
  selection: PathSelection;
  limit: number;
  /** The subject key the previous page ended at. */
  after?: number;
}

/** A query problem: where (`excludePersons.all[0].field`) and what. */
export interface QueryProblem {
  path: string;
  message: string;
}

const pathOf = (path: readonly PropertyKey[]) =>
  path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );

function firstIssue(e: z.ZodError): QueryProblem {
  const i = e.issues[0]!;
  const path = pathOf(i.path);
  // An unknown key: name it (zod puts it in `keys`, not the path).
  if (i.code === 'unrecognized_keys') {
    const key = i.keys[0] ?? '';
    return { path: path ? `${path}.${key}` : key, message: `unknown field "${key}"` };
  }
  return { path: path || '(root)', message: i.message };
}

/** Only traits are known for every person of a path: `excludePersons` reads `traits.*` only. */
function traitFieldsOnly(c: Condition, at: string): QueryProblem | null {
  if ('else' in c) return null;
  if ('all' in c || 'any' in c) {
    const list = 'all' in c ? c.all : c.any;
    const key = 'all' in c ? 'all' : 'any';
    for (const [i, p] of list.entries()) {
      const bad = traitFieldsOnly(p, `${at}.${key}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  if ('not' in c) return traitFieldsOnly(c.not, `${at}.not`);
  if (c.field.startsWith('traits.') && c.field.length > 'traits.'.length) return null;
  return {
    path: `${at}.field`,
    message: `excludePersons reads current traits only: a traits.<name> field, not "${c.field}"`,
  };
}

function checkQuery(q: PathQuery): QueryProblem | null {
  if (q.from !== undefined && q.to !== undefined && q.from >= q.to)
    return { path: 'from', message: 'from must be before to' };
  if (q.excludePersons) {
    const bad = traitFieldsOnly(q.excludePersons, 'excludePersons');
    if (bad) return bad;
    try {
      compileCondition(q.excludePersons, 'excludePersons');
    } catch (e) {
      if (e instanceof RuleError) {
        const [path, ...rest] = e.message.split(': ');
        return { path: path ?? 'excludePersons', message: rest.join(': ') || e.message };
      }
      throw e;
    }
  }
  return null;
}

/** A trailing `/` of an anchor is left out before matching (as page items are). */
const trimSlash = (v: string | undefined) => (v === undefined ? undefined : v.replace(/(.)\/$/, '$1'));

/** Validates a journey map query (defaults filled in), or says where it is wrong. */
export function parsePathQuery(body: unknown): Result<PathQuery, QueryProblem> {
  const parsed = pathQuerySchema.safeParse(body ?? {});
  if (!parsed.success) return err(firstIssue(parsed.error));
  const bad = checkQuery(parsed.data);
  if (bad) return err(bad);
  const q = parsed.data;
  const startPoint = trimSlash(q.startPoint);
  const endPoint = trimSlash(q.endPoint);
  return ok({ ...q, ...(startPoint ? { startPoint } : {}), ...(endPoint ? { endPoint } : {}) });
}

/** Validates a `/paths/people` query: the map's query plus exactly one of node, edge, dropOff. */
export function parsePathPeopleQuery(body: unknown): Result<PathPeopleQuery, QueryProblem> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return err({
      path: '(root)',
      message: 'a JSON object: the journey map query plus node, edge or dropOff',
    });
  const raw = body as Record<string, unknown>;
  const query = parsePathQuery(
    Object.fromEntries(Object.entries(raw).filter(([k]) => !(PEOPLE_KEYS as readonly string[]).includes(k))),
  );
  if (!query.ok) return query;
  const parsed = pathPeopleSchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([k]) => (PEOPLE_KEYS as readonly string[]).includes(k))),
  );
  if (!parsed.success) return err(firstIssue(parsed.error));
  const { node, edge, dropOff, limit, cursor } = parsed.data;
  const chosen = [node, edge, dropOff].filter((x) => x !== undefined).length;
  if (chosen !== 1) return err({ path: 'node', message: 'name exactly one of node, edge or dropOff' });
  if (edge && edge.target.position !== edge.source.position + 1)
    return err({ path: 'edge.target', message: "an edge's target is at the position after its source" });
  let after: number | undefined;
  if (cursor !== undefined) {
    after = Number(cursor);
    if (!/^-?[0-9]{1,15}$/.test(cursor) || !Number.isSafeInteger(after))
      return err({ path: 'cursor', message: 'not a cursor this list gave' });
  }
  const selection: PathSelection = node ? { node } : edge ? { edge } : { dropOff: dropOff! };
  return ok({ query: query.value, selection, limit, ...(after !== undefined ? { after } : {}) });
}

// ---------------------------------------------------------------------------------------------
// Response

export interface PathNode {
  key: string;
  position: number;
  item: string;
  /** `other`: the long tail beyond the edge limit; `ellipsis`: the middle of a long anchored path. */
  kind: 'item' | 'other' | 'ellipsis' | 'dropOff';
  /** Persons (or paths, under `count: "paths"`) at this node. */
  count: number;
  /** Of those, how many end here (their path goes no further; 0 for drop-off nodes). */
  dropOff: number;
}

export interface PathEdge {
  source: string;
  target: string;
  value: number;
  /** Mean time from the source item to the target item, ms (null for drop-off edges). */
  averageConversionTimeMs: number | null;
}

export interface PathsResult {
  nodes: PathNode[];
  /** Item to item, ordered by value (descending), then source, then target. */
  edges: PathEdge[];
  /** Node → the drop-off node of the next position: those whose path ended at the node. */
  dropOffs: PathEdge[];
  /** Persons (or paths) counted: the position-1 total. */
  total: number;
}

export interface PathsResponse extends PathsResult {
  query: Omit<PathQuery, 'from' | 'to'> & { from?: string; to?: string };
  /** How current the journey tables were (see analytics-ports.ts TablesFreshness). */
  freshness: { current: boolean; builtSeq: number; readyTo: number };
}

/** As the funnel's people list them (funnel-service.ts FunnelActor). */
export interface PathActor {
  /** A person id (`p_…`), or an account's group id. */
  id: string;
  kind: 'person' | 'account';
  identifiers?: { type: string; value: string }[];
  /** Where the actor's journey is: a person or account API path. */
  journey: string;
}

export interface PathPeoplePage {
  actors: PathActor[];
  total: number;
  nextCursor: string | null;
}

// ---------------------------------------------------------------------------------------------
// Assembly

/** A row of `pathMapSql`: a node (`n`) or an edge (`e`, from `prevItem` at position − 1). */
export interface PathMapRow {
  kind: 'n' | 'e';
  position: number;
  prevItem: string | null;
  item: string;
  value: number;
  dropped: number;
  avgMs: number | null;
}

/** Byte order of UTF-8 (what PostHog's sort uses), not UTF-16's. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const kindOf = (item: string): PathNode['kind'] =>
  item === OTHER_ITEM ? 'other' : item === ELLIPSIS_ITEM ? 'ellipsis' : 'item';

/**
 * Nodes and edges from the SQL's rows: edges under `minEdgeWeight` left out, then (as PostHog
 * validates) only edges reachable from a position-1 node kept; drop-off nodes added.
 */
export function assemblePathMap(rows: readonly PathMapRow[], q: PathQuery): PathsResult {
  const nodes = new Map<string, PathNode>();
  for (const r of rows)
    if (r.kind === 'n') {
      const key = nodeKey(r);
      nodes.set(key, {
        key,
        position: r.position,
        item: r.item,
        kind: kindOf(r.item),
        count: r.value,
        dropOff: r.dropped,
      });
    }
  const candidates = rows
    .filter((r) => r.kind === 'e' && r.value >= (q.minEdgeWeight ?? 0))
    .map((r) => ({
      position: r.position,
      edge: {
        source: nodeKey({ position: r.position - 1, item: r.prevItem ?? '' }),
        target: nodeKey(r),
        value: r.value,
        averageConversionTimeMs: r.avgMs,
      },
    }))
    .sort((a, b) => a.position - b.position);
  const reached = new Set([...nodes.values()].filter((n) => n.position === 1).map((n) => n.key));
  const edges: PathEdge[] = [];
  for (const c of candidates)
    if (reached.has(c.edge.source)) {
      edges.push(c.edge);
      reached.add(c.edge.target);
    }
  edges.sort((a, b) => b.value - a.value || byBytes(a.source, b.source) || byBytes(a.target, b.target));
  const shown = [...reached].map((k) => nodes.get(k)).filter((n): n is PathNode => n !== undefined);
  shown.sort((a, b) => a.position - b.position || b.count - a.count || byBytes(a.key, b.key));
  const dropOffs: PathEdge[] = [];
  const dropNodes = new Map<number, PathNode>();
  for (const n of shown) {
    if (n.dropOff === 0) continue;
    const position = n.position + 1;
    const target = nodeKey({ position, item: DROP_OFF_ITEM });
    dropOffs.push({ source: n.key, target, value: n.dropOff, averageConversionTimeMs: null });
    const d = dropNodes.get(position) ?? {
      key: target,
      position,
      item: DROP_OFF_ITEM,
      kind: 'dropOff',
      count: 0,
      dropOff: 0,
    };
    d.count += n.dropOff;
    dropNodes.set(position, d);
  }
  dropOffs.sort((a, b) => b.value - a.value || byBytes(a.source, b.source));
  const total = shown.filter((n) => n.position === 1).reduce((s, n) => s + n.count, 0);
  return { nodes: [...shown, ...dropNodes.values()], edges, dropOffs, total };
}
