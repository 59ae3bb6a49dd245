import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DedupIndex, type DedupVerdict } from './dedup-index.js';
import { fingerprint } from './fingerprint.js';

const DAY = 86_400_000;

/** The semantics DedupIndex must keep: DedupWindow's, on whole strings. */
class Model {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();
  constructor(
    private readonly windowMs: number,
    private rotatedAt: number,
  ) {}
  private lookup(key: string, fp: string): DedupVerdict {
    const seen = this.current.get(key) ?? this.previous.get(key);
    if (seen === undefined) return 'new';
    return seen === fp ? 'duplicate' : 'conflict';
  }
  check(ws: string, id: string, fp: string, now: number): DedupVerdict {
    if (now - this.rotatedAt >= this.windowMs) {
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = now;
    }
    const verdict = this.lookup(`${ws}\u0001${id}`, fp);
    if (verdict === 'new') this.current.set(`${ws}\u0001${id}`, fp);
    return verdict;
  }
  peek(ws: string, id: string, fp: string): DedupVerdict {
    return this.lookup(`${ws}\u0001${id}`, fp);
  }
  remember(ws: string, id: string, fp: string): void {
    this.current.set(`${ws}\u0001${id}`, fp);
  }
  forget(ws: string, id: string): void {
    this.current.delete(`${ws}\u0001${id}`);
    this.previous.delete(`${ws}\u0001${id}`);
  }
  get size(): number {
    return this.current.size + this.previous.size;
  }
}

const fp = (i: number) => `fp-${i.toString(36).padStart(19, '0')}`;
const sha = (...parts: string[]) => fingerprint(parts);

