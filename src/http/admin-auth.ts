import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRing } from '../services/workspace-service.js';
import { type DashboardSession, type DashboardSessions, SESSION_COOKIE } from './dashboard-sessions.js';
import { sendError } from './errors.js';
import { bearerToken } from './write-key-auth.js';

/**
 * Who may call `/api`: a script with `Authorization: Bearer <admin key>`, or the dashboard with
 * its session cookie. A cookie alone never authorises a change: every method but GET and HEAD
 * must also carry the session's `X-CSRF-Token`, which a page of another site cannot read
 * (SameSite=Strict already keeps the cookie off cross-site requests; this is the second lock).
 */
export function adminAuth(keyRing: KeyRing, sessions: DashboardSessions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = bearerToken(request);
    if (token !== undefined) {
      const ws = keyRing.workspaceForAdminKey(token);
      if (ws === undefined)
        return sendError(reply, 'invalid_key', 'the admin key is not valid for any workspace');
      request.workspaceId = ws;
      return undefined;
    }
    const session = sessions.get(request.cookies[SESSION_COOKIE]);
    if (session === undefined)
      return sendError(
        reply,
        'missing_key',
        'send the admin key as "Authorization: Bearer <admin key>", or sign in to the dashboard',
      );
    const ws = currentWorkspace(keyRing, session);
    if (ws === undefined) {
      sessions.signOut(session.id);
      return sendError(
        reply,
        'invalid_key',
        'the key this session signed in with was revoked: sign in again',
      );
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      if (!csrfOk(request, session))
        return sendError(
          reply,
          'csrf_rejected',
          'a change made with the dashboard session needs its X-CSRF-Token header (from GET /api/session)',
        );
    }
    request.workspaceId = ws;
    request.stillAuthorized = () => {
      const live = sessions.get(session.id);
      return live !== undefined && currentWorkspace(keyRing, live) === ws;
    };
    return undefined;
  };
}

/**
 * The workspace a session shows. Keys revoked since sign-in are dropped; when the shown one
 * went, the first still valid is shown instead. Undefined when none is left.
 */
export function currentWorkspace(keyRing: KeyRing, session: DashboardSession): string | undefined {
  const valid = session.keys.filter((k) => keyRing.workspaceForAdminKey(k) !== undefined);
  if (valid.length !== session.keys.length) {
    const shown = session.keys[session.current];
    session.keys = valid;
    session.current = Math.max(0, shown === undefined ? 0 : valid.indexOf(shown));
  }
  const key = session.keys[session.current];
  return key === undefined ? undefined : keyRing.workspaceForAdminKey(key);
}

/** Whether a request carries the session's CSRF token. */
export function csrfOk(request: FastifyRequest, session: DashboardSession): boolean {
  const given = request.headers['x-csrf-token'];
  return typeof given === 'string' && sameSecret(given, session.csrfToken);
}

/** Compares secrets in constant time (hashes first, so lengths do not leak either). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
