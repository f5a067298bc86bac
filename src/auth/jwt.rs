//! Issuing and verifying access tokens (HS256 JWTs).
//!
//! The algorithm is pinned: a token whose header names another algorithm (including
//! `none`) is refused before its signature is looked at. `exp`, `iss`, `aud` and `sub`
//! are required; the leeway on `exp`/`nbf` comes from the settings. Every access token
//! names its session (`sid`), which [`super::authenticate`] checks is still live.

use std::path::Path;

use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AuthUser, PrincipalKind, Role, Scope};
use crate::db::DatabaseUrl;
use crate::error::AppError;
use crate::settings::{Secret, Settings};

/// Shortest HS256 secret the server accepts, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The claims of a Podium access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's or API client's id.
    pub sub: String,
    /// Whether `sub` is a user or an API client.
    pub kind: PrincipalKind,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<Uuid>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The session (sign-in) the token belongs to; the token dies with it.
    pub sid: Uuid,
}

/// A freshly signed token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
    pub expires_at: chrono::DateTime<Utc>,
}

/// Signs and verifies tokens with the configured secret; registered as app data.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_seconds: i64,
    /// Share links are signed with the same key for another audience, so a share token
    /// is never accepted as an API token, nor the reverse.
    share_validation: Validation,
}

/// The claims of a share link's token: the link and its expiry.
#[derive(Debug, Serialize, Deserialize)]
struct ShareClaims {
    sub: String,
    iss: String,
    aud: String,
    exp: i64,
}

/// Why a share token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareTokenError {
    /// Well signed, but past its expiry.
    Expired,
    /// Not one of ours.
    Invalid,
}

impl TokenIssuer {
    pub fn new(secret: &Secret, settings: &Settings) -> anyhow::Result<Self> {
        if secret.expose().len() < MIN_SECRET_BYTES {
            anyhow::bail!(
                "PODIUM_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long (it has {})",
                secret.expose().len()
            );
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.jwt_issuer]);
        validation.set_audience(&[&settings.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = settings.jwt_leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut share_validation = Validation::new(Algorithm::HS256);
        share_validation.set_issuer(&[&settings.jwt_issuer]);
        share_validation.set_audience(&[share_audience(&settings.jwt_audience)]);
        share_validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        share_validation.leeway = 0;
        Ok(Self {
            share_validation,
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            ttl_seconds: i64::try_from(settings.jwt_ttl_seconds).unwrap_or(i64::MAX / 2),
        })
    }

    /// Signs a token for `caller`.
    pub fn issue(&self, caller: &AuthUser) -> Result<IssuedToken, AppError> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::seconds(self.ttl_seconds);
        let (region_id, participant_id, organisation_id) = caller.scope.ids();
        let claims = Claims {
            sub: caller.id.to_string(),
            kind: caller.kind,
            role: caller.role,
            region_id,
            participant_id,
            organisation_id,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::new_v4().to_string(),
            sid: caller.session,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok(IssuedToken {
            token,
            expires_in: self.ttl_seconds,
            expires_at,
        })
    }

    /// When a token that [`TokenIssuer::verify`] accepted expires (Unix seconds): a
    /// long-lived answer such as a stream ends then.
    pub fn expiry(&self, token: &str) -> Result<i64, AppError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims.exp)
            .map_err(|_| AppError::unauthorized("invalid_token", "the token is invalid"))
    }

    /// Signs the token of a share link, valid until `expires_at`. The same link always
    /// gets the same token, so its URL can be shown again.
    pub fn share_token(
        &self,
        link_id: Uuid,
        expires_at: chrono::DateTime<Utc>,
    ) -> Result<String, AppError> {
        let claims = ShareClaims {
            sub: link_id.to_string(),
            iss: self.issuer.clone(),
            aud: share_audience(&self.audience),
            exp: expires_at.timestamp(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AppError::internal)
    }

    /// The share link a token names, if it is ours and not expired.
    pub fn verify_share(&self, token: &str) -> Result<Uuid, ShareTokenError> {
        let data =
            decode::<ShareClaims>(token, &self.decoding, &self.share_validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => ShareTokenError::Expired,
                    _ => ShareTokenError::Invalid,
                }
            })?;
        Uuid::parse_str(&data.claims.sub).map_err(|_| ShareTokenError::Invalid)
    }

    /// Checks a token and returns the caller it speaks for.
    pub fn verify(&self, token: &str) -> Result<AuthUser, AppError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            let detail = match e.kind() {
                ErrorKind::ExpiredSignature => {
                    return AppError::unauthorized("token_expired", "the token has expired")
                }
                ErrorKind::InvalidIssuer => "the token was issued by someone else",
                ErrorKind::InvalidAudience => "the token is meant for another audience",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidAlgorithmName
                | ErrorKind::UnsupportedAlgorithm => "the token is not signed with HS256",
                ErrorKind::InvalidSignature => "the token signature does not match",
                ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                _ => "the token is malformed",
            };
            AppError::unauthorized("invalid_token", detail)
        })?;
        let claims = data.claims;
        let invalid =
            || AppError::unauthorized("invalid_token", "the token's subject or scope is invalid");
        let id = Uuid::parse_str(&claims.sub).map_err(|_| invalid())?;
        let scope = Scope::for_role(
            claims.role,
            claims.region_id,
            claims.participant_id,
            claims.organisation_id,
        )
        .ok_or_else(invalid)?;
        Ok(AuthUser {
            id,
            kind: claims.kind,
            role: claims.role,
            scope,
            session: claims.sid,
            request_id: None,
        })
    }
}

