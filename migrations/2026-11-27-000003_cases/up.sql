-- The case lifecycle (issue 3): taxonomy, routing rules, cases, their
-- event log, human case numbers and idempotency keys.

CREATE TABLE categories (
    code        TEXT PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    retired     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- category × region → default unit (即时交办). The nearest region wins.
CREATE TABLE routing_rules (
    id              UUID PRIMARY KEY,
    category_code   TEXT NOT NULL REFERENCES categories (code),
    region_code     TEXT NOT NULL REFERENCES regions (code),
    organization_id UUID NOT NULL REFERENCES organizations (id),
    -- 1 forward, 2 assign (petition.v1.RoutingMode).
    mode            SMALLINT NOT NULL CHECK (mode IN (1, 2)),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (category_code, region_code)
);

-- The last case sequence number handed out per region and year; one row
-- lock makes numbers unique and increasing under concurrency.
CREATE TABLE case_counters (
    region_code TEXT NOT NULL REFERENCES regions (code),
    year        INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    last_value  INTEGER NOT NULL CHECK (last_value BETWEEN 1 AND 999999),
    PRIMARY KEY (region_code, year)
);

CREATE TABLE cases (
    id                          UUID PRIMARY KEY,
    number                      TEXT NOT NULL UNIQUE CHECK (number ~ '^[0-9]{6,12}-[0-9]{4}-[0-9]{6}$'),
    -- petition.v1.CaseKind / CaseChannel / CaseState / CaseTrack.
    kind                        SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 3),
    channel                     SMALLINT NOT NULL CHECK (channel BETWEEN 1 AND 5),
    state                       SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 10),
    track                       SMALLINT NOT NULL CHECK (track BETWEEN 1 AND 3),
    category_code               TEXT NOT NULL REFERENCES categories (code),
    region_code                 TEXT NOT NULL REFERENCES regions (code),
    -- Denormalized region path: jurisdiction filters are one prefix scan.
    region_path                 TEXT NOT NULL,
    title                       TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    content                     TEXT NOT NULL CHECK (char_length(content) BETWEEN 1 AND 20000),
    requests                    TEXT NOT NULL CHECK (char_length(requests) BETWEEN 1 AND 5000),
    facts_and_reasons           TEXT NOT NULL CHECK (char_length(facts_and_reasons) <= 20000),
    attachments                 JSONB NOT NULL DEFAULT '[]',
    petitioner_id               UUID NOT NULL REFERENCES accounts (id),
    -- {headcount, representatives:[{name, phone_cipher…}]} for group visits.
    group_visit                 JSONB,
    registered_by               UUID NOT NULL REFERENCES accounts (id),
    registering_organization_id UUID REFERENCES organizations (id),
    handling_organization_id    UUID REFERENCES organizations (id),
    routing_mode                SMALLINT CHECK (routing_mode IN (1, 2)),
    reviewing_organization_id   UUID REFERENCES organizations (id),
    -- Everything the lifecycle rules track (cases::rules::Lifecycle), as
    -- folded from the event log; the columns below are projections of it
    -- kept for filtering.
    lifecycle                   JSONB NOT NULL,
    due_date                    DATE,
    extended                    BOOLEAN NOT NULL DEFAULT FALSE,
    routed_on_registration      BOOLEAN NOT NULL DEFAULT FALSE,
    first_routed_at             TIMESTAMPTZ,
    version                     INTEGER NOT NULL DEFAULT 1,
    created_at                  TIMESTAMPTZ NOT NULL,
    updated_at                  TIMESTAMPTZ NOT NULL
);
CREATE INDEX cases_petitioner_idx ON cases (petitioner_id, id DESC);
CREATE INDEX cases_region_path_idx ON cases (region_path text_pattern_ops, id DESC);
CREATE INDEX cases_handling_idx ON cases (handling_organization_id, id DESC);
CREATE INDEX cases_reviewing_idx ON cases (reviewing_organization_id) WHERE reviewing_organization_id IS NOT NULL;
CREATE INDEX cases_due_idx ON cases (due_date) WHERE due_date IS NOT NULL;
CREATE INDEX cases_state_idx ON cases (state, id DESC);

-- Append-only: every change to a case, in the transaction that made it.
CREATE TABLE case_events (
    case_id     UUID NOT NULL REFERENCES cases (id),
    sequence    INTEGER NOT NULL CHECK (sequence >= 1),
    -- petition.v1.CaseEventType.
    event_type  SMALLINT NOT NULL,
    actor_id    UUID REFERENCES accounts (id),
    occurred_at TIMESTAMPTZ NOT NULL,
    -- State after the event.
    state       SMALLINT NOT NULL,
    payload     JSONB NOT NULL,
    PRIMARY KEY (case_id, sequence)
);

-- A replayed request_id returns the first response (ARCHITECTURE §3).
CREATE TABLE idempotency_keys (
    account_id  UUID NOT NULL REFERENCES accounts (id),
    request_id  TEXT NOT NULL CHECK (char_length(request_id) BETWEEN 1 AND 128),
    method      TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    response    BYTEA,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, request_id)
);
