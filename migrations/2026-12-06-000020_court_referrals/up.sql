-- Court linkage (issue 18): referrals of petition cases to courts
-- (诉访分离) as an aggregate of the one event log.

-- petition.v1.AggregateType: court referrals join the log and the feed
-- (3 is legal aid's).
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3, 4));

CREATE TABLE court_referrals (
    id                         UUID PRIMARY KEY,
    case_id                    UUID NOT NULL REFERENCES cases (id),
    court_organization_id      UUID NOT NULL REFERENCES organizations (id),
    -- The bureau or handling unit that referred it: its staff withdraw it.
    referring_organization_id  UUID REFERENCES organizations (id),
    -- Where the case's matter arose (the case's region), for filters.
    region_code                TEXT NOT NULL REFERENCES regions (code),
    region_path                TEXT NOT NULL,
    -- petition.v1.CourtReferralState.
    state                      SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 6),
    -- 案号 once filed (full-width parentheses), else empty.
    court_case_number          TEXT NOT NULL DEFAULT '',
    refer_date                 DATE NOT NULL,
    -- Everything the rules track (courts::rules::Lifecycle), folded from
    -- the event log; the columns above are projections of it.
    lifecycle                  JSONB NOT NULL,
    version                    INTEGER NOT NULL DEFAULT 1,
    last_sequence              INTEGER NOT NULL CHECK (last_sequence >= 1),
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);
-- A court's list (its in-tray by state), newest first.
CREATE INDEX court_referrals_court_idx ON court_referrals (court_organization_id, id DESC);
CREATE INDEX court_referrals_court_state_idx ON court_referrals (court_organization_id, state, id DESC);
CREATE INDEX court_referrals_case_idx ON court_referrals (case_id);
CREATE INDEX court_referrals_region_idx ON court_referrals (region_path text_pattern_ops, id DESC);
CREATE INDEX court_referrals_referring_idx ON court_referrals (referring_organization_id, id DESC);
-- One open referral per case and court.
CREATE UNIQUE INDEX court_referrals_open_once_idx ON court_referrals (case_id, court_organization_id)
    WHERE state IN (1, 2, 3);
-- A court files a case number once.
CREATE UNIQUE INDEX court_referrals_case_number_idx ON court_referrals (court_organization_id, court_case_number)
    WHERE court_case_number <> '';
