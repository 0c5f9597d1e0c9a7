-- The years whose holiday schedule (the State Council's 部分节假日安排) is
-- loaded. A year with no exceptions stored is ambiguous without it: a
-- plain week that was decided, or a schedule nobody loaded yet. A deadline
-- counted over days of a year not listed here is provisional (it assumes
-- the plain week) and is recomputed when the year is loaded.
-- CalendarService.SetCalendarYear adds its year.
CREATE TABLE calendar_years (
    year      INTEGER PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    loaded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every year with exceptions stored was loaded (2025 and 2026 ship with
-- the calendar migration).
INSERT INTO calendar_years (year)
SELECT DISTINCT EXTRACT(YEAR FROM day)::integer FROM calendar_days;
