DROP TABLE sweeper_state;
CREATE INDEX cases_due_idx ON cases (due_date) WHERE due_date IS NOT NULL;
DROP INDEX cases_due_id_idx;
DROP TABLE case_clock_marks;
DROP TABLE supervision_numbers;
DROP TABLE supervisions;
DELETE FROM events WHERE aggregate_type = 6;
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3, 4, 5));
