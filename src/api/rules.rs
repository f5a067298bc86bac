//! `/rules`: admins' Rhai rules and their immutable versions. Uploading a version compiles
//! it at once (422 `invalid_script` with each error's line and column); a version can be
//! run on sample inputs without writing anything. Rules are admin-only, reading included:
//! scripts are internals participants never see. A version's source comes as JSON or as
//! the bare script (`text/plain`), so a file can be uploaded as it is.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{Page, PageRequest};
use crate::audit::{self, Action, Actor};
use crate::auth::Admin;
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::models::rule::{self, RuleRow, RuleVersionRow};
use crate::models::{now, parse_id, utc};
use crate::rules::engine::MAX_SOURCE_BYTES;
use crate::rules::fixtures::{self, TestInput};
use crate::rules::{content_hash, RuleKind, RuleRunner, ScriptError};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_rule)
        .service(list_rules)
        .service(get_rule)
        .service(upload_version)
        .service(list_versions)
        .service(get_version)
        .service(test_version);
}

/// A rule: a name, a kind, and its versions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0b6f3a52-1f9e-4c1e-9a47-5d2c8e1f0a11", "name": "Espresso placement", "kind": "objective",
    "description": "Units of the named products sold to customers won in the period.",
    "latest_version": 2, "created_by": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
    "created_at": "2026-03-01T08:00:00Z"
}))]
pub struct RuleDto {
    pub id: Uuid,
    pub name: String,
    pub kind: RuleKind,
    pub description: String,
    /// The newest version's number; `null` before the first upload.
    pub latest_version: Option<i32>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

impl RuleDto {
    fn new(row: RuleRow, latest_version: Option<i32>) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            name: row.name,
            kind: parse_kind(&row.kind)?,
            description: row.description,
            latest_version,
            created_by: parse_id(&row.created_by)?,
            created_at: utc(row.created_at),
        })
    }
}

fn parse_kind(kind: &str) -> Result<RuleKind, AppError> {
    RuleKind::parse(kind)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a rule has the invalid kind {kind}")))
}

/// A new rule (its source comes as versions).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Espresso placement",
    "kind": "objective",
    "description": "Units of the named products sold to customers won in the period."
}))]
pub struct RuleForm {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    pub kind: RuleKind,
    #[serde(default)]
    #[schema(max_length = 2000)]
    #[validate(length(max = 2000, message = "must be at most 2,000 characters"))]
    pub description: String,
}

/// One immutable version of a rule.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "rule_id": "0b6f3a52-1f9e-4c1e-9a47-5d2c8e1f0a11", "version": 2,
    "content_hash": "9f2c…", "source": "fn score(participant, sales, ctx) {\n    sales.for_products(ctx.params.skus).quantity()\n}\n",
    "uploaded_by": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "uploaded_at": "2026-03-01T08:00:00Z"
}))]
pub struct RuleVersionDto {
    pub rule_id: Uuid,
    /// 1, 2, 3… in upload order.
    pub version: i32,
    /// SHA-256 of the source, hex.
    pub content_hash: String,
    pub source: String,
    pub uploaded_by: Uuid,
    pub uploaded_at: DateTime<Utc>,
}

impl TryFrom<RuleVersionRow> for RuleVersionDto {
    type Error = AppError;

    fn try_from(row: RuleVersionRow) -> Result<Self, AppError> {
        Ok(Self {
            rule_id: parse_id(&row.rule_id)?,
            version: row.version,
            content_hash: row.content_hash,
            source: row.source,
            uploaded_by: parse_id(&row.uploaded_by)?,
            uploaded_at: utc(row.uploaded_at),
        })
    }
}

/// The source of a new version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"source": "fn score(participant, sales, ctx) {\n    sales.for_products(ctx.params.skus).quantity()\n}\n"}))]
pub struct VersionForm {
    /// Rhai source, at most 32 KiB.
    pub source: String,
}

/// What a test run gave: the output, or the errors (with line and column).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"ok": true, "output": {"score": "42", "qualified": true, "detail": "42 units"}, "errors": []}))]
pub struct TestOutcome {
    /// `true` when the rule ran and returned a valid result.
    pub ok: bool,
    /// Objective rules: `{score, qualified, detail}`; allocation rules: `{awards: […]}`.
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    pub errors: Vec<ScriptError>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RuleListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    pub kind: Option<RuleKind>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
}

fn find_rule(conn: &mut DbConnection, id: Uuid) -> Result<RuleRow, AppError> {
    rule::find(conn, id)?.ok_or(AppError::NotFound("rule"))
}

