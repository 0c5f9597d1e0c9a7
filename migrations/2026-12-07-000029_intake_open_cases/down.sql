DROP FUNCTION intake_candidates(BIGINT, UUID, UUID[], UUID[], BIGINT, UUID, UUID, INTEGER, BYTEA);

CREATE FUNCTION intake_candidates(
    p_lock_key          BIGINT,
    p_petitioner        UUID,
    p_band_cases        UUID[],
    p_skip_own          UUID[],
    p_terminal_states   SMALLINT[],
    p_own_limit         BIGINT,
    p_exclude           UUID,
    p_store_case        UUID,
    p_store_version     INTEGER,
    p_store_fingerprint BYTEA
) RETURNS TABLE (
    stats_version              INTEGER,
    fingerprint                BYTEA,
    id                         UUID,
    number                     TEXT,
    kind                       SMALLINT,
    state                      SMALLINT,
    petitioner_id              UUID,
    region_path                TEXT,
    category_code              TEXT,
    respondent_organization_id UUID,
    handling_organization_id   UUID,
    reviewing_organization_id  UUID,
    repeat_of                  UUID
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_lock_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(p_lock_key);
    END IF;
    RETURN QUERY
    SELECT f.stats_version, f.fingerprint, c.id, c.number, c.kind, c.state, c.petitioner_id, c.region_path,
           c.category_code, c.respondent_organization_id, c.handling_organization_id,
           c.reviewing_organization_id, c.repeat_of
    FROM (SELECT unnest(p_band_cases) AS case_id
          UNION
          (SELECT o.id FROM cases AS o
           WHERE o.petitioner_id = p_petitioner AND NOT (o.state = ANY (p_terminal_states))
             AND NOT (o.id = ANY (p_skip_own))
           ORDER BY o.id DESC LIMIT p_own_limit)) AS k
    JOIN case_fingerprints AS f ON f.case_id = k.case_id
    JOIN cases AS c ON c.id = k.case_id
    WHERE k.case_id IS DISTINCT FROM p_exclude;
    IF p_store_case IS NOT NULL THEN
        INSERT INTO case_fingerprints (case_id, stats_version, fingerprint)
        VALUES (p_store_case, p_store_version, p_store_fingerprint);
    END IF;
END
$$;

-- As migration 000010: one plan per connection, not one per call.
ALTER FUNCTION intake_candidates(BIGINT, UUID, UUID[], UUID[], SMALLINT[], BIGINT, UUID, UUID, INTEGER, BYTEA)
    SET plan_cache_mode = force_generic_plan;

ALTER TABLE related_cases
    ADD CONSTRAINT related_cases_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT related_cases_related_case_id_fkey FOREIGN KEY (related_case_id) REFERENCES cases (id) DEFERRABLE INITIALLY DEFERRED;

DROP INDEX cases_petitioner_open_idx;
DROP FUNCTION case_state_is_open(SMALLINT);
