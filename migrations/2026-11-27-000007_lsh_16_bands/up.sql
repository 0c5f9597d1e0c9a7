-- The LSH layout went from 40 bands × 3 rows to 16 × 2 (similarity::Params:
-- the same measured quality, 16 index rows per case instead of 40). Band
-- keys of the old layout never equal a new one, so they are dropped; they
-- are derived data. `petition-server reindex-similarity` re-makes every
-- stored case's fingerprint and band keys; until it has run, stored cases
-- are found only as their petitioner's own open cases (repeats), not by
-- band key (the server warns at start).
TRUNCATE case_bands;
