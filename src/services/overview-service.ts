import type { JourneyService } from './journey-service.js';
import type { ListOptions, PersonService } from './person-service.js';

/**
 * The dashboard's overview of a workspace over a date range: counts and their trend, the channel
 * mix of touchpoints, the lifecycle stage distribution now, and recent conversions — read from
 * the query-ready tables (event facts, the person map, the journey tables, stage history).
 */

export type Bucket = 'day' | 'week' | 'month';

export interface OverviewRange {
  from: Date;
  to: Date;
  bucket: Bucket;
}

export interface Overview {
  /**
   * Over the range. `persons` and `accounts` are those whose last activity falls in it, and
   * `touchedPersons` those with a touchpoint in it: each is the total of the list it links to
   * (`/api/persons?seenFrom=&seenTo=`, `/api/accounts?…`, `/api/persons?touchedFrom=&touchedTo=`).
   */
  totals: {
    events: number;
    persons: number;
    accounts: number;
    touchpoints: number;
    touchedPersons: number;
    conversions: number;
  };
  /**
   * Per bucket (its start, ISO; every bucket of the range, empty ones as zeros): events, persons
   * and accounts with journey activity in it (bot traffic left out, as journeys leave it out),
   * touchpoints, conversions.
   */
  trend: {
    at: string;
    events: number;
    persons: number;
    accounts: number;
    touchpoints: number;
    conversions: number;
  }[];
  channels: { channel: string; touchpoints: number }[];
  /** Subjects by current stage (the last stage entered), now, not limited to the range. */
  stages: { stage: string; name: string; persons: number; accounts: number }[];
  recentConversions: { personId: string | null; event: string; at: string; revenue: number | null }[];
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
