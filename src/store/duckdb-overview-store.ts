import type { DuckDBConnection } from '@duckdb/node-api';
import type { OverviewFigures, OverviewRange, OverviewStore } from '../services/overview-service.js';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : ((v as number | null) ?? 0));
const iso = (v: unknown): string => new Date(num(v)).toISOString();
const blank = (t: number): OverviewFigures['trend'][number] => ({
  at: iso(t),
  events: 0,
  persons: 0,
  accounts: 0,
  touchpoints: 0,
  conversions: 0,
});

/** The starts of the range's buckets, as DuckDB's date_trunc gives them (UTC; weeks from Monday). */
export function bucketStarts(range: OverviewRange): number[] {
  const out: number[] = [];
  const d = new Date(range.from.getTime());
  d.setUTCHours(0, 0, 0, 0);
  if (range.bucket === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (range.bucket === 'month') d.setUTCDate(1);
  while (d.getTime() < range.to.getTime()) {
    out.push(d.getTime());
    if (range.bucket === 'day') d.setUTCDate(d.getUTCDate() + 1);
    else if (range.bucket === 'week') d.setUTCDate(d.getUTCDate() + 7);
    else d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return out;
}

/**
 * The overview in SQL, each figure one grouped scan of typed columns: event facts by time, the
 * journey steps for active persons, the journey tables for touchpoints and channels, stage
 * history for the stage distribution. Timestamps travel as epoch milliseconds. (Run over two
 * connections at once the queries took as long: each already keeps both cores busy.)
 */
export class DuckDBOverviewStore implements OverviewStore {
  constructor(private readonly reader: DuckDBConnection) {}

  async overview(
    workspaceId: string,
    range: OverviewRange,
    conversions: readonly string[],
  ): Promise<OverviewFigures> {
    const p = {
      ws: workspaceId,
      from: range.from.getTime(),
      to: range.to.getTime(),
      conversions: JSON.stringify(conversions),
      bucket: range.bucket,
    };
    const inRange = (column: string) =>
      `${column} >= make_timestamp($from::BIGINT * 1000) AND ${column} < make_timestamp($to::BIGINT * 1000)`;
    const isConversion = `f.event IN (SELECT unnest(from_json($conversions, '["VARCHAR"]')))`;
    // DuckDB refuses parameters a statement does not use: each gets only those it names.
    const rows = async (sql: string) =>
      (
        await this.reader.runAndReadAll(
          sql,
          Object.fromEntries(Object.entries(p).filter(([k]) => new RegExp(`\\$${k}\\b`).test(sql))),
        )
      ).getRowsJS();
    const eventsQ = rows(
      `SELECT epoch_ms(date_trunc($bucket, f.timestamp)), count(*), count(*) FILTER (WHERE ${isConversion})
       FROM event_facts f WHERE f.workspace_id = $ws AND ${inRange('f.timestamp')} GROUP BY 1`,
    );
    // Persons and accounts with journey activity per bucket, from the journey steps: one row per
    // (subject, event), bot traffic left out (as journeys leave it out), no join to the person map.
    const personsQ = rows(
      `SELECT epoch_ms(date_trunc($bucket, event_at)), count(DISTINCT person_key) FROM journey_steps
         WHERE workspace_id = $ws AND ${inRange('event_at')} GROUP BY 1`,
    );
    const accountsQ = rows(
      `SELECT epoch_ms(date_trunc($bucket, event_at)), count(DISTINCT account_key) FROM account_journey_steps
         WHERE workspace_id = $ws AND ${inRange('event_at')} GROUP BY 1`,
    );
    const touchpointsQ = rows(
      `SELECT epoch_ms(date_trunc($bucket, event_at)), channel, count(*) FROM journey_touchpoints
         WHERE workspace_id = $ws AND ${inRange('event_at')} GROUP BY 1, 2`,
    );
    const stagesQ = rows(
      `SELECT stage, any_value(name), count(*) FILTER (WHERE kind = 'person'), count(*) FILTER (WHERE kind = 'account')
         FROM (SELECT subject_kind AS kind, arg_max(stage, position) AS stage, arg_max(name, position) AS name
               FROM stage_history WHERE workspace_id = $ws GROUP BY subject_kind, subject)
         GROUP BY stage ORDER BY 3 DESC`,
    );
    const recentQ = rows(
      `SELECT seq, event, epoch_ms(timestamp), revenue FROM event_facts f
         WHERE f.workspace_id = $ws AND ${inRange('f.timestamp')} AND ${isConversion}
         ORDER BY f.timestamp DESC LIMIT 10`,
    );
    const [events, persons, accounts, touchpoints, stages, recent] = await Promise.all([
      eventsQ,
      personsQ,
      accountsQ,
      touchpointsQ,
      stagesQ,
      recentQ,
    ]);
    const personOf = await this.personsOfEvents(
      workspaceId,
      recent.map((r) => num(r[0])),
    );
    // Every bucket of the range, empty ones as zeros: a line drops to zero across a quiet week.
    const trend = new Map<number, OverviewFigures['trend'][number]>();
    for (const t of bucketStarts(range)) trend.set(t, blank(t));
    const at = (t: number) => {
      let b = trend.get(t);
      if (!b) {
        b = blank(t);
        trend.set(t, b);
      }
      return b;
    };
    let eventTotal = 0;
    let conversionTotal = 0;
    for (const r of events) {
      const b = at(num(r[0]));
      b.events = num(r[1]);
      b.conversions = num(r[2]);
      eventTotal += b.events;
      conversionTotal += b.conversions;
    }
    for (const r of persons) at(num(r[0])).persons = num(r[1]);
    for (const r of accounts) at(num(r[0])).accounts = num(r[1]);
    const channels = new Map<string, number>();
    let touchTotal = 0;
    for (const r of touchpoints) {
      const n = num(r[2]);
      at(num(r[0])).touchpoints += n;
      channels.set(r[1] as string, (channels.get(r[1] as string) ?? 0) + n);
      touchTotal += n;
    }
    return {
      totals: { events: eventTotal, touchpoints: touchTotal, conversions: conversionTotal },
      trend: [...trend.entries()].sort((x, y) => x[0] - y[0]).map(([, v]) => v),
      channels: [...channels.entries()]
        .map(([channel, n]) => ({ channel, touchpoints: n }))
        .sort((x, y) => y.touchpoints - x.touchpoints),
      stages: stages.map((r) => ({
        stage: r[0] as string,
        name: r[1] as string,
        persons: num(r[2]),
        accounts: num(r[3]),
      })),
      recentConversions: recent.map((r) => ({
        personId: personOf.get(num(r[0])) ?? null,
        event: r[1] as string,
        at: iso(r[2]),
        revenue: r[3] === null ? null : num(r[3]),
      })),
    };
  }

  /**
   * The person of each of a few events (the lowest person key when an event has two), in steps
   * with literal key lists: DuckDB then skips the row groups that cannot hold them, where a join
   * would scan the whole identity tables.
   */
  private async personsOfEvents(workspaceId: string, seqs: number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    if (seqs.length === 0) return out;
    const list = (xs: number[]) => xs.map((x) => String(Math.trunc(x))).join(', ');
    const idsOf = (
      await this.reader.runAndReadAll(
        `SELECT seq, identifier_id FROM event_identity WHERE workspace_id = $ws AND seq IN (${list(seqs)})`,
        { ws: workspaceId },
      )
    ).getRowsJS();
    if (idsOf.length === 0) return out;
    const persons = (
      await this.reader.runAndReadAll(
        `SELECT pm.identifier_id, pm.person_key, pa.person_id FROM person_map pm
         JOIN person_activity pa ON pa.workspace_id = pm.workspace_id AND pa.person_key = pm.person_key
         WHERE pm.workspace_id = $ws AND pm.identifier_id IN (${list(idsOf.map((r) => num(r[1])))})`,
        { ws: workspaceId },
      )
    ).getRowsJS();
    const byIdentifier = new Map(persons.map((r) => [num(r[0]), { key: num(r[1]), id: r[2] as string }]));
    const best = new Map<number, { key: number; id: string }>();
    for (const [seq, identifier] of idsOf) {
      const p = byIdentifier.get(num(identifier));
      const cur = best.get(num(seq));
      if (p && (!cur || p.key < cur.key)) best.set(num(seq), p);
    }
    for (const [seq, p] of best) out.set(seq, p.id);
    return out;
  }
}
