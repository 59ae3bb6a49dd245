-- Each journey step carries its event's name and type (event_facts.event, .type), so funnels,
-- paths and retention — which pick steps by event name and type — read one table instead of
-- joining event_facts row for row (at 10M events that join alone took longer than a funnel may).
-- Filled by the journey SQL; rows written before this migration are NULL until the next rebuild,
-- which the journey tables' version bump (JOURNEY_TABLES_VERSION 3) starts at the next start.
ALTER TABLE journey_steps ADD COLUMN event VARCHAR;
ALTER TABLE journey_steps ADD COLUMN type VARCHAR;
ALTER TABLE account_journey_steps ADD COLUMN event VARCHAR;
ALTER TABLE account_journey_steps ADD COLUMN type VARCHAR;
