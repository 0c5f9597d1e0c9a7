DROP FUNCTION refresh_case_facts(UUID[]);
DROP INDEX ratings_metrics_idx;
DROP TABLE case_facts;
DROP VIEW case_facts_from_events;
