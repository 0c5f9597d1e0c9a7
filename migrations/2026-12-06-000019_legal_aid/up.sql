-- Legal aid (issue 18): applications to legal-aid centres as an aggregate
-- of the one event log; justice bureaus in the directory.

-- petition.v1.AggregateType: legal-aid applications join the log and feed.
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3));

-- petition.v1.OrganizationKind: JUSTICE_BUREAU (8).
ALTER TABLE organizations DROP CONSTRAINT organizations_kind_check;
ALTER TABLE organizations ADD CONSTRAINT organizations_kind_check CHECK (kind BETWEEN 1 AND 8);

CREATE TABLE legal_aid_applications (
    id                      UUID PRIMARY KEY,
    centre_organization_id  UUID NOT NULL REFERENCES organizations (id),
    -- The centre's parent when it is a justice bureau, as it was when the
    -- application was made: it decides objections and sees the matter.
    bureau_organization_id  UUID REFERENCES organizations (id),
    -- The organization that made it from a case (clerk's bureau, handling
    -- unit): it sees the application.
    origin_organization_id  UUID REFERENCES organizations (id),
    case_id                 UUID REFERENCES cases (id),
    applicant_account_id    UUID REFERENCES accounts (id),
    applicant_name          TEXT NOT NULL CHECK (char_length(applicant_name) BETWEEN 1 AND 100),
    applicant_phone_masked  TEXT,
    -- Sealed with the application's id (crate::pii).
    applicant_phone_cipher  BYTEA,
    -- Normalized names (legal_aid::conflicts::normalize) for the conflict check.
    applicant_key           TEXT NOT NULL,
    adverse_parties         TEXT[] NOT NULL CHECK (cardinality(adverse_parties) BETWEEN 1 AND 10),
    adverse_keys            TEXT[] NOT NULL,
    -- petition.v1.LegalAidMatterType / LegalAidState.
    matter_type             SMALLINT NOT NULL CHECK (matter_type BETWEEN 1 AND 11),
    matter_summary          TEXT NOT NULL CHECK (char_length(matter_summary) BETWEEN 1 AND 5000),
    lawyer_account_id       UUID REFERENCES accounts (id),
    state                   SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 9),
    receive_date            DATE NOT NULL,
    -- The running clock's last day (decision, assignment or objection);
    -- NULL when no clock runs (paused, or a final state).
    due_date                DATE,
    -- Everything the rules track (legal_aid::rules::Lifecycle), folded
    -- from the event log; the columns above are projections of it.
    lifecycle               JSONB NOT NULL,
    version                 INTEGER NOT NULL DEFAULT 1,
    last_sequence           INTEGER NOT NULL CHECK (last_sequence >= 1),
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    CHECK (applicant_account_id IS NOT NULL OR applicant_phone_cipher IS NOT NULL)
);
-- Lists: a centre's (by state), a lawyer's, an applicant's, a bureau's,
-- an origin's, newest first.
CREATE INDEX legal_aid_centre_idx ON legal_aid_applications (centre_organization_id, id DESC);
CREATE INDEX legal_aid_centre_state_idx ON legal_aid_applications (centre_organization_id, state, id DESC);
CREATE INDEX legal_aid_lawyer_idx ON legal_aid_applications (lawyer_account_id, id DESC)
    WHERE lawyer_account_id IS NOT NULL;
CREATE INDEX legal_aid_applicant_idx ON legal_aid_applications (applicant_account_id, id DESC)
    WHERE applicant_account_id IS NOT NULL;
CREATE INDEX legal_aid_bureau_idx ON legal_aid_applications (bureau_organization_id, id DESC)
    WHERE bureau_organization_id IS NOT NULL;
CREATE INDEX legal_aid_origin_idx ON legal_aid_applications (origin_organization_id, id DESC)
    WHERE origin_organization_id IS NOT NULL;
CREATE INDEX legal_aid_case_idx ON legal_aid_applications (case_id) WHERE case_id IS NOT NULL;
-- The conflict check: a centre's GRANTED, ASSIGNED and CLOSED matters by
-- applicant name, and by adverse names.
CREATE INDEX legal_aid_conflict_applicant_idx ON legal_aid_applications (centre_organization_id, applicant_key)
    WHERE state IN (3, 4, 5);
CREATE INDEX legal_aid_conflict_adverse_idx ON legal_aid_applications USING gin (adverse_keys)
    WHERE state IN (3, 4, 5);
