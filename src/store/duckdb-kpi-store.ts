import type { DuckDBConnection } from '@duckdb/node-api';
import { actorEventsSql } from '../core/analytics/actor-events.js';
import type { KpiQuery } from '../core/analytics/kpi-query.js';
import type { KpiInputs, KpiSection } from '../core/analytics/kpis.js';
import { messageFieldSql, sqlString } from '../core/journey/rules-sql.js';
import { readNameCodes } from '../services/analytics-reader.js';
import type { KpiContext, KpiStore } from '../services/kpi-service.js';
import { bucketStarts } from './duckdb-overview-store.js';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : ((v as number | null) ?? 0));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const DAY = 86_400_000;
const ts = (ms: number) => `make_timestamp(${Math.trunc(ms) * 1000}::BIGINT)`;
const inList = (col: string, xs: readonly string[]) =>
  xs.length > 0 ? `(${col} IN (${xs.map(sqlString).join(', ')}))` : 'FALSE';
/** Events whose JSON a metric reads (MRR, survey scores, ad cost): a key lookup per row. */
const prop = (path: string) => messageFieldSql('properties', path, 'e');
const SPEND_EVENTS = ['Ad Spend Reported', 'Ad Spend'];
const MRR_EVENTS = ['Subscription Started', 'MRR Changed', 'Subscription Renewed'];
/** Track events of these names, as a name test over a step `a` (name-codes.ts). */
const track = (events: readonly string[]) => `(a.type = 'track' AND ${inList('a.event', events)})`;

/**
 * The name tests of a request, each decided once per (type, event) pair of journey_names: the
 * steps are then picked by integer code inside DuckDB's scan instead of by string per row.
 */
function nameTestsOf(q: KpiQuery, ctx: KpiContext) {
  return {
    conversion: track(ctx.conversions),
    // Reports on a system identity (ad spend) are no one's activity.
    spend: `(${inList('a.event', SPEND_EVENTS)})`,
    churn: track(q.churnEvents),
    signup: track(q.signupEvents),
    activation: track(q.activationEvents),
    signupOrActivation: `(${track(q.signupEvents)} OR ${track(q.activationEvents)})`,
    billing: `(${track(MRR_EVENTS)} OR ${track(q.churnEvents)})`,
    survey: track(['Survey Responded']),
  };
}
type NameTest = keyof ReturnType<typeof nameTestsOf>;
/** A request's name tests: `is` for a value (NULL as false), `where` for a filter DuckDB pushes into its scan. */
interface Names {
  is(t: NameTest): string;
  where(t: NameTest): string;
}
const DAY_OF = (ms: string) => `make_timestamp(${ms} * 1000)::DATE`;
const MONDAY = `DATE '1970-01-05'`;
/**
 * Per bucket size: a UTC day's bucket number, and a bucket number's start in epoch ms (per
 * group): what `date_trunc` gives, but computing it on every row cost more than all the grouping.
 */
const BUCKETS: Record<KpiQuery['bucket'], { key: (day: string) => string; start: (key: string) => string }> =
  {
    day: {
      key: (day) => `(${day} - DATE '1970-01-01')`,
      start: (k) => `epoch_ms(DATE '1970-01-01' + (${k})::INTEGER)`,
    },
    week: {
      key: (day) => `floor((${day} - ${MONDAY}) / 7)::BIGINT`,
      start: (k) => `epoch_ms(${MONDAY} + ((${k}) * 7)::INTEGER)`,
    },
    month: {
      key: (day) => `(year(${day}) * 12 + month(${day}) - 1)`,
      start: (k) => `epoch_ms(make_date(((${k}) // 12)::INTEGER, ((${k}) % 12 + 1)::INTEGER, 1))`,
    },
  };
/** A total order of one person's events: time, then seq. */
const orderKey = (ms: string, seq: string) => `(${ms}::HUGEINT * 1099511627776 + ${seq})`;

