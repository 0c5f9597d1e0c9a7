-- Fingerprints are hashes (≈ 2 KB, incompressible): a row over the default
-- 2 KB toast target made every filing try to compress it, in vain. Rows up
-- to a page stay as they are.
ALTER TABLE case_fingerprints SET (toast_tuple_target = 8160);
