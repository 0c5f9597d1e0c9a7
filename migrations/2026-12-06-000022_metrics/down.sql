DROP TABLE metrics_state;
DROP TABLE metric_days;
DROP TABLE rating_facts;
DROP TABLE case_facts;
DROP VIEW case_facts_from_events;
