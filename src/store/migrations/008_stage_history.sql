-- Lifecycle stage history per person and per account (core/journey/stages.ts StageSpan), folded
-- by the JavaScript stage model over candidate rows only (events a trigger can match, plus the
-- activity times inactivity rules need), read from event_facts and the journey tables.
-- Derived: kept current as events are loaded (per person touched, late events and merges
-- included) and rebuilt in bulk when the stage model changes (`throughline journeys rebuild`).
-- Inactivity transitions due after the last event are not stored: reads add them as of now.
CREATE TABLE stage_history (
  workspace_id VARCHAR NOT NULL,
  -- 'person' (subject = person key as text) or 'account' (subject = group id)
  subject_kind VARCHAR NOT NULL,
  subject VARCHAR NOT NULL,
  position INTEGER NOT NULL,
  stage VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  entered_at TIMESTAMP NOT NULL,
  exited_at TIMESTAMP,
  -- 'event' or 'inactivity'
  trigger_kind VARCHAR NOT NULL,
  trigger_message_id VARCHAR,
  trigger_event VARCHAR,
  trigger_days DOUBLE
);

-- What the journey tables of a workspace were built from: a fingerprint of the settings (and of
-- the derivation's version), and the highest event seq they include. A start that finds another
-- fingerprint rebuilds them in the background.
CREATE TABLE journey_state (
  workspace_id VARCHAR PRIMARY KEY,
  settings_hash VARCHAR NOT NULL,
  built_seq BIGINT NOT NULL,
  built_at TIMESTAMP NOT NULL
);
