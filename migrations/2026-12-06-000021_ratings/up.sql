CREATE TABLE ratings (
    id                          UUID PRIMARY KEY,
    case_id                     UUID NOT NULL REFERENCES cases (id),
    round                       SMALLINT NOT NULL CHECK (round BETWEEN 1 AND 3), -- 1 REPLY, 2 REVIEW, 3 RECHECK
    region_path                 TEXT NOT NULL,
    category_code               TEXT NOT NULL,
    served_at                   TIMESTAMPTZ NOT NULL,  -- opinion served: window opens
    rate_by                     DATE NOT NULL,         -- window's last day, inclusive (Asia/Shanghai)
    acceptance_organization_id  UUID REFERENCES organizations (id),
    handling_organization_id    UUID NOT NULL REFERENCES organizations (id),
    rated_at                    TIMESTAMPTZ,           -- NULL while unrated
    acceptance                  SMALLINT CHECK (acceptance BETWEEN 1 AND 3), -- 1 SATISFIED 2 BASICALLY 3 DISSATISFIED
    handling                    SMALLINT CHECK (handling BETWEEN 1 AND 3),
    channel                     SMALLINT,
    UNIQUE (case_id, round)
);