/**
 * The KPIs' counts in SQL, one grouped pass per section over the table it reads: the persons'
 * journey steps (activity, conversions, activation, billing and survey events), stage history
 * (time to conversion, drop-off, churn, new customers), the account journeys (touchpoints per
 * deal), the touchpoints (assists) and event facts (ad spend, revenue). Bot traffic is left out,
 * as the journey tables leave it out; only sections a requested metric needs are run.
 */
export class DuckDBKpiStore implements KpiStore {
  constructor(private readonly reader: DuckDBConnection) {}

  private async rows(sql: string): Promise<unknown[][]> {
    return (await this.reader.runAndReadAll(sql)).getRowsJS() as unknown[][];
  }

  async inputs(
    workspaceId: string,
    q: KpiQuery,
    sections: ReadonlySet<KpiSection>,
    ctx: KpiContext,
  ): Promise<KpiInputs> {
    const out: KpiInputs = {};
    // Looked up once, and only when a section picks steps by name.
    let names: Promise<Names> | undefined;
    const n = () => {
      names ??= this.names(workspaceId, q, ctx);
      return names;
    };
    const run: Record<KpiSection, () => Promise<void>> = {
      // One pass gives both (conversion rate needs both; retention the activity only).
      activity: async () => {
        const r = await this.activity(workspaceId, q, await n(), sections.has('trend'));
        out.activity = r.activity;
        if (r.trend) out.trend = r.trend;
      },
      trend: async () => {
        if (!sections.has('activity'))
          out.trend = (await this.activity(workspaceId, q, await n(), true)).trend;
      },
      stages: async () => {
        out.stages = await this.stages(workspaceId, q, ctx);
      },
      churn: async () => {
        out.churn = await this.churn(workspaceId, q, await n());
      },
      deals: async () => {
        out.deals = await this.deals(workspaceId, q);
      },
      assists: async () => {
        out.assists = await this.assists(workspaceId, q, await n());
      },
      activation: async () => {
        out.activation = await this.activation(workspaceId, q, await n());
      },
      // One statement gives both (they read the events' JSON).
      billing: async () => {
        const want = { billing: true, surveys: sections.has('surveys') };
        const r = await this.billingAndSurveys(workspaceId, q, await n(), want);
        out.billing = r.billing;
        if (r.surveys) out.surveys = r.surveys;
      },
      surveys: async () => {
        if (sections.has('billing')) return;
        const r = await this.billingAndSurveys(workspaceId, q, await n(), { billing: false, surveys: true });
        out.surveys = r.surveys;
      },
      spend: async () => {
        out.spend = await this.spend(workspaceId, q);
      },
      revenue: async () => {
        out.revenue = await this.revenue(workspaceId, q);
      },
    };
    await Promise.all([...sections].map((s) => run[s]()));
    return out;
  }

  private async names(ws: string, q: KpiQuery, ctx: KpiContext): Promise<Names> {
    const tests = nameTestsOf(q, ctx);
    const codes = await readNameCodes({ rows: (sql) => this.rows(sql) }, ws, Object.values(tests));
    // Comparisons of integers, even in a projection: cheaper per row than an IN list or a bit lookup.
    return { is: (t) => `coalesce(${codes.where(tests[t])}, false)`, where: (t) => codes.where(tests[t]) };
  }

  private persons(ws: string, fromMs?: number, toMs?: number): string {
    return actorEventsSql(ws, {
      aggregateBy: 'person',
      includeBots: false,
      ...(fromMs !== undefined ? { fromMs } : {}),
      ...(toMs !== undefined ? { toMs } : {}),
    });
  }

