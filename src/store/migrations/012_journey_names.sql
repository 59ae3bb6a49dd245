-- Each workspace's distinct (type, event) pairs, numbered, and on every journey step the number
-- of its pair (name_code). Analytics tests an event's name or type once per pair
-- (core/analytics/name-codes.ts) and then compares integers per event, rather than case-folding
-- and comparing strings on every row: at 10M events that was most of a funnel's time.
-- Codes only ever grow (a build numbers the pairs it has not seen); rows written before this
-- migration get theirs here, so no rebuild is needed.
CREATE TABLE journey_names (
  workspace_id VARCHAR NOT NULL,
  code INTEGER NOT NULL,
  type VARCHAR,
  event VARCHAR
);
ALTER TABLE journey_steps ADD COLUMN name_code INTEGER;
ALTER TABLE account_journey_steps ADD COLUMN name_code INTEGER;
INSERT INTO journey_names
  SELECT workspace_id, row_number() OVER (PARTITION BY workspace_id ORDER BY type, event)::INTEGER, type, event
  FROM (SELECT DISTINCT workspace_id, type, event FROM journey_steps
        UNION SELECT DISTINCT workspace_id, type, event FROM account_journey_steps);
UPDATE journey_steps s SET name_code = n.code FROM journey_names n
  WHERE n.workspace_id = s.workspace_id AND n.type IS NOT DISTINCT FROM s.type AND n.event IS NOT DISTINCT FROM s.event;
UPDATE account_journey_steps s SET name_code = n.code FROM journey_names n
  WHERE n.workspace_id = s.workspace_id AND n.type IS NOT DISTINCT FROM s.type AND n.event IS NOT DISTINCT FROM s.event;
