ALTER TABLE case_fingerprints RESET (toast_tuple_target);
