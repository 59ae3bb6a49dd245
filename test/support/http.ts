import { ADMIN_KEY, WRITE_KEY } from './servers.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies differ per endpoint; tests assert their shape.
export type Json = any;

export const basic = (key = WRITE_KEY) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

export async function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = { authorization: basic() },
): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export async function getApi(
  url: string,
  path: string,
  key = ADMIN_KEY,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, json: await res.json() };
}

/** Every stored event (all pages), newest first. */
export async function allEvents(url: string, query = ''): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const qs = new URLSearchParams(query);
    qs.set('limit', '1000');
    if (cursor) qs.set('cursor', cursor);
    const page = await getApi(url, `/api/events?${qs}`);
    if (page.status !== 200) throw new Error(`GET /api/events → ${page.status} ${JSON.stringify(page.json)}`);
    out.push(...page.json.events);
    cursor = page.json.nextCursor;
  } while (cursor);
  return out;
}

export const readJson = (res: Response): Promise<Json> => res.json();

/** An admin API call with a JSON body (or none). */
export async function adminApi(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  key = ADMIN_KEY,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}
