//! `/users`: the people who sign in. Admins create them with a role and the scope that
//! role needs, list them, and disable or enable them; passwords are stored hashed and
//! never returned.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{Page, PageRequest};
use crate::audit::{self, Action, Actor};
use crate::auth::{secrets, Admin, LiveSessions, Role};
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, FieldError};
use crate::models::user::{self, NewUser, UserFilter, UserRow, UserSort};
use crate::models::{now, organisation, parse_id, participant, region, utc};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_user)
        .service(list_users)
        .service(get_user)
        .service(disable_user)
        .service(enable_user);
}

/// A person who signs in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0b7f3c1e-8f2a-4c43-9d55-2b1f0f6f2a10",
    "email": "claire.martin@example.com",
    "display_name": "Claire Martin",
    "role": "manager",
    "region_id": "5d0c2b8e-2a57-4e0b-a7a4-4f4f3f1c9e21",
    "participant_id": null,
    "organisation_id": null,
    "active": true,
    "created_at": "2026-11-27T09:00:00Z",
    "disabled_at": null
}))]
pub struct UserDto {
    pub id: Uuid,
    /// Lower-cased; unique.
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Set for managers: the region they follow.
    pub region_id: Option<Uuid>,
    /// Set for participants: who they are.
    pub participant_id: Option<Uuid>,
    /// Set for partners: their distributor organisation.
    pub organisation_id: Option<Uuid>,
    /// A disabled user cannot sign in, and their tokens stop working at once.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl TryFrom<UserRow> for UserDto {
    type Error = AppError;

    fn try_from(row: UserRow) -> Result<Self, AppError> {
        let (region_id, participant_id, organisation_id) = row.scope()?.ids();
        Ok(Self {
            id: parse_id(&row.id)?,
            role: row.role()?,
            email: row.email,
            display_name: row.display_name,
            region_id,
            participant_id,
            organisation_id,
            active: row.active,
            created_at: utc(row.created_at),
            disabled_at: row.disabled_at.map(utc),
        })
    }
}

