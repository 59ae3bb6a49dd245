import { readFileSync } from 'node:fs';
import { openLocal } from '../../src/main.js';
import { basic, post } from './http.js';
import { startTestServer, tempDir } from './servers.js';

/**
 * The worked cases of `../shared/reference/peer-cases.json` (funnels, paths, retention, …
 * translated from PostHog's tests), as Segment messages our Tracking API takes.
 *
 * Translation (the same for every analytics test):
 * - a person's first distinct id is its `userId`; its other ids are anonymous ids, joined to the
 *   user id by an identify call before the case's first event (so one person, as in the peer);
 *   a distinct id of no listed person is a person of its own (`userId`);
 * - `$pageview` → a `page` call whose URL is `https://example.test` + `$current_url` (the page
 *   path is then `$current_url`); its properties are kept as they are;
 * - `$screen` → a `screen` call named `$screen_name`;
 * - `$autocapture` → a track call of that name whose properties carry the first element's
 *   `tag_name`, `text` and `href` (what the peer's actions match on);
 * - any other event → a track call of that name.
 */

// A copy of ../shared/reference/peer-cases.json, kept in the repository so a clean clone tests alone.
const FILE = new URL('../fixtures/peer-cases.json', import.meta.url);

export interface PeerCase {
  name: string;
  kind: 'funnel' | 'path' | 'retention' | 'identity' | 'session' | 'channel';
  // biome-ignore lint/suspicious/noExplicitAny: each kind has its own params; tests read what they need.
  params: any;
  persons?: { person: string; distinct_ids: string[]; properties?: Record<string, unknown> }[];
  events: PeerEvent[];
  // biome-ignore lint/suspicious/noExplicitAny: as asserted by the peer test, per kind.
  expected: any;
  notes?: string;
}

export interface PeerEvent {
  distinct_id: string;
  event: string;
  timestamp: string;
  properties?: Record<string, unknown>;
  elements?: Record<string, unknown>[];
}

export function peerCases(kind: PeerCase['kind']): PeerCase[] {
  const all = JSON.parse(readFileSync(FILE, 'utf8')) as { cases: PeerCase[] };
  return all.cases.filter((c) => c.kind === kind);
}

export function peerCase(name: string): PeerCase {
  const all = JSON.parse(readFileSync(FILE, 'utf8')) as { cases: PeerCase[] };
  const c = all.cases.find((x) => x.name === name);
  if (!c) throw new Error(`no peer case ${name}`);
  return c;
}

export const PEER_SITE = 'https://example.test';

/** The Segment messages of a case's events (and identify calls joining persons' ids). */
export function peerMessages(c: PeerCase, prefix = c.name): Record<string, unknown>[] {
  const userOf = new Map<string, string>();
  const joins: Record<string, unknown>[] = [];
  const first = c.events.map((e) => Date.parse(e.timestamp)).reduce((a, b) => Math.min(a, b), Infinity);
  for (const p of c.persons ?? []) {
    const [user, ...others] = p.distinct_ids;
    if (user === undefined) continue;
    userOf.set(user, user);
    for (const other of others) {
      joins.push({
        type: 'identify',
        userId: user,
        anonymousId: other,
        ...(p.properties ? { traits: p.properties } : {}),
        timestamp: new Date(first - 1000).toISOString(),
      });
    }
    if (others.length === 0 && p.properties)
      joins.push({
        type: 'identify',
        userId: user,
        traits: p.properties,
        timestamp: new Date(first - 1000).toISOString(),
      });
  }
  const anonymous = new Set((c.persons ?? []).flatMap((p) => p.distinct_ids.slice(1)));
  const events = c.events.map((e) => {
    const who = anonymous.has(e.distinct_id) ? { anonymousId: e.distinct_id } : { userId: e.distinct_id };
    const properties = { ...(e.properties ?? {}) };
    const base = { ...who, timestamp: e.timestamp };
    if (e.event === '$pageview') {
      const current = String(properties.$current_url ?? '/');
      const url = current.startsWith('/') ? `${PEER_SITE}${current}` : `${PEER_SITE}/${current}`;
      return { ...base, type: 'page', properties: { ...properties, url }, context: { page: { url } } };
    }
    if (e.event === '$screen')
      return { ...base, type: 'screen', name: String(properties.$screen_name ?? ''), properties };
    if (e.event === '$autocapture') {
      const el = e.elements?.[0] ?? {};
      return {
        ...base,
        type: 'track',
        event: e.event,
        properties: { ...properties, tag_name: el.tag_name, text: el.text, href: el.href },
      };
    }
    return { ...base, type: 'track', event: e.event, properties };
  });
  return [...joins, ...events].map((m, i) => ({ ...m, messageId: `${prefix}-${i}` }));
}

/** Sends a case's messages through the Tracking API (one batch) and checks the 200. */
export async function sendPeerCase(url: string, c: PeerCase, writeKey?: string): Promise<void> {
  const res = await post(url, '/v1/batch', { batch: peerMessages(c) }, { authorization: basic(writeKey) });
  if (res.status !== 200) throw new Error(`batch of ${c.name} → ${res.status} ${JSON.stringify(res.json)}`);
}

/** The peer's name for a person we list: the person whose distinct ids include one of its identifiers. */
export function peerActor(c: PeerCase, identifiers: { type: string; value: string }[]): string {
  const values = new Set(identifiers.map((i) => i.value));
  const p = (c.persons ?? []).find((x) => x.distinct_ids.some((d) => values.has(d)));
  if (p) return p.person;
  const id = identifiers.find((i) => i.type === 'user_id') ?? identifiers[0];
  return id?.value ?? '?';
}

/** A data directory with one workspace per name (besides the default one), and their keys. */
export async function workspacesFor(
  names: readonly string[],
): Promise<{ dir: string; keys: Map<string, { write: string; admin: string }> }> {
  const dir = tempDir();
  await (await startTestServer(dir)).close();
  const local = await openLocal(dir);
  if (!local.ok) throw new Error(local.error.message);
  const keys = new Map<string, { write: string; admin: string }>();
  try {
    for (const [i, name] of names.entries()) {
      const made = await local.value.workspaces.createWorkspace(`peer-${i}`);
      if (!made.ok) throw new Error(made.error);
      const secret = (kind: string) => made.value.keys.find((k) => k.kind === kind)?.secret ?? '';
      keys.set(name, { write: secret('write'), admin: secret('admin') });
    }
  } finally {
    await local.value.close();
  }
  return { dir, keys };
}
