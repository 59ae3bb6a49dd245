import type { Overview as OverviewFigures } from '../../src/core/analytics/overview.js';

// The API's answers as the dashboard reads them (the server's own types live in src/services,
// which the dashboard does not import: it talks to /api only).

export interface Session {
  workspace: string | null;
  workspaces: string[];
  csrfToken: string;
}

export interface Identifier {
  type: string;
  value: string;
  untrusted?: boolean;
}

export interface StageRef {
  id: string;
  name: string;
}

export interface PersonRow {
  id: string;
  identifiers: Identifier[];
  traits: Record<string, unknown>;
  firstSeen: string | null;
  lastSeen: string | null;
  eventCount: number;
  lifetimeRevenue: number;
  stage: StageRef | null;
  members?: number;
}

export interface Page<T> {
  total: number;
  nextCursor: string | null;
  items: T[];
}

export interface Profile {
  id: string;
  redirectedFrom?: string;
  identifiers?: Identifier[];
  traits: Record<string, unknown>;
  traitsUpdatedAt?: Record<string, string>;
  firstSeen: string | null;
  lastSeen: string | null;
  eventCount: number;
  eventsByType?: Record<string, number>;
  lifetimeRevenue: number;
  accounts?: string[];
  members?: { id: string; identifiers?: Identifier[] }[] | number;
}

export interface StageSpan {
  stage: string;
  name: string;
  enteredAt: string;
  exitedAt: string | null;
  trigger: { kind: 'event'; messageId: string; event: string | null } | { kind: 'inactivity'; days: number };
}

export interface Touchpoint {
  index: number;
  kind: string;
  channel: string;
  at: string;
  event: string | null;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  referringDomain: string | null;
  landingPage: string | null;
  session: number | null;
}

export interface SessionView {
  index: number;
  start: string;
  end: string;
  durationMs: number;
  eventCount: number;
  bounce: boolean;
  channel: string;
  landingPage: string | null;
  entryTouchpoint: number | null;
}

export interface Step {
  seq: number;
  messageId: string;
  at: string;
  type: string;
  event: string | null;
  session: number | null;
  touchpoint: number | null;
  channel: string | null;
  stage: string | null;
}

export interface Journey {
  stage: string | null;
  bot: string | null;
  stages: StageSpan[];
  touchpoints: Touchpoint[];
  sessions: SessionView[];
  totalSteps: number;
  steps: Step[];
}

export interface IdentityExplanation {
  person: string;
  anchor: Identifier;
  identifiers: (Identifier & {
    because: { link: number; with: Identifier } | null;
    untrustReason?: string;
  })[];
  links: {
    id: number;
    rule: string;
    messageId: string | null;
    timestamp: string;
    identifiers: Identifier[];
    dropped: (Identifier & { reason: string })[];
  }[];
  operations: Operation[];
  drops?: {
    reason: string;
    identifiers?: Identifier[];
    messageId?: string;
    at?: string;
    [k: string]: unknown;
  }[];
}

export interface Operation {
  id: number;
  kind: string;
  at: string;
  reason: string | null;
  undone?: boolean;
  [k: string]: unknown;
}

/** GET /api/overview: the server's figures (their type lives in src/core) and the range and pipeline. */
export type Overview = OverviewFigures & {
  range: { from: string; to: string; bucket: string };
  pipeline: { log?: { lagRows: number; lagMs: number }; identity?: { lagRows: number }; journeys?: unknown };
};

export interface ApiKey {
  id: string;
  kind: 'write' | 'admin';
  key: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

import type { FunnelResult } from '../../src/core/analytics/funnel-types.js';

export type { FunnelResult, FunnelStepResult } from '../../src/core/analytics/funnel-types.js';

/** POST /api/analytics/funnel */
export interface FunnelResponse extends FunnelResult {
  range: { from: string; to: string };
  freshness: { current: boolean; builtSeq: number; readyTo: number };
}

/** POST /api/analytics/funnel/people */
export interface FunnelPeople {
  actors: {
    id: string;
    kind: 'person' | 'account' | 'session';
    identifiers?: Identifier[];
    reached: number;
    journey: string;
  }[];
  total: number;
  nextCursor: string | null;
}
