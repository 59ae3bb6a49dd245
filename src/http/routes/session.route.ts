import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRing } from '../../services/workspace-service.js';
import { csrfOk, currentWorkspace } from '../admin-auth.js';
import {
  type DashboardSession,
  type DashboardSessions,
  SESSION_COOKIE,
  SESSION_TTL_MS,
} from '../dashboard-sessions.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

interface Deps {
  keyRing: KeyRing;
  sessions: DashboardSessions;
}

const cookieOptions = (request: FastifyRequest) => ({
  path: '/',
  httpOnly: true,
  sameSite: 'strict' as const,
  secure: request.protocol === 'https',
});

/** Dashboard sign-in: an admin key for a session cookie, the session's state, sign-out. */
export async function sessionRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  const tags = ['Dashboard session'];
  const describe = (session: DashboardSession) => {
    const workspaces = session.keys.map((k) => deps.keyRing.workspaceForAdminKey(k) ?? null);
    return {
      workspace: workspaces[session.current] ?? null,
      workspaces: workspaces.filter((w): w is string => w !== null),
      csrfToken: session.csrfToken,
    };
  };
  const cookie = (request: FastifyRequest, reply: FastifyReply, session: DashboardSession) =>
    reply
      // The answer holds the CSRF token: no cache may keep it.
      .header('cache-control', 'no-store')
      .setCookie(SESSION_COOKIE, session.id, { ...cookieOptions(request), maxAge: SESSION_TTL_MS / 1000 });
  const live = (request: FastifyRequest) => {
    const session = deps.sessions.get(request.cookies[SESSION_COOKIE]);
    return session && currentWorkspace(deps.keyRing, session) !== undefined ? session : undefined;
  };

  app.post<{ Body: { key: string } }>(
    '/api/session',
    {
      schema: {
        tags,
        summary:
          'Sign in to the dashboard with an admin key: sets an HttpOnly session cookie. Signed in already, the key adds its workspace to the session (the workspace switcher) and shows it.',
        body: {
          type: 'object',
          required: ['key'],
          additionalProperties: false,
          properties: { key: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      // Signed in already, adding a workspace is a change to that session: it needs the token.
      const existing = live(request);
      if (existing && !csrfOk(request, existing))
        return sendError(
          reply,
          'csrf_rejected',
          'adding a workspace to a session needs its X-CSRF-Token header',
        );
      const key = request.body.key.trim();
      if (deps.keyRing.workspaceForAdminKey(key) === undefined)
        return sendError(reply, 'invalid_key', 'that admin key is not valid for any workspace');
      const session = deps.sessions.signIn(key, existing);
      cookie(request, reply, session);
      return describe(session);
    },
  );

  app.get(
    '/api/session',
    {
      schema: {
        tags,
        summary: 'The dashboard session: its workspaces and CSRF token',
        response: errorResponses(401),
      },
    },
    async (request, reply) => {
      const session = live(request);
      if (!session)
        return sendError(reply, 'missing_key', 'not signed in: POST /api/session with an admin key');
      // The server's session slides with use; the cookie's lifetime follows it.
      cookie(request, reply, session);
      return describe(session);
    },
  );

  app.put<{ Body: { workspace: string } }>(
    '/api/session/workspace',
    {
      schema: {
        tags,
        summary: 'Show another workspace the session signed in to',
        body: {
          type: 'object',
          required: ['workspace'],
          additionalProperties: false,
          properties: { workspace: { type: 'string', minLength: 1 } },
        },
        response: errorResponses(400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const session = live(request);
      if (!session)
        return sendError(reply, 'missing_key', 'not signed in: POST /api/session with an admin key');
      if (!csrfOk(request, session))
        return sendError(
          reply,
          'csrf_rejected',
          'switching workspaces needs the session’s X-CSRF-Token header',
        );
      const at = session.keys.findIndex(
        (k) => deps.keyRing.workspaceForAdminKey(k) === request.body.workspace,
      );
      if (at < 0)
        return sendError(
          reply,
          'not_found',
          `this session has not signed in to workspace ${request.body.workspace}`,
        );
      session.current = at;
      return describe(session);
    },
  );

  app.delete(
    '/api/session',
    { schema: { tags, summary: 'Sign out of the dashboard' } },
    async (request, reply) => {
      const id = request.cookies[SESSION_COOKIE];
      const session = deps.sessions.get(id);
      // Signing out is a change: a cross-site page must not be able to sign a user out either.
      if (session && !csrfOk(request, session))
        return sendError(reply, 'csrf_rejected', 'signing out needs the session’s X-CSRF-Token header');
      if (session) deps.sessions.signOut(session.id);
      reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
      return reply.code(204).send();
    },
  );
}
