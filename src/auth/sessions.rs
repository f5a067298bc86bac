//! Signing in, refreshing and signing out: the sessions behind the tokens.
//!
//! Decisions:
//! - Each sign-in opens a session. Access tokens are short-lived (`PODIUM_JWT_TTL_SECONDS`,
//!   15 minutes by default) and name their session; a person's sign-in also gets a refresh
//!   token, which gets the next access token without the password.
//! - A refresh token is used once: the refresh answers with a new one (rotation). When a
//!   used token comes back, someone holds a copy of it: the whole session (the token's
//!   family) is revoked, so neither the thief nor the owner can go on with it, and the
//!   owner signs in again. Two concurrent refreshes with one token are a reuse too; the
//!   loser's session is revoked, which is the safe side.
//! - A refresh reads the account again: a disabled account cannot refresh, and a changed
//!   role or scope is in the next access token.
//! - API clients get no refresh token (as OAuth's client-credentials grant): their secret
//!   is what they sign in with again.
//! - Signing out revokes the session of the token used, or with `everywhere` every
//!   session of the account. Disabling an account does the latter in the same transaction.

use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{secrets, AuthUser, LiveSessions, PrincipalKind, Role, Scope};
use crate::audit::{self, Action, Actor, ActorKind, Entry};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::session::{self, RefreshTokenRow, Revocation, SessionRow};
use crate::models::{api_client, now, parse_id, user};

/// What a caller signs in with.
#[derive(Debug)]
pub enum Credentials {
    Password { email: String, password: String },
    ClientSecret { client_id: Uuid, secret: String },
    RefreshToken(String),
}

/// How long what a session hands out lives.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access: Duration,
    pub refresh: Duration,
}

/// A refresh token, shown once.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub token: String,
    pub expires_at: NaiveDateTime,
}

/// A signed-in caller (its session included) and, for a person, the refresh token.
#[derive(Debug)]
pub struct SignedIn {
    pub caller: AuthUser,
    pub refresh: Option<RefreshToken>,
}

/// Prefix of refresh tokens, so that one found in a log or a repository is recognised.
const REFRESH_PREFIX: &str = "prt_";

/// How long ended sessions are kept before they are purged (for support questions).
const ENDED_KEPT_DAYS: i64 = 7;

fn invalid_credentials() -> AppError {
    AppError::unauthorized(
        "invalid_credentials",
        "the credentials are wrong or the account is disabled",
    )
}

fn invalid_grant(detail: &str) -> AppError {
    AppError::unauthorized("invalid_grant", detail)
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks the credentials and opens a session. Unknown accounts cost the same hashing time
/// as wrong passwords. A refresh token continues its session instead.
/// `request_id` is the request's, for the audit log.
pub fn sign_in(
    conn: &mut DbConnection,
    credentials: Credentials,
    lifetimes: Lifetimes,
    live: &LiveSessions,
    request_id: Option<String>,
) -> Result<SignedIn, AppError> {
    let (mut caller, with_refresh) = match credentials {
        Credentials::Password { email, password } => {
            let Some(row) = user::find_by_email(conn, &email)? else {
                secrets::verify_against_nothing(&password);
                return Err(invalid_credentials());
            };
            if !secrets::verify(&password, &row.password_hash) || !row.active {
                return Err(invalid_credentials());
            }
            (user_caller(&row, Uuid::now_v7())?, true)
        }
        Credentials::ClientSecret { client_id, secret } => {
            let Some(row) = api_client::find(conn, client_id)? else {
                secrets::verify_against_nothing(&secret);
                return Err(invalid_credentials());
            };
            if !secrets::verify(&secret, &row.secret_hash) || !row.active {
                return Err(invalid_credentials());
            }
            let caller = AuthUser {
                id: parse_id(&row.id)?,
                kind: PrincipalKind::ApiClient,
                role: Role::Partner,
                scope: Scope::Organisation(parse_id(&row.organisation_id)?),
                session: Uuid::now_v7(),
                request_id: None,
            };
            (caller, false)
        }
        Credentials::RefreshToken(token) => {
            return refresh(conn, &token, lifetimes, live, request_id)
        }
    };
    caller.request_id = request_id;
    open(conn, caller, with_refresh, lifetimes)
}

fn user_caller(row: &user::UserRow, session: Uuid) -> Result<AuthUser, AppError> {
    Ok(AuthUser {
        id: parse_id(&row.id)?,
        kind: PrincipalKind::User,
        role: row.role()?,
        scope: row.scope()?,
        session,
        request_id: None,
    })
}

fn kind_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "user",
        PrincipalKind::ApiClient => "api_client",
    }
}

fn new_refresh_token(
    conn: &mut DbConnection,
    session_id: Uuid,
    at: NaiveDateTime,
    lifetime: Duration,
) -> Result<RefreshToken, AppError> {
    let token = format!("{REFRESH_PREFIX}{}", secrets::random_token(43));
    let expires_at = at + lifetime;
    session::insert_refresh_token(
        conn,
        &RefreshTokenRow {
            token_digest: digest(&token),
            session_id: session_id.to_string(),
            issued_at: at,
            expires_at,
            used_at: None,
        },
    )?;
    Ok(RefreshToken { token, expires_at })
}

