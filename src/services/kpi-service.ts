import type { QueryProblem } from '../core/analytics/analytics-query.js';
import {
  isKpiMetric,
  KPI_METRICS,
  type KpiMetric,
  type KpiQuery,
  parseKpiQuery,
} from '../core/analytics/kpi-query.js';
import {
  type KpiInputs,
  type KpiSection,
  type KpiValue,
  kpiValue,
  SECTIONS_OF,
} from '../core/analytics/kpis.js';
import type { StageModel } from '../core/journey/stages.js';
import { err, ok, type Result } from '../core/result.js';
import type { AnalyticsTables, TablesFreshness } from './analytics-ports.js';
import type { Clock } from './ports.js';

/**
 * The journey KPIs (docs/metrics.md): the store counts what the requested metrics need, one
 * grouped pass per table and section, and core turns the counts into values with their formulas.
 */

export interface KpiContext {
  /** The workspace's conversion events (journey settings). */
  conversions: readonly string[];
  /** Stage ids in model order, churn stages left out: the order drop-off follows. */
  stageOrder: readonly string[];
}

export interface KpiStore {
  inputs(
    workspaceId: string,
    q: KpiQuery,
    sections: ReadonlySet<KpiSection>,
    ctx: KpiContext,
  ): Promise<KpiInputs>;
}

export type KpiResponse = KpiValue & { from: string; to: string; freshness: TablesFreshness };

export interface KpisResponse {
  from: string;
  to: string;
  freshness: TablesFreshness;
  kpis: KpiResponse[];
}

export class KpiService {
  constructor(
    private readonly store: KpiStore,
    private readonly tables: AnalyticsTables,
    private readonly journeys: {
      settingsOf(ws: string): { settings: { conversions: string[] } };
      rulesOf(ws: string): { stageModel: StageModel };
    },
    private readonly clock: Clock,
  ) {}

  async all(workspaceId: string, raw: unknown): Promise<Result<KpisResponse, QueryProblem>> {
    const r = await this.compute(workspaceId, raw, KPI_METRICS);
    if (!r.ok) return r;
    const { from, to, freshness } = r.value;
    return ok({ from, to, freshness, kpis: r.value.kpis });
  }

  async one(workspaceId: string, metric: string, raw: unknown): Promise<Result<KpiResponse, QueryProblem>> {
    if (!isKpiMetric(metric))
      return err({
        message: `metric: unknown metric "${metric}" (one of ${KPI_METRICS.join(', ')})`,
        field: 'metric',
      });
    const r = await this.compute(workspaceId, raw, [metric]);
    if (!r.ok) return r;
    return ok(r.value.kpis[0] as KpiResponse);
  }

  private async compute(
    workspaceId: string,
    raw: unknown,
    metrics: readonly KpiMetric[],
  ): Promise<Result<KpisResponse, QueryProblem>> {
    const parsed = parseKpiQuery(raw, this.clock.now());
    if (!parsed.ok) return parsed;
    const q = parsed.value;
    const freshness = await this.tables.freshen(workspaceId);
    const { settings } = this.journeys.settingsOf(workspaceId);
    const churn = new Set(q.churnStages);
    const ctx: KpiContext = {
      conversions: settings.conversions,
      stageOrder: this.journeys
        .rulesOf(workspaceId)
        .stageModel.stages.map((s) => s.id)
        .filter((id) => !churn.has(id)),
    };
    const sections = new Set(metrics.flatMap((m) => SECTIONS_OF[m]));
    const inputs = await this.store.inputs(workspaceId, q, sections, ctx);
    const from = new Date(q.fromMs).toISOString();
    const to = new Date(q.toMs).toISOString();
    return ok({
      from,
      to,
      freshness,
      kpis: metrics.map((m) => ({ ...kpiValue(m, inputs, q), from, to, freshness })),
    });
  }
}
