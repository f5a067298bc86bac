//! The HTTP API: one file per resource, each with a `configure` that registers its
//! handlers through utoipa-actix-web, so the OpenAPI document is collected from the
//! handlers themselves ([`openapi`]). Handlers stay short: extract (the caller through
//! `AuthUser`/`Admin`, the body as a write form), authorize against the caller's scope,
//! call the model, answer a DTO.

pub mod api_clients;
pub mod audit;
pub mod auth;
pub mod awards;
pub mod challenge_rules;
pub mod challenges;
pub mod consistency;
pub mod contract;
pub mod customers;
pub mod digest;
pub mod docs;
pub mod export;
pub mod health;
pub mod idempotency;
pub mod json;
pub mod metrics;
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
pub mod security_headers;
pub mod share;
pub mod standings;
pub mod stream;
pub mod teams;
pub mod users;
pub mod webhooks;

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::{scope, service_config::ServiceConfig, AppExt};

/// A resource's registration of its handlers.
pub type Configure = fn(&mut ServiceConfig);

/// The resources under `/api/v1`, in registration order. Kept as a list so that tests can
/// collect each resource's OpenAPI components on their own and catch two Rust types
/// claiming one schema name (utoipa keeps the last one silently).
pub const API_V1: &[(&str, Configure)] = &[
    ("auth", auth::configure),
    ("users", users::configure),
    ("api_clients", api_clients::configure),
    ("organisations", organisations::configure),
    ("regions", regions::configure),
    ("teams", teams::configure),
    ("participants", participants::configure),
    ("products", products::configure),
    ("customers", customers::configure),
    ("sales", sales::configure),
    ("challenges", challenges::configure),
    ("challenge_rules", challenge_rules::configure),
    // Before `standings`: `/standings/stream` is not an entrant's line.
    ("stream", stream::configure),
    ("standings", standings::configure),
    ("rules", rules::configure),
    ("rewards", rewards::configure),
    ("awards", awards::configure),
    ("news", news::configure),
    ("digest", digest::configure),
    ("webhooks", webhooks::configure),
    ("share", share::configure),
    ("audit", audit::configure),
];

/// The resources outside `/api/v1`: the probes, and the public share page (after the API).
pub const ROOT: &[(&str, Configure)] = &[
    ("health", health::configure),
    ("metrics", metrics::configure),
    ("share_public", share::configure_public),
];

/// Registers every route of the server.
pub fn configure(cfg: &mut ServiceConfig) {
    let (probes, public) = ROOT.split_at(2);
    for (_, resource) in probes {
        cfg.configure(resource);
    }
    cfg.service(
        API_V1
            .iter()
            .fold(scope::scope("/api/v1"), |scope, (_, resource)| {
                scope.configure(resource)
            }),
    );
    for (_, resource) in public {
        cfg.configure(resource);
    }
}

/// The OpenAPI components one resource registers on its own (for the schema-name check).
pub fn components_of(resource: Configure) -> utoipa::openapi::Components {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .configure(resource)
        .split_for_parts();
    doc.components.unwrap_or_default()
}

/// The OpenAPI document, as `GET /openapi.json` serves it and `podium openapi` prints it:
/// utoipa's document, finished by [`contract::finish`] on its JSON form (utoipa's model
/// cannot hold all of it, e.g. `security: []`).
pub fn openapi() -> serde_json::Value {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(docs::ApiDoc::openapi())
        .configure(configure)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    docs::add_common_responses(&mut doc);
    contract::finish(&doc)
}
