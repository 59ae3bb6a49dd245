/**
 * Scores identity resolution against the simulator's truth, pairwise over identifiers:
 *
 * - precision: of the identifier pairs put in one person, the share that truly are one person;
 * - recall: of the pairs the data makes knowable (linked by that person's own messages), the
 *   share put in one person. Pairs no message ever links (an anonymous id never signed in) are
 *   not knowable, so they do not count against recall.
 *
 * Identifiers are written `type:value`. A shared device's identifier has two true persons.
 */

export interface ScoredMessage {
  truePerson: string;
  identifiers: string[];
}

export interface IdentityScore {
  identifiers: number;
  precision: number;
  recall: number;
  predictedPairs: number;
  correctPairs: number;
  knowablePairs: number;
  recalledPairs: number;
}

const pairs = (n: number) => (n * (n - 1)) / 2;

export function scoreIdentity(
  messages: Iterable<ScoredMessage>,
  truth: Map<string, string[]>,
  predicted: (identifier: string) => string | number | undefined,
): IdentityScore {
  // Precision: label each identifier with one true person (for a shared one, the person most of
  // its predicted cluster belongs to), then count pairs per (cluster, label).
  const clusters = new Map<string | number, string[]>();
  for (const key of truth.keys()) {
    const c = predicted(key);
    if (c === undefined) continue;
    const list = clusters.get(c) ?? [];
    list.push(key);
    clusters.set(c, list);
  }
  let predictedPairs = 0;
  let correctPairs = 0;
  for (const members of clusters.values()) {
    predictedPairs += pairs(members.length);
    const votes = new Map<string, number>();
    for (const m of members) for (const p of truth.get(m) ?? []) votes.set(p, (votes.get(p) ?? 0) + 1);
    const labels = new Map<string, number>();
    for (const m of members) {
      const persons = truth.get(m) ?? [];
      let best = persons[0] as string;
      for (const p of persons) if ((votes.get(p) ?? 0) > (votes.get(best) ?? 0)) best = p;
      labels.set(best, (labels.get(best) ?? 0) + 1);
    }
    for (const n of labels.values()) correctPairs += pairs(n);
  }

  // Recall: per true person, the components its own messages link; nodes are (person, identifier).
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    let c = x;
    while (c !== r) {
      const up = parent.get(c) as string;
      parent.set(c, r);
      c = up;
    }
    return r;
  };
  for (const m of messages) {
    const nodes = m.identifiers.filter((k) => truth.has(k)).map((k) => `${m.truePerson}\u0001${k}`);
    for (const n of nodes) if (!parent.has(n)) parent.set(n, n);
    for (let i = 1; i < nodes.length; i++) {
      const a = find(nodes[0] as string);
      const b = find(nodes[i] as string);
      if (a !== b) parent.set(b, a);
    }
  }
  const components = new Map<string, Map<string | number | undefined, number>>();
  for (const node of parent.keys()) {
    const root = find(node);
    const key = node.slice(node.indexOf('\u0001') + 1);
    const byCluster = components.get(root) ?? new Map<string | number | undefined, number>();
    const c = predicted(key);
    byCluster.set(c, (byCluster.get(c) ?? 0) + 1);
    components.set(root, byCluster);
  }
  let knowablePairs = 0;
  let recalledPairs = 0;
  for (const byCluster of components.values()) {
    let size = 0;
    for (const [c, n] of byCluster) {
      size += n;
      if (c !== undefined) recalledPairs += pairs(n);
    }
    knowablePairs += pairs(size);
  }
  return {
    identifiers: truth.size,
    precision: predictedPairs === 0 ? 1 : correctPairs / predictedPairs,
    recall: knowablePairs === 0 ? 1 : recalledPairs / knowablePairs,
    predictedPairs,
    correctPairs,
    knowablePairs,
    recalledPairs,
  };
}
