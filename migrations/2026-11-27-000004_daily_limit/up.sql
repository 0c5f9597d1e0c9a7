-- Filings per petitioner per Beijing calendar day (issue 4): one row per
-- (petitioner, day), incremented inside the filing's transaction, so
-- concurrent filings serialize on the row and can never exceed the limit.
CREATE TABLE daily_filings (
    petitioner_id UUID NOT NULL REFERENCES accounts (id),
    day           DATE NOT NULL,
    filings       INTEGER NOT NULL CHECK (filings >= 1),
    PRIMARY KEY (petitioner_id, day)
);
