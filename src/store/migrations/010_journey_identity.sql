-- What each person's journey rows were derived from, identity-wise: a hash of the set of its
-- identifiers (person_map) when its rows were written, in the same transaction. The identity
-- pipeline tells the journey tables which persons a merge, split or untrust changed, but only in
-- memory; after a crash a start compares these hashes with person_map and re-derives the
-- persons whose identifiers changed since (or who are new, or gone). The hash is DuckDB's
-- hash(); should an upgrade change that function, every person looks changed once and the next
-- start re-derives them all, which is slow but right.
CREATE TABLE journey_identity (
  workspace_id VARCHAR NOT NULL,
  person_key INTEGER NOT NULL,
  identity_hash UBIGINT NOT NULL
);
