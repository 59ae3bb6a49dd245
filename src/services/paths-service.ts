import {
  assemblePathMap,
  type PathActor,
  type PathMapRow,
  type PathPeoplePage,
  type PathPeopleQuery,
  type PathQuery,
  type PathSelection,
  type PathsResponse,
} from '../core/analytics/paths.js';
import type { AnalyticsTables } from './analytics-ports.js';
import type { PersonRefs } from './funnel-service.js';

/**
 * Journey maps: Sankey-ready nodes and edges of the paths persons (or accounts) take through
 * events, pages, stages or channels, and the people behind any node, edge or drop-off.
 */

export interface PathSubjectRow {
  /** The person key (anchor identifier) or account key. */
  key: number;
  /** An account's group id (null for persons). */
  groupId: string | null;
}

export interface PathsStore {
  map(workspaceId: string, q: PathQuery): Promise<PathMapRow[]>;
  subjects(
    workspaceId: string,
    q: PathQuery,
    selection: PathSelection,
    limit: number,
    after?: number,
  ): Promise<{ rows: PathSubjectRow[]; total: number }>;
}

export class PathsService {
  constructor(
    private readonly store: PathsStore,
    private readonly tables: AnalyticsTables,
    private readonly people: PersonRefs,
  ) {}

  async paths(workspaceId: string, q: PathQuery): Promise<PathsResponse> {
    const freshness = await this.tables.freshen(workspaceId);
    const result = assemblePathMap(await this.store.map(workspaceId, q), q);
    const { from, to, ...rest } = q;
    return {
      query: {
        ...rest,
        ...(from !== undefined ? { from: new Date(from).toISOString() } : {}),
        ...(to !== undefined ? { to: new Date(to).toISOString() } : {}),
      },
      ...result,
      freshness,
    };
  }

  async actors(workspaceId: string, p: PathPeopleQuery): Promise<PathPeoplePage> {
    await this.tables.freshen(workspaceId);
    const { rows, total } = await this.store.subjects(workspaceId, p.query, p.selection, p.limit, p.after);
    const page = rows.slice(0, p.limit);
    const actors = page.map((r): PathActor => {
      if (r.groupId !== null)
        return {
          id: r.groupId,
          kind: 'account',
          journey: `/api/accounts/${encodeURIComponent(r.groupId)}/journey`,
        };
      const ref = this.people.refOfKey(r.key);
      const id = ref?.id ?? `(gone ${r.key})`;
      return {
        id,
        kind: 'person',
        ...(ref ? { identifiers: ref.identifiers } : {}),
        journey: `/api/persons/${encodeURIComponent(id)}/journey`,
      };
    });
    const last = rows.length > p.limit ? page[page.length - 1] : undefined;
    return { actors, total, nextCursor: last ? String(last.key) : null };
  }
}
