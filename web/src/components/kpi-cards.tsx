import { query } from '../api';
import type { Kpi, Kpis } from '../types';
import { Show, useApi } from './state';

/** A KPI's value with its unit, as the cards and the CLI print it. */
export function kpiText(k: Pick<Kpi, 'value' | 'unit'>): string {
  if (k.value === null) return '—';
  const digits = k.unit === 'conversions' ? 0 : k.unit === 'currency' ? 2 : 1;
  const n = k.value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const unit = {
    percent: ' %',
    days: ' days',
    months: ' months',
    touchpoints: '',
    conversions: '',
    currency: '',
    score: '',
  }[k.unit];
  return `${n}${unit}`;
}

const UNIT_NOTE: Record<Kpi['unit'], string> = {
  percent: 'percent',
  days: 'days (median)',
  months: 'months',
  touchpoints: 'touchpoints per deal',
  conversions: 'conversions',
  currency: 'in the data’s currency',
  score: 'score, −100 to 100',
};

/**
 * The journey KPIs of a range (GET /api/kpis) as cards: the value and its unit, the formula on
 * hover (`title`), and for a value that cannot be computed the reason in place of a number.
 */
export function KpiCards({ from, to }: { from: string; to: string }) {
  const loaded = useApi<Kpis>(`/api/kpis${query({ from, to })}`);
  return (
    <section class="card" aria-labelledby="kpis-title">
      <h2 id="kpis-title">Journey KPIs</h2>
      <Show loaded={loaded} what="the KPIs">
        {(r) => (
          <>
            {!r.freshness.current && <p class="small muted">The journey tables are catching up.</p>}
            <ul class="grid cols-4 kpis" aria-label="Journey KPIs">
              {r.kpis.map((k) => (
                <li
                  key={k.metric}
                  class="kpi"
                  data-kpi={k.metric}
                  title={k.value === null ? `${k.formula}\n\nNo value: ${k.missing}` : k.formula}
                >
                  <span class="label">{k.label}</span>
                  <span class="value">{kpiText(k)}</span>
                  {k.value === null ? (
                    <span class="small muted missing">{k.missing}</span>
                  ) : (
                    <span class="small muted">{UNIT_NOTE[k.unit]}</span>
                  )}
                </li>
              ))}
            </ul>
            <p class="small muted">Hover a card for its formula; the definitions are in docs/metrics.md.</p>
          </>
        )}
      </Show>
    </section>
  );
}
