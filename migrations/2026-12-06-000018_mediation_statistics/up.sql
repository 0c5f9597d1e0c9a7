-- Mediation statistics read narrow projections instead of the period's
-- events (bench mediation, docs/mediation.md: for a city-year, 18,325
-- disputes and 169,000 events, GetMediationStatistics joined every event
-- of the year to its dispute and parsed payloads: 150 ms of PostgreSQL per
-- call, p99 0.97 s at 8 callers).
--
-- Most figures count an event that happens to a dispute at most once:
-- the dispute keeps that event's recording time (a projection of the log,
-- written with the event), and one index over the disputes of a subtree
-- answers them. The two that may count a dispute's events more than once
-- in a period (a breach after a breach, escalation village → township →
-- county) read their few events through a partial index.
ALTER TABLE disputes
    ADD COLUMN accepted_at TIMESTAMPTZ,
    ADD COLUMN refused_at TIMESTAMPTZ,
    ADD COLUMN settled_at TIMESTAMPTZ,
    ADD COLUMN failed_at TIMESTAMPTZ,
    ADD COLUMN performed_at TIMESTAMPTZ,
    ADD COLUMN confirmation_applied_at TIMESTAMPTZ,
    ADD COLUMN confirmed_at TIMESTAMPTZ,
    -- The agreement's effective date less the accept date, in days.
    ADD COLUMN days_to_settle INTEGER;

-- created_at is the RECORDED event's recording time (it was taken a moment
-- after it).
UPDATE disputes d SET created_at = e.occurred_at
FROM events e WHERE e.aggregate_type = 2 AND e.aggregate_id = d.id AND e.event_type = 1;
UPDATE disputes d SET accepted_at = e.occurred_at
FROM events e WHERE e.aggregate_type = 2 AND e.aggregate_id = d.id AND e.event_type = 3;
UPDATE disputes d SET refused_at = e.occurred_at
FROM events e WHERE e.aggregate_type = 2 AND e.aggregate_id = d.id AND e.event_type = 2 AND e.state = 8;
UPDATE disputes d
SET settled_at = e.occurred_at,
    days_to_settle = (e.payload->'agreement'->>'effective_date')::date - d.accept_date
FROM events e WHERE e.aggregate_type = 2 AND e.aggregate_id = d.id AND e.event_type = 8;
UPDATE disputes d SET failed_at = e.occurred_at
FROM events e WHERE e.aggregate_type = 2 AND e.aggregate_id = d.id AND e.event_type = 9;
UPDATE disputes d SET performed_at = e.occurred_at
FROM events e WHERE e.aggregate_type = 2 AND e.aggregate_id = d.id AND e.event_type = 10 AND e.state = 5;
UPDATE disputes d SET confirmation_applied_at = e.occurred_at
FROM events e WHERE e.aggregate_type = 2 AND e.aggregate_id = d.id AND e.event_type = 11;
UPDATE disputes d SET confirmed_at = e.occurred_at
FROM events e
WHERE e.aggregate_type = 2 AND e.aggregate_id = d.id AND e.event_type = 12 AND e.payload->>'decision' = 'CONFIRMED';

-- A subtree's disputes with everything the figures read: an index-only
-- scan. (updated_at is left out on purpose: every transition changes it,
-- and an indexed column changed makes every update a non-HOT one.)
CREATE INDEX disputes_statistics_idx ON disputes (region_path text_pattern_ops)
    INCLUDE (created_at, region_code, category, source, accepted_at, refused_at, settled_at, failed_at,
             performed_at, confirmation_applied_at, confirmed_at, days_to_settle);
-- Breaches and escalations, by recording time: an index-only scan (the
-- payload's test is the index's predicate, so the query need not read it).
CREATE INDEX events_dispute_repeats_idx ON events (occurred_at) INCLUDE (aggregate_id, event_type)
    WHERE aggregate_type = 2 AND (event_type = 13 OR (event_type = 10 AND payload->>'performance' = 'BREACHED'));
-- No longer read: the statistics were its only reader.
DROP INDEX events_disputes_time_idx;
