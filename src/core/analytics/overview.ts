/**
 * The dashboard overview's shape (GET /api/overview): the service computes it, the dashboard
 * (web/) imports the type. Types only.
 */

export type Bucket = 'day' | 'week' | 'month';

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