describe('DedupIndex', () => {
  it('tells new ids, exact repeats and conflicting repeats apart', () => {
    const d = new DedupIndex(7 * DAY, 0);
    expect(d.check('ws', 'm1', 'fp1', 1)).toBe('new');
    expect(d.check('ws', 'm1', 'fp1', 2)).toBe('duplicate');
    expect(d.check('ws', 'm1', 'fp2', 3)).toBe('conflict');
    expect(d.peek('ws', 'm2', 'fp1')).toBe('new');
    expect(d.check('ws', 'm2', 'fp1', 4)).toBe('new'); // peek recorded nothing
    expect(d.size).toBe(2);
  });

  it('reads real fingerprints by their first 64 bits and hashes any other string', () => {
    const d = new DedupIndex(DAY, 0);
    const a = sha('m1', 'track', 'A');
    const b = sha('m1', 'track', 'B');
    expect(d.check('ws', 'm1', a, 0)).toBe('new');
    expect(d.check('ws', 'm1', a, 0)).toBe('duplicate');
    expect(d.check('ws', 'm1', b, 0)).toBe('conflict');
    // Past the 11th character a fingerprint is not looked at: SHA-1's first 64 bits decide.
    expect(d.check('ws', 'm1', `${a.slice(0, 11)}${b.slice(11)}`, 0)).toBe('duplicate');
    // Not base64url (or too short): hashed whole, so every character counts.
    expect(d.check('ws', 'm2', `${a.slice(0, 10)}+${a.slice(11)}`, 0)).toBe('new');
    expect(d.check('ws', 'm2', `${a.slice(0, 10)}+${b.slice(11)}`, 0)).toBe('conflict');
    expect(d.check('ws', 'm2', `${a.slice(0, 10)}+${a.slice(11)}`, 0)).toBe('duplicate');
  });

  it('tells fingerprints apart by each of their first 64 bits', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const a = sha('m1');
    const d = new DedupIndex(DAY, 0);
    d.check('ws', 'm1', a, 0);
    for (let bit = 0; bit < 66; bit++) {
      const at = Math.floor(bit / 6);
      const flipped = alphabet[alphabet.indexOf(a[at]!) ^ (32 >> (bit % 6))]!;
      const b = a.slice(0, at) + flipped + a.slice(at + 1);
      expect(d.peek('ws', 'm1', b), `bit ${bit}`).toBe(bit < 64 ? 'conflict' : 'duplicate');
    }
  });

  it('keeps workspaces apart, including splits that would join to the same string', () => {
    const d = new DedupIndex(DAY, 0);
    expect(d.check('a', 'm1', 'fp', 0)).toBe('new');
    expect(d.check('b', 'm1', 'fp', 0)).toBe('new');
    expect(d.check('ab', 'c', 'fp', 0)).toBe('new');
    expect(d.check('a', 'bc', 'fp', 0)).toBe('new');
    expect(d.check('', '', 'fp', 0)).toBe('new');
    expect(d.check('a', 'm1', 'fp', 0)).toBe('duplicate');
  });

  it('remembers an id for at least the window, and forgets it after two', () => {
    const d = new DedupIndex(7 * DAY, 0);
    d.check('ws', 'k', 'fp', 6 * DAY);
    expect(d.check('ws', 'k', 'fp', 7 * DAY + 1)).toBe('duplicate'); // rotated once: still known
    expect(d.check('ws', 'k', 'fp', 13 * DAY)).toBe('duplicate');
    expect(d.check('ws', 'x', 'fp', 14 * DAY + 2)).toBe('new'); // second rotation
    expect(d.check('ws', 'k', 'fp', 14 * DAY + 3)).toBe('new');
  });

  it('forgets ids on request so a failed write can be retried', () => {
    const d = new DedupIndex(DAY, 0);
    d.check('ws', 'k', 'fp', 0);
    d.check('ws', 'j', 'fp', DAY); // k now in the previous generation
    d.forget('ws', 'k');
    d.forget('ws', 'j');
    expect(d.size).toBe(0);
    expect(d.check('ws', 'k', 'fp', DAY + 1)).toBe('new');
    expect(d.check('ws', 'j', 'fp2', DAY + 1)).toBe('new');
  });

  it('remembers ids loaded at start-up', () => {
    const d = new DedupIndex(DAY, 0);
    d.remember('ws', 'k', 'fp');
    expect(d.check('ws', 'k', 'fp', 1)).toBe('duplicate');
    expect(d.check('ws', 'k', 'other', 1)).toBe('conflict');
  });

  it('keeps every id through many resizes and deletions', () => {
    const d = new DedupIndex(DAY, 0, 1);
    const n = 200_000;
    for (let i = 0; i < n; i++) if (d.check('ws', `m${i}`, fp(i), 0) !== 'new') throw new Error(`m${i}`);
    expect(d.size).toBe(n);
    for (let i = 0; i < n; i++)
      if (d.check('ws', `m${i}`, fp(i), 0) !== 'duplicate') throw new Error(`m${i}`);
    for (let i = 0; i < n; i += 3) d.forget('ws', `m${i}`);
    for (let i = 0; i < n; i++) {
      const want = i % 3 === 0 ? 'new' : 'duplicate';
      if (d.peek('ws', `m${i}`, fp(i)) !== want) throw new Error(`m${i}: expected ${want}`);
    }
  });

  it('uses under 48 bytes an id at a million ids', () => {
    const d = new DedupIndex(DAY, 0);
    const n = 1_000_000;
    for (let i = 0; i < n; i++) d.check('ws_0123456789', `${i}-4b1e-9c3a-7d2f5e8a6b1c`, fp(i), 0);
    expect(d.size).toBe(n);
    const ratio = d.bytes / d.size;
    expect(ratio).toBeLessThan(48);
    expect(ratio).toBeGreaterThan(16);
  });

  it('agrees with a map of whole keys over random operations', () => {
    // Few keys and rare rotations, so tables fill, clusters form and forgets hit stored ids.
    const ws = fc.constantFrom('a', 'b', 'ab');
    const id = fc.string({ unit: fc.constantFrom('x', '\u0001', 'é'), maxLength: 2 });
    const ids = fc.oneof(
      id,
      fc.nat(40).map((n) => `m${n}`),
    );
    // Fingerprints in both forms: base64url (first 64 bits read) and other strings (hashed).
    const fps = fc.constantFrom('f1', 'f2', sha('a'), sha('b'), `${sha('a').slice(0, 10)}=`);
    const op = fc.oneof(
      {
        arbitrary: fc.record({ t: fc.constant('check' as const), ws, id: ids, fp: fps, dt: fc.nat(20) }),
        weight: 8,
      },
      { arbitrary: fc.record({ t: fc.constant('peek' as const), ws, id: ids, fp: fps }), weight: 2 },
      { arbitrary: fc.record({ t: fc.constant('remember' as const), ws, id: ids, fp: fps }), weight: 1 },
      { arbitrary: fc.record({ t: fc.constant('forget' as const), ws, id: ids }), weight: 3 },
      {
        arbitrary: fc.record({ t: fc.constant('rotate' as const), dt: fc.integer({ min: 500, max: 2500 }) }),
        weight: 1,
      },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400, size: 'max' }), (ops) => {
        const d = new DedupIndex(1000, 0, 1);
        const m = new Model(1000, 0);
        let now = 0;
        for (const o of ops) {
          switch (o.t) {
            case 'check':
              now += o.dt;
              expect(d.check(o.ws, o.id, o.fp, now)).toBe(m.check(o.ws, o.id, o.fp, now));
              break;
            case 'peek':
              expect(d.peek(o.ws, o.id, o.fp)).toBe(m.peek(o.ws, o.id, o.fp));
              break;
            case 'remember':
              d.remember(o.ws, o.id, o.fp);
              m.remember(o.ws, o.id, o.fp);
              break;
            case 'forget':
              d.forget(o.ws, o.id);
              m.forget(o.ws, o.id);
              break;
            case 'rotate':
              now += o.dt;
              expect(d.check('rot', 'rot', 'rot', now)).toBe(m.check('rot', 'rot', 'rot', now));
              break;
          }
          expect(d.size).toBe(m.size);
        }
      }),
      { numRuns: 200 },
    );
  });
});
