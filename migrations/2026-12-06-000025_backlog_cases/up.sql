-- Backlog cases (积案, issue 20): a designation on an existing case, cleared
-- with "one case, four checks" (一案四查), as an aggregate of the one event
-- log (petition.v1.AggregateType 7 BACKLOG_CASE).

-- 6 is the supervision items' (issue 20, the lead's part); allowing it here
-- too keeps the two migrations independent of their order.
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3, 4, 5, 6, 7));

CREATE TABLE backlog_cases (
    id              UUID PRIMARY KEY,            -- UUIDv7
    case_id         UUID NOT NULL REFERENCES cases (id),
    -- petition.v1.BacklogCaseState: 1 DESIGNATED, 2 RESOLVED, 3 WITHDRAWN
    state           SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 3),
    -- petition.v1.BacklogReason: 1 OPEN_TOO_LONG, 2 REPEATED,
    -- 3 PETITIONS_AFTER_FINAL, 4 BY_DECISION
    reason          SMALLINT NOT NULL CHECK (reason BETWEEN 1 AND 4),
    by_rule         BOOLEAN NOT NULL,
    -- The case's region (never changes), its code and human number, so
    -- that lists and the policy read no case row for them.
    region_path     TEXT NOT NULL,
    region_code     TEXT NOT NULL REFERENCES regions (code),
    case_number     TEXT NOT NULL,
    designated_at   TIMESTAMPTZ NOT NULL,
    -- Resolved or withdrawn; NULL while designated.
    closed_at       TIMESTAMPTZ,
    -- Everything the rules track (backlog::rules::Lifecycle), folded from
    -- the event log; the columns above are projections of it.
    lifecycle       JSONB NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    last_sequence   INTEGER NOT NULL CHECK (last_sequence >= 1),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT backlog_cases_closed_when_not_designated CHECK ((state = 1) = (closed_at IS NULL))
);
-- One open designation per case.
CREATE UNIQUE INDEX backlog_cases_open_idx ON backlog_cases (case_id) WHERE state = 1;
-- A case's designations, the latest closed one first (the designation rule
-- counts facts since it).
CREATE INDEX backlog_cases_case_idx ON backlog_cases (case_id, closed_at DESC);
-- A jurisdiction's list, newest first.
CREATE INDEX backlog_cases_region_idx ON backlog_cases (region_path text_pattern_ops, id DESC);

-- The designation rule's candidates without reading every case:
-- cases still with the organizations (REGISTERED, ROUTED, ACCEPTED,
-- UNDER_REVIEW, UNDER_RECHECK) by registration day, oldest first ...
CREATE INDEX cases_backlog_open_idx ON cases ((lifecycle ->> 'registered_on'), id)
    WHERE state IN (1, 2, 3, 6, 8);
-- ... and filings declined as concluded after re-review (Art.36), by the
-- final case they petition again about.
CREATE INDEX cases_backlog_after_final_idx ON cases ((lifecycle ->> 'related_case_id'), created_at)
    WHERE state = 4 AND lifecycle ->> 'decline_reason' = 'CONCLUDED_AFTER_RECHECK';
