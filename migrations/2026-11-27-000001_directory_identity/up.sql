-- The administrative directory and accounts (issue 2).

-- Regions form a tree city → county → township → village. `path` holds the
-- codes from the root down to this region joined by '/', so a jurisdiction
-- subtree is one indexed prefix scan.
CREATE TABLE regions (
    code        TEXT PRIMARY KEY CHECK (code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    -- 1 city, 2 county, 3 township, 4 village (petition.v1.RegionLevel).
    level       SMALLINT NOT NULL CHECK (level BETWEEN 1 AND 4),
    parent_code TEXT REFERENCES regions (code),
    path        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((level = 1) = (parent_code IS NULL)),
    CHECK (path = code OR path LIKE '%/' || code)
);
CREATE INDEX regions_parent_idx ON regions (parent_code, code);
CREATE INDEX regions_path_idx ON regions (path text_pattern_ops);

CREATE TABLE organizations (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- petition.v1.OrganizationKind.
    kind        SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 7),
    region_code TEXT NOT NULL REFERENCES regions (code),
    parent_id   UUID REFERENCES organizations (id),
    -- Bumped on every update; the API's etag.
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX organizations_region_idx ON organizations (region_code, id);
CREATE INDEX organizations_parent_idx ON organizations (parent_id);

-- Citizens, staff and partner service accounts. Personal data is stored only
-- encrypted (AEAD) beside a keyed blind index used for uniqueness and lookup,
-- and a masked form for display.
CREATE TABLE accounts (
    id                  UUID PRIMARY KEY,
    -- 1 citizen, 2 staff, 3 service (petition.v1.AccountKind).
    kind                SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 3),
    -- Staff login name or service client id; citizens sign in by phone.
    login_name          TEXT UNIQUE,
    display_name        TEXT NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
    resident_id_cipher  BYTEA,
    resident_id_index   BYTEA UNIQUE,
    resident_id_masked  TEXT,
    phone_cipher        BYTEA,
    phone_index         BYTEA,
    phone_masked        TEXT,
    -- argon2id PHC string (password, or a service account's client secret).
    password_hash       TEXT NOT NULL,
    -- petition.v1.Role values.
    roles               SMALLINT[] NOT NULL,
    organization_id     UUID REFERENCES organizations (id),
    -- petition.v1.Scope values granted to a service account.
    scopes              SMALLINT[] NOT NULL DEFAULT '{}',
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (cardinality(roles) >= 1),
    CHECK (kind <> 1 OR (resident_id_index IS NOT NULL AND phone_index IS NOT NULL
                         AND organization_id IS NULL AND login_name IS NULL)),
    CHECK (kind = 1 OR (login_name IS NOT NULL AND organization_id IS NOT NULL)
           -- the bootstrap admin belongs to no organization
           OR (kind = 2 AND login_name IS NOT NULL AND roles = '{10}')),
    CHECK (kind = 3 OR cardinality(scopes) = 0)
);
-- One citizen account per phone number; staff may share a work phone.
CREATE UNIQUE INDEX accounts_citizen_phone_idx ON accounts (phone_index) WHERE kind = 1;
CREATE INDEX accounts_organization_idx ON accounts (organization_id, id);

-- Opaque rotating refresh tokens, stored hashed. A family is one sign-in;
-- presenting a token that was already rotated revokes the whole family.
CREATE TABLE refresh_tokens (
    id          UUID PRIMARY KEY,
    family_id   UUID NOT NULL,
    account_id  UUID NOT NULL REFERENCES accounts (id),
    token_hash  BYTEA NOT NULL UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    rotated_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account_idx ON refresh_tokens (account_id);

-- Failed sign-in counters per account key and per client address, shared by
-- every server replica.
CREATE TABLE login_throttle (
    -- 'account:<hex blind index of the login name>' or 'address:<ip>'.
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    window_start    TIMESTAMPTZ NOT NULL,
    blocked_until   TIMESTAMPTZ
);
