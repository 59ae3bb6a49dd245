import type { FastifyInstance, FastifyReply } from 'fastify';
import { err, ok, type Result } from '../../core/result.js';
import { toSegmentShape } from '../../core/spec/segment-shape.js';
import { parseTimestamp } from '../../core/spec/timestamp.js';
import type { PersonAdminService } from '../../services/person-admin-service.js';
import {
  type ListOptions,
  NO_STAGE,
  type PersonRef,
  type PersonService,
  parseChannelFilter,
  parseStageFilter,
} from '../../services/person-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

const refParam = {
  type: 'object',
  required: ['ref'],
  properties: {
    ref: {
      type: 'string',
      description:
        'a person id (p_…) or an identifier as type:value, e.g. email:jane@example.com (URL-encoded)',
    },
  },
} as const;

export const timelineQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cursor: { type: 'string', description: 'nextCursor from the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'asc', description: 'asc: first touch first' },
  },
} as const;

const reasonBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 1000 } },
} as const;

/** A parameter that may be repeated (`stage=a&stage=b`) or comma-separated (`stage=a,b`). */
const repeatable = (description: string) =>
  ({
    anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 100 }],
    description,
  }) as const;

/** The query string of a person or account list: filters, sort and page. */
export function listQuery(defaultLimit: number, queryHelp: string, subject: 'person' | 'account') {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      query: { type: 'string', minLength: 1, description: queryHelp },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: defaultLimit },
      cursor: { type: 'string', description: 'nextCursor from the previous page (same sort and order)' },
      sort: {
        type: 'string',
        enum: ['lastSeen', 'firstSeen'],
        default: 'lastSeen',
        description: 'by last or first activity',
      },
      order: { type: 'string', enum: ['desc', 'asc'], default: 'desc', description: 'desc: newest first' },
      seenFrom: { type: 'string', description: 'last activity at or after this ISO-8601 time' },
      seenTo: { type: 'string', description: 'last activity before this ISO-8601 time' },
      stage: repeatable(
        `the ${subject}'s current lifecycle stage (its last stage entered) is one of these stage ids; ${NO_STAGE} for no stage. Repeat or separate by commas: any of them`,
      ),
      channel: repeatable(
        `${subject === 'person' ? 'the person has' : 'a member person has'} a journey touchpoint of one of these channels (names, case-insensitive; in the touched range when given). Repeat or separate by commas: any of them`,
      ),
      touchedFrom: {
        type: 'string',
        description:
          'that touchpoint (of any channel when no channel is given) at or after this ISO-8601 time',
      },
      touchedTo: { type: 'string', description: 'that touchpoint before this ISO-8601 time' },
    },
    patternProperties: {
      '^trait\\..+$': {
        type: 'string',
        description:
          'trait.<name>=<value>: the current trait equals the value (as a string, or as JSON: 5, true)',
      },
    },
  } as const;
}

export type ListQuerystring = {
  query?: string;
  limit: number;
  cursor?: string;
  sort: 'lastSeen' | 'firstSeen';
  order: 'desc' | 'asc';
  seenFrom?: string;
  seenTo?: string;
  stage?: string | string[];
  channel?: string | string[];
  touchedFrom?: string;
  touchedTo?: string;
} & Record<string, unknown>;

const listOf = (v: string | string[] | undefined) => (v === undefined ? undefined : [v].flat());

