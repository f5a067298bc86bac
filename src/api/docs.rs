//! The parts of the OpenAPI document that are not collected from the handlers: the
//! document's header, the bearer scheme, the reusable error responses, and a finishing
//! pass that gives every operation the error answers it can produce (500 everywhere; 401
//! where a token is required; 400 where a body, query or path is read), so that handlers list only the
//! answers particular to them. What utoipa cannot express from attributes is added
//! afterwards by [`crate::api::contract`].

use utoipa::openapi::{self, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::error::{FieldError, Problem};

/// The request body, query or path cannot be read (malformed JSON, unknown field, wrong
/// type).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadRequest(#[allow(dead_code)] Problem);

/// No token, or a malformed, expired, revoked, wrongly signed or foreign token
/// (`missing_token`, `invalid_token`, `token_expired`, `token_revoked`), or wrong
/// credentials at sign-in (`invalid_credentials`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unauthorized(#[allow(dead_code)] Problem);

/// The caller's role or scope does not allow this (`forbidden`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Forbidden(#[allow(dead_code)] Problem);

/// No such object, or none the caller may see (`not_found`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotFound(#[allow(dead_code)] Problem);

/// The request clashes with the current state (`already_exists`, `last_admin`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(#[allow(dead_code)] Problem);

/// The link existed but has expired or was revoked (`link_expired`, `link_revoked`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Gone(#[allow(dead_code)] Problem);

/// Values are invalid (`validation_failed`); `errors` names each field at fault.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct ValidationFailed(#[allow(dead_code)] Problem);

/// The body is not JSON (`unsupported_media_type`): send `Content-Type: application/json`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(#[allow(dead_code)] Problem);

/// The body is larger than the server accepts, 16 MiB (`payload_too_large`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PayloadTooLarge(#[allow(dead_code)] Problem);

/// The database is out of reach (`database_unavailable`); retry later.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unavailable(#[allow(dead_code)] Problem);

/// An unexpected error (`internal_error`); the body says nothing of its cause, which is
/// logged with the request id.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct InternalError(#[allow(dead_code)] Problem);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Podium API",
        description = "REST API for B2B sales challenges and incentive programmes.\n\n\
            Sign in with `POST /api/v1/auth/token` and send the token as \
            `Authorization: Bearer <token>`. Every error is `application/problem+json` \
            with a stable `code`. Lists are paginated with `limit` and `offset`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(Problem, FieldError), responses(
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Gone, ValidationFailed,
        Unavailable, InternalError, UnsupportedMediaType, PayloadTooLarge
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Signing in and who am I"),
        (name = "users", description = "People who sign in (admins only)"),
        (name = "api-clients", description = "Partner integrations (admins only)"),
        (name = "organisations", description = "The company and its distributors"),
        (name = "regions", description = "Sectors, with their potential index and market share"),
        (name = "teams", description = "Teams of reps"),
        (name = "participants", description = "Who competes: reps, teams, distributors"),
        (name = "products", description = "The product catalogue"),
        (name = "customers", description = "Customers, and which are key accounts"),
        (name = "sales", description = "Sale lines: idempotent batch ingestion in JSON or CSV, reversals"),
        (name = "challenges", description = "Competitions and incentives, and their life"),
        (name = "standings", description = "Ranked, explained results, live or frozen"),
        (name = "rewards", description = "The reward catalogue: gifts, vouchers, free goods, payment terms, discounts, premiums"),
        (name = "awards", description = "What closed challenges gave: allocation at close, announcement, fulfilment, certificates, the podium"),
        (name = "rules", description = "Admins' Rhai rules: custom objectives and reward allocations, in immutable versions, compiled on upload and testable on sample data"),
        (name = "news", description = "What happens in the challenges, as it happens: a paginated feed, a live stream of standings and news (Server-Sent Events), and a digest for newsletters"),
        (name = "webhooks", description = "News pushed to partners' and front-ends' URLs, signed with HMAC-SHA256, retried with backoff, recorded and replayable"),
        (name = "share", description = "Share links: a public, self-refreshing results page of a challenge, until the link expires or is revoked"),
        (name = "operations", description = "Liveness and readiness probes"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        use openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Adds the error answers every operation of a kind can give, where a handler did not
/// declare them itself.
pub fn add_common_responses(doc: &mut openapi::OpenApi) {
    let reference = |name: &str| RefOr::Ref(openapi::Ref::from_response_name(name));
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let reads_input = operation.request_body.is_some()
                || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let responses = &mut operation.responses.responses;
            if reads_input {
                responses
                    .entry("400".into())
                    .or_insert_with(|| reference("BadRequest"));
            }
            if secured {
                responses
                    .entry("401".into())
                    .or_insert_with(|| reference("Unauthorized"));
            }
            responses
                .entry("500".into())
                .or_insert_with(|| reference("InternalError"));
        }
    }
}
