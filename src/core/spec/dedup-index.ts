export type DedupVerdict = 'new' | 'duplicate' | 'conflict';

/*
 * Ids are stored as a 64-bit hash of (workspaceId, messageId) and payloads as 64 bits of their
 * fingerprint: 16 bytes a slot, where DedupWindow keeps two strings and a Map entry.
 *
 * Why 64 bits are enough: a fingerprint covers the messageId, so two different ids whose key
 * hashes collide still carry different fingerprints and the second is reported as a 'conflict'
 * (quarantined, visible), not dropped. Dropping a new message silently takes both its key hash and
 * its fingerprint bits to match one stored id: 128 bits. A genuine conflict (same id, other
 * payload) is misread as a duplicate with probability 2^-64 per conflict.
 *
 * Fingerprints from fingerprint() are base64url SHA-1, so the first 64 bits are stored as they
 * are (11 characters decoded); any other string (tests, a future format) is hashed to 64 bits.
 */

const MAX_LOAD = 0.7;
const MIN_SLOTS = 8;
const DEFAULT_CAPACITY = 1024;

const KEY_SEED_A = 0x2545f491;
const KEY_SEED_B = 0x165667b1;
const FP_SEED_A = 0x6c8e9cf5;
const FP_SEED_B = 0x27d4eb2f;

// Lane A is MurmurHash3's block step and finaliser, lane B xxHash32's round and avalanche:
// different structures, so the halves are not correlated and a weakness of one (MurmurHash3 has
// seed-independent collisions) is not shared by the other.
const XX_P1 = 0x9e3779b1;
const XX_P2 = 0x85ebca77;
const XX_P3 = 0xc2b2ae3d;

const mixA = (h: number, k: number): number => {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
};

const mixB = (h: number, k: number): number => {
  h = (h + Math.imul(k, XX_P2)) | 0;
  h = (h << 13) | (h >>> 19);
  return Math.imul(h, XX_P1);
};

const finalA = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

const finalB = (h: number): number => {
  h ^= h >>> 15;
  h = Math.imul(h, XX_P2);
  h ^= h >>> 13;
  h = Math.imul(h, XX_P3);
  return (h ^ (h >>> 16)) >>> 0;
};

// Results of hash64; module scratch instead of an array so hashing allocates nothing.
let outHi = 0;
let outLo = 0;

/**
 * 64-bit hash of the pair (s, t), as outHi/outLo. Each string is fed as its length, then its
 * UTF-16 units two to a block: the length prefixes make the pair → blocks encoding injective,
 * which the `\u0001` separator of DedupWindow.key is not, and no joined string is built.
 * outHi is never 0, the table's empty marker.
 */
function hash64(s: string, t: string, seedA: number, seedB: number): void {
  let a = seedA;
  let b = seedB;
  for (let part = 0; part < 2; part++) {
    const str = part === 0 ? s : t;
    const n = str.length;
    a = mixA(a, n);
    b = mixB(b, n);
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const k = str.charCodeAt(i) | (str.charCodeAt(i + 1) << 16);
      a = mixA(a, k);
      b = mixB(b, k);
    }
    if (i < n) {
      const k = str.charCodeAt(i);
      a = mixA(a, k);
      b = mixB(b, k);
    }
  }
  const total = s.length + t.length;
  outHi = finalA(a ^ total) || 1;
  outLo = finalB(b ^ total);
}

const BASE64URL = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) {
  BASE64URL[c.charCodeAt(0)] = i;
}

/** The fingerprint's first 64 bits as outHi/outLo (see the top of the file). */
function fingerprint64(fp: string): void {
  if (fp.length >= 11) {
    let hi = 0;
    let lo = 0;
    let i = 0;
    for (; i < 11; i++) {
      const c = fp.charCodeAt(i);
      const v = c < 128 ? BASE64URL[c]! : -1;
      if (v < 0) break;
      if (i < 5) hi = (hi << 6) | v;
      else if (i === 5) {
        hi = (hi << 2) | (v >>> 4);
        lo = v & 15;
      } else if (i < 10) lo = (lo << 6) | v;
      else lo = (lo << 4) | (v >>> 2);
    }
    if (i === 11) {
      outHi = hi >>> 0;
      outLo = lo >>> 0;
      return;
    }
  }
  hash64(fp, '', FP_SEED_A, FP_SEED_B);
}

/**
 * Open addressing with linear probing: 4 words a slot (keyHi, keyLo, fpHi, fpLo), keyHi 0 when
 * empty. Deletion shifts later entries of the cluster back, so there are no tombstones and
 * lookups never walk past dead slots.
 */
class Table {
  slots: Uint32Array;
  mask: number;
  count = 0;
  private limit: number;

  constructor(capacity: number) {
    this.slots = new Uint32Array(capacity * 4);
    this.mask = capacity - 1;
    this.limit = Math.floor(capacity * MAX_LOAD);
  }

  /** Word offset of the key's slot, or of the empty slot where it would go. */
  private probe(hi: number, lo: number): number {
    const s = this.slots;
    const mask = this.mask;
    let i = lo & mask;
    for (;;) {
      const at = i << 2;
      const h = s[at]!;
      if (h === 0 || (h === hi && s[at + 1] === lo)) return at;
      i = (i + 1) & mask;
    }
  }

  /** Word offset of the key's slot, or -1. */
  find(hi: number, lo: number): number {
    const at = this.probe(hi, lo);
    return this.slots[at] === 0 ? -1 : at;
  }

