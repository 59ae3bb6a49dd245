import type { Bucket, Overview } from '../core/analytics/overview.js';
import type { JourneyService } from './journey-service.js';
import type { ListOptions, PersonService } from './person-service.js';

/**
 * The dashboard's overview of a workspace over a date range: counts and their trend, the channel
 * mix of touchpoints, the lifecycle stage distribution now, and recent conversions — read from
 * the query-ready tables (event facts, the person map, the journey tables, stage history).
 */

export type { Bucket, Overview } from '../core/analytics/overview.js';

export interface OverviewRange {
  from: Date;
  to: Date;
  bucket: Bucket;
}

/** What the store computes: everything but the list totals. */
export type OverviewFigures = Omit<Overview, 'totals'> & {
  totals: Omit<Overview['totals'], 'persons' | 'accounts' | 'touchedPersons'>;
};

export interface OverviewStore {
  overview(
    workspaceId: string,
    range: OverviewRange,
    conversions: readonly string[],
  ): Promise<OverviewFigures>;
}

export class OverviewService {
  constructor(
    private readonly store: OverviewStore,
    private readonly journeys: Pick<JourneyService, 'settingsOf'>,
    private readonly people: Pick<PersonService, 'list' | 'accounts'>,
  ) {}

  async overview(workspaceId: string, range: OverviewRange): Promise<Overview> {
    const { settings } = this.journeys.settingsOf(workspaceId);
    const figures = await this.store.overview(workspaceId, range, settings.conversions);
    // The totals the lists report for the same range: a number and the list it opens agree.
    const list: ListOptions = { traits: [], sort: 'lastSeen', order: 'desc', limit: 1, countOnly: true };
    const seen = { ...list, seenFrom: range.from.getTime(), seenTo: range.to.getTime() };
    const total = (r: { ok: true; value: { total: number } } | { ok: false }) => (r.ok ? r.value.total : 0);
    const persons = total(await this.people.list(workspaceId, seen));
    const accounts = total(await this.people.accounts(workspaceId, seen));
    const touchedPersons = total(
      await this.people.list(workspaceId, {
        ...list,
        touchedFrom: range.from.getTime(),
        touchedTo: range.to.getTime(),
      }),
    );
    return { ...figures, totals: { ...figures.totals, persons, accounts, touchedPersons } };
  }
}
