-- The city's metrics (docs/metrics.md) are counted from three
-- projections of the event log that a follower keeps off the write path
-- (server/src/metrics/projection.rs), never in a filing's transaction:
--
-- * case_facts: one narrow row of dated facts per case. Each milestone
--   keeps the recording time of the event that reached it, and each
--   judgement made at a milestone (accepted in time, replied on time) is
--   frozen there, so a figure "as of" a past day is the same count with a
--   time cut, and equals what was shown that day. The view below is the
--   function from a case's events to its row.
-- * rating_facts: the ratings as the follower last counted them.
-- * metric_days: per region, day (and month) and breakdown key, how many
--   facts fall on that day in each countable
--   (server/src/metrics/countables.rs). A dashboard "as of" today sums
--   whole months and the days at a window's edges instead of reading
--   cases.
--
-- The follower replays events after metrics_state.position: it takes the
-- old contributions of the cases they touch out of metric_days, rewrites
-- their facts, and adds the new contributions, in one transaction with
-- the position. Replaying an event twice changes nothing.
CREATE VIEW case_facts_from_events AS
SELECT c.id AS case_id,
       c.region_path,
       c.category_code,
       c.channel,
       c.kind,
       c.petitioner_id,
       s.filed_at,
       -- 初次信访: the petitioner filed nothing before (ids are UUIDv7).
       NOT EXISTS (SELECT 1 FROM cases p WHERE p.petitioner_id = c.petitioner_id AND p.id < c.id) AS first_time,
       s.repeat_of,
       s.escalated,
       s.repeat_unlinked_at,
       s.routed_at,
       s.accepted_at,
       -- Told the petitioner of acceptance by the routing's accept_by (Art.23).
       (d.accepted_on <= d.accept_by) AS accepted_in_time,
       d.handling_organization_id,
       s.declined_at,
       d.extended,
       d.reply_due,
       s.replied_at,
       d.replied_on,
       (d.replied_on <= d.reply_due) AS replied_on_time,
       s.review_requested_at,
       s.withdrawn_at
FROM cases c
CROSS JOIN LATERAL (
    SELECT min(e.occurred_at) FILTER (WHERE e.event_type = 1) AS filed_at,
           (array_agg((e.payload->>'of')::uuid ORDER BY e.sequence) FILTER (WHERE e.event_type = 19))[1] AS repeat_of,
           COALESCE((array_agg((e.payload->>'escalated')::boolean ORDER BY e.sequence)
                     FILTER (WHERE e.event_type = 19))[1], false) AS escalated,
           min(e.occurred_at) FILTER (WHERE e.event_type = 20) AS repeat_unlinked_at,
           min(e.occurred_at) FILTER (WHERE e.event_type = 4) AS routed_at,
           min(e.sequence) FILTER (WHERE e.event_type = 6) AS accepted_seq,
           min(e.occurred_at) FILTER (WHERE e.event_type = 6) AS accepted_at,
           min(e.occurred_at) FILTER (WHERE e.event_type = 7) AS declined_at,
           min(e.sequence) FILTER (WHERE e.event_type = 10) AS replied_seq,
           min(e.occurred_at) FILTER (WHERE e.event_type = 10) AS replied_at,
           min(e.occurred_at) FILTER (WHERE e.event_type = 12) AS review_requested_at,
           min(e.occurred_at) FILTER (WHERE e.event_type = 18) AS withdrawn_at
    FROM events e
    WHERE e.aggregate_type = 1 AND e.aggregate_id = c.id
) s
CROSS JOIN LATERAL (
    SELECT (array_agg((e.payload->>'accept_by')::date ORDER BY e.sequence DESC)
                FILTER (WHERE e.event_type = 4 AND e.sequence < s.accepted_seq))[1] AS accept_by,
           (array_agg((e.payload->>'organization_id')::uuid ORDER BY e.sequence DESC)
                FILTER (WHERE e.event_type = 4 AND e.sequence < s.accepted_seq))[1] AS handling_organization_id,
           (array_agg((e.payload->>'accepted_on')::date) FILTER (WHERE e.sequence = s.accepted_seq))[1] AS accepted_on,
           -- The reply deadline in force when the reply was recorded: the
           -- last one set (acceptance, track, extension, recomputation).
           (array_agg(COALESCE(e.payload->>'reply_by', e.payload->'deadlines'->>'reply_by')::date ORDER BY e.sequence DESC)
                FILTER (WHERE e.event_type IN (2, 6, 9, 25) AND e.sequence < s.replied_seq
                        AND COALESCE(e.payload->>'reply_by', e.payload->'deadlines'->>'reply_by') IS NOT NULL))[1] AS reply_due,
           COALESCE(bool_or(e.event_type = 9) FILTER (WHERE e.sequence < s.replied_seq), false) AS extended,
           (array_agg(((e.payload->'opinion'->>'served_at')::timestamptz AT TIME ZONE 'Asia/Shanghai')::date)
                FILTER (WHERE e.sequence = s.replied_seq))[1] AS replied_on
    FROM events e
    WHERE e.aggregate_type = 1 AND e.aggregate_id = c.id
) d;