  set(hi: number, lo: number, fpHi: number, fpLo: number): void {
    if (this.count >= this.limit) this.grow();
    const s = this.slots;
    const at = this.probe(hi, lo);
    if (s[at] === 0) this.count++;
    s[at] = hi;
    s[at + 1] = lo;
    s[at + 2] = fpHi;
    s[at + 3] = fpLo;
  }

  delete(hi: number, lo: number): void {
    const found = this.find(hi, lo);
    if (found < 0) return;
    const s = this.slots;
    const mask = this.mask;
    let hole = found >>> 2;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const at = j << 2;
      if (s[at] === 0) break;
      // An entry may fill the hole only if the hole lies between its home slot and where it sits.
      const home = s[at + 1]! & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        const to = hole << 2;
        s[to] = s[at]!;
        s[to + 1] = s[at + 1]!;
        s[to + 2] = s[at + 2]!;
        s[to + 3] = s[at + 3]!;
        hole = j;
      }
    }
    s.fill(0, hole << 2, (hole << 2) + 4);
    this.count--;
  }

  private grow(): void {
    const old = this.slots;
    const capacity = (this.mask + 1) * 2;
    const s = new Uint32Array(capacity * 4);
    const mask = capacity - 1;
    for (let at = 0; at < old.length; at += 4) {
      const hi = old[at]!;
      if (hi === 0) continue;
      const lo = old[at + 1]!;
      let i = lo & mask;
      while (s[i << 2] !== 0) i = (i + 1) & mask;
      const to = i << 2;
      s[to] = hi;
      s[to + 1] = lo;
      s[to + 2] = old[at + 2]!;
      s[to + 3] = old[at + 3]!;
    }
    this.slots = s;
    this.mask = mask;
    this.limit = Math.floor(capacity * MAX_LOAD);
  }
}

/** Slots (a power of two) holding `ids` within the load factor. */
function slotsFor(ids: number): number {
  let slots = MIN_SLOTS;
  while (slots * MAX_LOAD < ids) slots *= 2;
  return slots;
}

/**
 * Remembers (workspace, messageId) → payload fingerprint for at least `windowMs`, in ≈ 23–46 bytes
 * an id. Two generations rotate every window, as in DedupWindow, so every id is remembered for
 * between one and two windows. `initialCapacity` is the number of ids a generation holds before
 * it first grows; a new generation starts at that size again.
 */
export class DedupIndex {
  private current: Table;
  private previous: Table;
  private rotatedAt: number;
  private readonly initialSlots: number;

  constructor(
    private readonly windowMs: number,
    now: number,
    initialCapacity = DEFAULT_CAPACITY,
  ) {
    this.rotatedAt = now;
    this.initialSlots = slotsFor(initialCapacity);
    this.current = new Table(this.initialSlots);
    this.previous = new Table(MIN_SLOTS);
  }

  /** Records the id if new; otherwise says whether the repeat carries the same payload. */
  check(workspaceId: string, messageId: string, fingerprint: string, now: number): DedupVerdict {
    this.rotate(now);
    hash64(workspaceId, messageId, KEY_SEED_A, KEY_SEED_B);
    const hi = outHi;
    const lo = outLo;
    fingerprint64(fingerprint);
    const verdict = this.lookup(hi, lo, outHi, outLo);
    if (verdict === 'new') this.current.set(hi, lo, outHi, outLo);
    return verdict;
  }

  /** Looks without recording. */
  peek(workspaceId: string, messageId: string, fingerprint: string): DedupVerdict {
    hash64(workspaceId, messageId, KEY_SEED_A, KEY_SEED_B);
    const hi = outHi;
    const lo = outLo;
    fingerprint64(fingerprint);
    return this.lookup(hi, lo, outHi, outLo);
  }

  /** For ids already stored (start-up load). */
  remember(workspaceId: string, messageId: string, fingerprint: string): void {
    hash64(workspaceId, messageId, KEY_SEED_A, KEY_SEED_B);
    const hi = outHi;
    const lo = outLo;
    fingerprint64(fingerprint);
    this.current.set(hi, lo, outHi, outLo);
  }

  /** Undoes `check` for ids whose write failed, so the client's retry is accepted. */
  forget(workspaceId: string, messageId: string): void {
    hash64(workspaceId, messageId, KEY_SEED_A, KEY_SEED_B);
    this.current.delete(outHi, outLo);
    this.previous.delete(outHi, outLo);
  }

  /** Entries in both generations (an id remembered again after a rotation counts twice). */
  get size(): number {
    return this.current.count + this.previous.count;
  }

  /** Bytes held by the tables (for metrics and the benchmark). */
  get bytes(): number {
    return this.current.slots.byteLength + this.previous.slots.byteLength;
  }

  private lookup(hi: number, lo: number, fpHi: number, fpLo: number): DedupVerdict {
    let table = this.current;
    let at = table.find(hi, lo);
    if (at < 0) {
      table = this.previous;
      at = table.find(hi, lo);
      if (at < 0) return 'new';
    }
    return table.slots[at + 2] === fpHi && table.slots[at + 3] === fpLo ? 'duplicate' : 'conflict';
  }

  private rotate(now: number): void {
    if (now - this.rotatedAt < this.windowMs) return;
    this.previous = this.current;
    this.current = new Table(this.initialSlots);
    this.rotatedAt = now;
  }
}
