import type { DuckDBConnection } from '@duckdb/node-api';
import type { Overview, OverviewRange, OverviewStore } from '../services/overview-service.js';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : ((v as number | null) ?? 0));
const iso = (v: unknown): string => new Date(num(v)).toISOString();

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
  ): Promise<Overview> {
    const p = {
      ws: workspaceId,
      from: range.from.getTime(),
      to: range.to.getTime(),
      conversions: JSON.stringify(conversions),
      bucket: range.bucket,
    };
    const inRange = (column: string) =>
      `${column} >= make_timestamp($from * 1000) AND ${column} < make_timestamp($to * 1000)`;
    const isConversion = `f.event IN (SELECT unnest(from_json($conversions, '["VARCHAR"]')))`;
    // DuckDB refuses parameters a statement does not use: each gets only those it names.
    const rows = async (sql: string) =>
      (
        await this.reader.runAndReadAll(
          sql,
          Object.fromEntries(Object.entries(p).filter(([k]) => new RegExp(`\\$${k}\\b`).test(sql))),
        )
      ).getRowsJS();
    // Events and conversions per bucket, and (the total row) the accounts seen: one scan.
    const eventsQ = rows(
      `SELECT epoch_ms(date_trunc($bucket, f.timestamp)), count(*), count(*) FILTER (WHERE ${isConversion}),
         count(DISTINCT f.group_id)
       FROM event_facts f WHERE f.workspace_id = $ws AND ${inRange('f.timestamp')}
       GROUP BY GROUPING SETS ((1), ()) ORDER BY 1 NULLS LAST`,
    );
    // Active persons from the journey steps: one row per (person, event), bot traffic left out
    // (as journeys leave it out), and no join to the person map.
    const personsQ = rows(
      `SELECT epoch_ms(date_trunc($bucket, event_at)), count(DISTINCT person_key) FROM journey_steps
         WHERE workspace_id = $ws AND ${inRange('event_at')} GROUP BY GROUPING SETS ((1), ()) ORDER BY 1 NULLS LAST`,
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
    const [events, persons, touchpoints, stages, recent] = await Promise.all([
      eventsQ,
      personsQ,
      touchpointsQ,
      stagesQ,
      recentQ,
    ]);
    const personOf = await this.personsOfEvents(
      workspaceId,
      recent.map((r) => num(r[0])),
    );
    const trend = new Map<number, Overview['trend'][number]>();
    const at = (t: number) => {
      let b = trend.get(t);
      if (!b) {
        b = { at: iso(t), events: 0, persons: 0, accounts: 0, touchpoints: 0, conversions: 0 };
        trend.set(t, b);
      }
      return b;
    };
    let eventTotal = 0;
    let conversionTotal = 0;
    let accountTotal = 0;
    for (const r of events) {
      if (r[0] === null) {
        accountTotal = num(r[3]);
        continue;
      }
      const b = at(num(r[0]));
      b.events = num(r[1]);
      b.conversions = num(r[2]);
      b.accounts = num(r[3]);
      eventTotal += b.events;
      conversionTotal += b.conversions;
    }
    let personTotal = 0;
    for (const r of persons) {
      if (r[0] === null) personTotal = num(r[1]);
      else at(num(r[0])).persons = num(r[1]);
    }
    const channels = new Map<string, number>();
    let touchTotal = 0;
    for (const r of touchpoints) {
      const n = num(r[2]);
      at(num(r[0])).touchpoints += n;
      channels.set(r[1] as string, (channels.get(r[1] as string) ?? 0) + n);
      touchTotal += n;
    }
    return {
      totals: {
        events: eventTotal,
        persons: personTotal,
        accounts: accountTotal,
        touchpoints: touchTotal,
        conversions: conversionTotal,
      },
      trend: [...trend.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b),
      channels: [...channels.entries()]
        .map(([channel, n]) => ({ channel, touchpoints: n }))
        .sort((a, b) => b.touchpoints - a.touchpoints),
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
