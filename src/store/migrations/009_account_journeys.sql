-- Account journeys as tables, the account twins of migration 007's person tables: an account's
-- journey is every event of its member persons (the persons of the identifiers that joined it
-- with a group call) and the events tagged with its group id (deals, say), one journey, as
-- person-service.ts accountIdentifiers and the timeline's account events make it. Derived by the
-- same SQL as persons' (core/journey/journey-sql.ts, over another subject relation), rebuilt in
-- bulk with them and per account when an event or a merge touches one of its members.

-- A stable integer key per account (the journey SQL partitions by integers), assigned as
-- accounts appear; never reused.
CREATE TABLE account_keys (
  workspace_id VARCHAR NOT NULL,
  group_id VARCHAR NOT NULL,
  account_key INTEGER NOT NULL
);

CREATE TABLE account_journey_steps (
  workspace_id VARCHAR NOT NULL,
  account_key INTEGER NOT NULL,
  seq BIGINT NOT NULL,
  event_at TIMESTAMP NOT NULL,
  session INTEGER,
  touchpoint INTEGER,
  channel VARCHAR
);

CREATE TABLE account_journey_sessions (
  workspace_id VARCHAR NOT NULL,
  account_key INTEGER NOT NULL,
  session INTEGER NOT NULL,
  start_at TIMESTAMP NOT NULL,
  end_at TIMESTAMP NOT NULL,
  event_count INTEGER NOT NULL,
  bounce BOOLEAN NOT NULL,
  channel VARCHAR,
  landing_page VARCHAR,
  entry_touchpoint INTEGER
);

CREATE TABLE account_journey_touchpoints (
  workspace_id VARCHAR NOT NULL,
  account_key INTEGER NOT NULL,
  touchpoint INTEGER NOT NULL,
  seq BIGINT NOT NULL,
  event_at TIMESTAMP NOT NULL,
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

CREATE TABLE account_journeys (
  workspace_id VARCHAR NOT NULL,
  account_key INTEGER NOT NULL,
  bot VARCHAR,
  bot_events INTEGER NOT NULL
);