/// A new user. The role decides which scope id is required: `region_id` for a manager,
/// `participant_id` for a participant, `organisation_id` for a partner, none for an admin;
/// the others must be absent.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "claire.martin@example.com",
    "display_name": "Claire Martin",
    "password": "a long passphrase of hers",
    "role": "manager",
    "region_id": "5d0c2b8e-2a57-4e0b-a7a4-4f4f3f1c9e21"
}))]
pub struct CreateUser {
    #[schema(format = Email, max_length = 254)]
    #[validate(
        email(message = "must be a valid e-mail address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    pub email: String,
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub display_name: String,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    #[validate(length(min = 12, max = 256, message = "must be 12 to 256 characters"))]
    pub password: String,
    pub role: Role,
    pub region_id: Option<Uuid>,
    pub participant_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
}

impl CreateUser {
    /// Field rules and the role's scope rule, all errors at once.
    fn check(&self) -> Result<(), AppError> {
        let mut errors = match self.validate() {
            Ok(()) => Vec::new(),
            Err(e) => match AppError::from(e) {
                AppError::Validation(errors) => errors,
                other => return Err(other),
            },
        };
        errors.extend(scope_errors(
            self.role,
            self.region_id,
            self.participant_id,
            self.organisation_id,
        ));
        if errors.is_empty() {
            Ok(())
        } else {
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            Err(AppError::Validation(errors))
        }
    }
}

/// The scope ids a role requires and forbids.
fn scope_errors(
    role: Role,
    region_id: Option<Uuid>,
    participant_id: Option<Uuid>,
    organisation_id: Option<Uuid>,
) -> Vec<FieldError> {
    let fields = [
        ("region_id", region_id.is_some(), Role::Manager),
        (
            "participant_id",
            participant_id.is_some(),
            Role::Participant,
        ),
        ("organisation_id", organisation_id.is_some(), Role::Partner),
    ];
    fields
        .into_iter()
        .filter_map(
            |(field, given, needed_by)| match (given, role == needed_by) {
                (false, true) => Some(FieldError::new(
                    field,
                    "required",
                    format!("is required for the {} role", role.as_str()),
                )),
                (true, false) => Some(FieldError::new(
                    field,
                    "not_allowed",
                    format!("does not apply to the {} role", role.as_str()),
                )),
                _ => None,
            },
        )
        .collect()
}

/// Checks that the scope a role is given exists: the manager's region, the
/// participant, the partner's distributor organisation.
pub(crate) fn check_scope_exists(
    conn: &mut DbConnection,
    region_id: Option<Uuid>,
    participant_id: Option<Uuid>,
    organisation_id: Option<Uuid>,
) -> Result<(), AppError> {
    if let Some(id) = region_id {
        if region::find(conn, id)?.is_none() {
            return Err(AppError::invalid_field(
                "region_id",
                "unknown_region",
                "no region has this id",
            ));
        }
    }
    if let Some(id) = participant_id {
        if participant::find(conn, id)?.is_none() {
            return Err(AppError::invalid_field(
                "participant_id",
                "unknown_participant",
                "no participant has this id",
            ));
        }
    }
    if let Some(id) = organisation_id {
        match organisation::find(conn, id)? {
            None => {
                return Err(AppError::invalid_field(
                    "organisation_id",
                    "unknown_organisation",
                    "no organisation has this id",
                ))
            }
            Some(org) if org.kind != "distributor" => {
                return Err(AppError::invalid_field(
                    "organisation_id",
                    "not_a_distributor",
                    "partners belong to distributor organisations",
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// How to order a list of users.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum UserSortParam {
    #[serde(rename = "created_at")]
    CreatedAt,
    #[serde(rename = "-created_at")]
    CreatedAtDesc,
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "-email")]
    EmailDesc,
}

impl From<UserSortParam> for UserSort {
    fn from(param: UserSortParam) -> Self {
        match param {
            UserSortParam::CreatedAt => UserSort::CreatedAt,
            UserSortParam::CreatedAtDesc => UserSort::CreatedAtDesc,
            UserSortParam::Email => UserSort::Email,
            UserSortParam::EmailDesc => UserSort::EmailDesc,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    /// Only users of this role.
    pub role: Option<Role>,
    /// Only active (`true`) or disabled (`false`) users.
    pub active: Option<bool>,
    /// Only users whose e-mail contains this text (case-insensitive).
    pub email: Option<String>,
    /// `created_at` (default), `-created_at`, `email` or `-email`.
    #[param(inline)]
    pub sort: Option<UserSortParam>,
}

/// Create a user.
#[utoipa::path(
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserDto,
            headers(("Location" = String, description = "The new user's URL"))),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/users")]
async fn create_user(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<CreateUser>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.check()?;
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::UserCreated, |conn, entry| {
                if user::find_by_email(conn, &form.email)?.is_some() {
                    return Err(AppError::conflict(
                        "email_taken",
                        "a user with this e-mail already exists",
                    ));
                }
                check_scope_exists(
                    conn,
                    form.region_id,
                    form.participant_id,
                    form.organisation_id,
                )?;
                let new = NewUser {
                    id: Uuid::new_v4().to_string(),
                    email: form.email.to_lowercase(),
                    display_name: form.display_name,
                    password_hash: secrets::hash(&form.password)?,
                    role: form.role.as_str().to_owned(),
                    region_id: form.region_id.map(|id| id.to_string()),
                    participant_id: form.participant_id.map(|id| id.to_string()),
                    organisation_id: form.organisation_id.map(|id| id.to_string()),
                    active: true,
                    created_at: now(),
                };
                let row = user::insert(conn, &new)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = UserDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", dto.id)))
        .json(dto))
}

/// List users, oldest first unless `sort` says otherwise.
#[utoipa::path(
    tag = "users",
    params(UserListQuery),
    responses(
        (status = 200, description = "One page of users", body = Page<UserDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/users")]
async fn list_users(
    _admin: Admin,
    pool: web::Data<Pool>,
    query: web::Query<UserListQuery>,
) -> Result<web::Json<Page<UserDto>>, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let filter = UserFilter {
        role: query.role,
        active: query.active,
        email_contains: query.email,
        sort: query.sort.map(UserSort::from).unwrap_or_default(),
    };
    let (rows, total) = pool
        .run(move |conn| Ok(user::list(conn, &filter, page.limit, page.offset)?))
        .await?;
    let items = rows
        .into_iter()
        .map(UserDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// One user.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
async fn get_user(
    _admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<UserDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| user::find(conn, id)?.ok_or(AppError::NotFound("user")))
        .await?;
    Ok(web::Json(UserDto::try_from(row)?))
}

async fn set_active(
    admin: Admin,
    pool: &Pool,
    sessions: &LiveSessions,
    id: Uuid,
    active: bool,
) -> Result<web::Json<UserDto>, AppError> {
    let actor = Actor::of(&admin.0);
    let action = if active {
        Action::UserEnabled
    } else {
        Action::UserDisabled
    };
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, action, |conn, entry| {
                let before = user::find(conn, id)?.ok_or(AppError::NotFound("user"))?;
                entry.object(id).before(&before)?;
                let row = user::set_active(conn, id, active)?.ok_or(AppError::NotFound("user"))?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    sessions.forget_account(id);
    Ok(web::Json(UserDto::try_from(row)?))
}

/// Disable a user: they can no longer sign in and their tokens stop working at once. The
/// last active admin cannot be disabled (409 `last_admin`).
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user, disabled", body = UserDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/disable")]
async fn disable_user(
    admin: Admin,
    pool: web::Data<Pool>,
    sessions: web::Data<LiveSessions>,
    id: web::Path<Uuid>,
) -> Result<web::Json<UserDto>, AppError> {
    set_active(admin, &pool, &sessions, id.into_inner(), false).await
}

/// Enable a disabled user again.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user, enabled", body = UserDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/enable")]
async fn enable_user(
    admin: Admin,
    pool: web::Data<Pool>,
    sessions: web::Data<LiveSessions>,
    id: web::Path<Uuid>,
) -> Result<web::Json<UserDto>, AppError> {
    set_active(admin, &pool, &sessions, id.into_inner(), true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_requires_its_scope_and_only_it() {
        let id = Some(Uuid::new_v4());
        assert!(scope_errors(Role::Admin, None, None, None).is_empty());
        assert!(scope_errors(Role::Manager, id, None, None).is_empty());
        assert!(scope_errors(Role::Participant, None, id, None).is_empty());
        assert!(scope_errors(Role::Partner, None, None, id).is_empty());

        let missing = scope_errors(Role::Manager, None, None, None);
        assert_eq!(missing.len(), 1);
        assert_eq!(
            (missing[0].field.as_str(), missing[0].code.as_str()),
            ("region_id", "required")
        );

        let extra = scope_errors(Role::Admin, None, None, id);
        assert_eq!(
            (extra[0].field.as_str(), extra[0].code.as_str()),
            ("organisation_id", "not_allowed")
        );
    }
}
