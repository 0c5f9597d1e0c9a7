// @generated automatically by Diesel CLI.

diesel::table! {
    accounts (id) {
        id -> Uuid,
        kind -> Int2,
        login_name -> Nullable<Text>,
        display_name -> Text,
        resident_id_cipher -> Nullable<Bytea>,
        resident_id_index -> Nullable<Bytea>,
        resident_id_masked -> Nullable<Text>,
        phone_cipher -> Nullable<Bytea>,
        phone_index -> Nullable<Bytea>,
        phone_masked -> Nullable<Text>,
        password_hash -> Text,
        roles -> Array<Nullable<Int2>>,
        organization_id -> Nullable<Uuid>,
        scopes -> Array<Nullable<Int2>>,
        disabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
        blocked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        kind -> Int2,
        region_code -> Text,
        parent_id -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        account_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    regions (code) {
        code -> Text,
        name -> Text,
        level -> Int2,
        parent_code -> Nullable<Text>,
        path -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> organizations (organization_id));
diesel::joinable!(organizations -> regions (region_code));
diesel::joinable!(refresh_tokens -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(accounts, login_throttle, organizations, refresh_tokens, regions,);
