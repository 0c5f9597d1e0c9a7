-- Reception days (issue 20 §2, 领导接访): schedules per leader and place,
-- and bookings of their slots (an aggregate in the log and the feed).

-- petition.v1.AggregateType: reception bookings join the log and the feed.
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3, 4, 5, 6, 7, 8));

-- Schedules are configuration (like mediation teams): plain rows whose
-- changes raise `version` (the etag) and `updated_at`.
CREATE TABLE reception_schedules (
    id                 UUID PRIMARY KEY,                          -- UUIDv7
    leader_account_id  UUID NOT NULL REFERENCES accounts (id),
    organization_id    UUID NOT NULL REFERENCES organizations (id), -- the bureau running it
    region_code        TEXT NOT NULL REFERENCES regions (code),   -- where it is held
    region_path        TEXT NOT NULL,
    -- reception::rules::ScheduleSpec (address, recurrence, slots, dates).
    spec               JSONB NOT NULL,
    valid_from         DATE NOT NULL,
    valid_until        DATE,
    retired            BOOLEAN NOT NULL DEFAULT FALSE,
    version            INTEGER NOT NULL DEFAULT 1,
    created_by         UUID NOT NULL REFERENCES accounts (id),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX reception_schedules_leader_idx ON reception_schedules (leader_account_id, id);
CREATE INDEX reception_schedules_organization_idx ON reception_schedules (organization_id, id);
CREATE INDEX reception_schedules_region_idx ON reception_schedules (region_path text_pattern_ops);

CREATE TABLE reception_bookings (
    id                  UUID PRIMARY KEY,                         -- UUIDv7
    schedule_id         UUID NOT NULL REFERENCES reception_schedules (id),
    leader_account_id   UUID NOT NULL REFERENCES accounts (id),
    organization_id     UUID NOT NULL REFERENCES organizations (id),
    region_path         TEXT NOT NULL,                            -- the schedule's
    citizen_account_id  UUID NOT NULL REFERENCES accounts (id),
    slot_date           DATE NOT NULL,
    slot_minute         SMALLINT NOT NULL CHECK (slot_minute BETWEEN 0 AND 1439),
    starts_at           TIMESTAMPTZ NOT NULL,
    ends_at             TIMESTAMPTZ NOT NULL,
    -- "case:<uuid>" or "title:<normalized title>": one BOOKED per matter.
    matter_key          TEXT NOT NULL,
    case_id             UUID REFERENCES cases (id),
    -- petition.v1.ReceptionBookingState: 1 BOOKED, 2 CANCELLED, 3 RECEIVED, 4 NO_SHOW
    state               SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 4),
    -- reception::rules::Lifecycle, folded from the event log.
    lifecycle           JSONB NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    last_sequence       INTEGER NOT NULL CHECK (last_sequence >= 1),
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
-- Capacity counts BOOKED and RECEIVED bookings of a slot.
CREATE INDEX reception_bookings_slot_idx ON reception_bookings (schedule_id, slot_date, slot_minute) WHERE state IN (1, 3);
CREATE INDEX reception_bookings_schedule_idx ON reception_bookings (schedule_id, starts_at, id);
CREATE INDEX reception_bookings_leader_idx ON reception_bookings (leader_account_id, starts_at, id);
CREATE INDEX reception_bookings_citizen_idx ON reception_bookings (citizen_account_id, starts_at, id);
CREATE INDEX reception_bookings_region_idx ON reception_bookings (region_path text_pattern_ops);
-- One BOOKED booking per matter of a citizen.
CREATE UNIQUE INDEX reception_bookings_one_open_matter_idx ON reception_bookings (citizen_account_id, matter_key)
    WHERE state = 1;
