import type { Identifier } from './identifiers-of.js';
import { type CompiledRules, compareTypes } from './identity-rules.js';

/**
 * Identifiers interned to dense integers, across workspaces (a key includes its workspace, so
 * persons never span two). Also the per-workspace rules, since ordering and limits depend on them.
 */
export class IdentifierTable {
  private readonly wsOf: number[] = [];
  private readonly typeIdx: number[] = [];
  private readonly valueOf: string[] = [];
  private readonly dead = new Set<number>();
  private readonly keyToId = new Map<string, number>();
  private readonly workspaces: string[] = [];
  private readonly wsIndex = new Map<string, number>();
  private readonly typeNames: string[] = [];
  private readonly typeIndex = new Map<string, number>();
  private readonly rules: CompiledRules[] = [];
  private readonly limitFns: (((type: number) => number) | undefined)[] = [];

  constructor(private readonly defaultRules: CompiledRules) {}

  setRules(workspaceId: string, rules: CompiledRules): void {
    const ws = this.workspace(workspaceId);
    this.rules[ws] = rules;
    this.limitFns[ws] = undefined;
  }

  rulesOf(workspaceId: string): CompiledRules {
    const ws = this.wsIndex.get(workspaceId);
    return (ws === undefined ? undefined : this.rules[ws]) ?? this.defaultRules;
  }

  /** The id of an identifier; `created` when it was new (given `id`, or the next free one). */
  intern(workspaceId: string, type: string, value: string, id?: number): { id: number; created: boolean } {
    const ws = this.workspace(workspaceId);
    const key = `${ws}\u0001${type}\u0001${value}`;
    const known = this.keyToId.get(key);
    if (known !== undefined) return { id: known, created: false };
    const nid = id ?? this.valueOf.length;
    this.wsOf[nid] = ws;
    this.typeIdx[nid] = this.type(type);
    this.valueOf[nid] = value;
    this.keyToId.set(key, nid);
    return { id: nid, created: true };
  }

  idOf(workspaceId: string, type: string, value: string): number | undefined {
    const ws = this.wsIndex.get(workspaceId);
    return ws === undefined ? undefined : this.keyToId.get(`${ws}\u0001${type}\u0001${value}`);
  }

  /** Retires an identifier (data deletion): it no longer resolves, and its value may come back as a new id. */
  kill(id: number): void {
    const who = this.identifier(id);
    this.keyToId.delete(`${this.wsOf[id]}\u0001${who.type}\u0001${who.value}`);
    this.dead.add(id);
  }

  isDead(id: number): boolean {
    return this.dead.has(id);
  }

  get anyDead(): boolean {
    return this.dead.size > 0;
  }

  /** The next id `intern` would give. */
  get nextId(): number {
    return this.valueOf.length;
  }

  /** Interned at some point (dead or alive). */
  known(id: number): boolean {
    return this.valueOf[id] !== undefined;
  }

  exists(id: number): boolean {
    return id >= 0 && id < this.valueOf.length && this.valueOf[id] !== undefined && !this.dead.has(id);
  }

  identifier(id: number): Identifier & { workspaceId: string } {
    return {
      workspaceId: this.workspaces[this.wsOf[id] as number] as string,
      type: this.typeNames[this.typeIdx[id] as number] as string,
      value: this.valueOf[id] as string,
    };
  }

  typeOf(id: number): number {
    return this.typeIdx[id] as number;
  }

  typeName(type: number): string {
    return this.typeNames[type] as string;
  }

  get typeCount(): number {
    return this.typeNames.length;
  }

  /** Every live identifier id of a workspace whose type and value satisfy `match`. */
  *search(workspaceId: string, match: (type: string, value: string) => boolean): Generator<number> {
    const ws = this.wsIndex.get(workspaceId);
    if (ws === undefined) return;
    for (let id = 0; id < this.valueOf.length; id++) {
      if (this.wsOf[id] !== ws || this.dead.has(id)) continue;
      if (match(this.typeNames[this.typeIdx[id] as number] as string, this.valueOf[id] as string)) yield id;
    }
  }

  /** Orders identifiers as their workspace's rules rank them: priority, type name, value. */
  compare(a: number, b: number): number {
    const rules = this.rules[this.wsOf[a] as number] ?? this.defaultRules;
    const ta = this.typeNames[this.typeIdx[a] as number] as string;
    const tb = this.typeNames[this.typeIdx[b] as number] as string;
    const byType = ta === tb ? 0 : compareTypes(rules, ta, tb);
    if (byType !== 0) return byType;
    const va = this.valueOf[a] as string;
    const vb = this.valueOf[b] as string;
    return va < vb ? -1 : va > vb ? 1 : 0;
  }

  /** The limit per type index for `id`'s workspace. */
  limitFn(id: number): (type: number) => number {
    const ws = this.wsOf[id] as number;
    let fn = this.limitFns[ws];
    if (!fn) {
      const rules = this.rules[ws] ?? this.defaultRules;
      fn = (t) => rules.limitOf(this.typeNames[t] as string);
      this.limitFns[ws] = fn;
    }
    return fn;
  }

  private workspace(id: string): number {
    let ws = this.wsIndex.get(id);
    if (ws === undefined) {
      ws = this.workspaces.length;
      this.workspaces.push(id);
      this.wsIndex.set(id, ws);
    }
    return ws;
  }

  private type(name: string): number {
    let t = this.typeIndex.get(name);
    if (t === undefined) {
      t = this.typeNames.length;
      this.typeNames.push(name);
      this.typeIndex.set(name, t);
    }
    return t;
  }
}