  /**
   * Active now and in the period before (of the same length), retained, converting, and with
   * `trend` the same per bucket: one pass, grouped by person and bucket. Both go in one integer
   * (person × 4096 + the bucket's index from `from`, 4095 for the period before: a range has at
   * most 1,500 buckets), which DuckDB groups faster than the pair.
   */
  private async activity(ws: string, q: KpiQuery, n: Names, trend: boolean) {
    const prev = q.fromMs - (q.toMs - q.fromMs);
    const bucket = BUCKETS[q.bucket];
    const first = bucket.key(DAY_OF(String(q.fromMs)));
    // The bucket from the step's own timestamp: cheaper per event than from `ms` made a date again.
    const idx = trend ? `(${bucket.key('event_at::DATE')} - ${first})::BIGINT` : '0';
    const rows = await this.rows(
      `WITH g AS MATERIALIZED (
         SELECT actor * 4096 + CASE WHEN ms >= ${q.fromMs} THEN ${idx} ELSE 4095 END AS k, bool_or(${n.is('conversion')}) v
         FROM (${this.persons(ws, prev, q.toMs)}) a WHERE NOT ${n.is('spend')} GROUP BY k)
       SELECT NULL, count(*) FILTER (WHERE p), count(*) FILTER (WHERE c), count(*) FILTER (WHERE p AND c),
              count(*) FILTER (WHERE v)
       FROM (SELECT k >> 12, bool_or(k & 4095 = 4095) p, bool_or(k & 4095 <> 4095) c, bool_or(k & 4095 <> 4095 AND v) v
             FROM g GROUP BY k >> 12)
       ${
         trend
           ? `UNION ALL SELECT ${bucket.start(`(${first}) + (k & 4095)`)}, count(*), count(*) FILTER (WHERE v), NULL, NULL
              FROM g WHERE k & 4095 <> 4095 GROUP BY k & 4095`
           : ''
       }`,
    );
    const r = rows.find((x) => x[0] === null);
    const byStart = new Map(rows.filter((x) => x[0] !== null).map((x) => [num(x[0]), x]));
    return {
      activity: {
        activePrevious: num(r?.[1]),
        active: num(r?.[2]),
        retained: num(r?.[3]),
        converting: num(r?.[4]),
      },
      trend: trend
        ? bucketStarts({ from: new Date(q.fromMs), to: new Date(q.toMs), bucket: q.bucket }).map((at) => {
            const b = byStart.get(at);
            return { at, active: num(b?.[1]), converting: num(b?.[2]) };
          })
        : undefined,
    };
  }

  /** Time to conversion, new customers and drop-off per stage, from the persons' stage history. */
  private async stages(ws: string, q: KpiQuery, ctx: KpiContext) {
    const w = sqlString(ws);
    const s = sqlString(q.stage);
    const inRange = (c: string) => `${c} >= ${ts(q.fromMs)} AND ${c} < ${ts(q.toMs)}`;
    const [t] = await this.rows(
      `SELECT count(*), quantile_cont(d, 0.5), avg(d)
       FROM (SELECT (epoch_ms(min(entered_at) FILTER (WHERE stage = ${s})) - epoch_ms(min(entered_at))) / ${DAY}.0 d,
                    min(entered_at) FILTER (WHERE stage = ${s}) conv_at
             FROM stage_history WHERE workspace_id = ${w} AND subject_kind = 'person' GROUP BY subject)
       WHERE ${inRange('conv_at')}`,
    );
    const order = ctx.stageOrder;
    let perStage: { stage: string; idx: number; entered: number; advanced: number; converted: number }[] = [];
    if (order.length > 0) {
      const values = order.map((id, i) => `(${sqlString(id)}, ${i})`).join(', ');
      perStage = (
        await this.rows(
          // A person entering a stage at t (their first entry in range) advanced when their latest
          // entry into any stage further in the order is at or after t: a window over their stages
          // rather than a join of each entry with all their later ones.
          `WITH h AS (SELECT subject, stage, entered_at, o.idx FROM stage_history
                        JOIN (VALUES ${values}) o(stage_id, idx) ON o.stage_id = stage
                        WHERE workspace_id = ${w} AND subject_kind = 'person'),
                e AS (SELECT subject, stage, idx, min(entered_at) FILTER (WHERE ${inRange('entered_at')}) t,
                             max(entered_at) last_at FROM h GROUP BY ALL),
                m AS (SELECT stage, idx, t,
                             max(last_at) OVER later AS later, max(last_at) FILTER (WHERE stage = ${s}) OVER later AS later_conv
                      FROM e
                      WINDOW later AS (PARTITION BY subject ORDER BY idx ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING))
           SELECT stage, idx, count(*), count(*) FILTER (WHERE later >= t), count(*) FILTER (WHERE later_conv >= t)
           FROM m WHERE t IS NOT NULL GROUP BY ALL ORDER BY idx`,
        )
      ).map((r) => ({
        stage: r[0] as string,
        idx: num(r[1]),
        entered: num(r[2]),
        advanced: num(r[3]),
        converted: num(r[4]),
      }));
    }
    const first = perStage.find((p) => p.idx === 0);
    return {
      converted: num(t?.[0]),
      medianDays: numOrNull(t?.[1]),
      meanDays: numOrNull(t?.[2]),
      firstStage: order[0] ?? null,
      enteredFirst: first?.entered ?? 0,
      reachedConversion: first?.converted ?? 0,
      // The last stage of the order has nowhere to advance to.
      perStage: order.slice(0, -1).map((stage) => {
        const p = perStage.find((x) => x.stage === stage);
        return { stage, entered: p?.entered ?? 0, advanced: p?.advanced ?? 0 };
      }),
      newCustomers: num(t?.[0]),
    };
  }

