//! Who is calling, and what they may touch.
//!
//! A caller proves who they are with a bearer JWT issued by `POST /api/v1/auth/token`
//! ([`jwt`]). Handlers never read headers: they take an [`AuthUser`] (any signed-in
//! caller) or an [`Admin`] argument, and compare the [`Scope`] it carries with the object
//! they are about to read or write. The scope always comes from the token, never from a
//! request body.
//!
//! A token is checked on each request: signature (HS256 only), `exp`, `nbf`, `iss`, `aud`,
//! `sub`, that its user or API client is still active, and that its session is live
//! ([`LiveSessions`]). Signing out or disabling an account takes effect at once on the
//! instance that did it, and within `PODIUM_AUTH_RECHECK_SECONDS` on the others, rather
//! than at the token's expiry.
//!
//! Sessions ([`sessions`]) are why a token can be revoked: each sign-in opens one, every
//! access token names it, a refresh rotates within it, and disabling an account ends all
//! of its sessions, so re-enabling the account revives none of the tokens issued before.
//! That is the "token generation" of an account, kept per sign-in so that one session can
//! end without the others.

pub mod jwt;
pub mod secrets;
pub mod sessions;
pub mod throttle;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{http::header, web, FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Pool;
use crate::error::AppError;
use crate::models::{api_client, session, user};

pub use jwt::{Claims, TokenIssuer};

/// The four roles of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, API clients and rules.
    Admin,
    /// Follows and drives one region.
    Manager,
    /// One participant (a rep, a team or a distributor) seeing its own results.
    Participant,
    /// One distributor organisation integrating by API.
    Partner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Participant => "participant",
            Role::Partner => "partner",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "participant" => Some(Role::Participant),
            "partner" => Some(Role::Partner),
            _ => None,
        }
    }
}

/// What a caller's role is limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Admins: the whole installation.
    Everything,
    /// Managers: one region.
    Region(Uuid),
    /// Participants: themselves.
    Participant(Uuid),
    /// Partners: one distributor organisation.
    Organisation(Uuid),
}

impl Scope {
    /// The scope a role takes from its scope ids, or `None` when the one it needs is
    /// missing.
    pub fn for_role(
        role: Role,
        region_id: Option<Uuid>,
        participant_id: Option<Uuid>,
        organisation_id: Option<Uuid>,
    ) -> Option<Self> {
        match role {
            Role::Admin => Some(Scope::Everything),
            Role::Manager => region_id.map(Scope::Region),
            Role::Participant => participant_id.map(Scope::Participant),
            Role::Partner => organisation_id.map(Scope::Organisation),
        }
    }

    /// The scope as `(region_id, participant_id, organisation_id)`, as tokens and DTOs
    /// carry it.
    pub fn ids(self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            Scope::Everything => (None, None, None),
            Scope::Region(id) => (Some(id), None, None),
            Scope::Participant(id) => (None, Some(id), None),
            Scope::Organisation(id) => (None, None, Some(id)),
        }
    }
}

/// A list filter's value within the caller's scope: the scope's own id when the filter is
/// absent or names it; asking for another is refused (403), never silently widened.
pub fn within_scope(asked: Option<Uuid>, scope: Uuid) -> Result<Uuid, AppError> {
    match asked {
        Some(other) if other != scope => Err(AppError::Forbidden(
            "this filter is outside your scope".into(),
        )),
        _ => Ok(scope),
    }
}

/// Whether a token speaks for a person or for a partner's API client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    ApiClient,
}

/// A caller whose token has been verified.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub role: Role,
    pub scope: Scope,
    /// The session (sign-in) the token belongs to.
    pub session: Uuid,
    /// The id of the request being served (`X-Request-Id`), for the audit log; `None`
    /// outside a request.
    pub request_id: Option<String>,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A caller whose role is `admin`; any other role gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub AuthUser);

pub(crate) fn bearer_token(req: &HttpRequest) -> Result<String, AppError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        AppError::unauthorized(
            "missing_token",
            "an Authorization: Bearer token is required",
        )
    })?;
    let value = value.to_str().map_err(|_| {
        AppError::unauthorized(
            "invalid_token",
            "the Authorization header is not valid text",
        )
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(AppError::unauthorized(
            "invalid_token",
            "the Authorization header must be `Bearer <token>`",
        )),
    }
}

/// Sessions recently found live, so that a busy caller's every request does not cost a
/// database round trip. An entry is trusted for the configured time; signing out or
/// disabling an account removes its entries at once on the instance that did it.
pub struct LiveSessions {
    recheck_after: Duration,
    /// Session id → (account id, when it was found live).
    seen: Mutex<HashMap<Uuid, (Uuid, Instant)>>,
}

