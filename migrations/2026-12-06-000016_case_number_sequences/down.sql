CREATE TABLE case_counters (
    region_code TEXT NOT NULL REFERENCES regions (code),
    year        INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    last_value  INTEGER NOT NULL CHECK (last_value BETWEEN 1 AND 999999),
    PRIMARY KEY (region_code, year)
);

DO $$
DECLARE
    s RECORD;
BEGIN
    FOR s IN SELECT sequencename, last_value FROM pg_sequences
             WHERE schemaname = current_schema() AND sequencename ~ '^case_numbers_[0-9]+_[0-9]{4}$' LOOP
        IF s.last_value IS NOT NULL THEN
            INSERT INTO case_counters (region_code, year, last_value)
            VALUES (split_part(s.sequencename, '_', 3), split_part(s.sequencename, '_', 4)::INTEGER, s.last_value);
        END IF;
        EXECUTE format('DROP SEQUENCE %I', s.sequencename);
    END LOOP;
END $$;

DROP FUNCTION case_number_sequence(TEXT, INTEGER);
