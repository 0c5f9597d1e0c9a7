-- The sweeper's walk over the clocks of disputes and legal-aid applications
-- and its marks on them (issue 20 §4). One row per aggregate with a running
-- clock: the soonest deadline not yet warned of (`warn_due`), the soonest
-- warned of but not yet marked missed (`miss_due`), and the marks recorded
-- on the clocks now running. A transition that changes the running clocks
-- sets `warn_due` to the soonest of them (and clears `miss_due`): the next
-- pass looks again, from the marks. The marks never touch the aggregate's
-- version (a caller's etag stays good).

CREATE TABLE dispute_clock_marks (
    dispute_id  UUID PRIMARY KEY REFERENCES disputes (id),
    warn_due    DATE,
    miss_due    DATE,
    -- jobs::marks::Mark<mediation::sweep::ClockKey>[]
    marks       JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX dispute_clock_marks_warn_idx ON dispute_clock_marks (warn_due, dispute_id) WHERE warn_due IS NOT NULL;
CREATE INDEX dispute_clock_marks_miss_idx ON dispute_clock_marks (miss_due, dispute_id) WHERE miss_due IS NOT NULL;

CREATE TABLE legal_aid_clock_marks (
    application_id  UUID PRIMARY KEY REFERENCES legal_aid_applications (id),
    warn_due        DATE,
    miss_due        DATE,
    -- jobs::marks::Mark<legal_aid::domain::LegalAidClock>[]
    marks           JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX legal_aid_clock_marks_warn_idx ON legal_aid_clock_marks (warn_due, application_id)
    WHERE warn_due IS NOT NULL;
CREATE INDEX legal_aid_clock_marks_miss_idx ON legal_aid_clock_marks (miss_due, application_id)
    WHERE miss_due IS NOT NULL;

-- What is stored already: looked at by the first pass (ACCEPTED,
-- IN_MEDIATION, SETTLED, PERFORMED, BREACHED; UNDER_REVIEW,
-- AWAITING_MATERIALS, GRANTED, OBJECTION_PENDING).
INSERT INTO dispute_clock_marks (dispute_id, warn_due)
SELECT id, receive_date FROM disputes WHERE state IN (2, 3, 4, 5, 6);
INSERT INTO legal_aid_clock_marks (application_id, warn_due)
SELECT id, receive_date FROM legal_aid_applications WHERE state IN (1, 2, 3, 8);
