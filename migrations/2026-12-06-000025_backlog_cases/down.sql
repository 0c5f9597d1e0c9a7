DROP INDEX cases_backlog_after_final_idx;
DROP INDEX cases_backlog_open_idx;
DROP TABLE backlog_cases;
DELETE FROM events WHERE aggregate_type = 7;
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3, 4, 5, 6));
