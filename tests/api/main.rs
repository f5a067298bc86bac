//! The integration suite: one binary that starts the real server per test, on SQLite by
//! default or on PostgreSQL when `TEST_DATABASE_URL` is set.

mod api_clients;
mod audit;
mod audit_coverage;
mod auth;
mod challenges;
mod demo;
mod engine;
mod exact;
mod helpers;
mod news;
mod openapi;
mod operations;
mod reference;
mod rewards;
mod rules;
mod sales;
mod scoring_sql;
mod sessions;
mod share;
mod users;
mod webhooks;
