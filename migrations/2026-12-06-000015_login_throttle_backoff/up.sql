-- Lockouts in a row for a throttle key: each one lasts twice the one before
-- (exponential back-off), up to a maximum; a quiet spell resets it.
ALTER TABLE login_throttle ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
