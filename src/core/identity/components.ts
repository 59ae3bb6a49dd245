/**
 * Union-find over interned identifiers, with what the merge rules need per component: how many
 * identifiers of each type it holds, which sides of "keep apart" constraints it touches, the
 * identifier that names it (anchor), and a circular member list so a component can be walked.
 */
export class Components {
  private parent: number[] = [];
  private size: number[] = [];
  private next: number[] = [];
  private anchor: number[] = [];
  /** Per root: count per type index; absent for a singleton (its own type, once). */
  private counts: (number[] | undefined)[] = [];
  /** Per root: constraint id → sides present (bit 1: side A, bit 2: side B). */
  private tags: (Map<number, number> | undefined)[] = [];

  constructor(
    private readonly typeOf: (id: number) => number,
    /** True when `a` names a component better than `b` (priority, then type, then value). */
    private readonly anchorBefore: (a: number, b: number) => boolean,
    private readonly ownTags: (id: number) => Map<number, number> | undefined,
  ) {}

  /** Makes `id` a component of its own (new or reset). */
  reset(id: number): void {
    this.parent[id] = id;
    this.size[id] = 1;
    this.next[id] = id;
    this.anchor[id] = id;
    this.counts[id] = undefined;
    const own = this.ownTags(id);
    this.tags[id] = own ? new Map(own) : undefined;
  }

  find(id: number): number {
    let root = id;
    while (this.parent[root] !== root) root = this.parent[root] as number;
    let cur = id;
    while (cur !== root) {
      const up = this.parent[cur] as number;
      this.parent[cur] = root;
      cur = up;
    }
    return root;
  }

  anchorOf(id: number): number {
    return this.anchor[this.find(id)] as number;
  }

  countOf(root: number, type: number): number {
    const c = this.counts[root];
    if (c) return c[type] ?? 0;
    return this.typeOf(root) === type ? 1 : 0;
  }

  /**
   * The first rule a union of two roots would break, or null. A type may not grow past its
   * limit; one already past it (a manual merge) may not grow further.
   */
  violation(a: number, b: number, limitOf: (type: number) => number, types: number): string | null {
    for (let t = 0; t < types; t++) {
      const ca = this.countOf(a, t);
      const cb = this.countOf(b, t);
      if (ca > 0 && cb > 0 && ca + cb > Math.max(limitOf(t), ca, cb)) return limitReason(t);
    }
    const ta = this.tags[a];
    const tb = this.tags[b];
    if (ta && tb) {
      for (const [c, ma] of ta) {
        const mb = tb.get(c);
        if (mb !== undefined && (ma | mb) === 3 && ma !== 3 && mb !== 3) return `apart:${c}`;
      }
    }
    return null;
  }

  /** Joins two roots; returns the new root. */
  union(a: number, b: number, types: number): number {
    if (a === b) return a;
    let big = a;
    let small = b;
    if ((this.size[a] as number) < (this.size[b] as number)) {
      big = b;
      small = a;
    }
    const counts = this.counts[big] ?? this.singletonCounts(big, types);
    for (let t = 0; t < types; t++) counts[t] = (counts[t] ?? 0) + this.countOf(small, t);
    this.counts[big] = counts;
    this.counts[small] = undefined;
    const ts = this.tags[small];
    if (ts) {
      const tb = this.tags[big] ?? new Map<number, number>();
      for (const [c, m] of ts) tb.set(c, (tb.get(c) ?? 0) | m);
      this.tags[big] = tb;
      this.tags[small] = undefined;
    }
    const anchorBig = this.anchor[big] as number;
    const anchorSmall = this.anchor[small] as number;
    if (this.anchorBefore(anchorSmall, anchorBig)) this.anchor[big] = anchorSmall;
    // Splice the two circular member lists.
    const nb = this.next[big] as number;
    this.next[big] = this.next[small] as number;
    this.next[small] = nb;
    this.parent[small] = big;
    this.size[big] = (this.size[big] as number) + (this.size[small] as number);
    return big;
  }

  /** True when a component breaks a limit or holds both sides of a keep-apart constraint. */
  overLimit(root: number, limitOf: (type: number) => number, types: number): boolean {
    for (let t = 0; t < types; t++) if (this.countOf(root, t) > limitOf(t)) return true;
    const tags = this.tags[root];
    if (tags) for (const m of tags.values()) if (m === 3) return true;
    return false;
  }

  /** Every member of the component holding `id`. */
  members(id: number): number[] {
    const out = [id];
    for (let cur = this.next[id] as number; cur !== id; cur = this.next[cur] as number) out.push(cur);
    return out;
  }

  private singletonCounts(root: number, types: number): number[] {
    const c = new Array<number>(types).fill(0);
    c[this.typeOf(root)] = 1;
    return c;
  }
}

/** `limit:<type>`, one string per type: replays ask for it once per dropped identifier. */
const limitReasons: string[] = [];
function limitReason(type: number): string {
  let reason = limitReasons[type];
  if (reason === undefined) {
    reason = `limit:${type}`;
    limitReasons[type] = reason;
  }
  return reason;
}