  /** Customers at the start, and those of them who churned in range (a churn stage or event). */
  private async churn(ws: string, q: KpiQuery, n: Names) {
    const w = sqlString(ws);
    const [r] = await this.rows(
      `WITH h AS (SELECT subject::BIGINT AS person, stage, entered_at, position FROM stage_history
                  WHERE workspace_id = ${w} AND subject_kind = 'person'),
            st AS (SELECT person FROM h WHERE entered_at < ${ts(q.fromMs)} GROUP BY person
                   HAVING bool_or(stage = ${sqlString(q.stage)}) AND NOT ${inList('arg_max(stage, position)', q.churnStages)}),
            ch AS (SELECT person FROM h WHERE ${inList('stage', q.churnStages)}
                     AND entered_at >= ${ts(q.fromMs)} AND entered_at < ${ts(q.toMs)}
                   UNION
                   SELECT actor AS person FROM (${this.persons(ws, q.fromMs, q.toMs)}) a WHERE ${n.where('churn')})
       SELECT (SELECT count(*) FROM st), (SELECT count(*) FROM st SEMI JOIN ch USING (person)),
              (SELECT count(*) FROM ch)`,
    );
    return { customersAtStart: num(r?.[0]), churnedFromStart: num(r?.[1]), churned: num(r?.[2]) };
  }

  /** Accounts first entering the stage in range, and the touchpoints on their contacts up to then. */
  private async deals(ws: string, q: KpiQuery) {
    const w = sqlString(ws);
    const [r] = await this.rows(
      `WITH won AS (SELECT subject AS group_id, min(entered_at) won_at FROM stage_history
                    WHERE workspace_id = ${w} AND subject_kind = 'account' AND stage = ${sqlString(q.stage)}
                    GROUP BY subject HAVING won_at >= ${ts(q.fromMs)} AND won_at < ${ts(q.toMs)}),
            d AS (SELECT won.group_id, count(t.seq) n FROM won
                  LEFT JOIN account_keys k ON k.workspace_id = ${w} AND k.group_id = won.group_id
                  LEFT JOIN account_journey_touchpoints t ON t.workspace_id = ${w} AND t.account_key = k.account_key
                    AND t.event_at <= won.won_at
                  GROUP BY won.group_id)
       SELECT count(*), coalesce(sum(n), 0), quantile_cont(n, 0.5) FROM d`,
    );
    return { deals: num(r?.[0]), touches: num(r?.[1]), medianTouches: numOrNull(r?.[2]) };
  }

