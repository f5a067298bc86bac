//! Signing in (`POST /auth/token`) and asking who the token speaks for (`GET /me`).

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::auth::{secrets, AuthUser, PrincipalKind, Role, Scope, TokenIssuer};
use crate::db::Pool;
use crate::error::AppError;
use crate::models::{api_client, parse_id, user};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(issue_token).service(me);
}

/// A sign-in request: a person's e-mail and password, or a partner API client's
/// credentials, told apart by `grant_type`.
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

    fn grant(
        grant_type: &str,
        description: &str,
        fields: [(&str, ObjectBuilder); 2],
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

    impl PartialSchema for TokenRequest {
        fn schema() -> RefOr<Schema> {
            let mut discriminator = Discriminator::new("grant_type");
            discriminator.mapping = [
                ("password", "#/components/schemas/PasswordGrant"),
                (
                    "client_credentials",
                    "#/components/schemas/ClientCredentialsGrant",
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            OneOfBuilder::new()
                .item(Ref::from_schema_name("PasswordGrant"))
                .item(Ref::from_schema_name("ClientCredentialsGrant"))
                .discriminator(Some(discriminator))
                .description(Some(
                    "A sign-in request: a person's e-mail and password, or a partner API \
                     client's credentials, told apart by `grant_type`.",
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
        }
    }
}

/// An access token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
    "token_type": "Bearer",
    "expires_in": 3600,
    "expires_at": "2026-11-27T10:00:00Z",
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

fn invalid_credentials() -> AppError {
    AppError::unauthorized(
        "invalid_credentials",
        "the credentials are wrong or the account is disabled",
    )
}

/// Checks credentials and returns who they belong to. Unknown accounts cost the same
/// hashing time as wrong passwords.
fn authenticate(
    conn: &mut crate::db::DbConnection,
    request: TokenRequest,
) -> Result<AuthUser, AppError> {
    match request {
        TokenRequest::Password(grant) => {
            let Some(row) = user::find_by_email(conn, &grant.email)? else {
                secrets::verify_against_nothing(&grant.password);
                return Err(invalid_credentials());
            };
            if !secrets::verify(&grant.password, &row.password_hash) || !row.active {
                return Err(invalid_credentials());
            }
            Ok(AuthUser {
                id: parse_id(&row.id)?,
                kind: PrincipalKind::User,
                role: row.role()?,
                scope: row.scope()?,
            })
        }
        TokenRequest::ClientCredentials(grant) => {
            let Some(row) = api_client::find(conn, grant.client_id)? else {
                secrets::verify_against_nothing(&grant.client_secret);
                return Err(invalid_credentials());
            };
            if !secrets::verify(&grant.client_secret, &row.secret_hash) || !row.active {
                return Err(invalid_credentials());
            }
            Ok(AuthUser {
                id: parse_id(&row.id)?,
                kind: PrincipalKind::ApiClient,
                role: Role::Partner,
                scope: Scope::Organisation(parse_id(&row.organisation_id)?),
            })
        }
    }
}

/// Sign in: exchange credentials for a bearer token.
///
/// `grant_type` is `password` (people: `email`, `password`) or `client_credentials`
/// (partner integrations: `client_id`, `client_secret`). The token carries the role and
/// its scope (region, participant or organisation).
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, response = crate::api::docs::Unauthorized),
    )
)]
#[post("/auth/token")]
async fn issue_token(
    pool: web::Data<Pool>,
    issuer: web::Data<TokenIssuer>,
    body: crate::api::json::Json<TokenRequest>,
) -> Result<HttpResponse, AppError> {
    let request = body.into_inner();
    let caller = pool.run(move |conn| authenticate(conn, request)).await?;
    let issued = issuer.issue(&caller)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token: issued.token,
            token_type: "Bearer".into(),
            expires_in: issued.expires_in,
            expires_at: issued.expires_at,
            role: caller.role,
        }))
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
