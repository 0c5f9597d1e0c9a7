-- A filing's fingerprint row paid for two things that guard nothing.
--
-- The foreign key to cases: a fingerprint is derived data (the filing that
-- stores it inserts its case in the same transaction, reindex-similarity
-- re-makes it from the case text), and cases are never deleted. Yet its
-- check at commit ran an RI trigger that locked the new case row FOR KEY
-- SHARE: a query, a tuple lock and WAL for every filing (as related_cases'
-- keys did until migration 000029).
--
-- The stats_version index: only reindex-similarity asked for "fingerprints
-- older than version N", and it now walks the cases in key order once,
-- checking each fingerprint's version as it goes. Every filing added an
-- entry to it.
ALTER TABLE case_fingerprints DROP CONSTRAINT case_fingerprints_case_id_fkey;
DROP INDEX case_fingerprints_version_idx;
