-- Journeys as tables: each person's sessions, touchpoints and per-event annotations, derived in
-- SQL from event_facts, the person map and the workspace's journey settings
-- (store/duckdb-journey-tables.ts; core/journey/journey-sql.ts), equal to what the JavaScript
-- journey model (core/journey/journey.ts) gives. Derived, never the source of truth: rebuilt in
-- bulk when the settings change, and per person when a late event or a merge touches them.
-- Person keys are person_map's. Times are the events' timestamps. Indexes: none (set-based
-- delete + insert per batch of persons; reads are hash joins or short scans).

-- One row per (person, event) of the person's journey (bot events left out unless included).
CREATE TABLE journey_steps (
  workspace_id VARCHAR NOT NULL,
  person_key INTEGER NOT NULL,
  seq BIGINT NOT NULL,
  event_at TIMESTAMP NOT NULL,
  -- 0-based session index in the person's journey, NULL outside sessions (server-side events)
  session INTEGER,
  -- 0-based touchpoint index when the event is a touchpoint
  touchpoint INTEGER,
  -- the channel in effect (journey.ts JourneyStep.channel)
  channel VARCHAR
);

CREATE TABLE journey_sessions (
  workspace_id VARCHAR NOT NULL,
  person_key INTEGER NOT NULL,
  session INTEGER NOT NULL,
  start_at TIMESTAMP NOT NULL,
  end_at TIMESTAMP NOT NULL,
  event_count INTEGER NOT NULL,
  bounce BOOLEAN NOT NULL,
  channel VARCHAR,
  landing_page VARCHAR,
  entry_touchpoint INTEGER
);

CREATE TABLE journey_touchpoints (
  workspace_id VARCHAR NOT NULL,
  person_key INTEGER NOT NULL,
  touchpoint INTEGER NOT NULL,
  seq BIGINT NOT NULL,
  event_at TIMESTAMP NOT NULL,
  -- session | campaign | event (journey.ts Touchpoint.kind)
  kind VARCHAR NOT NULL,
  channel VARCHAR NOT NULL,
  session INTEGER,
  event VARCHAR,
  source VARCHAR,
  medium VARCHAR,
  campaign VARCHAR,
  content VARCHAR,
  term VARCHAR,
  referring_domain VARCHAR,
  landing_page VARCHAR
);

-- One row per person with a journey: whether it is a bot (journey.ts Journey.bot) and how many
-- of its events were left out as bot traffic.
CREATE TABLE journey_persons (
  workspace_id VARCHAR NOT NULL,
  person_key INTEGER NOT NULL,
  bot VARCHAR,
  bot_events INTEGER NOT NULL
);
