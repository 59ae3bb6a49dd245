import { z } from 'zod';
import { parseQuery, type QueryProblem, rangeOf, type TimeRange } from '../core/analytics/analytics-query.js';
import { type FunnelQuery, parseFunnelQuery } from '../core/analytics/funnel-query.js';
import {
  type ActorOutcome,
  type CandidateRow,
  type FunnelResult,
  funnelResult,
  type OnlyStep0,
  outcomeOf,
} from '../core/analytics/funnel-result.js';
import { type FunnelSql, funnelNameTests, funnelSql } from '../core/analytics/funnel-sql.js';
import { err, ok, type Result } from '../core/result.js';
import type { AnalyticsTables, TablesFreshness } from './analytics-ports.js';
import { type AnalyticsReader, readNameCodes } from './analytics-reader.js';
import type { Clock } from './ports.js';

/**
 * Funnels: SQL picks each actor's candidate events (core/analytics/funnel-sql.ts), the peer's
 * algorithm folds them per actor (funnel-fold.ts), and the outcomes add up to counts, rates,
 * times and breakdown rows (funnel-result.ts). The people at a step come from the same outcomes,
 * so a list and the count that opens it always agree.
 */

export interface Candidates {
  /** In actor, time order. */
  rows: CandidateRow[];
  /** Actors SQL counted itself: they only did step 0. */
  onlyStep0: OnlyStep0;
}

/** (As an AnalyticsReader it answers the name codes' lookup.) */
export interface FunnelStore extends AnalyticsReader {
  candidates(q: FunnelSql): Promise<Candidates>;
  /** Group ids of account keys. */
  accountIds(workspaceId: string, keys: readonly number[]): Promise<Map<number, string>>;
}

export interface PersonRefs {
  refOfKey(key: number): { id: string; identifiers: { type: string; value: string }[] } | null;
}

export interface FunnelResponse extends FunnelResult {
  range: { from: string; to: string };
  freshness: TablesFreshness;
}

export interface FunnelActor {
  /** Person id, account (group) id, or `<person id>/session/<n>`. */
  id: string;
  kind: 'person' | 'account' | 'session';
  identifiers?: { type: string; value: string }[];
  /** The furthest step reached (0-based). */
  reached: number;
  /** Where the actor's journey is: a person or account page. */
  journey: string;
}

export interface FunnelPeople {
  actors: FunnelActor[];
  total: number;
  nextCursor: string | null;
}