  /** Each conversion's touchpoint path: its last-touch channel and the channels that assisted it. */
  private async assists(ws: string, q: KpiQuery, n: Names) {
    const w = sqlString(ws);
    // One statement for the totals and the channels, so the paths are computed once.
    const rows = await this.rows(
      `WITH c AS MATERIALIZED (SELECT actor, seq, ms FROM (${this.persons(ws, q.fromMs, q.toMs)}) a
                               WHERE ${n.where('conversion')}),
        t AS (SELECT person_key::BIGINT actor, seq, epoch_ms(event_at) ms, channel FROM journey_touchpoints
              WHERE workspace_id = ${w} AND event_at < ${ts(q.toMs)} AND person_key IN (SELECT actor FROM c)),
        p AS MATERIALIZED (SELECT c.seq cseq, t.channel, t.ms, t.seq FROM c JOIN t ON t.actor = c.actor
              AND (t.ms < c.ms OR (t.ms = c.ms AND t.seq <= c.seq))),
        l AS MATERIALIZED (SELECT cseq, arg_max(channel, ${orderKey('ms', 'seq')}) AS last FROM p GROUP BY cseq),
        x AS MATERIALIZED (SELECT DISTINCT p.cseq, p.channel, p.channel = l.last AS is_last FROM p JOIN l USING (cseq))
      SELECT NULL, (SELECT count(*) FROM c), (SELECT count(*) FROM l),
             (SELECT count(DISTINCT cseq) FROM x WHERE NOT is_last)
      UNION ALL
      SELECT channel, count(*) FILTER (WHERE is_last), count(*) FILTER (WHERE NOT is_last), NULL FROM x GROUP BY channel`,
    );
    // Channels are never NULL (journey_touchpoints.channel): the NULL row holds the totals.
    const r = rows.find((x) => x[0] === null);
    return {
      conversions: num(r?.[1]),
      withTouch: num(r?.[2]),
      assisted: num(r?.[3]),
      channels: rows
        .filter((c) => c[0] !== null)
        .map((c) => ({ channel: c[0] as string, lastTouch: num(c[1]), assisted: num(c[2]) }))
        .sort(
          (a, b) =>
            b.lastTouch + b.assisted - (a.lastTouch + a.assisted) || a.channel.localeCompare(b.channel),
        ),
    };
  }

  /** Persons whose first sign-up falls in range, and whether an activation event followed within N days. */
  private async activation(ws: string, q: KpiQuery, n: Names) {
    const window = q.activationDays * DAY;
    const [r] = await this.rows(
      `WITH a AS (SELECT actor, ms, ${n.is('signup')} signup, ${n.is('activation')} activation
                  FROM (${this.persons(ws, undefined, q.toMs + window)}) a WHERE ${n.where('signupOrActivation')}),
            s AS (SELECT actor, min(ms) FILTER (WHERE signup) su FROM a GROUP BY actor
                  HAVING su >= ${q.fromMs} AND su < ${q.toMs})
       SELECT count(*), count(*) FILTER (WHERE act)
       FROM (SELECT s.actor, bool_or(a.actor IS NOT NULL) act FROM s
             LEFT JOIN a ON a.actor = s.actor AND a.activation
               AND a.ms >= s.su AND a.ms <= s.su + ${window}
             GROUP BY s.actor)`,
    );
    return { signups: num(r?.[0]), activated: num(r?.[1]) };
  }

