import { identifiersOf, normalizeEmail } from '../core/identity/identifiers-of.js';
import { IdentityGraph } from '../core/identity/identity-graph.js';
import { CompiledRules, DEFAULT_RULES } from '../core/identity/identity-rules.js';
import { resolveEvent } from '../core/identity/resolve-event.js';
import { importLine } from '../core/spec/import-line.js';
import { type IdentityScore, type ScoredMessage, scoreIdentity } from './identity-score.js';
import type { UnitOutput } from './simulate.js';

/**
 * Runs simulated units through identity resolution as the server would (each line validated,
 * normalised and resolved in arrival order) and scores the persons against the truth.
 */
export function scoreResolution(
  units: Iterable<UnitOutput>,
  now: number,
): IdentityScore & { messages: number } {
  const rules = new CompiledRules(DEFAULT_RULES);
  const graph = new IdentityGraph(rules);
  const truth = new Map<string, string[]>();
  const scored: ScoredMessage[] = [];
  let seq = 0;
  for (const unit of units) {
    for (const t of unit.identifiers) {
      const type = t.type as string;
      const value = type === 'email' ? normalizeEmail(t.value as string) : (t.value as string);
      if (value === null) continue;
      const key = `${type}:${value}`;
      const persons = new Set([...(truth.get(key) ?? []), ...(t.personIds as string[])]);
      truth.set(key, [...persons].sort());
    }
    for (const m of unit.messages) {
      const r = importLine(m.line, { workspaceId: 'ws', seq: ++seq, now, newMessageId: () => `gen-${seq}` });
      if (!r.ok) continue;
      resolveEvent(graph, r.value);
      const ids = identifiersOf(r.value, rules).map((i) => `${i.type}:${i.value}`);
      scored.push({ truePerson: m.personId, identifiers: ids });
    }
  }
  const predicted = (key: string) => {
    const colon = key.indexOf(':');
    const id = graph.idOf('ws', key.slice(0, colon), key.slice(colon + 1));
    return id === undefined ? undefined : graph.personOf(id);
  };
  return { ...scoreIdentity(scored, truth, predicted), messages: seq };
}
