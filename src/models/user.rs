//! People who sign in with an e-mail and a password.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::{Role, Scope};
use crate::db::{DbConnection, MultiBackend};
use crate::error::AppError;
use crate::schema::users;

/// A row of `users`.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub region_id: Option<String>,
    pub participant_id: Option<String>,
    pub organisation_id: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub disabled_at: Option<NaiveDateTime>,
}

impl UserRow {
    pub fn role(&self) -> Result<Role, AppError> {
        Role::parse(&self.role).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "user {} has unknown role {:?}",
                self.id,
                self.role
            ))
        })
    }

    /// The scope this user's tokens carry.
    pub fn scope(&self) -> Result<Scope, AppError> {
        let parse = |v: &Option<String>| v.as_deref().map(super::parse_id).transpose();
        Scope::for_role(
            self.role()?,
            parse(&self.region_id)?,
            parse(&self.participant_id)?,
            parse(&self.organisation_id)?,
        )
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "user {} has no scope for its role",
                self.id
            ))
        })
    }
}

/// The write form of a new user; the password is already hashed.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub region_id: Option<String>,
    pub participant_id: Option<String>,
    pub organisation_id: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

/// How a list of users is filtered and ordered.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// A part of the e-mail, case-insensitive.
    pub email_contains: Option<String>,
    pub sort: UserSort,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    CreatedAt,
    CreatedAtDesc,
    Email,
    EmailDesc,
}

fn filtered(filter: &UserFilter) -> users::BoxedQuery<'static, MultiBackend> {
    let mut query = users::table.into_boxed();
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role.as_str()));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(part) = &filter.email_contains {
        // E-mails are stored lower-cased, so a lower-cased pattern is case-insensitive.
        let escaped = part
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(users::email.like(format!("%{escaped}%")).escape('\\'));
    }
    query
}

pub fn insert(conn: &mut DbConnection, new: &NewUser) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<UserRow>> {
    users::table.find(id.to_string()).first(conn).optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email.to_lowercase()))
        .first(conn)
        .optional()
}

/// One page of users and the total that match the filter.
pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<UserRow>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    let query = filtered(filter);
    let query = match filter.sort {
        UserSort::CreatedAt => query.order((users::created_at.asc(), users::id.asc())),
        UserSort::CreatedAtDesc => query.order((users::created_at.desc(), users::id.desc())),
        UserSort::Email => query.order(users::email.asc()),
        UserSort::EmailDesc => query.order(users::email.desc()),
    };
    let rows = query.limit(limit).offset(offset).load(conn)?;
    Ok((rows, total))
}

pub fn is_active(conn: &mut DbConnection, id: Uuid) -> Result<bool, AppError> {
    let active: Option<bool> = users::table
        .find(id.to_string())
        .select(users::active)
        .first(conn)
        .optional()?;
    Ok(active.unwrap_or(false))
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn count_active_admins(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)
}

/// Enables or disables a user; `None` when there is no such user. Disabling ends all of
/// the user's sessions. Disabling the last active admin is refused, so that the
/// installation is never locked.
pub fn set_active(
    conn: &mut DbConnection,
    id: Uuid,
    active: bool,
) -> Result<Option<UserRow>, AppError> {
    conn.write_transaction(|conn| {
        let Some(user) = find(conn, id)? else {
            return Ok(None);
        };
        if !active
            && user.active
            && user.role == Role::Admin.as_str()
            && count_active_admins(conn)? <= 1
        {
            return Err(AppError::conflict(
                "last_admin",
                "the last active admin cannot be disabled",
            ));
        }
        let now = super::now();
        let disabled_at = if active {
            None
        } else {
            // Its tokens die with its sessions, and enabling it again revives none.
            super::session::revoke_all_of(
                conn,
                id,
                super::session::Revocation::AccountDisabled,
                now,
            )?;
            Some(now)
        };
        let row = diesel::update(users::table.find(id.to_string()))
            .set((users::active.eq(active), users::disabled_at.eq(disabled_at)))
            .returning(users::all_columns)
            .get_result(conn)?;
        Ok(Some(row))
    })
}