  /**
   * Billing and surveys read event JSON, the bulk of the database: one statement reads it once for
   * both (`j`), for the few events their names pick.
   *
   * Billing: each person's MRR at the start and the end of the range, the last value before each
   * of the billing events (`mrr`, else `price`; a cancellation is 0), and their first MRR.
   * Surveys: Survey Responded in range, by survey (NPS, CSAT), with its score.
   */
  private async billingAndSurveys(
    ws: string,
    q: KpiQuery,
    n: Names,
    want: { billing: boolean; surveys: boolean },
  ) {
    const w = sqlString(ws);
    const billingEvents = `b0 AS MATERIALIZED (SELECT actor, ms, seq, ${n.is('churn')} AS churn
                                         FROM (${this.persons(ws, undefined, q.toMs)}) a WHERE ${n.where('billing')})`;
    const billing = `b AS (SELECT b0.actor, b0.ms, b0.seq,
                         CASE WHEN b0.churn THEN 0 ELSE coalesce(${prop('mrr').num}, ${prop('price').num}) END AS val
                  FROM b0 JOIN j e ON e.seq = b0.seq),
            p AS (SELECT actor,
                         coalesce(arg_max(val, ${orderKey('ms', 'seq')}) FILTER (WHERE ms < ${q.fromMs}), 0) s,
                         coalesce(arg_max(val, ${orderKey('ms', 'seq')}), 0) e,
                         arg_min(val, ${orderKey('ms', 'seq')}) FILTER (WHERE val > 0) first_mrr
                  FROM b WHERE val IS NOT NULL GROUP BY actor),
            n AS (SELECT subject::BIGINT AS actor FROM stage_history
                  WHERE workspace_id = ${w} AND subject_kind = 'person' GROUP BY subject
                  HAVING min(entered_at) FILTER (WHERE stage = ${sqlString(q.stage)}) >= ${ts(q.fromMs)}
                     AND min(entered_at) FILTER (WHERE stage = ${sqlString(q.stage)}) < ${ts(q.toMs)})`;
    const billingRow = `SELECT 'billing', NULL,
              count(*) FILTER (WHERE s > 0), coalesce(sum(s) FILTER (WHERE s > 0), 0),
              coalesce(sum(e) FILTER (WHERE s > 0), 0),
              coalesce(sum(e - s) FILTER (WHERE s > 0 AND e > s), 0),
              coalesce(sum(s - e) FILTER (WHERE s > 0 AND e > 0 AND e < s), 0),
              coalesce(sum(s) FILTER (WHERE s > 0 AND e = 0), 0),
              count(*) FILTER (WHERE e > 0), coalesce(sum(e) FILTER (WHERE e > 0), 0),
              count(*) FILTER (WHERE first_mrr IS NOT NULL AND actor IN (SELECT actor FROM n)),
              coalesce(sum(first_mrr) FILTER (WHERE first_mrr IS NOT NULL AND actor IN (SELECT actor FROM n)), 0),
              NULL, NULL, NULL, NULL, NULL, NULL
       FROM p`;
    const surveyEvents = `s0 AS MATERIALIZED (SELECT seq FROM (${this.persons(ws, q.fromMs, q.toMs)}) a WHERE ${n.where('survey')})`;
    const surveys = `sv AS (SELECT upper(${prop('survey').text}) survey, ${prop('score').num} score FROM s0 JOIN j e ON e.seq = s0.seq)`;
    // A NULL score is counted by no aggregate; surveys other than NPS and CSAT are left out below.
    const surveyRows = `SELECT 'survey', survey, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
              count(score), count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score >= 7 AND score < 9),
              count(*) FILTER (WHERE score <= 6), count(*) FILTER (WHERE score >= 4), coalesce(sum(score), 0)
       FROM sv GROUP BY survey`;
    const seqs = [want.billing ? 'SELECT seq FROM b0' : '', want.surveys ? 'SELECT seq FROM s0' : '']
      .filter(Boolean)
      .join(' UNION ');
    // A join, which DuckDB turns into a filter inside the scan of events: only the picked events'
    // JSON is read.
    const rows = await this.rows(
      `WITH ${[want.billing ? billingEvents : '', want.surveys ? surveyEvents : ''].filter(Boolean).join(',\n')},
            j AS MATERIALIZED (SELECT e.seq, e.properties FROM events e JOIN (${seqs}) k
                               ON e.workspace_id = ${w} AND e.seq = k.seq),
            ${[want.billing ? billing : '', want.surveys ? surveys : ''].filter(Boolean).join(',\n')}
       ${[want.billing ? billingRow : '', want.surveys ? surveyRows : ''].filter(Boolean).join('\nUNION ALL\n')}`,
    );
    const r = rows.find((x) => x[0] === 'billing');
    const of = (name: string) => rows.find((x) => x[0] === 'survey' && x[1] === name)?.slice(12);
    const nps = of('NPS');
    const csat = of('CSAT');
    return {
      billing: want.billing
        ? {
            cohort: num(r?.[2]),
            startMrr: num(r?.[3]),
            endMrr: num(r?.[4]),
            expansion: num(r?.[5]),
            contraction: num(r?.[6]),
            churnedMrr: num(r?.[7]),
            payingAtEnd: num(r?.[8]),
            mrrAtEnd: num(r?.[9]),
            newWithMrr: num(r?.[10]),
            newMrr: num(r?.[11]),
          }
        : undefined,
      surveys: want.surveys
        ? {
            npsResponses: num(nps?.[0]),
            promoters: num(nps?.[1]),
            passives: num(nps?.[2]),
            detractors: num(nps?.[3]),
            csatResponses: num(csat?.[0]),
            satisfied: num(csat?.[4]),
            csatSum: num(csat?.[5]),
          }
        : undefined,
    };
  }

