DROP INDEX cases_owning_leader_idx;
ALTER TABLE cases DROP COLUMN owning_leader_id;