fn open(
    conn: &mut DbConnection,
    caller: AuthUser,
    with_refresh: bool,
    lifetimes: Lifetimes,
) -> Result<SignedIn, AppError> {
    conn.write_transaction(|conn| {
        let at = now();
        session::purge_ended(conn, caller.id, at - Duration::days(ENDED_KEPT_DAYS))?;
        let last = if with_refresh {
            lifetimes.refresh.max(lifetimes.access)
        } else {
            lifetimes.access
        };
        let row = SessionRow {
            id: caller.session.to_string(),
            principal_kind: kind_name(caller.kind).into(),
            principal_id: caller.id.to_string(),
            created_at: at,
            expires_at: at + last,
            revoked_at: None,
            revoked_reason: None,
        };
        session::insert(conn, &row)?;
        let mut entry = Entry::new(caller.session);
        entry.after(&row)?;
        audit::record(conn, &Actor::of(&caller), Action::SessionOpened, entry)?;
        let refresh = if with_refresh {
            Some(new_refresh_token(
                conn,
                caller.session,
                at,
                lifetimes.refresh,
            )?)
        } else {
            None
        };
        Ok(SignedIn { caller, refresh })
    })
}

/// What a refresh found, decided inside its transaction so that a revocation is kept
/// even though the caller is refused.
enum Refreshed {
    Continued(SignedIn),
    Refused(AppError),
    /// Refused, and the session is revoked: this instance forgets it once committed.
    Revoked(Uuid, AppError),
}

fn refresh(
    conn: &mut DbConnection,
    token: &str,
    lifetimes: Lifetimes,
    live: &LiveSessions,
    request_id: Option<String>,
) -> Result<SignedIn, AppError> {
    let outcome = conn.write_transaction(|conn| -> Result<Refreshed, AppError> {
        let at = now();
        let digest = digest(token);
        let Some(row) = session::find_refresh_token(conn, &digest)? else {
            return Ok(Refreshed::Refused(invalid_grant(
                "the refresh token is unknown or was revoked",
            )));
        };
        let session_id = parse_id(&row.session_id)?;
        let Some(found) = session::find(conn, session_id)? else {
            return Ok(Refreshed::Refused(invalid_grant(
                "the refresh token is unknown or was revoked",
            )));
        };
        if found.revoked_at.is_some() {
            return Ok(Refreshed::Refused(invalid_grant(
                "the session of this refresh token was signed out or revoked",
            )));
        }
        if row.used_at.is_none() && row.expires_at <= at {
            return Ok(Refreshed::Refused(invalid_grant(
                "the refresh token has expired",
            )));
        }
        // Whoever sent the token is not known to be the account's owner: a revocation's
        // entry names the account without a role.
        let holder = Actor {
            kind: match found.principal_kind.as_str() {
                "api_client" => ActorKind::ApiClient,
                _ => ActorKind::User,
            },
            id: parse_id(&found.principal_id).ok(),
            role: None,
            request_id: request_id.clone(),
        };
        let revoked = |conn: &mut DbConnection| {
            let mut entry = Entry::new(session_id);
            entry.before(&found)?;
            audit::record(conn, &holder, Action::SessionRevoked, entry)
        };
        if row.used_at.is_some() || !session::use_refresh_token(conn, &digest, at)? {
            session::revoke(conn, session_id, Revocation::RefreshTokenReused, at)?;
            revoked(conn)?;
            return Ok(Refreshed::Revoked(
                session_id,
                AppError::unauthorized(
                    "refresh_token_reused",
                    "this refresh token was already used: its session is revoked, sign in again",
                ),
            ));
        }
        let account = parse_id(&found.principal_id)?;
        let person = match user::find(conn, account)? {
            Some(person) if person.active && found.principal_kind == "user" => person,
            _ => {
                session::revoke(conn, session_id, Revocation::AccountDisabled, at)?;
                revoked(conn)?;
                return Ok(Refreshed::Revoked(
                    session_id,
                    invalid_grant("the account behind this refresh token is disabled or gone"),
                ));
            }
        };
        let mut caller = user_caller(&person, session_id)?;
        caller.request_id = request_id.clone();
        let next = new_refresh_token(conn, session_id, at, lifetimes.refresh)?;
        session::extend(conn, session_id, next.expires_at.max(at + lifetimes.access))?;
        let mut entry = Entry::new(session_id);
        entry.before(&found)?;
        audit::record(conn, &Actor::of(&caller), Action::SessionRefreshed, entry)?;
        Ok(Refreshed::Continued(SignedIn {
            caller,
            refresh: Some(next),
        }))
    })?;
    match outcome {
        Refreshed::Continued(signed_in) => Ok(signed_in),
        Refreshed::Refused(error) => Err(error),
        Refreshed::Revoked(session, error) => {
            live.forget_session(session);
            Err(error)
        }
    }
}

/// Ends the caller's session, or with `everywhere` every session of its account.
pub fn sign_out(
    conn: &mut DbConnection,
    caller: &AuthUser,
    everywhere: bool,
) -> Result<(), AppError> {
    conn.write_transaction(|conn| {
        let at = now();
        let action = if everywhere {
            session::revoke_all_of(conn, caller.id, Revocation::SignedOut, at)?;
            Action::SessionsClosedEverywhere
        } else {
            session::revoke(conn, caller.session, Revocation::SignedOut, at)?;
            Action::SessionClosed
        };
        audit::record(conn, &Actor::of(caller), action, Entry::new(caller.session))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_stable_and_tells_tokens_apart() {
        assert_eq!(digest("prt_x"), digest("prt_x"));
        assert_ne!(digest("prt_x"), digest("prt_y"));
        assert_eq!(digest("prt_x").len(), 64);
    }
}
