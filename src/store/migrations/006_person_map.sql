-- Persons in the database: the identity graph's identifier → person map and what each person's
-- events add up to, kept current by the identity pipeline in the transactions that record links
-- (docs/identity.md, "The person model"). Events are never rewritten; these rows are.
-- A person's key is its anchor identifier's id (the identifier its p_… id is named after).
-- No keys or indexes: every write is a set-based delete and insert (an ART index made the
-- rewrite of the whole model ten times slower), and reads are hash joins or short scans.

-- Which person holds each live identifier now. Join events → event_identity → person_map.
CREATE TABLE person_map (
  identifier_id INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  person_key INTEGER NOT NULL
);

-- Person ids that no longer name a person (its identifier joined another person), so old ids
-- keep resolving: one row per identifier that is not its person's key.
CREATE TABLE person_aliases (
  alias_key INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  alias_id VARCHAR NOT NULL,
  person_key INTEGER NOT NULL
);

-- Facts per identifier, whatever the persons: only new events change them.
CREATE TABLE identifier_activity (
  identifier_id INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  first_seen TIMESTAMP NOT NULL,
  last_seen TIMESTAMP NOT NULL,
  event_count BIGINT NOT NULL,
  revenue DOUBLE NOT NULL
);

-- The newest value (JSON text) of each trait an identifier sent: with identify calls
-- (group_id '') or, for an account, with group calls (group_id the account).
CREATE TABLE identifier_traits (
  identifier_id INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  group_id VARCHAR NOT NULL,
  key VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  message_id VARCHAR NOT NULL
);

-- Which identifiers joined an account with a group call.
CREATE TABLE account_members (
  workspace_id VARCHAR NOT NULL,
  group_id VARCHAR NOT NULL,
  identifier_id INTEGER NOT NULL
);

-- Per person, derived from its identifiers' facts: re-derived when it gains or loses an
-- identifier or its identifiers see events. `search` is its identifiers and traits, lower-cased.
CREATE TABLE person_activity (
  person_key INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  person_id VARCHAR NOT NULL,
  first_seen TIMESTAMP,
  last_seen TIMESTAMP,
  event_count BIGINT NOT NULL,
  revenue DOUBLE NOT NULL,
  identifier_count INTEGER NOT NULL,
  search VARCHAR NOT NULL
);

-- Current traits per person: for each key the newest value of any of its identifiers.
CREATE TABLE person_traits (
  person_key INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  key VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  message_id VARCHAR NOT NULL
);

-- Current traits per account: for each key the newest value any group call gave it.
CREATE TABLE account_traits (
  workspace_id VARCHAR NOT NULL,
  group_id VARCHAR NOT NULL,
  key VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  message_id VARCHAR NOT NULL
);

-- Which version of the derivation built these tables (0: not yet: the next start back-fills).
CREATE TABLE person_model_state (
  id INTEGER PRIMARY KEY,
  version INTEGER NOT NULL
);
INSERT INTO person_model_state VALUES (1, 0);