/** A list's query string as the service takes it; an error names the bad field. */
export function listOptionsOf(q: ListQuerystring): Result<ListOptions, { field: string; message: string }> {
  const time = (field: 'seenFrom' | 'seenTo' | 'touchedFrom' | 'touchedTo') => {
    const raw = q[field];
    if (raw === undefined) return ok(undefined);
    const t = parseTimestamp(raw);
    return t.ok ? ok(t.value) : err({ field, message: `${field}: ${t.error}` });
  };
  const from = time('seenFrom');
  if (!from.ok) return from;
  const to = time('seenTo');
  if (!to.ok) return to;
  const touchedFrom = time('touchedFrom');
  if (!touchedFrom.ok) return touchedFrom;
  const touchedTo = time('touchedTo');
  if (!touchedTo.ok) return touchedTo;
  const stageValues = listOf(q.stage);
  const stages = stageValues === undefined ? ok(undefined) : parseStageFilter(stageValues);
  if (!stages.ok) return err({ field: 'stage', message: stages.error });
  const channelValues = listOf(q.channel);
  const channels = channelValues === undefined ? ok(undefined) : parseChannelFilter(channelValues);
  if (!channels.ok) return err({ field: 'channel', message: channels.error });
  const traits = Object.entries(q)
    .filter(([k]) => k.startsWith('trait.'))
    .map(([k, v]) => ({ key: k.slice('trait.'.length), value: String(v) }));
  return ok({
    traits,
    sort: q.sort,
    order: q.order,
    limit: q.limit,
    ...(q.query !== undefined ? { query: q.query } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    ...(from.value !== undefined ? { seenFrom: from.value } : {}),
    ...(to.value !== undefined ? { seenTo: to.value } : {}),
    ...(stages.value !== undefined ? { stages: stages.value } : {}),
    ...(channels.value !== undefined ? { channels: channels.value } : {}),
    ...(touchedFrom.value !== undefined ? { touchedFrom: touchedFrom.value } : {}),
    ...(touchedTo.value !== undefined ? { touchedTo: touchedTo.value } : {}),
  });
}

interface Deps {
  persons: PersonService;
  admin: PersonAdminService;
}

type RefRequest = { Params: { ref: string } };

/** People: lookup, search, identity explanation, timelines, splits and merges, deletion, export. */
export async function personsRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  const lookup = async (ws: string, ref: string, reply: FastifyReply): Promise<PersonRef | undefined> => {
    const p = await deps.persons.resolve(ws, ref);
    if (p.ok) return p.value;
    sendError(reply, 'not_found', p.error, { ref });
    return undefined;
  };
  const tags = ['Persons'];
  const security = [{ adminKey: [] }];

  app.get<{ Querystring: ListQuerystring }>(
    '/api/persons',
    {
      schema: {
        tags,
        security,
        summary:
          'Persons: everyone or those matching filters (identifier or trait text, trait values, last activity, current stage, channels touched), by last or first activity, paginated',
        querystring: listQuery(
          20,
          'text in an identifier (type:value, or any part of a value) or a current trait',
          'person',
        ),
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const o = listOptionsOf(request.query);
      if (!o.ok) return sendError(reply, 'invalid_query', o.error.message, { field: o.error.field });
      const page = await deps.persons.list(request.workspaceId!, o.value);
      if (!page.ok) return sendError(reply, 'invalid_query', page.error, { field: 'cursor' });
      return { persons: page.value.items, total: page.value.total, nextCursor: page.value.nextCursor };
    },
  );

  app.get<RefRequest>(
    '/api/persons/:ref',
    {
      schema: {
        tags,
        security,
        summary: 'A person profile',
        params: refParam,
        response: errorResponses(401, 404),
      },
    },
    async (request, reply) => {
      const p = await lookup(request.workspaceId!, request.params.ref, reply);
      if (p) return deps.persons.profile(request.workspaceId!, p);
    },
  );

  app.get<RefRequest>(
    '/api/persons/:ref/identity',
    {
      schema: {
        tags,
        security,
        summary:
          "Why each identifier belongs: identifiers, links with their evidence, rules' drops, operations",
        params: refParam,
        response: errorResponses(401, 404),
      },
    },
    async (request, reply) => {
      const p = await lookup(request.workspaceId!, request.params.ref, reply);
      if (p) return deps.persons.explain(p);
    },
  );

  app.get<RefRequest & { Querystring: { cursor?: string; limit: number; order: 'asc' | 'desc' } }>(
    '/api/persons/:ref/timeline',
    {
      schema: {
        tags,
        security,
        summary: 'Every event of every identifier of the person, by event time, cursor-paginated',
        params: refParam,
        querystring: timelineQuery,
        response: errorResponses(400, 401, 404),
      },
    },
    async (request, reply) => {
      const p = await lookup(request.workspaceId!, request.params.ref, reply);
      if (!p) return;
      const page = await deps.persons.timeline(p.members, request.query);
      if (!page.ok) return sendError(reply, 'invalid_query', page.error, { field: 'cursor' });
      return {
        person: p.personId,
        events: page.value.events.map(toSegmentShape),
        nextCursor: page.value.nextCursor,
      };
    },
  );

  app.get<RefRequest>(
    '/api/persons/:ref/export',
    {
      schema: {
        tags,
        security,
        summary: 'Everything held about the person (data-subject access request)',
        params: refParam,
        response: errorResponses(401, 404),
      },
    },
    async (request, reply) => {
      const p = await lookup(request.workspaceId!, request.params.ref, reply);
      if (!p) return;
      const x = await deps.admin.export(request.workspaceId!, p);
      return { ...x, events: x.events.map(toSegmentShape) };
    },
  );

  app.delete<RefRequest & { Querystring: { suppress: boolean } }>(
    '/api/persons/:ref',
    {
      schema: {
        tags,
        security,
        summary: "Delete the person's events, identifiers, links and quarantined payloads; returns a receipt",
        params: refParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            suppress: {
              type: 'boolean',
              default: false,
              description: 'also drop future messages carrying any of the identifiers',
            },
          },
        },
        response: errorResponses(400, 401, 404),
      },
    },
    async (request, reply) => {
      const p = await lookup(request.workspaceId!, request.params.ref, reply);
      if (p) return deps.admin.delete(request.workspaceId!, p, request.query.suppress);
    },
  );

  app.delete<{ Params: { ref: string; identifier: string }; Body: { reason?: string } | undefined }>(
    '/api/persons/:ref/identifiers/:identifier',
    {
      schema: {
        tags,
        security,
        summary: 'Split: take an identifier out of the person; past events follow it',
        params: {
          type: 'object',
          required: ['ref', 'identifier'],
          properties: {
            ref: refParam.properties.ref,
            identifier: { type: 'string', description: 'type:value' },
          },
        },
        response: errorResponses(400, 401, 404, 409),
      },
    },
    async (request, reply) => {
      const ws = request.workspaceId!;
      const p = await lookup(ws, request.params.ref, reply);
      if (!p) return;
      const r = await deps.admin.removeIdentifier(
        ws,
        p,
        request.params.identifier,
        request.body?.reason ?? null,
      );
      if (!r.ok) return sendError(reply, 'invalid_operation', r.error);
      return { operation: r.value, person: deps.persons.explain(relookup(deps, ws, p.anchor)) };
    },
  );

  app.post<RefRequest & { Body: { with: string; reason?: string } }>(
    '/api/persons/:ref/merge',
    {
      schema: {
        tags,
        security,
        summary: 'Merge another person into this one, past any limit; recorded as evidence, undoable',
        params: refParam,
        body: {
          type: 'object',
          required: ['with'],
          additionalProperties: false,
          properties: { with: refParam.properties.ref, reason: reasonBody.properties.reason },
        },
        response: errorResponses(400, 401, 404, 409),
      },
    },
    async (request, reply) => {
      const ws = request.workspaceId!;
      const a = await lookup(ws, request.params.ref, reply);
      if (!a) return;
      const b = await lookup(ws, request.body.with, reply);
      if (!b) return;
      const r = await deps.admin.merge(ws, a, b, request.body.reason ?? null);
      if (!r.ok) return sendError(reply, 'invalid_operation', r.error);
      return { operation: r.value, person: deps.persons.explain(relookup(deps, ws, a.anchor)) };
    },
  );

  for (const trusted of [false, true]) {
    app.post<{ Params: { identifier: string }; Body: { reason?: string } | undefined }>(
      `/api/identifiers/:identifier/${trusted ? 'trust' : 'untrust'}`,
      {
        schema: {
          tags,
          security,
          summary: trusted
            ? 'Let an untrusted identifier link people again'
            : 'Mark an identifier shared/untrusted (a family tablet): it stops merging people',
          params: {
            type: 'object',
            required: ['identifier'],
            properties: { identifier: { type: 'string', description: 'type:value' } },
          },
          response: errorResponses(400, 401, 404, 409),
        },
      },
      async (request, reply) => {
        const ws = request.workspaceId!;
        const id = deps.persons.identifierId(ws, request.params.identifier);
        if (!id.ok) return sendError(reply, 'not_found', id.error);
        const r = await deps.admin.setTrusted(
          ws,
          request.params.identifier,
          trusted,
          request.body?.reason ?? null,
        );
        if (!r.ok) return sendError(reply, 'invalid_operation', r.error);
        return { operation: r.value, person: deps.persons.explain(relookup(deps, ws, id.value)) };
      },
    );
  }

  app.get(
    '/api/identity/operations',
    { schema: { tags, security, summary: 'Operations made on the identity graph, oldest first' } },
    async (request) => ({ operations: deps.admin.operations(request.workspaceId!) }),
  );

  app.post<{ Params: { id: number }; Body: { reason?: string } | undefined }>(
    '/api/identity/operations/:id/undo',
    {
      schema: {
        tags,
        security,
        summary: 'Undo a split, merge or (un)trust; persons are recomputed',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } },
        response: errorResponses(400, 401, 404, 409),
      },
    },
    async (request, reply) => {
      const r = await deps.admin.undo(request.workspaceId!, request.params.id, request.body?.reason ?? null);
      if (!r.ok)
        return sendError(
          reply,
          r.error.startsWith('no operation') ? 'not_found' : 'invalid_operation',
          r.error,
        );
      return { operation: r.value };
    },
  );
}

function relookup(deps: Deps, ws: string, identifier: number): PersonRef {
  const v = deps.persons.view(identifier);
  const p = deps.persons.resolveIdentifier(ws, `${v.type}:${v.value}`);
  if (!p.ok) throw new Error(`identifier ${identifier} vanished during an operation`);
  return p.value;
}
