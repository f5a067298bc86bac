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
/// (`missing_token`, `invalid_token`, `token_expired`, `token_revoked`: signed out,
/// account disabled), wrong credentials at sign-in (`invalid_credentials`), or a refresh
/// token that is unknown, expired or revoked (`invalid_grant`) or already used
/// (`refresh_token_reused`, which revokes its session).
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

/// The request clashes with the current state (`already_exists`, `last_admin`, and
/// `idempotency_in_flight` with `Retry-After`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(#[allow(dead_code)] Problem);

/// Values are invalid (`validation_failed`); `errors` names each field at fault.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct ValidationFailed(#[allow(dead_code)] Problem);

/// The body is not JSON, or not of a media type the operation reads
/// (`unsupported_media_type`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(#[allow(dead_code)] Problem);

/// The body is larger than the server accepts, 16 MiB (`payload_too_large`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PayloadTooLarge(#[allow(dead_code)] Problem);

/// Too many attempts from this caller (`sign_in_throttled`); `Retry-After` says in how
/// many seconds the next one is counted.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct TooManyRequests(#[allow(dead_code)] Problem);

/// The database is out of reach (`database_unavailable`: down, or its SQLite file was
/// deleted or replaced), has no space left for a write (`storage_full`), or every rule
/// slot stayed taken (`rules_busy`); retry after `Retry-After` seconds.
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
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    components(schemas(Problem, FieldError, crate::api::webhooks::WebhookPayload), responses(
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, ValidationFailed,
        UnsupportedMediaType, PayloadTooLarge, TooManyRequests, Unavailable, InternalError
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
        (name = "audit", description = "The append-only log of every write: who, when, what, the object, digests of its state before and after, the request id (admins only)"),
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
        components.add_security_scheme(
            "metrics",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The `PODIUM_METRICS_TOKEN` of the server"))
                    .build(),
            ),
        );
    }
}

/// Adds what every operation of a kind has, where a handler did not declare it itself:
/// the error answers (500 everywhere; 503 where the database is read; 401 where a token
/// is required; 400 where a body, query or path is read; 415 where a body is read),
/// `security: []` on the public operations, `X-Request-Id` on every answer and `Location`
/// on every 201 of an object that can then be read. Also the document's `servers`.
pub fn add_common_responses(doc: &mut openapi::OpenApi) {
    use openapi::header::HeaderBuilder;
    use openapi::schema::{ObjectBuilder, Type};
    let reference = |name: &str| RefOr::Ref(openapi::Ref::from_response_name(name));
    let text_header = |description: &str| {
        RefOr::T(
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(description))
                .build(),
        )
    };
    let request_id = text_header(
        "The request's id, also in the server's log line for it: quote it when reporting a problem.",
    );
    doc.servers = Some(vec![openapi::server::ServerBuilder::new()
        .url("/")
        .description(Some("The server that serves this document"))
        .build()]);
    if let Some(components) = doc.components.as_mut() {
        page_items_by_reference(components);
        close_union_variants(components);
        for response in components.responses.values_mut() {
            if let RefOr::T(response) = response {
                response
                    .headers
                    .insert("X-Request-Id".into(), request_id.clone());
            }
        }
        let retry_after = |description: &str| {
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    ))
                    .description(Some(description))
                    .build(),
            )
        };
        for (name, description) in [
            (
                "TooManyRequests",
                "Seconds to wait before the next attempt is counted.",
            ),
            ("Unavailable", "Seconds to wait before trying again."),
            (
                "Conflict",
                "With `idempotency_in_flight`: seconds to wait before sending the request again.",
            ),
        ] {
            if let Some(RefOr::T(response)) = components.responses.get_mut(name) {
                response
                    .headers
                    .insert("Retry-After".into(), retry_after(description));
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let touches_database = path.as_str() != "/healthz";
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            constrain_parameters(operation);
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            if !secured {
                operation.security = Some(Vec::new());
            }
            let reads_body = operation.request_body.is_some();
            // A batch of sales has no one URL; a share link is read through its token.
            let locates = !matches!(
                operation.operation_id.as_deref(),
                Some("record_sales" | "create_share_link")
            );
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
            if reads_body {
                responses
                    .entry("415".into())
                    .or_insert_with(|| reference("UnsupportedMediaType"));
            }
            if touches_database {
                responses
                    .entry("503".into())
                    .or_insert_with(|| reference("Unavailable"));
            }
            responses
                .entry("500".into())
                .or_insert_with(|| reference("InternalError"));
            for (status, response) in responses.iter_mut() {
                if let RefOr::T(response) = response {
                    response
                        .headers
                        .entry("X-Request-Id".into())
                        .or_insert_with(|| request_id.clone());
                    if status == "201" && locates {
                        response
                            .headers
                            .entry("Location".into())
                            .or_insert_with(|| {
                                text_header("The URL of the object created, to read it")
                            });
                    }
                }
            }
        }
    }
}

