import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The dashboard: the single-page app `web/` builds into `dist/web` (`npm run build`), served by
 * the same process. Each page path answers the app's `index.html` (the app reads the path and
 * query, so a view's URL can be shared); hashed assets are cached for a year.
 */

/** The app's pages: the paths that answer its index.html. */
export const DASHBOARD_PAGES = [
  '/',
  '/sign-in',
  '/people',
  '/people/:ref',
  '/accounts',
  '/accounts/:id',
  '/funnels',
  '/journey-map',
  '/stages',
  '/retention',
  '/live',
  '/settings',
] as const;

const HERE = fileURLToPath(new URL('.', import.meta.url));
/**
 * dist/http/routes → dist/web when running the build; src/http/routes → dist/web when running
 * the sources (the tests): the assets are built into dist/web either way.
 */
export const DEFAULT_WEB_ROOT =
  [join(HERE, '..', '..', 'web'), join(HERE, '..', '..', '..', 'dist', 'web')].find((d) =>
    existsSync(join(d, 'index.html')),
  ) ?? join(HERE, '..', '..', 'web');

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Throughline</title></head>
<body><main><h1>The dashboard is not built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>, which
builds it), then reload this page. The API under <code>/api</code> works without it.</p></main></body></html>`;

// The app loads only its own scripts and styles; charts draw inline styles and data: images.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export async function dashboardRoutes(app: FastifyInstance, o: { root?: string } = {}): Promise<void> {
  const root = o.root ?? DEFAULT_WEB_ROOT;
  const index = join(root, 'index.html');
  const built = existsSync(index);
  const page = built ? readFileSync(index, 'utf8') : NOT_BUILT;
  const sendPage = (reply: FastifyReply) =>
    reply
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(page);
  for (const path of DASHBOARD_PAGES)
    app.get(path, { schema: { hide: true } }, async (_request, reply) => sendPage(reply));
  if (built)
    await app.register(fastifyStatic, {
      root: join(root, 'assets'),
      prefix: '/assets/',
      immutable: true,
      maxAge: '365d',
      index: false,
      setHeaders: (res) => res.setHeader('x-content-type-options', 'nosniff'),
    });
}