/// The signing secret to use: the configured one; else, in local SQLite mode, the one kept
/// beside the database (generated on the first start); else an error, since several
/// PostgreSQL-backed instances must share one secret.
pub fn resolve_secret(settings: &Settings, url: &DatabaseUrl) -> anyhow::Result<Secret> {
    if !settings.jwt_secret.is_empty() {
        return Ok(settings.jwt_secret.clone());
    }
    match url {
        DatabaseUrl::Postgres(_) => anyhow::bail!(
            "PODIUM_JWT_SECRET is required with PostgreSQL (every instance must share it)"
        ),
        DatabaseUrl::Sqlite(path) => {
            load_or_create_local_secret(&Settings::local_secret_path(path))
        }
    }
}

fn load_or_create_local_secret(path: &Path) -> anyhow::Result<Secret> {
    if path.exists() {
        let secret = std::fs::read_to_string(path)?.trim().to_owned();
        return Ok(Secret::new(secret));
    }
    let secret = super::secrets::random_token(48);
    write_private_file(path, &secret)?;
    tracing::info!(path = %path.display(), "generated a JWT secret for local mode");
    Ok(Secret::new(secret))
}

#[cfg(unix)]
fn write_private_file(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, content: &str) -> anyhow::Result<()> {
    std::fs::write(path, content)?;
    Ok(())
}

fn share_audience(audience: &str) -> String {
    format!("{audience}#share")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(
            &Secret::new("0123456789abcdef0123456789abcdef"),
            &Settings::default(),
        )
        .expect("valid secret")
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenIssuer::new(&Secret::new("too-short"), &Settings::default()).is_err());
    }

    #[test]
    fn a_token_round_trips_with_its_scope() {
        let issuer = issuer();
        let region = Uuid::new_v4();
        let caller = AuthUser {
            id: Uuid::new_v4(),
            kind: PrincipalKind::User,
            role: Role::Manager,
            scope: Scope::Region(region),
            session: Uuid::new_v4(),
            request_id: None,
        };
        let issued = issuer.issue(&caller).expect("signed");
        let back = issuer.verify(&issued.token).expect("valid");
        assert_eq!(back.id, caller.id);
        assert_eq!(back.scope, Scope::Region(region));
        assert_eq!(back.session, caller.session);
    }

    #[test]
    fn a_local_secret_survives_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::Sqlite(dir.path().join("p.db"));
        let first = resolve_secret(&Settings::default(), &url).expect("created");
        let second = resolve_secret(&Settings::default(), &url).expect("read back");
        assert_eq!(first, second);
        assert!(first.expose().len() >= MIN_SECRET_BYTES);
    }

    #[test]
    fn postgres_without_a_secret_refuses_to_start() {
        let url = DatabaseUrl::Postgres("postgres://localhost/x".into());
        assert!(resolve_secret(&Settings::default(), &url).is_err());
    }
}
