-- Each event's immutable facts, typed: what channel rules, sessions, stages and analytics read,
-- extracted once by the loader in the same transaction as the event (store/duckdb-facts.ts; the
-- paths come from core/journey/touch-fields.ts). Keyed by (workspace_id, seq) like events, and
-- like events without an index (it would tax every append). Settings-dependent fields (source,
-- medium, referring domain, arrival, channel) are not stored: core/journey/rules-sql.ts computes
-- them at query time, so a rule change applies to all history.
-- Events stored before this migration get their facts when the loader starts (it fills every
-- event above the highest seq here), before it loads anything new.
CREATE TABLE event_facts (
  workspace_id VARCHAR NOT NULL,
  seq BIGINT NOT NULL,
  type VARCHAR NOT NULL,
  -- event of a track call, name of a page or screen view
  event VARCHAR,
  timestamp TIMESTAMP NOT NULL,
  group_id VARCHAR,
  page_url VARCHAR,
  page_host VARCHAR,
  page_path VARCHAR,
  has_page BOOLEAN NOT NULL,
  referrer_host VARCHAR,
  utm_source VARCHAR,
  utm_medium VARCHAR,
  utm_campaign VARCHAR,
  utm_content VARCHAR,
  utm_term VARCHAR,
  -- the first click id present (gclid, gbraid, …): the one that decides source and medium
  click_id VARCHAR,
  gclid VARCHAR,
  gbraid VARCHAR,
  wbraid VARCHAR,
  dclid VARCHAR,
  fbclid VARCHAR,
  msclkid VARCHAR,
  li_fat_id VARCHAR,
  ttclid VARCHAR,
  twclid VARCHAR,
  gad_source VARCHAR,
  self_reported VARCHAR,
  promo_code VARCHAR,
  user_agent VARCHAR,
  interactive BOOLEAN NOT NULL,
  is_bot BOOLEAN NOT NULL,
  revenue DOUBLE,
  -- JavaScript extracted this row (a small load, or a row the SQL extraction could not be sure of)
  extracted_in_js BOOLEAN NOT NULL
);