const peopleSchema = z.object({
  step: z.number().int().min(0),
  dropped: z.boolean().default(false),
  breakdownValue: z.string().optional(),
  limit: z.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

const SESSION_BITS = 2 ** 24;

export class FunnelService {
  constructor(
    private readonly store: FunnelStore,
    private readonly tables: AnalyticsTables,
    private readonly people: PersonRefs,
    private readonly clock: Clock,
  ) {}

  async funnel(workspaceId: string, body: unknown): Promise<Result<FunnelResponse, QueryProblem>> {
    const parsed = this.parse(body);
    if (!parsed.ok) return parsed;
    const { q, range } = parsed.value;
    const freshness = await this.tables.freshen(workspaceId);
    const { outcomes, onlyStep0 } = await this.outcomes(workspaceId, q, range, true);
    return ok({
      ...funnelResult(outcomes, q, onlyStep0, this.clock.now()),
      range: { from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString() },
      freshness,
    });
  }

  /** The actors who reached step n (or dropped right after it), in key order, a page at a time. */
  async funnelPeople(workspaceId: string, body: unknown): Promise<Result<FunnelPeople, QueryProblem>> {
    const {
      step,
      dropped: droppedOnly,
      breakdownValue,
      limit,
      cursor,
      ...rest
    } = (body ?? {}) as Record<string, unknown>;
    const page = parseQuery(peopleSchema, { step, dropped: droppedOnly, breakdownValue, limit, cursor });
    if (!page.ok) return page;
    const parsed = this.parse(rest);
    if (!parsed.ok) return parsed;
    const { q, range } = parsed.value;
    const p = page.value;
    if (p.step >= q.steps.length)
      return err({ message: `step: the last step is ${q.steps.length - 1}`, field: 'step' });
    if (p.breakdownValue !== undefined && !q.breakdown)
      return err({ message: 'breakdownValue: the query has no breakdown', field: 'breakdownValue' });
    const after = p.cursor === undefined ? -Infinity : Number(p.cursor);
    if (!Number.isFinite(after) && p.cursor !== undefined)
      return err({ message: 'cursor: not a cursor this list gave', field: 'cursor' });
    await this.tables.freshen(workspaceId);
    const { outcomes } = await this.outcomes(workspaceId, q, range, false);
    const reachedOf = (o: ActorOutcome): number =>
      p.breakdownValue === undefined
        ? o.reached
        : (o.byValue.find((r) => r.breakdown === p.breakdownValue)?.reached ?? -1);
    const matching = outcomes
      .filter((o) => {
        const r = reachedOf(o);
        return p.dropped ? r === p.step : r >= p.step;
      })
      .sort((a, b) => a.actor - b.actor);
    const from = matching.findIndex((o) => o.actor > after);
    const slice = from < 0 ? [] : matching.slice(from, from + p.limit);
    const actors = await this.describe(workspaceId, q, slice, reachedOf);
    const last = slice[slice.length - 1];
    return ok({
      actors,
      total: matching.length,
      nextCursor: last && from + p.limit < matching.length ? String(last.actor) : null,
    });
  }

  private parse(body: unknown): Result<{ q: FunnelQuery; range: TimeRange }, QueryProblem> {
    const q = parseFunnelQuery(body);
    if (!q.ok) return q;
    const range = rangeOf(q.value, this.clock.now());
    if (!range.ok) return range;
    return ok({ q: q.value, range: range.value });
  }

  private async outcomes(
    workspaceId: string,
    q: FunnelQuery,
    range: TimeRange,
    prune: boolean,
  ): Promise<{ outcomes: ActorOutcome[]; onlyStep0: OnlyStep0 }> {
    const names = q.includeBots
      ? undefined
      : await readNameCodes(this.store, workspaceId, funnelNameTests(q));
    const { rows, onlyStep0 } = await this.store.candidates(
      funnelSql(workspaceId, q, range, { prune, nowMs: this.clock.now(), names }),
    );
    const outcomes: ActorOutcome[] = [];
    let start = 0;
    for (let i = 1; i <= rows.length; i++) {
      const actor = (rows[start] as CandidateRow).actor;
      if (i < rows.length && (rows[i] as CandidateRow).actor === actor) continue;
      const o = outcomeOf(actor, rows.slice(start, i), q);
      if (o) outcomes.push(o);
      start = i;
    }
    return { outcomes, onlyStep0 };
  }

  private async describe(
    workspaceId: string,
    q: FunnelQuery,
    slice: readonly ActorOutcome[],
    reachedOf: (o: ActorOutcome) => number,
  ): Promise<FunnelActor[]> {
    if (q.aggregateBy === 'account') {
      const ids = await this.store.accountIds(
        workspaceId,
        slice.map((o) => o.actor),
      );
      return slice.map((o) => {
        const id = ids.get(o.actor) ?? String(o.actor);
        return {
          id,
          kind: 'account',
          reached: reachedOf(o),
          journey: `/api/accounts/${encodeURIComponent(id)}/journey`,
        };
      });
    }
    return slice.map((o) => {
      const key = q.aggregateBy === 'session' ? Math.floor(o.actor / SESSION_BITS) : o.actor;
      const ref = this.people.refOfKey(key);
      const person = ref?.id ?? `(gone ${key})`;
      const id = q.aggregateBy === 'session' ? `${person}/session/${o.actor % SESSION_BITS}` : person;
      return {
        id,
        kind: q.aggregateBy,
        ...(ref ? { identifiers: ref.identifiers } : {}),
        reached: reachedOf(o),
        journey: `/api/persons/${encodeURIComponent(person)}/journey`,
      };
    });
  }
}
