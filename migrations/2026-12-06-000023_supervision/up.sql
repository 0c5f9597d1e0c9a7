-- Supervision (issue 20): supervision items (督办事项) on cases, climbing
-- the ladder reminder → letter → talks → notice; their numbered documents;
-- and the sweeper's marks on cases' clocks.

-- petition.v1.AggregateType: supervision items join the log and the feed.
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3, 4, 5, 6));

CREATE TABLE supervisions (
    id                      UUID PRIMARY KEY,            -- UUIDv7
    case_id                 UUID NOT NULL REFERENCES cases (id),
    region_path             TEXT NOT NULL,               -- the case's region path
    region_code             TEXT NOT NULL REFERENCES regions (code),
    case_number             TEXT NOT NULL,
    organization_id         UUID NOT NULL REFERENCES organizations (id), -- must answer
    issuer_organization_id  UUID NOT NULL REFERENCES organizations (id),
    -- petition.v1.SupervisionState: 1 OPEN, 2 ANSWERED, 3 CLOSED, 4 WITHDRAWN
    state                   SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 4),
    -- petition.v1.SupervisionRung: 1 REMINDER, 2 LETTER, 3 TALKS, 4 NOTICE
    rung                    SMALLINT NOT NULL CHECK (rung BETWEEN 1 AND 4),
    -- petition.v1.SupervisionTrigger
    trigger                 SMALLINT NOT NULL CHECK (trigger BETWEEN 1 AND 8),
    due_date                DATE NOT NULL,
    automatic               BOOLEAN NOT NULL,
    -- supervision::rules::Lifecycle, folded from the event log.
    lifecycle               JSONB NOT NULL,
    version                 INTEGER NOT NULL DEFAULT 1,
    last_sequence           INTEGER NOT NULL CHECK (last_sequence >= 1),
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
-- The sweeper's walk and every list: the soonest deadline first.
CREATE INDEX supervisions_open_due_idx ON supervisions (due_date, id) WHERE state = 1;
CREATE INDEX supervisions_due_idx ON supervisions (due_date, id);
CREATE INDEX supervisions_case_idx ON supervisions (case_id);
CREATE INDEX supervisions_organization_idx ON supervisions (organization_id, due_date, id);
CREATE INDEX supervisions_issuer_idx ON supervisions (issuer_organization_id, due_date, id);
CREATE INDEX supervisions_region_idx ON supervisions (region_path text_pattern_ops);
-- One open OVERDUE item per case and organization: the sweeper's are
-- never issued twice.
CREATE UNIQUE INDEX supervisions_one_overdue_idx ON supervisions (case_id, organization_id)
    WHERE trigger = 8 AND state IN (1, 2);

-- Document numbers (督办函〔2026〕7号): one sequence per issuing
-- organization and year.
CREATE TABLE supervision_numbers (
    organization_id  UUID NOT NULL REFERENCES organizations (id),
    year             INTEGER NOT NULL,
    last             INTEGER NOT NULL CHECK (last >= 1),
    PRIMARY KEY (organization_id, year)
);

-- The sweeper's marks on a case's running clock: the deadline it last
-- marked and how far (1 approaching, 2 missed), so that a pass never
-- records a mark twice.
CREATE TABLE case_clock_marks (
    case_id   UUID PRIMARY KEY REFERENCES cases (id),
    due_date  DATE NOT NULL,
    level     SMALLINT NOT NULL CHECK (level BETWEEN 1 AND 2)
);
-- The sweeper walks running clocks by deadline (and id, to page); it
-- serves the overdue filter as the index it replaces did.
CREATE INDEX cases_due_id_idx ON cases (due_date, id) WHERE due_date IS NOT NULL;
DROP INDEX cases_due_idx;

-- The sweeper's progress: the day its last full pass covered and when it
-- ended (one row).
CREATE TABLE sweeper_state (
    id              BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    swept_through   DATE,
    pass_ended_at   TIMESTAMPTZ
);
INSERT INTO sweeper_state DEFAULT VALUES;
