ALTER FUNCTION intake_candidates(BIGINT, UUID, UUID[], SMALLINT[], BIGINT, UUID) RESET plan_cache_mode;
