-- Duplicate, repeat and escalation detection (issue 4).

-- The unit complained about, when the petitioner names one: a cue for
-- "same matter".
ALTER TABLE cases ADD COLUMN respondent_organization_id UUID REFERENCES organizations (id);
-- Projections of the lifecycle's links: a repeat (重复信访) points at the
-- open case of the same matter; a merged case at the case it is handled with.
ALTER TABLE cases ADD COLUMN repeat_of UUID REFERENCES cases (id);
ALTER TABLE cases ADD COLUMN merged_into UUID REFERENCES cases (id);
-- Escalation (越级, Art.19 ¶3) lives in the lifecycle JSON only: diesel
-- tables hold at most 32 columns; the partial index serves its filter.
CREATE INDEX cases_escalated_idx ON cases (id DESC) WHERE (lifecycle @> '{"escalated": true}');
CREATE INDEX cases_repeat_of_idx ON cases (repeat_of) WHERE repeat_of IS NOT NULL;
CREATE INDEX cases_merged_into_idx ON cases (merged_into) WHERE merged_into IS NOT NULL;

-- Document frequencies of shingles and specifics over the stored cases
-- (similarity::DocFreqTable, encoded): band keys depend on them, so every
-- fingerprint names the version it was made with.
CREATE TABLE similarity_stats (
    version    INTEGER PRIMARY KEY CHECK (version >= 1),
    documents  BIGINT NOT NULL CHECK (documents >= 0),
    items      BYTEA NOT NULL,
    -- Every fingerprint was re-keyed to this version.
    complete   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One similarity::Fingerprint per case (encoded). A filing writes its
-- fingerprint, bands and related rows before it takes the case-number lock
-- (the case row comes last): the foreign keys are checked at commit.
CREATE TABLE case_fingerprints (
    case_id       UUID PRIMARY KEY REFERENCES cases (id) DEFERRABLE INITIALLY DEFERRED,
    stats_version INTEGER NOT NULL,
    fingerprint   BYTEA NOT NULL
);
-- Kept in the row (≈ 2.6 KB, hashes do not compress): a candidate costs
-- one heap page, not a TOAST index probe and two chunks.
ALTER TABLE case_fingerprints ALTER COLUMN fingerprint SET STORAGE MAIN;
CREATE INDEX case_fingerprints_version_idx ON case_fingerprints (stats_version);

-- The LSH index: one row per band key of a case's fingerprint (the key
-- already mixes in the band number). Candidates share a key. No index on
-- case_id: a case's rows are found by the keys its fingerprint holds. No
-- foreign key either: 40 checks per filing for derived rows that are only
-- ever written with their case's fingerprint (whose key is checked), and
-- a candidate without a fingerprint is never read.
CREATE TABLE case_bands (
    key     BIGINT NOT NULL,
    case_id UUID NOT NULL,
    PRIMARY KEY (key, case_id)
);

-- Filings of the same matter by different petitioners (a possible group
-- petition), found at filing; one row per direction.
CREATE TABLE related_cases (
    case_id         UUID NOT NULL REFERENCES cases (id) DEFERRABLE INITIALLY DEFERRED,
    related_case_id UUID NOT NULL REFERENCES cases (id) DEFERRABLE INITIALLY DEFERRED,
    score           REAL NOT NULL CHECK (score >= 0 AND score <= 1),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, related_case_id),
    CHECK (case_id <> related_case_id)
);
