-- On every page-view journey step, its page as journey maps name it (core/journey/journey-sql.ts
-- stepPageSql, the same expression): the path without one trailing `/` ("/" itself stays), else
-- the URL; NULL on other steps. Journey maps then read a page step's item from the step itself
-- instead of joining event_facts for it (at 10M events that join was about half of the default
-- map's time). Written by the journey SQL; rows written before this migration get theirs here, so
-- no rebuild is needed.
ALTER TABLE journey_steps ADD COLUMN page VARCHAR;
ALTER TABLE account_journey_steps ADD COLUMN page VARCHAR;
UPDATE journey_steps s SET page = coalesce(regexp_replace(f.page_path, '(.)/$', '\1'), f.page_url)
  FROM event_facts f WHERE f.workspace_id = s.workspace_id AND f.seq = s.seq AND f.type = 'page';
UPDATE account_journey_steps s SET page = coalesce(regexp_replace(f.page_path, '(.)/$', '\1'), f.page_url)
  FROM event_facts f WHERE f.workspace_id = s.workspace_id AND f.seq = s.seq AND f.type = 'page';