impl LiveSessions {
    pub fn new(recheck_after: Duration) -> Self {
        Self {
            recheck_after,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Uuid, Instant)>> {
        // A poisoned map is still a valid cache.
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn recently_live(&self, caller: &AuthUser) -> bool {
        self.lock()
            .get(&caller.session)
            .is_some_and(|(account, seen)| {
                *account == caller.id && seen.elapsed() < self.recheck_after
            })
    }

    fn mark_live(&self, caller: &AuthUser) {
        let mut seen = self.lock();
        // Keep the map bounded: drop stale entries when it grows.
        if seen.len() > 100_000 {
            let ttl = self.recheck_after;
            seen.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        seen.insert(caller.session, (caller.id, Instant::now()));
    }

    /// Forgets one session, so its next request is checked against the database.
    pub fn forget_session(&self, session: Uuid) {
        self.lock().remove(&session);
    }

    /// Forgets every session of an account.
    pub fn forget_account(&self, account: Uuid) {
        self.lock().retain(|_, (owner, _)| *owner != account);
    }
}

/// Whether the account behind `caller` is still active and the token's session still
/// live (asked of the database).
pub fn still_live(conn: &mut crate::db::DbConnection, caller: &AuthUser) -> Result<(), AppError> {
    let active = match caller.kind {
        PrincipalKind::User => user::is_active(conn, caller.id)?,
        PrincipalKind::ApiClient => api_client::is_active(conn, caller.id)?,
    };
    if !active {
        return Err(account_revoked());
    }
    if !session::is_live(conn, caller.session, caller.id, crate::models::now())? {
        return Err(AppError::unauthorized(
            "token_revoked",
            "the session of this token was signed out or has ended",
        ));
    }
    Ok(())
}

/// The refusal of a token whose account was disabled or deleted since it was issued.
pub fn account_revoked() -> AppError {
    AppError::unauthorized(
        "token_revoked",
        "the account behind this token is disabled or gone",
    )
}

/// Shared state registered by `startup`, as a handler or extractor reads it from a request.
pub(crate) fn app_data<T: 'static>(req: &HttpRequest) -> Result<&web::Data<T>, AppError> {
    req.app_data::<web::Data<T>>().ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "{} is not registered",
            std::any::type_name::<T>()
        ))
    })
}

async fn authenticate(req: HttpRequest) -> Result<AuthUser, AppError> {
    let token = bearer_token(&req)?;
    let mut caller = app_data::<TokenIssuer>(&req)?.verify(&token)?;
    caller.request_id = request_id_of(&req);
    let sessions = app_data::<LiveSessions>(&req)?.clone();
    if sessions.recently_live(&caller) {
        return Ok(caller);
    }
    let pool = app_data::<Pool>(&req)?.clone();
    let checked = caller.clone();
    pool.run(move |conn| still_live(conn, &checked)).await?;
    sessions.mark_live(&caller);
    Ok(caller)
}

/// The request id the access log gives `req` (tracing-actix-web's, sent as `X-Request-Id`).
pub fn request_id_of(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string)
}

/// The caller of a request, as [`resolve_caller`] found it before any extractor ran.
struct Resolved(Result<AuthUser, AppError>);

/// Middleware: authenticates a request that carries an `Authorization` header before any
/// handler argument is extracted.
///
/// Actix extracts a handler's arguments together and answers with the first error that is
/// ready, so a query or body error (400, 422) used to win over an authentication that was
/// still waiting for the database: a disabled user's token got a validation error instead
/// of 401. With the caller resolved here, the [`AuthUser`] and [`Admin`] extractors are
/// ready at once, and as every handler takes its caller first, authentication is always
/// answered first.
pub async fn resolve_caller(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        let outcome = authenticate(req.request().clone()).await;
        req.extensions_mut().insert(Resolved(outcome));
    }
    next.call(req).await
}

/// The caller of `req`: the one [`resolve_caller`] found, else authenticated now.
fn caller_of(req: &HttpRequest) -> Pin<Box<dyn Future<Output = Result<AuthUser, AppError>>>> {
    let resolved = req.extensions_mut().remove::<Resolved>();
    match resolved {
        Some(Resolved(outcome)) => Box::pin(std::future::ready(outcome)),
        None => match bearer_token(req) {
            Err(missing) => Box::pin(std::future::ready(Err(missing))),
            Ok(_) => Box::pin(authenticate(req.clone())),
        },
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        caller_of(req)
    }
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller_of(req);
        Box::pin(async move {
            let caller = caller.await?;
            if caller.is_admin() {
                Ok(Admin(caller))
            } else {
                Err(AppError::Forbidden(
                    "this action needs the admin role".into(),
                ))
            }
        })
    }
}
