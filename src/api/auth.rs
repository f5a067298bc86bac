//! Signing in and refreshing (`POST /auth/token`), signing out (`POST /auth/sign-out`),
//! and asking who the token speaks for (`GET /me`). Sessions, rotation and revocation are
//! decided in [`crate::auth::sessions`]; throttling in [`crate::auth::throttle`].

use std::net::IpAddr;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::auth::sessions::{self, Credentials};
use crate::auth::throttle::SignInThrottle;
use crate::auth::{app_data, AuthUser, LiveSessions, PrincipalKind, Role, TokenIssuer};
use crate::db::Pool;
use crate::error::AppError;
use crate::models::utc;
use crate::settings::Settings;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(issue_token).service(sign_out).service(me);
}

/// A sign-in request: a person's e-mail and password, a partner API client's
/// credentials, or a refresh token, told apart by `grant_type`.
///
/// Its schema is written by hand (below): each grant is a complete object whose
/// `grant_type` is a one-value enum, closed to other fields, and the request is a `oneOf`
/// of the two with a discriminator, so that validators and generated clients accept
/// exactly what the server does.
#[derive(Debug, Deserialize)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    /// A person signs in with the e-mail and password an admin gave them.
    Password(PasswordGrant),
    /// A partner's integration signs in with the id and secret of its API client.
    ClientCredentials(ClientCredentialsGrant),
    /// A signed-in person gets the next access token with its refresh token.
    RefreshToken(RefreshTokenGrant),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordGrant {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentialsGrant {
    /// The API client's id.
    pub client_id: Uuid,
    /// The secret shown once when the client was created.
    pub client_secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenGrant {
    /// The refresh token of the last sign-in or refresh; it can be used once.
    pub refresh_token: String,
}

impl From<TokenRequest> for Credentials {
    fn from(request: TokenRequest) -> Self {
        match request {
            TokenRequest::Password(grant) => Credentials::Password {
                email: grant.email,
                password: grant.password,
            },
            TokenRequest::ClientCredentials(grant) => Credentials::ClientSecret {
                client_id: grant.client_id,
                secret: grant.client_secret,
            },
            TokenRequest::RefreshToken(grant) => Credentials::RefreshToken(grant.refresh_token),
        }
    }
}

mod token_schema {
    use std::borrow::Cow;

    use serde_json::json;
    use utoipa::openapi::schema::{
        AdditionalProperties, Discriminator, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
        SchemaFormat, Type,
    };
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    use super::TokenRequest;

    fn text(description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    }

    fn grant<const N: usize>(
        grant_type: &str,
        description: &str,
        fields: [(&str, ObjectBuilder); N],
        example: serde_json::Value,
    ) -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(description))
            .property(
                "grant_type",
                text("The grant.").enum_values(Some([grant_type])),
            )
            .required("grant_type")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .examples([example]);
        for (name, schema) in fields {
            object = object.property(name, schema).required(name);
        }
        object.into()
    }

    pub fn password() -> RefOr<Schema> {
        grant(
            "password",
            "A person signs in with the e-mail and password an admin gave them.",
            [
                ("email", text("The account's e-mail.").min_length(Some(1))),
                (
                    "password",
                    text("The account's password.").min_length(Some(1)),
                ),
            ],
            json!({"grant_type": "password", "email": "admin@podium.local", "password": "correct horse battery staple"}),
        )
    }

    pub fn client_credentials() -> RefOr<Schema> {
        grant(
            "client_credentials",
            "A partner's integration signs in with the id and secret of its API client.",
            [
                (
                    "client_id",
                    text("The API client's id.")
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                ),
                (
                    "client_secret",
                    text("The secret shown once when the client was created.").min_length(Some(1)),
                ),
            ],
            json!({"grant_type": "client_credentials", "client_id": "0b6f3a52-1f9e-4c1a-9d51-7a3e2b8c4d10", "client_secret": "pk_live_…"}),
        )
    }

    pub fn refresh_token() -> RefOr<Schema> {
        grant(
            "refresh_token",
            "A signed-in person gets the next access token with its refresh token. The \
             answer carries a new refresh token; the one sent cannot be used again, and \
             sending it again revokes the session.",
            [(
                "refresh_token",
                text("The refresh token of the last sign-in or refresh.").min_length(Some(1)),
            )],
            json!({"grant_type": "refresh_token", "refresh_token": "prt_3kQ9…"}),
        )
    }

    impl PartialSchema for TokenRequest {
        fn schema() -> RefOr<Schema> {
            let mut discriminator = Discriminator::new("grant_type");
            discriminator.mapping = [
                ("password", "#/components/schemas/PasswordGrant"),
                (
                    "client_credentials",
                    "#/components/schemas/ClientCredentialsGrant",
                ),
                ("refresh_token", "#/components/schemas/RefreshTokenGrant"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            OneOfBuilder::new()
                .item(Ref::from_schema_name("PasswordGrant"))
                .item(Ref::from_schema_name("ClientCredentialsGrant"))
                .item(Ref::from_schema_name("RefreshTokenGrant"))
                .discriminator(Some(discriminator))
                .description(Some(
                    "A sign-in request: a person's e-mail and password, a partner API \
                     client's credentials, or a refresh token, told apart by `grant_type`.",
                ))
                .into()
        }
    }

    impl ToSchema for TokenRequest {
        fn name() -> Cow<'static, str> {
            Cow::Borrowed("TokenRequest")
        }

        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            schemas.push(("PasswordGrant".into(), password()));
            schemas.push(("ClientCredentialsGrant".into(), client_credentials()));
            schemas.push(("RefreshTokenGrant".into(), refresh_token()));
        }
    }
}

