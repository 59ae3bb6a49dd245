export type DedupVerdict = 'new' | 'duplicate' | 'conflict';

/**
 * Remembers (workspace, messageId) → payload fingerprint for at least `windowMs`.
 * Two generations of maps rotate every window, so memory stays bounded without a
 * per-entry timestamp and every id is remembered for between one and two windows.
 */
export class DedupWindow {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();
  private rotatedAt: number;

  constructor(
    private readonly windowMs: number,
    now: number,
  ) {
    this.rotatedAt = now;
  }

  static key(workspaceId: string, messageId: string): string {
    return `${workspaceId}\u0001${messageId}`;
  }

  /** Records the id if new; otherwise says whether the repeat carries the same payload. */
  check(key: string, fingerprint: string, now: number): DedupVerdict {
    this.rotate(now);
    const seen = this.current.get(key) ?? this.previous.get(key);
    if (seen === undefined) {
      this.current.set(key, fingerprint);
      return 'new';
    }
    return seen === fingerprint ? 'duplicate' : 'conflict';
  }

  /** For ids already committed (start-up load). */
  remember(key: string, fingerprint: string): void {
    this.current.set(key, fingerprint);
  }

  /** Undoes `check` for ids whose commit failed, so the client's retry is accepted. */
  forget(key: string): void {
    this.current.delete(key);
    this.previous.delete(key);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(now: number): void {
    if (now - this.rotatedAt < this.windowMs) return;
    this.previous = this.current;
    this.current = new Map();
    this.rotatedAt = now;
  }
}
