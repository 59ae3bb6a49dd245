/** The few admin API calls the CLI makes when a running server holds the database. */

export interface ApiTarget {
  url: string;
  adminKey: string;
}

export async function apiRequest<T>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, target.url), {
      method,
      headers: {
        authorization: `Bearer ${target.adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new Error(`cannot reach ${target.url}: ${(e as Error).message}`);
  }
  return answerOf<T>(res, method, path);
}

/** A response's JSON body, or an error naming the call and the server's reason. */
export async function answerOf<T>(res: Response, method: string, path: string): Promise<T> {
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const message = (json as { error?: { message?: string } } | undefined)?.error?.message ?? text;
    throw new Error(`${method} ${path} → ${res.status}: ${message}`);
  }
  return json as T;
}
