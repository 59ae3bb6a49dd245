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
const MAX_SESSIONS = 10_000;

const token = () => randomBytes(24).toString('base64url');

export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new session for a key, or the key added to an existing one (then shown). */
  signIn(key: string, existing?: DashboardSession): DashboardSession {
    if (existing) {
      const at = existing.keys.indexOf(key);
      existing.current = at >= 0 ? at : existing.keys.push(key) - 1;
      existing.expiresAt = this.now() + SESSION_TTL_MS;
      return existing;
    }
    this.evict();
    const session = {
      id: token(),
      csrfToken: token(),
      keys: [key],
      current: 0,
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

  /** Expired sessions go; past the cap, the oldest too (a flood of sign-ins cannot fill memory). */
  private evict(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }
}
