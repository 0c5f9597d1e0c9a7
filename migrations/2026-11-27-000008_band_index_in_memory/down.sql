DROP INDEX case_fingerprints_stored_in_xact_idx;
ALTER TABLE case_fingerprints DROP COLUMN stored_in_xact;
-- Empty: `petition-server reindex-similarity` of the older server fills it.
CREATE TABLE case_bands (
    key     BIGINT NOT NULL,
    case_id UUID NOT NULL,
    PRIMARY KEY (key, case_id)
);
