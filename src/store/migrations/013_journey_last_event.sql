-- Each journey subject's last event time (the latest event_at among its journey steps; NULL when
-- it has none), written by the journey build beside the steps. Stage analytics and the inactivity
-- sweep need it for every subject: taken from the steps, it was a pass over every step of the
-- workspace (at 10M events, most of a stage query's time). Rows that exist get theirs here.
ALTER TABLE journey_persons ADD COLUMN last_event_at TIMESTAMP;
ALTER TABLE account_journeys ADD COLUMN last_event_at TIMESTAMP;
UPDATE journey_persons p SET last_event_at = l.last_at
  FROM (SELECT workspace_id, person_key, max(event_at) AS last_at FROM journey_steps GROUP BY ALL) l
  WHERE l.workspace_id = p.workspace_id AND l.person_key = p.person_key;
UPDATE account_journeys a SET last_event_at = l.last_at
  FROM (SELECT workspace_id, account_key, max(event_at) AS last_at FROM account_journey_steps GROUP BY ALL) l
  WHERE l.workspace_id = a.workspace_id AND l.account_key = a.account_key;
