import type { DuckDBConnection } from '@duckdb/node-api';
import type { Overview, OverviewRange, OverviewStore } from '../services/overview-service.js';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : ((v as number | null) ?? 0));
const iso = (v: unknown): string => new Date(num(v)).toISOString();

/**
 * The overview in SQL, each figure one grouped scan of typed columns: event facts by time, the
 * person map for active persons, the journey tables for touchpoints and channels, stage history
 * for the stage distribution. Timestamps travel as epoch milliseconds.
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
    // One after another: the reader is one connection.
    const events = await rows(
      `SELECT epoch_ms(date_trunc($bucket, f.timestamp)), count(*), count(*) FILTER (WHERE ${isConversion})
         FROM event_facts f WHERE f.workspace_id = $ws AND ${inRange('f.timestamp')} GROUP BY 1 ORDER BY 1`,
    );
    const persons = await rows(
      `SELECT epoch_ms(date_trunc($bucket, ei.timestamp)), count(DISTINCT pm.person_key) FROM event_identity ei
         JOIN person_map pm ON pm.workspace_id = ei.workspace_id AND pm.identifier_id = ei.identifier_id
         WHERE ei.workspace_id = $ws AND ${inRange('ei.timestamp')} GROUP BY GROUPING SETS ((1), ()) ORDER BY 1 NULLS LAST`,
    );
    const touchpoints = await rows(
      `SELECT epoch_ms(date_trunc($bucket, event_at)), channel, count(*) FROM journey_touchpoints
         WHERE workspace_id = $ws AND ${inRange('event_at')} GROUP BY 1, 2`,
    );
    const stages = await rows(
      `SELECT stage, any_value(name), count(*) FILTER (WHERE kind = 'person'), count(*) FILTER (WHERE kind = 'account')
         FROM (SELECT subject_kind AS kind, arg_max(stage, position) AS stage, arg_max(name, position) AS name
               FROM stage_history WHERE workspace_id = $ws GROUP BY subject_kind, subject)
         GROUP BY stage ORDER BY 3 DESC`,
    );
    const recent = await rows(
      `SELECT pa.person_id, f.event, epoch_ms(f.timestamp), f.revenue FROM (
           SELECT seq, event, timestamp, revenue FROM event_facts f
           WHERE f.workspace_id = $ws AND ${inRange('f.timestamp')} AND ${isConversion}
           ORDER BY f.timestamp DESC LIMIT 10) f
         LEFT JOIN (SELECT ei.seq, min(pm.person_key) AS person_key FROM event_identity ei
             JOIN person_map pm ON pm.workspace_id = ei.workspace_id AND pm.identifier_id = ei.identifier_id
             WHERE ei.workspace_id = $ws AND ${inRange('ei.timestamp')} GROUP BY ei.seq) k ON k.seq = f.seq
         LEFT JOIN person_activity pa ON pa.workspace_id = $ws AND pa.person_key = k.person_key
         ORDER BY f.timestamp DESC`,
    );
    const accounts = await rows(
      `SELECT count(DISTINCT group_id) FROM event_facts WHERE workspace_id = $ws AND group_id IS NOT NULL
           AND ${inRange('timestamp')}`,
    );
    const trend = new Map<number, Overview['trend'][number]>();
    const at = (t: number) => {
      let b = trend.get(t);
      if (!b) {
        b = { at: iso(t), events: 0, persons: 0, touchpoints: 0, conversions: 0 };
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
        accounts: num(accounts[0]?.[0]),
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
        personId: (r[0] as string | null) ?? null,
        event: r[1] as string,
        at: iso(r[2]),
        revenue: r[3] === null ? null : num(r[3]),
      })),
    };
  }
}
