-- Identity graph. Identifiers are interned to integers once; everything else refers to them.
CREATE TABLE identifiers (
  id INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  type VARCHAR NOT NULL,
  value VARCHAR NOT NULL
);

-- The append-only log of links: identifiers seen together, with the evidence. A link seen
-- again earlier than recorded gets another row; the earliest row of a link id wins.
CREATE TABLE identity_links (
  id INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  identifiers INTEGER[] NOT NULL,
  rule VARCHAR NOT NULL,
  timestamp TIMESTAMP NOT NULL,
  message_id VARCHAR NOT NULL,
  seq BIGINT NOT NULL,
  recorded_at TIMESTAMP NOT NULL
);

-- Operations people made on the graph (untrust, remove, merge, and their undos), append-only.
CREATE TABLE identity_ops (
  id INTEGER NOT NULL,
  workspace_id VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  identifiers INTEGER[] NOT NULL,
  others INTEGER[],
  link_id INTEGER,
  undoes INTEGER,
  reason VARCHAR,
  performed_at TIMESTAMP NOT NULL
);

-- Which identifier each event is filed under: a person's timeline is the events of its
-- identifiers, found through the index without scanning the events table.
CREATE TABLE event_identity (
  seq BIGINT NOT NULL,
  workspace_id VARCHAR NOT NULL,
  identifier_id INTEGER NOT NULL,
  timestamp TIMESTAMP NOT NULL,
  type VARCHAR NOT NULL,
  group_id VARCHAR,
  revenue DOUBLE
);
CREATE INDEX event_identity_identifier ON event_identity (identifier_id);
CREATE INDEX events_seq ON events (seq);

-- How far the identity pipeline has read the events table.
CREATE TABLE identity_progress (
  id INTEGER PRIMARY KEY,
  processed_seq BIGINT NOT NULL
);
INSERT INTO identity_progress VALUES (1, 0);

CREATE TABLE identity_settings (
  workspace_id VARCHAR PRIMARY KEY,
  rules JSON NOT NULL,
  updated_at TIMESTAMP NOT NULL
);

-- Identifiers whose messages are dropped at ingestion after a deletion. Only a hash is kept.
CREATE TABLE suppressions (
  workspace_id VARCHAR NOT NULL,
  type VARCHAR NOT NULL,
  value_hash VARCHAR NOT NULL,
  receipt_id VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL
);

-- Proof of deletions, without the personal data itself.
CREATE TABLE deletion_receipts (
  id VARCHAR NOT NULL,
  workspace_id VARCHAR NOT NULL,
  person_id VARCHAR NOT NULL,
  deleted_at TIMESTAMP NOT NULL,
  counts JSON NOT NULL,
  suppressed INTEGER NOT NULL
);
