/**
 * Person-level changes, named by anchor identifier ids. The pipeline turns anchors into person
 * ids; a consumer re-points anything held for `from` persons to `person`.
 */
export type PersonChange =
  | { kind: 'created'; person: number }
  | { kind: 'merged'; person: number; from: number[] }
  | { kind: 'split'; from: number; into: number[] }
  | { kind: 'deleted'; person: number };

/** Compares who each identifier belonged to before and after a step. */
export function diffPersons(members: number[], before: number[], after: number[]): PersonChange[] {
  const intoOf = new Map<number, Set<number>>();
  const fromOf = new Map<number, Set<number>>();
  members.forEach((_, i) => {
    const b = before[i] as number;
    const a = after[i] as number;
    const into = intoOf.get(b) ?? new Set<number>();
    into.add(a);
    intoOf.set(b, into);
    const from = fromOf.get(a) ?? new Set<number>();
    from.add(b);
    fromOf.set(a, from);
  });
  const changes: PersonChange[] = [];
  for (const [b, into] of intoOf) {
    if (into.size > 1) changes.push({ kind: 'split', from: b, into: [...into].sort((x, y) => x - y) });
  }
  for (const [a, from] of fromOf) {
    const splitting = [...from].some((b) => (intoOf.get(b)?.size ?? 0) > 1);
    if (from.size > 1 || (!splitting && !from.has(a))) {
      changes.push({ kind: 'merged', person: a, from: [...from].sort((x, y) => x - y) });
    }
  }
  return changes;
}
