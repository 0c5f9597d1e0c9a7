-- Case numbers come from one sequence per region and year instead of a
-- counter row: taking a number never waits for another filing's commit
-- (a counter row stays locked until its transaction ends, so filings of a
-- region took turns). A number taken by a filing that then fails is not
-- handed out again: numbers are unique and increasing, with gaps.

-- The sequence of (region, year), created on first use.
CREATE FUNCTION case_number_sequence(region TEXT, year INTEGER) RETURNS regclass
LANGUAGE plpgsql AS $$
DECLARE
    name TEXT := format('case_numbers_%s_%s', region, year);
BEGIN
    IF region !~ '^[0-9]{6,12}$' OR year NOT BETWEEN 2000 AND 2999 THEN
        RAISE EXCEPTION 'no case numbers for region % and year %', region, year;
    END IF;
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I AS INTEGER MAXVALUE 999999', name);
    RETURN name::regclass;
END $$;

DO $$
DECLARE
    counter RECORD;
BEGIN
    FOR counter IN SELECT region_code, year, last_value FROM case_counters LOOP
        PERFORM setval(case_number_sequence(counter.region_code, counter.year), counter.last_value);
    END LOOP;
END $$;

DROP TABLE case_counters;