/// Create a rule; upload its source as versions.
#[utoipa::path(
    tag = "rules",
    request_body = RuleForm,
    responses(
        (status = 201, description = "Created, without versions yet", body = RuleDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/rules")]
async fn create_rule(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<RuleForm>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let row = RuleRow {
        id: Uuid::new_v4().to_string(),
        name: form.name.trim().to_owned(),
        kind: form.kind.as_str().to_owned(),
        description: form.description,
        created_by: admin.0.id.to_string(),
        created_at: now(),
    };
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::RuleCreated, |conn, entry| {
                let row = rule::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = RuleDto::new(row, None)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/rules/{}", dto.id)))
        .json(dto))
}

/// List rules by name.
#[utoipa::path(
    tag = "rules",
    params(RuleListQuery),
    responses(
        (status = 200, description = "One page", body = Page<RuleDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/rules")]
async fn list_rules(
    _admin: Admin,
    pool: web::Data<Pool>,
    query: web::Query<RuleListQuery>,
) -> Result<web::Json<Page<RuleDto>>, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let kind = query.kind.map(RuleKind::as_str);
    let (rows, latest, total) = pool
        .run(move |conn| {
            let (rows, total) = rule::list(conn, kind, page.limit, page.offset)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let latest: std::collections::HashMap<String, Option<i32>> =
                rule::latest_versions(conn, &ids)?.into_iter().collect();
            Ok((rows, latest, total))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let version = latest.get(&row.id).copied().flatten();
            RuleDto::new(row, version)
        })
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// One rule.
#[utoipa::path(
    tag = "rules",
    params(("id" = Uuid, Path, description = "The rule's id")),
    responses(
        (status = 200, description = "The rule", body = RuleDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/rules/{id}")]
async fn get_rule(
    _admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<RuleDto>, AppError> {
    let id = id.into_inner();
    let (row, latest) = pool
        .run(move |conn| {
            let row = find_rule(conn, id)?;
            let latest = rule::latest_version(conn, id)?.map(|v| v.version);
            Ok((row, latest))
        })
        .await?;
    Ok(web::Json(RuleDto::new(row, latest)?))
}

/// Upload a new version. It is compiled at once: a syntax error, an unknown variable, a
/// missing entry function (`score` or `allocate`), a wrong number of parameters or code
/// outside functions is refused with 422 `invalid_script`, each error with its line and
/// column in `script_errors`. A source identical to the latest version's answers that
/// version (200) instead of adding one.
#[utoipa::path(
    tag = "rules",
    params(("id" = Uuid, Path, description = "The rule's id")),
    request_body(
        description = "The source as JSON (`{\"source\": ...}`) or as the bare script (`text/plain`, UTF-8)",
        content(
            (VersionForm = "application/json"),
            (String = "text/plain", example = "fn score(participant, sales, ctx) {\n    sales.for_products(ctx.params.skus).quantity()\n}\n")
        )
    ),
    responses(
        (status = 201, description = "The new version", body = RuleVersionDto),
        (status = 200, description = "Same source as the latest version: that version", body = RuleVersionDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/rules/{id}/versions")]
async fn upload_version(
    admin: Admin,
    pool: web::Data<Pool>,
    runner: web::Data<RuleRunner>,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let source = version_source(&req, &body)?;
    if source.len() > MAX_SOURCE_BYTES {
        return Err(AppError::invalid_field(
            "source",
            "too_long",
            &format!(
                "the source is {} bytes; a rule may have at most {MAX_SOURCE_BYTES}",
                source.len()
            ),
        ));
    }
    if source.trim().is_empty() {
        return Err(AppError::invalid_field(
            "source",
            "required",
            "must not be empty",
        ));
    }
    let (row, created) = pool
        .run(move |conn| {
            let found = find_rule(conn, id)?;
            let kind = parse_kind(&found.kind)?;
            let hash = content_hash(&source);
            if let Some(latest) = rule::latest_version(conn, id)? {
                if latest.content_hash == hash {
                    return Ok((latest, false));
                }
            }
            runner
                .compile(&source, kind)
                .map_err(AppError::InvalidScript)?;
            let actor = Actor::of(&admin.0);
            let row = audit::write(conn, &actor, Action::RuleVersionUploaded, |conn, entry| {
                let by = admin.0.id.to_string();
                let row = rule::insert_version(conn, id, &source, &hash, &by, now())?;
                entry.object(id).after(&row)?;
                Ok(row)
            })?;
            Ok((row, true))
        })
        .await?;
    let dto = RuleVersionDto::try_from(row)?;
    Ok(if created {
        HttpResponse::Created()
            .insert_header((
                "Location",
                format!("/api/v1/rules/{}/versions/{}", dto.rule_id, dto.version),
            ))
            .json(dto)
    } else {
        HttpResponse::Ok().json(dto)
    })
}

/// The source of an upload: a JSON [`VersionForm`], or the script itself as `text/plain`.
fn version_source(req: &HttpRequest, body: &[u8]) -> Result<String, AppError> {
    match crate::api::json::media_type(req).as_str() {
        "application/json" => crate::api::json::parse::<VersionForm>(body).map(|form| form.source),
        "text/plain" => {
            let source = String::from_utf8(body.to_vec())
                .map_err(|_| AppError::bad_request("invalid_body", "the script is not UTF-8"))?;
            if crate::api::json::printable(&source) {
                Ok(source)
            } else {
                Err(crate::api::json::control_character("source"))
            }
        }
        _ => Err(AppError::UnsupportedMediaType(
            "send application/json or text/plain".into(),
        )),
    }
}

/// A rule's versions, newest first.
#[utoipa::path(
    tag = "rules",
    params(("id" = Uuid, Path, description = "The rule's id"), VersionListQuery),
    responses(
        (status = 200, description = "One page", body = Page<RuleVersionDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/rules/{id}/versions")]
async fn list_versions(
    _admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    query: web::Query<VersionListQuery>,
) -> Result<web::Json<Page<RuleVersionDto>>, AppError> {
    let id = id.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let (rows, total) = pool
        .run(move |conn| {
            find_rule(conn, id)?;
            Ok(rule::versions(conn, id, page.limit, page.offset)?)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(RuleVersionDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

fn find_version(
    conn: &mut DbConnection,
    id: Uuid,
    version: i32,
) -> Result<(RuleRow, RuleVersionRow), AppError> {
    let found = find_rule(conn, id)?;
    let row = rule::find_version(conn, id, version)?.ok_or(AppError::NotFound("rule version"))?;
    Ok((found, row))
}

/// One version.
#[utoipa::path(
    tag = "rules",
    params(
        ("id" = Uuid, Path, description = "The rule's id"),
        ("version" = i32, Path, description = "The version number"),
    ),
    responses(
        (status = 200, description = "The version", body = RuleVersionDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/rules/{id}/versions/{version}")]
async fn get_version(
    _admin: Admin,
    pool: web::Data<Pool>,
    path: web::Path<(Uuid, i32)>,
) -> Result<web::Json<RuleVersionDto>, AppError> {
    let (id, version) = path.into_inner();
    let (_, row) = pool
        .run(move |conn| find_version(conn, id, version))
        .await?;
    Ok(web::Json(RuleVersionDto::try_from(row)?))
}

/// Run a version on sample inputs and answer its output or its errors. Nothing is
/// written. Objective rules read `participant`, `sales`, `baseline`; allocation rules
/// `standings` and `rewards`; both `params` and the period.
#[utoipa::path(
    tag = "rules",
    params(
        ("id" = Uuid, Path, description = "The rule's id"),
        ("version" = i32, Path, description = "The version number"),
    ),
    request_body = TestInput,
    responses(
        (status = 200, description = "The run: output or errors", body = TestOutcome),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/rules/{id}/versions/{version}/test")]
async fn test_version(
    _admin: Admin,
    pool: web::Data<Pool>,
    runner: web::Data<RuleRunner>,
    path: web::Path<(Uuid, i32)>,
    body: crate::api::json::Json<TestInput>,
) -> Result<web::Json<TestOutcome>, AppError> {
    let (id, version) = path.into_inner();
    let input = body.into_inner();
    let (found, row) = pool
        .run(move |conn| find_version(conn, id, version))
        .await?;
    let kind = parse_kind(&found.kind)?;
    let outcome = web::block(move || fixtures::run(&runner, kind, &row.source, &input))
        .await
        .map_err(AppError::internal)?;
    Ok(web::Json(match outcome {
        Ok(output) => TestOutcome {
            ok: true,
            output: Some(output),
            errors: Vec::new(),
        },
        Err(errors) => {
            tracing::info!(rule = %id, version, errors = ?errors, "a rule test failed");
            TestOutcome {
                ok: false,
                output: None,
                errors,
            }
        }
    }))
}
