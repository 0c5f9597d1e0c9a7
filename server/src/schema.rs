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
    backlog_cases (id) {
        id -> Uuid,
        case_id -> Uuid,
        state -> Int2,
        reason -> Int2,
        by_rule -> Bool,
        region_path -> Text,
        region_code -> Text,
        case_number -> Text,
        designated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        lifecycle -> Jsonb,
        version -> Int4,
        last_sequence -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_days (day) {
        day -> Date,
        kind -> Int2,
        note -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_years (year) {
        year -> Int4,
        loaded_at -> Timestamptz,
    }
}

diesel::table! {
    case_clock_marks (case_id) {
        case_id -> Uuid,
        due_date -> Date,
        level -> Int2,
    }
}

diesel::table! {
    case_facts (case_id) {
        case_id -> Uuid,
        region_path -> Text,
        category_code -> Text,
        channel -> Int2,
        kind -> Int2,
        petitioner_id -> Uuid,
        filed_at -> Nullable<Timestamptz>,
        first_time -> Bool,
        repeat_of -> Nullable<Uuid>,
        escalated -> Bool,
        repeat_unlinked_at -> Nullable<Timestamptz>,
        routed_at -> Nullable<Timestamptz>,
        accepted_at -> Nullable<Timestamptz>,
        accepted_in_time -> Nullable<Bool>,
        handling_organization_id -> Nullable<Uuid>,
        declined_at -> Nullable<Timestamptz>,
        extended -> Bool,
        reply_due -> Nullable<Date>,
        replied_at -> Nullable<Timestamptz>,
        replied_on -> Nullable<Date>,
        replied_on_time -> Nullable<Bool>,
        review_requested_at -> Nullable<Timestamptz>,
        withdrawn_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    case_fingerprints (case_id) {
        case_id -> Uuid,
        stats_version -> Int4,
        fingerprint -> Bytea,
        stored_in_xact -> Int8,
    }
}

diesel::table! {
    cases (id) {
        id -> Uuid,
        number -> Text,
        kind -> Int2,
        channel -> Int2,
        state -> Int2,
        track -> Int2,
        category_code -> Text,
        region_code -> Text,
        region_path -> Text,
        title -> Text,
        content -> Text,
        requests -> Text,
        facts_and_reasons -> Text,
        attachments -> Jsonb,
        petitioner_id -> Uuid,
        group_visit -> Nullable<Jsonb>,
        registered_by -> Uuid,
        registering_organization_id -> Nullable<Uuid>,
        handling_organization_id -> Nullable<Uuid>,
        routing_mode -> Nullable<Int2>,
        reviewing_organization_id -> Nullable<Uuid>,
        lifecycle -> Jsonb,
        due_date -> Nullable<Date>,
        extended -> Bool,
        routed_on_registration -> Bool,
        first_routed_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        respondent_organization_id -> Nullable<Uuid>,
        repeat_of -> Nullable<Uuid>,
        merged_into -> Nullable<Uuid>,
        last_sequence -> Int4,
        access_organization_ids -> Array<Nullable<Uuid>>,
        owning_leader_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    categories (code) {
        code -> Text,
        name -> Text,
        retired -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    court_referrals (id) {
        id -> Uuid,
        case_id -> Uuid,
        court_organization_id -> Uuid,
        referring_organization_id -> Nullable<Uuid>,
        region_code -> Text,
        region_path -> Text,
        state -> Int2,
        court_case_number -> Text,
        refer_date -> Date,
        lifecycle -> Jsonb,
        version -> Int4,
        last_sequence -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    daily_filings (petitioner_id, day) {
        petitioner_id -> Uuid,
        day -> Date,
        filings -> Int4,
    }
}

diesel::table! {
    dispute_clock_marks (dispute_id) {
        dispute_id -> Uuid,
        warn_due -> Nullable<Date>,
        miss_due -> Nullable<Date>,
        marks -> Jsonb,
    }
}

diesel::table! {
    dispute_parties (dispute_id, id) {
        dispute_id -> Uuid,
        id -> Uuid,
        position -> Int2,
        account_id -> Nullable<Uuid>,
        name -> Text,
        organization -> Bool,
        phone_masked -> Nullable<Text>,
        phone_cipher -> Nullable<Bytea>,
    }
}

diesel::table! {
    disputes (id) {
        id -> Uuid,
        team_id -> Uuid,
        team_ids -> Array<Nullable<Uuid>>,
        mediator_member_id -> Nullable<Uuid>,
        region_code -> Text,
        region_path -> Text,
        category -> Int2,
        source -> Int2,
        matter -> Text,
        case_id -> Nullable<Uuid>,
        referring_organization_id -> Nullable<Uuid>,
        referring_court_id -> Nullable<Uuid>,
        court_case_number -> Text,
        screening_id -> Nullable<Uuid>,
        attachments -> Jsonb,
        party_account_ids -> Array<Nullable<Uuid>>,
        confirmation_court_id -> Nullable<Uuid>,
        state -> Int2,
        receive_date -> Date,
        accept_date -> Nullable<Date>,
        due_date -> Nullable<Date>,
        lifecycle -> Jsonb,
        version -> Int4,
        last_sequence -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        refused_at -> Nullable<Timestamptz>,
        settled_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        performed_at -> Nullable<Timestamptz>,
        confirmation_applied_at -> Nullable<Timestamptz>,
        confirmed_at -> Nullable<Timestamptz>,
        days_to_settle -> Nullable<Int4>,
    }
}

diesel::table! {
    events (aggregate_id, sequence) {
        aggregate_id -> Uuid,
        sequence -> Int4,
        event_type -> Int2,
        actor_id -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        state -> Int2,
        payload -> Jsonb,
        aggregate_type -> Int2,
        xid -> Int8,
        idx -> Int2,
    }
}

diesel::table! {
    feed_state (singleton) {
        singleton -> Bool,
        xid_offset -> Int8,
        expired_through -> Int8,
    }
}

diesel::table! {
    idempotency_keys (account_id, request_id) {
        account_id -> Uuid,
        request_id -> Text,
        method -> Text,
        fingerprint -> Bytea,
        response -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    legal_aid_applications (id) {
        id -> Uuid,
        centre_organization_id -> Uuid,
        bureau_organization_id -> Nullable<Uuid>,
        origin_organization_id -> Nullable<Uuid>,
        case_id -> Nullable<Uuid>,
        applicant_account_id -> Nullable<Uuid>,
        applicant_name -> Text,
        applicant_phone_masked -> Nullable<Text>,
        applicant_phone_cipher -> Nullable<Bytea>,
        applicant_key -> Text,
        adverse_parties -> Array<Nullable<Text>>,
        adverse_keys -> Array<Nullable<Text>>,
        matter_type -> Int2,
        matter_summary -> Text,
        lawyer_account_id -> Nullable<Uuid>,
        state -> Int2,
        receive_date -> Date,
        due_date -> Nullable<Date>,
        lifecycle -> Jsonb,
        version -> Int4,
        last_sequence -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    legal_aid_clock_marks (application_id) {
        application_id -> Uuid,
        warn_due -> Nullable<Date>,
        miss_due -> Nullable<Date>,
        marks -> Jsonb,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
        blocked_until -> Nullable<Timestamptz>,
        lockouts -> Int4,
    }
}

diesel::table! {
    mediation_teams (id) {
        id -> Uuid,
        name -> Text,
        kind -> Int2,
        specialties -> Array<Nullable<Int2>>,
        organization_id -> Uuid,
        region_code -> Text,
        region_path -> Text,
        level -> Int2,
        covered_region_codes -> Array<Nullable<Text>>,
        covered_paths -> Array<Nullable<Text>>,
        retired -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    metric_days (dimension, grain, day, region_path, key) {
        dimension -> Int2,
        grain -> Int2,
        day -> Date,
        region_path -> Text,
        key -> Text,
        filed -> Int8,
        filed_first_time -> Int8,
        filed_repeat -> Int8,
        filed_escalated -> Int8,
        accepted -> Int8,
        accepted_in_time -> Int8,
        accepted_replied -> Int8,
        accepted_concluded -> Int8,
        replied -> Int8,
        replied_on_time -> Int8,
        replied_once -> Int8,
        replied_ceased -> Int8,
        rating_windows -> Int8,
        rated -> Int8,
        rated_satisfied -> Int8,
    }
}

diesel::table! {
    metrics_state (id) {
        id -> Bool,
        position -> Int8,
        layout -> Text,
        cessation_days -> Int4,
        built_at -> Nullable<Timestamptz>,
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
    rating_facts (rating_id) {
        rating_id -> Uuid,
        case_id -> Uuid,
        round -> Int2,
        region_path -> Text,
        category_code -> Text,
        channel -> Int2,
        handling_organization_id -> Uuid,
        rate_by -> Date,
        rated_at -> Nullable<Timestamptz>,
        handling -> Nullable<Int2>,
    }
}

diesel::table! {
    ratings (id) {
        id -> Uuid,
        case_id -> Uuid,
        round -> Int2,
        region_path -> Text,
        category_code -> Text,
        served_at -> Timestamptz,
        rate_by -> Date,
        acceptance_organization_id -> Nullable<Uuid>,
        handling_organization_id -> Uuid,
        rated_at -> Nullable<Timestamptz>,
        acceptance -> Nullable<Int2>,
        handling -> Nullable<Int2>,
        channel -> Nullable<Int2>,
        region_code -> Text,
        case_number -> Text,
        petitioner_id -> Uuid,
        lifecycle -> Jsonb,
        version -> Int4,
        last_sequence -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reception_bookings (id) {
        id -> Uuid,
        schedule_id -> Uuid,
        leader_account_id -> Uuid,
        organization_id -> Uuid,
        region_path -> Text,
        citizen_account_id -> Uuid,
        slot_date -> Date,
        slot_minute -> Int2,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        matter_key -> Text,
        case_id -> Nullable<Uuid>,
        state -> Int2,
        lifecycle -> Jsonb,
        version -> Int4,
        last_sequence -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reception_schedules (id) {
        id -> Uuid,
        leader_account_id -> Uuid,
        organization_id -> Uuid,
        region_code -> Text,
        region_path -> Text,
        spec -> Jsonb,
        valid_from -> Date,
        valid_until -> Nullable<Date>,
        retired -> Bool,
        version -> Int4,
        created_by -> Uuid,
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

diesel::table! {
    related_cases (case_id, related_case_id) {
        case_id -> Uuid,
        related_case_id -> Uuid,
        score -> Float4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    routing_rules (id) {
        id -> Uuid,
        category_code -> Text,
        region_code -> Text,
        organization_id -> Uuid,
        mode -> Int2,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    screenings (id) {
        id -> Uuid,
        team_id -> Uuid,
        screening_date -> Date,
        area -> Text,
        zero_report -> Bool,
        note -> Text,
        recorded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    similarity_stats (version) {
        version -> Int4,
        documents -> Int8,
        items -> Bytea,
        complete -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    supervision_numbers (organization_id, year) {
        organization_id -> Uuid,
        year -> Int4,
        last -> Int4,
    }
}

diesel::table! {
    supervisions (id) {
        id -> Uuid,
        case_id -> Uuid,
        region_path -> Text,
        region_code -> Text,
        case_number -> Text,
        organization_id -> Uuid,
        issuer_organization_id -> Uuid,
        state -> Int2,
        rung -> Int2,
        trigger -> Int2,
        due_date -> Date,
        automatic -> Bool,
        lifecycle -> Jsonb,
        version -> Int4,
        last_sequence -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sweeper_state (id) {
        id -> Bool,
        swept_through -> Nullable<Date>,
        pass_ended_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    team_members (id) {
        id -> Uuid,
        team_id -> Uuid,
        display_name -> Text,
        role -> Int2,
        account_id -> Nullable<Uuid>,
        phone_masked -> Nullable<Text>,
        phone_cipher -> Nullable<Bytea>,
        active -> Bool,
        created_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    token_revocations (id) {
        id -> Uuid,
        account_id -> Uuid,
        session_id -> Nullable<Uuid>,
        revoked_at -> Timestamptz,
        recorded_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> organizations (organization_id));
diesel::joinable!(backlog_cases -> cases (case_id));
diesel::joinable!(backlog_cases -> regions (region_code));
diesel::joinable!(case_clock_marks -> cases (case_id));
diesel::joinable!(case_facts -> cases (case_id));
diesel::joinable!(cases -> categories (category_code));
diesel::joinable!(cases -> regions (region_code));
diesel::joinable!(court_referrals -> cases (case_id));
diesel::joinable!(court_referrals -> regions (region_code));
diesel::joinable!(daily_filings -> accounts (petitioner_id));
diesel::joinable!(dispute_clock_marks -> disputes (dispute_id));
diesel::joinable!(dispute_parties -> accounts (account_id));
diesel::joinable!(dispute_parties -> disputes (dispute_id));
diesel::joinable!(disputes -> cases (case_id));
diesel::joinable!(disputes -> mediation_teams (team_id));
diesel::joinable!(disputes -> regions (region_code));
diesel::joinable!(disputes -> screenings (screening_id));
diesel::joinable!(disputes -> team_members (mediator_member_id));
diesel::joinable!(events -> accounts (actor_id));
diesel::joinable!(idempotency_keys -> accounts (account_id));
diesel::joinable!(legal_aid_applications -> cases (case_id));
diesel::joinable!(legal_aid_clock_marks -> legal_aid_applications (application_id));
diesel::joinable!(mediation_teams -> organizations (organization_id));
diesel::joinable!(mediation_teams -> regions (region_code));
diesel::joinable!(organizations -> regions (region_code));
diesel::joinable!(rating_facts -> cases (case_id));
diesel::joinable!(ratings -> accounts (petitioner_id));
diesel::joinable!(ratings -> cases (case_id));
diesel::joinable!(ratings -> regions (region_code));
diesel::joinable!(reception_bookings -> cases (case_id));
diesel::joinable!(reception_bookings -> organizations (organization_id));
diesel::joinable!(reception_bookings -> reception_schedules (schedule_id));
diesel::joinable!(reception_schedules -> organizations (organization_id));
diesel::joinable!(reception_schedules -> regions (region_code));
diesel::joinable!(refresh_tokens -> accounts (account_id));
diesel::joinable!(routing_rules -> categories (category_code));
diesel::joinable!(routing_rules -> organizations (organization_id));
diesel::joinable!(routing_rules -> regions (region_code));
diesel::joinable!(screenings -> accounts (recorded_by));
diesel::joinable!(screenings -> mediation_teams (team_id));
diesel::joinable!(supervision_numbers -> organizations (organization_id));
diesel::joinable!(supervisions -> cases (case_id));
diesel::joinable!(supervisions -> regions (region_code));
diesel::joinable!(team_members -> accounts (account_id));
diesel::joinable!(team_members -> mediation_teams (team_id));
diesel::joinable!(token_revocations -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    backlog_cases,
    calendar_days,
    calendar_years,
    case_clock_marks,
    case_facts,
    case_fingerprints,
    cases,
    categories,
    court_referrals,
    daily_filings,
    dispute_clock_marks,
    dispute_parties,
    disputes,
    events,
    feed_state,
    idempotency_keys,
    legal_aid_applications,
    legal_aid_clock_marks,
    login_throttle,
    mediation_teams,
    metric_days,
    metrics_state,
    organizations,
    rating_facts,
    ratings,
    reception_bookings,
    reception_schedules,
    refresh_tokens,
    regions,
    related_cases,
    routing_rules,
    screenings,
    similarity_stats,
    supervision_numbers,
    supervisions,
    sweeper_state,
    team_members,
    token_revocations,
);
