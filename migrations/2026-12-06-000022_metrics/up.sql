-- The city's metrics (docs/metrics.md) read one narrow row of dated facts
-- per case instead of the period's events: each milestone keeps the
-- recording time of the event that reached it, and each judgement made at
-- a milestone (accepted in time, replied on time) is frozen there, so a
-- figure "as of" a past day is the same query with a time filter, and
-- equals what was shown that day.
--
-- The facts are a function of the case's events (and of the case's fixed
-- columns): the view below is that function, the journal rewrites a case's
-- row from it in the transaction that records the case's events, this
-- migration backfills every case from it, and the e2e suite checks that the
-- table equals the view.
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

INSERT INTO case_facts SELECT * FROM case_facts_from_events;

-- Rewrites the facts of `ids` from their events. A function, so that each
-- connection plans the view once: planned per call from the server, the
-- two statements took longer to plan (about 1 ms) than to run, and cost
-- SubmitCase a third of its rate.
CREATE FUNCTION refresh_case_facts(ids UUID[]) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM case_facts WHERE case_id = ANY (ids);
    INSERT INTO case_facts SELECT * FROM case_facts_from_events WHERE case_id = ANY (ids);
END
$$;


-- A subtree's facts: every figure of a dashboard from one index-only scan.
CREATE INDEX case_facts_region_idx ON case_facts (region_path text_pattern_ops)
    INCLUDE (case_id, category_code, channel, handling_organization_id, filed_at, first_time, repeat_of, escalated,
             repeat_unlinked_at, accepted_at, accepted_in_time, replied_at, replied_on_time, review_requested_at,
             withdrawn_at);
-- The filings that repeat a case (停访息诉, 最多访一次).
CREATE INDEX case_facts_repeat_of_idx ON case_facts (repeat_of, filed_at) WHERE repeat_of IS NOT NULL;
-- A subtree's ratings by the last day of their window.
CREATE INDEX ratings_metrics_idx ON ratings (region_path text_pattern_ops, rate_by);
