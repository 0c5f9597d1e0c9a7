DROP TABLE legal_aid_applications;
DELETE FROM events WHERE aggregate_type = 3;
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2));
UPDATE organizations SET kind = 2 WHERE kind = 8;
ALTER TABLE organizations DROP CONSTRAINT organizations_kind_check;
ALTER TABLE organizations ADD CONSTRAINT organizations_kind_check CHECK (kind BETWEEN 1 AND 7);
