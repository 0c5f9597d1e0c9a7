CREATE OR REPLACE FUNCTION feed_xid() RETURNS BIGINT LANGUAGE sql STABLE AS
$$ SELECT pg_current_xact_id()::text::bigint + xid_offset FROM feed_state $$;
