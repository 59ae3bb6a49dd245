/**
 * Causal truth by intervention (reference/attribution.md §5). A unit's outcome is a pure
 * function of which channels are switched on, with every random draw fixed in advance
 * (common random numbers), so "switch channel c off and re-simulate" changes nothing but
 * c's causal path.
 */

export interface OutcomeTotals {
  conversions: number;
  value: number;
}

/** The unit's conversions given a bit mask of switched-on channels (bit i = channel i). */
export type OutcomeFn = (onMask: number) => OutcomeTotals;

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The mask with all `count` channels switched on: the factual world. */
export const allOn = (count: number): number => (1 << count) - 1;

export interface ChannelTruth {
  channel: string;
  /** Units with at least one touch of the channel. */
  exposedUnits: number;
  /** One-at-a-time incremental conversions: conv(all on) − conv(all on but this channel). */
  incrementalConversions: number;
  incrementalValue: number;
  /** Shapley share of conv(all on) − conv(all off) over the on/off game. */
  shapleyConversions: number;
  shapleyValue: number;
}

export interface CausalTotals {
  /** Conversions with every channel on: what the data shows. */
  conversions: number;
  value: number;
  /** Conversions with every channel off: attributable to no channel. */
  baselineConversions: number;
  baselineValue: number;
  channels: ChannelTruth[];
}

/** Accumulates per-unit interventions into channel truths. Shapley is additive over units. */
export class CausalLedger {
  private readonly truth: ChannelTruth[];
  private conversions = 0;
  private value = 0;
  private baselineConversions = 0;
  private baselineValue = 0;

  constructor(private readonly channels: readonly string[]) {
    if (channels.length > 24) throw new Error('at most 24 channels');
    this.truth = channels.map((channel) => ({
      channel,
      exposedUnits: 0,
      incrementalConversions: 0,
      incrementalValue: 0,
      shapleyConversions: 0,
      shapleyValue: 0,
    }));
  }

  /** Adds one unit: `exposedMask` has a bit for each channel the unit was touched by. */
  add(exposedMask: number, outcome: OutcomeFn): OutcomeTotals {
    const all = allOn(this.channels.length);
    const factual = outcome(all);
    const none = outcome(0);
    this.conversions += factual.conversions;
    this.value += factual.value;
    this.baselineConversions += none.conversions;
    this.baselineValue += none.value;

    const players: number[] = [];
    for (let c = 0; c < this.channels.length; c++) if (exposedMask & (1 << c)) players.push(c);
    for (const c of players) {
      const t = this.truth[c] as ChannelTruth;
      t.exposedUnits++;
      const without = outcome(all & ~(1 << c));
      t.incrementalConversions += factual.conversions - without.conversions;
      t.incrementalValue += factual.value - without.value;
    }
    if (players.length > 0 && (factual.conversions !== none.conversions || factual.value !== none.value)) {
      this.addShapley(players, outcome);
    }
    return factual;
  }

  /** Exact Shapley over the unit's own exposed channels; the others are null players here. */
  private addShapley(players: number[], outcome: OutcomeFn): void {
    const m = players.length;
    const subsets = 1 << m;
    const conv = new Float64Array(subsets);
    const val = new Float64Array(subsets);
    for (let s = 0; s < subsets; s++) {
      let mask = 0;
      for (let j = 0; j < m; j++) if (s & (1 << j)) mask |= 1 << (players[j] as number);
      const o = outcome(mask);
      conv[s] = o.conversions;
      val[s] = o.value;
    }
    const weight = shapleyWeights(m);
    for (let j = 0; j < m; j++) {
      const bit = 1 << j;
      let dc = 0;
      let dv = 0;
      for (let s = 0; s < subsets; s++) {
        if (s & bit) continue;
        const w = weight[popcount(s)] as number;
        dc += w * ((conv[s | bit] as number) - (conv[s] as number));
        dv += w * ((val[s | bit] as number) - (val[s] as number));
      }
      const t = this.truth[players[j] as number] as ChannelTruth;
      t.shapleyConversions += dc;
      t.shapleyValue += dv;
    }
  }

  totals(): CausalTotals {
    return {
      conversions: this.conversions,
      value: round(this.value),
      baselineConversions: this.baselineConversions,
      baselineValue: round(this.baselineValue),
      channels: this.truth.map((t) => ({
        ...t,
        incrementalValue: round(t.incrementalValue),
        shapleyConversions: round(t.shapleyConversions),
        shapleyValue: round(t.shapleyValue),
      })),
    };
  }
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** |S|!(m−|S|−1)!/m! for |S| = 0 … m−1. */
function shapleyWeights(m: number): number[] {
  const f = [1];
  for (let i = 1; i <= m; i++) f.push((f[i - 1] as number) * i);
  const out: number[] = [];
  for (let s = 0; s < m; s++) out.push(((f[s] as number) * (f[m - s - 1] as number)) / (f[m] as number));
  return out;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}
