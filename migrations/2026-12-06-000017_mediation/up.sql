-- People's mediation (issue 17): teams and their members, screening
-- rounds, and disputes as an aggregate of the one event log.

-- petition.v1.AggregateType: disputes join cases in the log and the feed.
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2));
-- Statistics read a period's dispute events.
CREATE INDEX events_disputes_time_idx ON events (occurred_at) WHERE aggregate_type = 2;

CREATE TABLE mediation_teams (
    id                    UUID PRIMARY KEY,
    name                  TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- petition.v1.MediationTeamKind.
    kind                  SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 5),
    -- petition.v1.DisputeCategory values.
    specialties           SMALLINT[] NOT NULL DEFAULT '{}',
    organization_id       UUID NOT NULL REFERENCES organizations (id),
    region_code           TEXT NOT NULL REFERENCES regions (code),
    region_path           TEXT NOT NULL,
    -- petition.v1.RegionLevel of region_code.
    level                 SMALLINT NOT NULL CHECK (level BETWEEN 1 AND 4),
    covered_region_codes  TEXT[] NOT NULL CHECK (cardinality(covered_region_codes) >= 1),
    covered_paths         TEXT[] NOT NULL CHECK (cardinality(covered_paths) = cardinality(covered_region_codes)),
    retired               BOOLEAN NOT NULL DEFAULT FALSE,
    version               INTEGER NOT NULL DEFAULT 1,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX mediation_teams_region_idx ON mediation_teams (region_path text_pattern_ops, id);
CREATE INDEX mediation_teams_covered_idx ON mediation_teams USING gin (covered_paths);

CREATE TABLE team_members (
    id            UUID PRIMARY KEY,
    team_id       UUID NOT NULL REFERENCES mediation_teams (id),
    display_name  TEXT NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
    -- petition.v1.TeamMemberRole.
    role          SMALLINT NOT NULL CHECK (role BETWEEN 1 AND 4),
    account_id    UUID REFERENCES accounts (id),
    phone_masked  TEXT,
    -- Sealed with the member's id (crate::pii).
    phone_cipher  BYTEA,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    removed_at    TIMESTAMPTZ,
    CHECK (account_id IS NOT NULL OR phone_cipher IS NOT NULL)
);
CREATE INDEX team_members_team_idx ON team_members (team_id, id);
CREATE UNIQUE INDEX team_members_account_once_idx ON team_members (team_id, account_id)
    WHERE active AND account_id IS NOT NULL;
CREATE INDEX team_members_account_idx ON team_members (account_id) WHERE active AND account_id IS NOT NULL;

CREATE TABLE screenings (
    id              UUID PRIMARY KEY,
    team_id         UUID NOT NULL REFERENCES mediation_teams (id),
    screening_date  DATE NOT NULL,
    area            TEXT NOT NULL CHECK (char_length(area) BETWEEN 1 AND 200),
    zero_report     BOOLEAN NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    recorded_by     UUID NOT NULL REFERENCES accounts (id),
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX screenings_team_idx ON screenings (team_id, id DESC);
CREATE INDEX screenings_date_idx ON screenings (screening_date);

CREATE TABLE disputes (
    id                   UUID PRIMARY KEY,
    team_id              UUID NOT NULL REFERENCES mediation_teams (id),
    -- Every team it passed through, the current one included: they keep
    -- reading it (a projection of the lifecycle, for list filters).
    team_ids             UUID[] NOT NULL,
    mediator_member_id   UUID REFERENCES team_members (id),
    region_code          TEXT NOT NULL REFERENCES regions (code),
    region_path          TEXT NOT NULL,
    -- petition.v1.DisputeCategory / DisputeSource / DisputeState.
    category             SMALLINT NOT NULL CHECK (category BETWEEN 1 AND 12),
    source               SMALLINT NOT NULL CHECK (source BETWEEN 1 AND 6),
    matter               TEXT NOT NULL CHECK (char_length(matter) BETWEEN 1 AND 5000),
    case_id              UUID REFERENCES cases (id),
    -- The handling unit of that case when it was referred: it sees the
    -- dispute it referred.
    referring_organization_id UUID REFERENCES organizations (id),
    referring_court_id   UUID REFERENCES organizations (id),
    court_case_number    TEXT NOT NULL DEFAULT '',
    screening_id         UUID REFERENCES screenings (id),
    attachments          JSONB NOT NULL DEFAULT '[]',
    -- Accounts of the parties who have one: they see the dispute.
    party_account_ids    UUID[] NOT NULL DEFAULT '{}',
    -- The court asked to confirm the agreement: it sees the dispute.
    confirmation_court_id UUID REFERENCES organizations (id),
    state                SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 8),
    receive_date         DATE NOT NULL,
    accept_date          DATE,
    due_date             DATE,
    -- Everything the rules track (mediation::rules::Lifecycle), folded
    -- from the event log; the columns above are projections of it.
    lifecycle            JSONB NOT NULL,
    version              INTEGER NOT NULL DEFAULT 1,
    last_sequence        INTEGER NOT NULL CHECK (last_sequence >= 1),
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX disputes_team_idx ON disputes (team_id, id DESC);
CREATE INDEX disputes_team_ids_idx ON disputes USING gin (team_ids);
CREATE INDEX disputes_region_idx ON disputes (region_path text_pattern_ops, id DESC);
CREATE INDEX disputes_mediator_idx ON disputes (mediator_member_id) WHERE mediator_member_id IS NOT NULL;
CREATE INDEX disputes_parties_idx ON disputes USING gin (party_account_ids);
CREATE INDEX disputes_case_idx ON disputes (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX disputes_courts_idx ON disputes (referring_court_id) WHERE referring_court_id IS NOT NULL;
CREATE INDEX disputes_confirmation_idx ON disputes (confirmation_court_id) WHERE confirmation_court_id IS NOT NULL;

-- The parties as recorded: contact details never enter the event log.
CREATE TABLE dispute_parties (
    dispute_id    UUID NOT NULL REFERENCES disputes (id),
    id            UUID NOT NULL,
    -- Place in the dispute's party list, from 0.
    position      SMALLINT NOT NULL CHECK (position >= 0),
    account_id    UUID REFERENCES accounts (id),
    name          TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    organization  BOOLEAN NOT NULL,
    phone_masked  TEXT,
    -- Sealed with the party's id (crate::pii).
    phone_cipher  BYTEA,
    PRIMARY KEY (dispute_id, id),
    UNIQUE (dispute_id, position),
    CHECK (account_id IS NOT NULL OR phone_cipher IS NOT NULL)
);
