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

diesel::joinable!(api_clients -> users (created_by));
diesel::allow_tables_to_appear_in_same_query!(users, api_clients);
