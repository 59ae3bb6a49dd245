import type { JourneyService } from './journey-service.js';

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
  totals: { events: number; persons: number; accounts: number; touchpoints: number; conversions: number };
  /** Per bucket (its start, ISO): events, active persons and accounts, touchpoints, conversions. */
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

export interface OverviewStore {
  overview(workspaceId: string, range: OverviewRange, conversions: readonly string[]): Promise<Overview>;
}

export class OverviewService {
  constructor(
    private readonly store: OverviewStore,
    private readonly journeys: Pick<JourneyService, 'settingsOf'>,
  ) {}

  overview(workspaceId: string, range: OverviewRange): Promise<Overview> {
    const { settings } = this.journeys.settingsOf(workspaceId);
    return this.store.overview(workspaceId, range, settings.conversions);
  }
}
