DELETE FROM events WHERE aggregate_type = 8;
DROP TABLE reception_bookings;
DROP TABLE reception_schedules;
ALTER TABLE events DROP CONSTRAINT events_aggregate_type_check;
ALTER TABLE events ADD CONSTRAINT events_aggregate_type_check CHECK (aggregate_type IN (1, 2, 3, 4, 5, 6, 7));
