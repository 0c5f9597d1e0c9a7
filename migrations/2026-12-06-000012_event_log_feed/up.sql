-- The change feed (issue 14): one append-only log of every aggregate's
-- events (cases first; mediation, legal aid, ratings and supervision
-- next), each with a feed position, and case access grants for partners.
--
-- Positions. An event's position is (xid, idx): the id of the transaction
-- that wrote it and its place in that transaction; on the wire xid * 65536
-- + idx. A reader takes only events of transactions older than its
-- snapshot's xmin (feed_horizon()): every transaction below xmin has ended,
-- so nothing can still commit below a position already read, and nothing
-- serializes writers (a commit-ordered counter would hold a lock through
-- every commit's WAL flush: about 1,850 commits/s on the 2-core machine).
-- xid_offset keeps positions increasing after the database is restored into
-- a cluster whose transaction counter is behind (the server raises it at
-- start when it must). expired_through is the newest position no longer
-- served (retention); it only grows.
CREATE TABLE feed_state (
    singleton       BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    xid_offset      BIGINT NOT NULL DEFAULT 0 CHECK (xid_offset >= 0),
    expired_through BIGINT NOT NULL DEFAULT 0 CHECK (expired_through >= 0)
);
INSERT INTO feed_state DEFAULT VALUES;

-- This transaction's id on the feed's scale.
CREATE FUNCTION feed_xid() RETURNS BIGINT LANGUAGE sql STABLE AS
$$ SELECT pg_current_xact_id()::text::bigint + xid_offset FROM feed_state $$;

-- Events of transactions below this are all committed or gone, as seen by
-- the calling statement's snapshot.
CREATE FUNCTION feed_horizon() RETURNS BIGINT LANGUAGE sql STABLE AS
$$ SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + xid_offset FROM feed_state $$;

ALTER TABLE case_events RENAME TO events;
ALTER TABLE events RENAME COLUMN case_id TO aggregate_id;
-- One log for every aggregate type: the id is no longer a case's alone.
ALTER TABLE events DROP CONSTRAINT case_events_case_id_fkey;
ALTER TABLE events RENAME CONSTRAINT case_events_pkey TO events_pkey;
ALTER TABLE events RENAME CONSTRAINT case_events_sequence_check TO events_sequence_check;
ALTER TABLE events RENAME CONSTRAINT case_events_actor_id_fkey TO events_actor_id_fkey;
-- petition.v1.AggregateType.
ALTER TABLE events ADD COLUMN aggregate_type SMALLINT NOT NULL DEFAULT 1 CHECK (aggregate_type = 1);
ALTER TABLE events ALTER COLUMN aggregate_type DROP DEFAULT;
ALTER TABLE events ADD COLUMN xid BIGINT;
ALTER TABLE events ADD COLUMN idx SMALLINT CHECK (idx >= 0);

-- Events written before the feed get positions below every transaction to
-- come, in the order they happened (32,768 to a synthetic transaction).
WITH ranked AS (
    SELECT aggregate_id, sequence,
           row_number() OVER (ORDER BY occurred_at, aggregate_id, sequence) - 1 AS n
    FROM events
)
UPDATE events e
SET xid = 1 + r.n / 32768, idx = r.n % 32768
FROM ranked r
WHERE e.aggregate_id = r.aggregate_id AND e.sequence = r.sequence;
DO $$
BEGIN
    IF (SELECT max(xid) FROM events) >= feed_xid() THEN
        RAISE EXCEPTION 'too many stored events for the transaction counter; contact the developers';
    END IF;
END $$;
ALTER TABLE events ALTER COLUMN xid SET DEFAULT feed_xid();
ALTER TABLE events ALTER COLUMN xid SET NOT NULL;
ALTER TABLE events ALTER COLUMN idx SET NOT NULL;
CREATE UNIQUE INDEX events_position_idx ON events (xid, idx);

-- The sequence of each case's newest event (its timeline's length), so a
-- transition needs no max() over the log and a listed case tells a partner
-- which feed events it already reflects.
ALTER TABLE cases ADD COLUMN last_sequence INTEGER NOT NULL DEFAULT 1 CHECK (last_sequence >= 1);
ALTER TABLE cases ALTER COLUMN last_sequence DROP DEFAULT;
UPDATE cases c
SET last_sequence = m.last
FROM (SELECT aggregate_id, max(sequence) AS last FROM events GROUP BY aggregate_id) m
WHERE c.id = m.aggregate_id AND m.last <> 1;

-- Partner organizations given access (GrantCaseAccess): a projection of the
-- lifecycle, as the other columns are.
ALTER TABLE cases ADD COLUMN access_organization_ids UUID[] NOT NULL DEFAULT '{}';
CREATE INDEX cases_access_idx ON cases USING gin (access_organization_ids)
    WHERE access_organization_ids <> '{}';