CREATE TABLE case_facts (
    case_id                   UUID PRIMARY KEY REFERENCES cases (id),
    region_path               TEXT NOT NULL,
    category_code             TEXT NOT NULL,
    channel                   SMALLINT NOT NULL,
    kind                      SMALLINT NOT NULL,
    petitioner_id             UUID NOT NULL,
    filed_at                  TIMESTAMPTZ,
    first_time                BOOLEAN NOT NULL,
    repeat_of                 UUID,
    escalated                 BOOLEAN NOT NULL,
    repeat_unlinked_at        TIMESTAMPTZ,
    routed_at                 TIMESTAMPTZ,
    accepted_at               TIMESTAMPTZ,
    accepted_in_time          BOOLEAN,
    handling_organization_id  UUID,
    declined_at               TIMESTAMPTZ,
    extended                  BOOLEAN NOT NULL,
    reply_due                 DATE,
    replied_at                TIMESTAMPTZ,
    replied_on                DATE,
    replied_on_time           BOOLEAN,
    review_requested_at       TIMESTAMPTZ,
    withdrawn_at              TIMESTAMPTZ
);
-- A subtree's or a unit's cases (figures as of a past day, exports).
CREATE INDEX case_facts_region_idx ON case_facts (region_path text_pattern_ops);
CREATE INDEX case_facts_handling_idx ON case_facts (handling_organization_id);
-- The filings that repeat a case (停访息诉, 最多访一次).
CREATE INDEX case_facts_repeat_of_idx ON case_facts (repeat_of, filed_at) WHERE repeat_of IS NOT NULL;

CREATE TABLE rating_facts (
    rating_id                 UUID PRIMARY KEY,
    case_id                   UUID NOT NULL REFERENCES cases (id),
    round                     SMALLINT NOT NULL,
    region_path               TEXT NOT NULL,
    category_code             TEXT NOT NULL,
    -- The case's channel (the breakdown's), not how the rating was given.
    channel                   SMALLINT NOT NULL,
    handling_organization_id  UUID NOT NULL,
    rate_by                   DATE NOT NULL,
    rated_at                  TIMESTAMPTZ,
    handling                  SMALLINT
);
CREATE INDEX rating_facts_case_idx ON rating_facts (case_id);
CREATE INDEX rating_facts_region_idx ON rating_facts (region_path text_pattern_ops, rate_by);
CREATE INDEX rating_facts_handling_idx ON rating_facts (handling_organization_id, rate_by);

-- dimension: 0 none (region and day only), 1 category, 2 channel,
-- 3 handling organization; key: the breakdown's value ('' for 0 and for
-- a case no unit has accepted). grain 0: the row counts `day`; grain 1:
-- the whole month that starts on `day`.
CREATE TABLE metric_days (
    dimension            SMALLINT NOT NULL,
    grain                SMALLINT NOT NULL CHECK (grain IN (0, 1)),
    day                  DATE NOT NULL,
    region_path          TEXT NOT NULL,
    key                  TEXT NOT NULL,
    filed                BIGINT NOT NULL DEFAULT 0,
    filed_first_time     BIGINT NOT NULL DEFAULT 0,
    filed_repeat         BIGINT NOT NULL DEFAULT 0,
    filed_escalated      BIGINT NOT NULL DEFAULT 0,
    accepted             BIGINT NOT NULL DEFAULT 0,
    accepted_in_time     BIGINT NOT NULL DEFAULT 0,
    accepted_replied     BIGINT NOT NULL DEFAULT 0,
    accepted_concluded   BIGINT NOT NULL DEFAULT 0,
    replied              BIGINT NOT NULL DEFAULT 0,
    replied_on_time      BIGINT NOT NULL DEFAULT 0,
    replied_once         BIGINT NOT NULL DEFAULT 0,
    replied_ceased       BIGINT NOT NULL DEFAULT 0,
    rating_windows       BIGINT NOT NULL DEFAULT 0,
    rated                BIGINT NOT NULL DEFAULT 0,
    rated_satisfied      BIGINT NOT NULL DEFAULT 0,
    -- A dashboard reads a range of days (or months), then the subtree.
    PRIMARY KEY (dimension, grain, day, region_path, key)
);

-- One row: how far the follower has counted, and what it counted with
-- (the countables' definitions and the cessation window); a server whose
-- definitions differ rebuilds the projections from the log.
CREATE TABLE metrics_state (
    id              BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    position        BIGINT NOT NULL DEFAULT 0,
    layout          TEXT NOT NULL DEFAULT '',
    cessation_days  INTEGER NOT NULL DEFAULT 0,
    built_at        TIMESTAMPTZ
);
INSERT INTO metrics_state DEFAULT VALUES;
