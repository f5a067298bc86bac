//! Who is calling, and what they may touch.
//!
//! A caller proves who they are with a bearer JWT issued by `POST /api/v1/auth/token`
//! ([`jwt`]). Handlers never read headers: they take an [`AuthUser`] (any signed-in
//! caller) or an [`Admin`] argument, and compare the [`Scope`] it carries with the object
//! they are about to read or write. The scope always comes from the token, never from a
//! request body.
//!
//! A token is checked on each request: signature (HS256 only), `exp`, `nbf`, `iss`, `aud`,
//! `sub`, and that its user or API client is still active ([`ActiveAccounts`]), so
//! disabling one takes effect at once on the instance that disabled it, and within
//! `PODIUM_AUTH_RECHECK_SECONDS` on the others, rather than at the token's expiry.

pub mod jwt;
pub mod secrets;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Pool;
use crate::error::AppError;
use crate::models::{api_client, user};

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

/// Accounts recently found active, so that a busy caller's every request does not cost a
/// database round trip. An entry is trusted for the configured time; disabling an account
/// removes its entry at once.
pub struct ActiveAccounts {
    recheck_after: Duration,
    seen: Mutex<HashMap<Uuid, Instant>>,
}

impl ActiveAccounts {
    pub fn new(recheck_after: Duration) -> Self {
        Self {
            recheck_after,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Instant>> {
        // A poisoned map is still a valid cache.
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn recently_active(&self, id: Uuid) -> bool {
        self.lock()
            .get(&id)
            .is_some_and(|seen| seen.elapsed() < self.recheck_after)
    }

    fn mark_active(&self, id: Uuid) {
        let mut seen = self.lock();
        // Keep the map bounded: drop stale entries when it grows.
        if seen.len() > 100_000 {
            let ttl = self.recheck_after;
            seen.retain(|_, at| at.elapsed() < ttl);
        }
        seen.insert(id, Instant::now());
    }

    /// Forgets an account, so its next request is checked against the database.
    pub fn forget(&self, id: Uuid) {
        self.lock().remove(&id);
    }
}

/// Whether the account behind `caller` is still active (asked of the database).
pub fn still_active(
    conn: &mut crate::db::DbConnection,
    caller: &AuthUser,
) -> Result<bool, AppError> {
    match caller.kind {
        PrincipalKind::User => user::is_active(conn, caller.id),
        PrincipalKind::ApiClient => api_client::is_active(conn, caller.id),
    }
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
    let caller = app_data::<TokenIssuer>(&req)?.verify(&token)?;
    let accounts = app_data::<ActiveAccounts>(&req)?.clone();
    if accounts.recently_active(caller.id) {
        return Ok(caller);
    }
    let pool = app_data::<Pool>(&req)?.clone();
    let checked = caller.clone();
    let active = pool.run(move |conn| still_active(conn, &checked)).await?;
    if !active {
        return Err(account_revoked());
    }
    accounts.mark_active(caller.id);
    Ok(caller)
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(req).await?;
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
