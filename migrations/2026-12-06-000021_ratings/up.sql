-- Ratings (issue 19): the petitioner's rating of each served opinion, as
-- an aggregate of the one event log. The metrics read this table: the
-- columns from `id` to `channel` are a fixed contract (add, never rename
-- or drop).

-- petition.v1.AggregateType: ratings join the log and the feed.
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3, 4, 5));

CREATE TABLE ratings (
    id                          UUID PRIMARY KEY,            -- UUIDv7
    case_id                     UUID NOT NULL REFERENCES cases (id),
    -- petition.v1.RatingRound: 1 REPLY (答复), 2 REVIEW (复查), 3 RECHECK (复核)
    round                       SMALLINT NOT NULL CHECK (round BETWEEN 1 AND 3),
    region_path                 TEXT NOT NULL,       -- the case's region path
    category_code               TEXT NOT NULL,       -- the case's category
    served_at                   TIMESTAMPTZ NOT NULL, -- the opinion's service: the window opens
    rate_by                     DATE NOT NULL,       -- the window's last day, inclusive (Asia/Shanghai)
    acceptance_organization_id  UUID REFERENCES organizations (id), -- rated for 受理
    handling_organization_id    UUID NOT NULL REFERENCES organizations (id), -- rated for 办理
    rated_at                    TIMESTAMPTZ,         -- the latest rating's time; NULL while unrated
    -- petition.v1.Satisfaction: 1 SATISFIED, 2 BASICALLY_SATISFIED, 3 DISSATISFIED; NULL unrated
    acceptance                  SMALLINT CHECK (acceptance BETWEEN 1 AND 3),
    handling                    SMALLINT CHECK (handling BETWEEN 1 AND 3),
    -- petition.v1.RatingChannel (1 ONLINE by the petitioner, 2 PHONE,
    -- 3 RETURN_VISIT, 4 IN_PERSON); NULL unrated
    channel                     SMALLINT CHECK (channel BETWEEN 1 AND 4),
    -- Beyond the contract: what the service needs.
    region_code                 TEXT NOT NULL REFERENCES regions (code),
    -- The case's human number (never changes), so that no read joins cases.
    case_number                 TEXT NOT NULL,
    petitioner_id               UUID NOT NULL REFERENCES accounts (id),
    -- Everything the rules track (ratings::rules::Lifecycle), folded from
    -- the event log; the columns above are projections of it.
    lifecycle                   JSONB NOT NULL,
    version                     INTEGER NOT NULL DEFAULT 1,
    last_sequence               INTEGER NOT NULL CHECK (last_sequence >= 1),
    created_at                  TIMESTAMPTZ NOT NULL,
    updated_at                  TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, round),
    -- rated_at, acceptance, handling and channel are set together.
    CONSTRAINT ratings_given_together CHECK (
        (rated_at IS NULL) = (acceptance IS NULL)
        AND (rated_at IS NULL) = (handling IS NULL)
        AND (rated_at IS NULL) = (channel IS NULL)
    )
);
-- A rated organization's list, newest first (acceptance or handling).
CREATE INDEX ratings_handling_idx ON ratings (handling_organization_id, id DESC);
CREATE INDEX ratings_acceptance_idx ON ratings (acceptance_organization_id, id DESC);
-- A jurisdiction's list.
CREATE INDEX ratings_region_idx ON ratings (region_path text_pattern_ops, id DESC);
-- A petitioner's own.
CREATE INDEX ratings_petitioner_idx ON ratings (petitioner_id, id DESC);
