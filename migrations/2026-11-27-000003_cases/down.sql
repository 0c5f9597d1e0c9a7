DROP TABLE idempotency_keys;
DROP TABLE case_events;
DROP TABLE cases;
DROP TABLE case_counters;
DROP TABLE routing_rules;
DROP TABLE categories;
