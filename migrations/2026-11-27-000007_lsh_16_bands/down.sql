-- Band keys of the 16 × 2 layout mean nothing to the 40 × 3 one: run
-- `petition-server reindex-similarity` with the older server.
TRUNCATE case_bands;
