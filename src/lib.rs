//! Podium: a REST API for B2B sales challenges and incentive programmes.
//!
//! - [`settings`]: typed, layered configuration;
//! - [`startup`]: builds the running server (used by `main` and by the tests);
//! - [`api`]: the HTTP resources and the OpenAPI document collected from them;
//! - [`auth`]: tokens, roles and scopes, and the extractors handlers take;
//! - [`audit`]: the append-only log of who wrote what, in the same transaction as the write;
//! - [`models`]: rows and queries, one file per table, over [`db`]'s two backends;
//! - [`storage`]: whether the storage under the database still keeps what is written;
//! - [`error`]: the one error type and its problem+json body;
//! - [`news`]: news as it happens, the watcher that finds it and the bus that spreads it;
//! - [`webhooks`]: news pushed to subscribers, signed and retried;
//! - [`share`]: the public results page behind a share link.

pub mod api;
pub mod audit;
pub mod auth;
pub mod challenges;
pub mod db;
pub mod demo;
pub mod error;
pub mod ingestion;
pub mod metrics;
pub mod models;
pub mod news;
pub mod rewards;
pub mod rules;
pub mod schema;
pub mod scoring;
pub mod settings;
pub mod share;
pub mod shutdown;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod webhooks;
