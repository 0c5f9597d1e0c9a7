CREATE INDEX events_disputes_time_idx ON events (occurred_at) WHERE aggregate_type = 2;
DROP INDEX events_dispute_repeats_idx;
DROP INDEX disputes_statistics_idx;
ALTER TABLE disputes
    DROP COLUMN accepted_at,
    DROP COLUMN refused_at,
    DROP COLUMN settled_at,
    DROP COLUMN failed_at,
    DROP COLUMN performed_at,
    DROP COLUMN confirmation_applied_at,
    DROP COLUMN confirmed_at,
    DROP COLUMN days_to_settle;
