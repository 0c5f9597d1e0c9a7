-- Access tokens are self-contained JWTs checked without a database read, so
-- ending a sign-in (Logout, refresh-token reuse) or disabling an account
-- must reach every server some other way: each row here revokes either one
-- sign-in (`session_id`, the refresh-token family an access token names in
-- its `sid`) or every token of the account issued up to `revoked_at`
-- (`session_id` NULL). Servers load the recent rows at start and poll for
-- new ones every second, by `recorded_at`. A row outlives its use once the
-- longest-lived access token it can concern has expired; servers delete
-- rows older than a day.
CREATE TABLE token_revocations (
    id           UUID PRIMARY KEY,
    account_id   UUID NOT NULL REFERENCES accounts (id),
    session_id   UUID,
    revoked_at   TIMESTAMPTZ NOT NULL,
    -- When the row was written (not the transaction's start), for polling.
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX token_revocations_recorded_idx ON token_revocations (recorded_at);