/// utoipa writes a copy of the item schema into each `Page_<Item>`; generated clients then
/// make a second model of every item (and of every union inside it). Each page's `items`
/// points at its item's component instead.
fn page_items_by_reference(components: &mut openapi::Components) {
    use openapi::schema::{ArrayItems, Schema};
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in components.schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        if !names.iter().any(|n| n == item) {
            continue;
        }
        let RefOr::T(Schema::Object(page)) = schema else {
            continue;
        };
        if let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") {
            items.items =
                ArrayItems::RefOrSchema(Box::new(RefOr::Ref(openapi::Ref::from_schema_name(item))));
        }
    }
}

/// The limits the server enforces on parameters that many operations share, written once
/// here where they are enforced once (`pagination::PageRequest`, `idempotency::key_of`).
fn constrain_parameters(operation: &mut openapi::path::Operation) {
    use openapi::path::ParameterIn;
    use openapi::schema::{ObjectBuilder, Schema, Type};
    use openapi::Required;
    let Some(parameters) = operation.parameters.as_mut() else {
        return;
    };
    for parameter in parameters.iter_mut() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let schema = match (&parameter.parameter_in, parameter.name.as_str()) {
            (ParameterIn::Query, "limit") => ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(openapi::schema::SchemaFormat::KnownFormat(
                    openapi::schema::KnownFormat::Int64,
                )))
                .minimum(Some(1))
                .maximum(Some(super::pagination::MAX_LIMIT))
                .default(Some(super::pagination::DEFAULT_LIMIT.into())),
            (ParameterIn::Query, "offset") => ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(openapi::schema::SchemaFormat::KnownFormat(
                    openapi::schema::KnownFormat::Int64,
                )))
                .minimum(Some(0))
                .default(Some(0.into())),
            (ParameterIn::Header, "Idempotency-Key") => ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(super::idempotency::MAX_KEY_LENGTH))
                .pattern(Some("^[!-~]+$")),
            _ => continue,
        };
        parameter.schema = Some(RefOr::T(Schema::Object(schema.build())));
        if parameter.name == "Idempotency-Key" {
            parameter.required = Required::False;
        }
    }
}

/// Tagged unions whose Rust types refuse unknown fields (`deny_unknown_fields`, which
/// utoipa does not carry to enum variants): each variant is closed in the document too.
/// A test below keeps this list true to the types.
const CLOSED_UNIONS: [&str; 3] = ["Objective", "RewardKind", "Target"];

fn close_union_variants(components: &mut openapi::Components) {
    use openapi::schema::{AdditionalProperties, Schema};
    for name in CLOSED_UNIONS {
        let Some(RefOr::T(Schema::OneOf(union))) = components.schemas.get_mut(name) else {
            continue;
        };
        for variant in &mut union.items {
            if let RefOr::T(Schema::Object(object)) = variant {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// Every union of [`super::CLOSED_UNIONS`] refuses a field it does not know.
    #[test]
    fn closed_unions_refuse_unknown_fields() {
        use crate::rewards::RewardKind;
        use crate::scoring::{Objective, Target};
        assert!(serde_json::from_value::<Objective>(json!({"type": "revenue", "x": 1})).is_err());
        assert!(serde_json::from_value::<RewardKind>(json!({"type": "gift", "x": 1})).is_err());
        assert!(serde_json::from_value::<Target>(
            json!({"type": "growth_percent", "percent": "5", "x": 1})
        )
        .is_err());
        assert_eq!(
            super::CLOSED_UNIONS.len(),
            3,
            "a union added to the list needs a case here"
        );
    }
}
