CREATE INDEX case_fingerprints_version_idx ON case_fingerprints (stats_version);
ALTER TABLE case_fingerprints
    ADD CONSTRAINT case_fingerprints_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id) DEFERRABLE INITIALLY DEFERRED;
