//! The HTTP API: one file per resource, each with a `configure` that registers its
//! handlers through utoipa-actix-web, so the OpenAPI document is collected from the
//! handlers themselves ([`openapi`]). Handlers stay short: extract (the caller through
//! `AuthUser`/`Admin`, the body as a write form), authorize against the caller's scope,
//! call the model, answer a DTO.

pub mod api_clients;
pub mod auth;
pub mod awards;
pub mod challenge_rules;
pub mod challenges;
pub mod customers;
pub mod digest;
pub mod docs;
pub mod health;
pub mod idempotency;
pub mod json;
pub mod news;
pub mod organisations;
pub mod pagination;
pub mod participants;
pub mod products;
pub mod regions;
pub mod rewards;
pub mod routes;
pub mod rules;
pub mod sales;
pub mod share;
pub mod standings;
pub mod stream;
pub mod teams;
pub mod users;
pub mod webhooks;

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::{scope, service_config::ServiceConfig, AppExt};

/// Registers every route of the server.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.configure(health::configure)
        .service(
            scope::scope("/api/v1")
                .configure(auth::configure)
                .configure(users::configure)
                .configure(api_clients::configure)
                .configure(organisations::configure)
                .configure(regions::configure)
                .configure(teams::configure)
                .configure(participants::configure)
                .configure(products::configure)
                .configure(customers::configure)
                .configure(sales::configure)
                .configure(challenges::configure)
                .configure(challenge_rules::configure)
                // Before `standings`: `/standings/stream` is not an entrant's line.
                .configure(stream::configure)
                .configure(standings::configure)
                .configure(rules::configure)
                .configure(rewards::configure)
                .configure(awards::configure)
                .configure(news::configure)
                .configure(digest::configure)
                .configure(webhooks::configure)
                .configure(share::configure),
        )
        .configure(share::configure_public);
}

/// The OpenAPI document, as `GET /openapi.json` serves it and `podium openapi` prints it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(docs::ApiDoc::openapi())
        .configure(configure)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    docs::add_common_responses(&mut doc);
    doc
}
