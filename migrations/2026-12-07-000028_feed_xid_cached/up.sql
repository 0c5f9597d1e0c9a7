-- feed_xid() is every event's default position. As an SQL function it was
-- planned anew for every event written (SQL functions keep no plan between
-- calls); PL/pgSQL keeps its statement's plan for the session.
CREATE OR REPLACE FUNCTION feed_xid() RETURNS BIGINT LANGUAGE plpgsql STABLE AS
$$ BEGIN RETURN (SELECT pg_current_xact_id()::text::bigint + xid_offset FROM feed_state); END $$;
