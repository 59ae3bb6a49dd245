import {
  assemblePathMap,
  type PathMapRow,
  type PathPeoplePage,
  type PathPeopleQuery,
  type PathQuery,
  type PathSelection,
  type PathsResponse,
} from '../core/analytics/paths.js';
import type { AnalyticsTables } from './analytics-ports.js';
import type { IdentityService } from './identity-service.js';

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

type People = Pick<
  IdentityService,
  'exists' | 'membersOf' | 'personIdOfIdentifier' | 'identifier' | 'readBarrier'
>;

export class PathsService {
  constructor(
    private readonly store: PathsStore,
    private readonly tables: AnalyticsTables,
    private readonly identity: People,
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

  async people(workspaceId: string, p: PathPeopleQuery): Promise<PathPeoplePage> {
    await this.tables.freshen(workspaceId);
    await this.identity.readBarrier();
    const { rows, total } = await this.store.subjects(workspaceId, p.query, p.selection, p.limit, p.after);
    const page = rows.slice(0, p.limit);
    const items = page.map((r) => {
      if (r.groupId !== null) return { id: r.groupId, identifiers: [] };
      const members = this.identity.exists(r.key) ? this.identity.membersOf(r.key) : [];
      return {
        id: this.identity.personIdOfIdentifier(r.key),
        identifiers: members.map((m) => {
          const { type, value } = this.identity.identifier(m);
          return { type, value };
        }),
      };
    });
    const last = rows.length > p.limit ? page[page.length - 1] : undefined;
    return { items, total, nextCursor: last ? String(last.key) : null };
  }
}
