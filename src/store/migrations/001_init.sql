-- Workspaces and their keys. Write keys are public and kept in plain text; admin keys only as a hash.
CREATE TABLE workspaces (
  id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL UNIQUE,
  created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
  id VARCHAR PRIMARY KEY,
  workspace_id VARCHAR NOT NULL,
  kind VARCHAR NOT NULL CHECK (kind IN ('write', 'admin')),
  secret VARCHAR,
  secret_hash VARCHAR NOT NULL UNIQUE,
  hint VARCHAR NOT NULL,
  label VARCHAR,
  created_at TIMESTAMP NOT NULL,
  revoked_at TIMESTAMP
);

-- Immutable, append-only. No primary key: an index would tax every append, and
-- deduplication by (workspace_id, message_id) happens before the commit.
CREATE TABLE events (
  workspace_id VARCHAR NOT NULL,
  seq BIGINT NOT NULL,
  message_id VARCHAR NOT NULL,
  type VARCHAR NOT NULL,
  event VARCHAR,
  name VARCHAR,
  user_id VARCHAR,
  anonymous_id VARCHAR,
  group_id VARCHAR,
  previous_id VARCHAR,
  timestamp TIMESTAMP NOT NULL,
  original_timestamp TIMESTAMP,
  sent_at TIMESTAMP,
  received_at TIMESTAMP NOT NULL,
  ip VARCHAR,
  properties JSON,
  traits JSON,
  context JSON,
  integrations JSON,
  extra JSON,
  fingerprint VARCHAR NOT NULL
);

-- Everything that was not accepted, with the reason: nothing vanishes.
CREATE TABLE quarantine (
  workspace_id VARCHAR NOT NULL,
  received_at TIMESTAMP NOT NULL,
  request_id VARCHAR NOT NULL,
  batch_index INTEGER,
  message_id VARCHAR,
  code VARCHAR NOT NULL,
  reason VARCHAR NOT NULL,
  field VARCHAR,
  payload VARCHAR NOT NULL
);
