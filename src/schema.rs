//! The tables, in types both backends share (Text, BigInt, Integer, Bool, Double,
//! Timestamp). Kept by hand in step with `migrations/sqlite` and `migrations/postgres`.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        region_id -> Nullable<Text>,
        participant_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Text,
        organisation_id -> Text,
        active -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    regions (id) {
        id -> Text,
        name -> Text,
        potential_index_e4 -> BigInt,
        market_share_e4 -> BigInt,
        manager_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        name -> Text,
        organisation_id -> Text,
        region_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    participants (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        organisation_id -> Text,
        region_id -> Nullable<Text>,
        team_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        sku -> Text,
        name -> Text,
        category -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        reference -> Text,
        name -> Text,
        key_account -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sales (id) {
        id -> Text,
        participant_id -> Text,
        customer_id -> Nullable<Text>,
        product_id -> Nullable<Text>,
        sold_at -> Timestamp,
        quantity -> BigInt,
        amount_cents -> BigInt,
        currency -> Text,
        owner -> Text,
        source -> Text,
        external_id -> Text,
        reverses_id -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (principal_id, idempotency_key) {
        principal_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        state -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    challenges (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        status -> Text,
        rules_text -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        baseline_starts_at -> Nullable<Timestamp>,
        baseline_ends_at -> Nullable<Timestamp>,
        currency -> Text,
        ranking_unit -> Text,
        definition -> Text,
        standings_visible -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        announced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    standing_lines (challenge_id, entrant_id) {
        challenge_id -> Text,
        entrant_id -> Text,
        position -> Integer,
        rank -> Nullable<Integer>,
        region_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        line -> Text,
    }
}

diesel::table! {
    changes (seq) {
        seq -> BigInt,
        payload -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    rules (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        description -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rule_versions (rule_id, version) {
        rule_id -> Text,
        version -> Integer,
        source -> Text,
        content_hash -> Text,
        uploaded_by -> Text,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    challenge_rule_changes (id) {
        id -> Text,
        challenge_id -> Text,
        rule_id -> Text,
        from_version -> Integer,
        to_version -> Integer,
        reason -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    rewards (id) {
        id -> Text,
        name -> Text,
        description -> Text,
        category -> Text,
        kind -> Text,
        kind_details -> Text,
        value_cents -> BigInt,
        currency -> Text,
        stock -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    awards (id) {
        id -> Text,
        challenge_id -> Text,
        entrant_id -> Text,
        entrant_name -> Text,
        region_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        reward_id -> Text,
        quantity -> BigInt,
        stock_taken -> BigInt,
        value_cents -> BigInt,
        currency -> Text,
        reason -> Text,
        rank -> Nullable<Integer>,
        position -> Integer,
        note -> Text,
        plan_hash -> Text,
        rule_id -> Nullable<Text>,
        rule_version -> Nullable<Integer>,
        inputs_hash -> Text,
        status -> Text,
        allocated_at -> Timestamp,
        allocated_by -> Text,
        announced_at -> Nullable<Timestamp>,
        announced_by -> Nullable<Text>,
        fulfilled_at -> Nullable<Timestamp>,
        fulfilled_by -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
    }
}

diesel::table! {
    news (id) {
        id -> BigInt,
        kind -> Text,
        challenge_id -> Text,
        entrant_id -> Nullable<Text>,
        entrant_name -> Nullable<Text>,
        region_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        award_id -> Nullable<Text>,
        message -> Text,
        details -> Text,
        occurred_at -> Timestamp,
        dedupe_key -> Nullable<Text>,
    }
}

diesel::table! {
    challenge_watch (challenge_id) {
        challenge_id -> Text,
        change_seq -> BigInt,
        leaders -> Text,
        passed -> Text,
        reached -> Text,
        observed_at -> Timestamp,
    }
}

diesel::table! {
    standings_snapshots (id) {
        id -> Text,
        challenge_id -> Text,
        taken_at -> Timestamp,
        ranks -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        url -> Text,
        kinds -> Text,
        description -> Text,
        organisation_id -> Nullable<Text>,
        secret -> Text,
        active -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        news_id -> BigInt,
        kind -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        replays -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    share_links (id) {
        id -> Text,
        challenge_id -> Text,
        region_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        principal_kind -> Text,
        principal_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_digest) {
        token_digest -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        before_digest -> Nullable<Text>,
        after_digest -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::joinable!(api_clients -> users (created_by));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(awards -> rewards (reward_id));
diesel::joinable!(awards -> challenges (challenge_id));
diesel::joinable!(rule_versions -> rules (rule_id));
diesel::joinable!(teams -> organisations (organisation_id));
diesel::joinable!(teams -> regions (region_id));
diesel::joinable!(participants -> organisations (organisation_id));
diesel::joinable!(participants -> regions (region_id));
diesel::joinable!(participants -> teams (team_id));
diesel::joinable!(sales -> participants (participant_id));
diesel::joinable!(sales -> customers (customer_id));
diesel::joinable!(sales -> products (product_id));
diesel::joinable!(standing_lines -> challenges (challenge_id));
diesel::joinable!(news -> challenges (challenge_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> news (news_id));
diesel::joinable!(share_links -> challenges (challenge_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    api_clients,
    organisations,
    regions,
    teams,
    participants,
    products,
    customers,
    sales,
    idempotency_keys,
    challenges,
    standing_lines,
    changes,
    rules,
    rule_versions,
    challenge_rule_changes,
    rewards,
    awards,
    news,
    challenge_watch,
    standings_snapshots,
    webhooks,
    webhook_deliveries,
    share_links,
    sessions,
    refresh_tokens,
    audit_events,
);