/// An access token, and for a person a refresh token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
    "token_type": "Bearer",
    "expires_in": 900,
    "expires_at": "2026-11-27T10:00:00Z",
    "refresh_token": "prt_3kQ9…",
    "refresh_expires_at": "2026-12-11T09:45:00Z",
    "session_id": "01937a52-1f9e-7c1a-9d51-7a3e2b8c4d10",
    "role": "admin"
}))]
pub struct TokenResponse {
    /// Send it as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    pub expires_at: DateTime<Utc>,
    /// For a person (password and refresh grants): gets the next access token once, with
    /// the `refresh_token` grant. API clients sign in again with their secret instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the refresh token expires if it is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// The session the tokens belong to; signing out ends it.
    pub session_id: Uuid,
    pub role: Role,
}

/// The caller a token speaks for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The user's or API client's id.
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub role: Role,
    /// For a manager: the region they follow.
    pub region_id: Option<Uuid>,
    /// For a participant: who they are.
    pub participant_id: Option<Uuid>,
    /// For a partner: their distributor organisation.
    pub organisation_id: Option<Uuid>,
}

impl From<&AuthUser> for Me {
    fn from(caller: &AuthUser) -> Self {
        let (region_id, participant_id, organisation_id) = caller.scope.ids();
        Self {
            id: caller.id,
            kind: caller.kind,
            role: caller.role,
            region_id,
            participant_id,
            organisation_id,
        }
    }
}

/// The client address sign-in attempts are counted against.
fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        if let Some(address) = req
            .connection_info()
            .realip_remote_addr()
            .and_then(parse_address)
        {
            return Some(address);
        }
    }
    req.peer_addr().map(|peer| peer.ip())
}

/// An address as `Forwarded`/`X-Forwarded-For` write it: bare, with a port, or bracketed.
fn parse_address(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    value
        .parse()
        .ok()
        .or_else(|| value.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            value
                .strip_prefix('[')
                .and_then(|v| v.split(']').next())
                .and_then(|v| v.parse().ok())
        })
}

