DROP TABLE dispute_parties;
DROP TABLE disputes;
DROP TABLE screenings;
DROP TABLE team_members;
DROP TABLE mediation_teams;
DROP INDEX events_disputes_time_idx;
DELETE FROM events WHERE aggregate_type = 2;
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type = 1);
