import type { FastifyRequest } from 'fastify';

/**
 * Finds the write key the Segment SDKs send in a header: HTTP Basic with the key as user name
 * (with or without the trailing colon), or `X-Write-Key`. Undefined when neither is present.
 */
export function writeKeyFromHeaders(request: FastifyRequest): string | undefined {
  const header = request.headers['x-write-key'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = request.headers.authorization;
  if (auth?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon === -1 ? decoded : decoded.slice(0, colon);
    return user === '' ? undefined : user;
  }
  return undefined;
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (!auth?.toLowerCase().startsWith('bearer ')) return undefined;
  const token = auth.slice(7).trim();
  return token === '' ? undefined : token;
}