/// Sign in, or refresh: exchange credentials for an access token.
///
/// `grant_type` is `password` (people: `email`, `password`), `client_credentials`
/// (partner integrations: `client_id`, `client_secret`) or `refresh_token` (people:
/// the refresh token of their last sign-in or refresh). The access token carries the role
/// and its scope (region, participant or organisation) and lives 15 minutes by default.
///
/// Attempts are throttled per client address (any grant) and per account (the password
/// grant's e-mail), whether they succeed or not: past the budget the answer is 429
/// `sign_in_throttled` with `Retry-After`, before the credentials are looked at, so it
/// says nothing about whether the account exists. A refresh token works once: the answer
/// carries the next one, and sending a used one again revokes its session (401
/// `refresh_token_reused`).
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, response = crate::api::docs::Unauthorized),
        (status = 429, response = crate::api::docs::TooManyRequests),
    )
)]
#[post("/auth/token")]
async fn issue_token(
    req: HttpRequest,
    pool: web::Data<Pool>,
    issuer: web::Data<TokenIssuer>,
    body: crate::api::json::Json<TokenRequest>,
) -> Result<HttpResponse, AppError> {
    let request = body.into_inner();
    let metrics = app_data::<crate::metrics::Metrics>(&req)?;
    count_attempt(&req, &request).inspect_err(|_| metrics.sign_in("throttled"))?;
    let lifetimes = app_data::<Settings>(&req)?.session_lifetimes();
    let live = app_data::<LiveSessions>(&req)?.clone().into_inner();
    let request_id = crate::auth::request_id_of(&req);
    let signed_in = pool
        .run(move |conn| sessions::sign_in(conn, request.into(), lifetimes, &live, request_id))
        .await
        .inspect_err(|e| {
            if matches!(e, AppError::Unauthorized { .. }) {
                metrics.sign_in("refused");
            }
        })?;
    metrics.sign_in("signed_in");
    let answer = TokenResponse::new(&issuer, signed_in)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(answer))
}

/// Counts a sign-in attempt against the caller's address and, for a password, the
/// account; 429 with `Retry-After` past either budget.
fn count_attempt(req: &HttpRequest, request: &TokenRequest) -> Result<(), AppError> {
    let account = match request {
        TokenRequest::Password(grant) => Some(grant.email.as_str()),
        _ => None,
    };
    let address = client_address(req, app_data::<Settings>(req)?.trust_forwarded_for);
    app_data::<SignInThrottle>(req)?
        .attempt(address, account)
        .map_err(|throttled| AppError::TooManyRequests {
            code: "sign_in_throttled",
            detail: "too many sign-in attempts; try again after the time in Retry-After".into(),
            retry_after: throttled.retry_after_seconds(),
        })
}

impl TokenResponse {
    /// The answer to a sign-in: a new access token for its session, and the refresh token.
    fn new(issuer: &TokenIssuer, signed_in: sessions::SignedIn) -> Result<Self, AppError> {
        let issued = issuer.issue(&signed_in.caller)?;
        let (refresh_token, refresh_expires_at) = match signed_in.refresh {
            Some(refresh) => (Some(refresh.token), Some(utc(refresh.expires_at))),
            None => (None, None),
        };
        Ok(Self {
            access_token: issued.token,
            token_type: "Bearer".into(),
            expires_in: issued.expires_in,
            expires_at: issued.expires_at,
            refresh_token,
            refresh_expires_at,
            session_id: signed_in.caller.session,
            role: signed_in.caller.role,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignOutQuery {
    /// End every session of the account, not only this token's.
    #[serde(default)]
    pub everywhere: bool,
}

/// Sign out: end the session of this token (its access and refresh tokens), or with
/// `everywhere=true` every session of the account.
///
/// It takes effect at once on this instance and within `PODIUM_AUTH_RECHECK_SECONDS` on
/// the others. Signing out twice is not an error: the second token is already refused.
#[utoipa::path(
    tag = "auth",
    params(SignOutQuery),
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, response = crate::api::docs::BadRequest),
        (status = 401, response = crate::api::docs::Unauthorized),
    ),
    security(("bearer" = []))
)]
#[post("/auth/sign-out")]
async fn sign_out(
    caller: AuthUser,
    pool: web::Data<Pool>,
    live: web::Data<LiveSessions>,
    query: web::Query<SignOutQuery>,
) -> Result<HttpResponse, AppError> {
    let everywhere = query.everywhere;
    let signed_out = caller.clone();
    pool.run(move |conn| sessions::sign_out(conn, &signed_out, everywhere))
        .await?;
    if everywhere {
        live.forget_account(caller.id);
    } else {
        live.forget_session(caller.session);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Who the token speaks for: id, role and scope.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "The caller", body = Me)),
    security(("bearer" = []))
)]
#[get("/me")]
async fn me(caller: AuthUser) -> web::Json<Me> {
    web::Json(Me::from(&caller))
}
