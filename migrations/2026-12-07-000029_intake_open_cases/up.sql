-- A filing compares its text with the petitioner's open cases. It found
-- them by cases_petitioner_idx, which holds every case the petitioner ever
-- filed: each closed one was read from the heap for its state and dropped.
-- A petitioner who has filed for years (or a benchmark's busy filer) paid
-- for the whole history at every filing. An index of open cases only holds
-- what the read wants.
--
-- Openness is defined once, here, as the server's CaseState::is_open
-- (Declined 4, Final 9 and Withdrawn 10 are terminal; an e2e test compares
-- the two for every state), so the index predicate and the function's
-- condition are the same expression and the planner can use the index.
CREATE FUNCTION case_state_is_open(state SMALLINT) RETURNS BOOLEAN
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN state NOT IN (4, 9, 10);

CREATE INDEX cases_petitioner_open_idx ON cases (petitioner_id, id DESC) WHERE case_state_is_open(state);

-- related_cases only ever names cases the same filing has just read (or
-- is creating), and cases are never deleted. Its two foreign keys guarded
-- nothing, yet each check at commit locked the named case's row (FOR KEY
-- SHARE): an old heap page dirtied, often a full-page image in the WAL, for
-- every related pair, both ways.
ALTER TABLE related_cases
    DROP CONSTRAINT related_cases_case_id_fkey,
    DROP CONSTRAINT related_cases_related_case_id_fkey;

-- As migration 000011, but the petitioner's open cases come from the index
-- above (no terminal-states argument).
DROP FUNCTION intake_candidates(BIGINT, UUID, UUID[], UUID[], SMALLINT[], BIGINT, UUID, UUID, INTEGER, BYTEA);

CREATE FUNCTION intake_candidates(
    p_lock_key          BIGINT,
    p_petitioner        UUID,
    p_band_cases        UUID[],
    p_skip_own          UUID[],
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
           WHERE o.petitioner_id = p_petitioner AND case_state_is_open(o.state)
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

ALTER FUNCTION intake_candidates(BIGINT, UUID, UUID[], UUID[], BIGINT, UUID, UUID, INTEGER, BYTEA)
    SET plan_cache_mode = force_generic_plan;
