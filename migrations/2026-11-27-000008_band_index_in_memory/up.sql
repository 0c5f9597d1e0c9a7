-- The LSH band index moved into each server's memory (server
-- similarity::bands): as rows here it made every filing at a million cases
-- read and write 16 random pages of a large index. Band keys are derived
-- data; every stored fingerprint holds its own, and servers build the
-- index from case_fingerprints at start.
DROP TABLE case_bands;

-- The transaction that stored a fingerprint. A server follows the
-- fingerprints other servers store by reading those of transactions at or
-- after the oldest one still running when it last looked: exact whatever
-- order transactions commit in (similarity::index::SimilarityIndex::follow).
-- Plain BIGINT: the epoch-extended xid8 as a number.
ALTER TABLE case_fingerprints
    ADD COLUMN stored_in_xact BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX case_fingerprints_stored_in_xact_idx ON case_fingerprints (stored_in_xact);
