import { randomBytes } from 'node:crypto';

/**
 * Dashboard sign-ins: a browser trades an admin key for a session id in an HttpOnly,
 * SameSite=Strict cookie, so the key never sits in a URL, in `localStorage` or in page script.
 * The keys stay here, in the server's memory, and are checked against the key ring on every
 * request: revoking a key ends the sessions that hold it. A session that signs in with a second
 * workspace's key holds both, and the dashboard switches between them.
 *
 * Sessions live in memory: a restart signs everyone out (the dashboard then asks for the key
 * again), which keeps no secret on disk.
 */
export interface DashboardSession {
  id: string;
  /** Sent back by the dashboard in `X-CSRF-Token` on every mutation. */
  csrfToken: string;
  /** Admin keys signed in with, in sign-in order. */
  keys: string[];
  /** The index in `keys` of the workspace the dashboard shows. */
  current: number;
  expiresAt: number;
}

export const SESSION_COOKIE = 'throughline_session';
/** A session lasts this long after its last use. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/**
 * Sessions per admin key: past it, that key's oldest session ends. Per key, so that signing in
 * again and again with one workspace's key can never sign out another workspace's users.
 */
export const MAX_SESSIONS_PER_KEY = 100;

const token = () => randomBytes(24).toString('base64url');

export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * A new session for a key. Signed in already, the new session also holds the earlier one's keys
   * and shows the new key's workspace; the earlier session ends. The id and CSRF token are always
   * new: a session id planted in a browser before sign-in is worth nothing after it.
   */
  signIn(key: string, existing?: DashboardSession): DashboardSession {
    const keys = existing ? [...existing.keys.filter((k) => k !== key), key] : [key];
    if (existing) this.sessions.delete(existing.id);
    this.evict(key);
    const session = {
      id: token(),
      csrfToken: token(),
      keys,
      current: keys.length - 1,
      expiresAt: this.now() + SESSION_TTL_MS,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of an id (its lifetime extended), or undefined. */
  get(id: string | undefined): DashboardSession | undefined {
    if (id === undefined) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    s.expiresAt = this.now() + SESSION_TTL_MS;
    return s;
  }

  signOut(id: string): void {
    this.sessions.delete(id);
  }

  /** Expired sessions go; past the cap, the oldest sessions holding `key` too. */
  private evict(key: string): void {
    const now = this.now();
    const holding: string[] = [];
    for (const [id, s] of this.sessions) {
      if (s.expiresAt <= now) this.sessions.delete(id);
      else if (s.keys.includes(key)) holding.push(id);
    }
    // Map order is creation order: the first are the oldest.
    for (const id of holding.slice(0, Math.max(0, holding.length - MAX_SESSIONS_PER_KEY + 1)))
      this.sessions.delete(id);
  }
}
