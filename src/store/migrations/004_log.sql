-- How far each consumer of the ingest log has durably got: the loader records its position in
-- the same transaction as the rows it loads, so a crash never loads a record twice or skips one.
CREATE TABLE log_progress (
  consumer VARCHAR PRIMARY KEY,
  seq BIGINT NOT NULL
);