  /**
   * Ad spend in range (any identity: the import puts it on a system identity), by channel:
   * `Ad Spend Reported` with `cost` (the ad-spend import), or `Ad Spend` with `amount`.
   */
  private async spend(ws: string, q: KpiQuery) {
    const w = sqlString(ws);
    const cost = `coalesce(${prop('cost').num}, ${prop('amount').num})`;
    const rows = await this.rows(
      `SELECT coalesce(${prop('channel').text}, ${prop('source').text}, 'Unknown'), sum(${cost}), count(*)
       FROM event_facts f JOIN events e ON e.workspace_id = f.workspace_id AND e.seq = f.seq
       WHERE f.workspace_id = ${w} AND f.type = 'track' AND ${inList('f.event', SPEND_EVENTS)}
         AND f.timestamp >= ${ts(q.fromMs)} AND f.timestamp < ${ts(q.toMs)}
         AND ${cost} IS NOT NULL
       GROUP BY 1 ORDER BY 2 DESC, 1`,
    );
    return {
      spend: rows.reduce((a, r) => a + num(r[1]), 0),
      rows: rows.reduce((a, r) => a + num(r[2]), 0),
      channels: rows.map((r) => ({ channel: r[0] as string, spend: num(r[1]) })),
    };
  }

  /**
   * Revenue booked (event facts) up to the end of the range by persons who reached the stage by
   * then. The steps are picked by a lookup in the few revenue facts: joined plainly, DuckDB
   * guesses `revenue IS NOT NULL` keeps a fifth of the facts and hashes all the steps instead.
   */
  private async revenue(ws: string, q: KpiQuery) {
    const w = sqlString(ws);
    const [r] = await this.rows(
      `WITH c AS (SELECT DISTINCT subject::BIGINT AS pk FROM stage_history
                  WHERE workspace_id = ${w} AND subject_kind = 'person' AND stage = ${sqlString(q.stage)}
                    AND entered_at < ${ts(q.toMs)}),
            r AS (SELECT seq, revenue FROM event_facts
                  WHERE workspace_id = ${w} AND revenue IS NOT NULL AND timestamp < ${ts(q.toMs)})
       SELECT (SELECT count(*) FROM c),
              (SELECT coalesce(sum(r.revenue), 0)
               FROM (SELECT seq, person_key FROM journey_steps
                     WHERE workspace_id = ${w} AND coalesce(seq IN (SELECT seq FROM r), false)) s
               JOIN r ON r.seq = s.seq JOIN c ON c.pk = s.person_key)`,
    );
    return { customers: num(r?.[0]), revenue: num(r?.[1]) };
  }
}
