-- The leader who owns a case (领导包案), projected from the case's events.
-- Every existing case is owned by no one: the column starts NULL.
ALTER TABLE cases ADD COLUMN owning_leader_id uuid NULL REFERENCES accounts (id);

-- A leader's own cases, newest first (ListCases owning_leader_id / owned_by_me).
CREATE INDEX cases_owning_leader_idx ON cases (owning_leader_id, id DESC) WHERE owning_leader_id IS NOT NULL;
