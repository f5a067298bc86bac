//! Recording a batch of sale lines: parse (JSON or CSV), check every line against the
//! caller's scope and the recorded data, then write all lines or none.
//!
//! A line already recorded with the same content (same owner, source and external id) is
//! a duplicate: it is skipped, never counted twice. The same key with other content is an
//! error.
//!
//! Who owns a key (the namespace of `source` + `external_id`) follows the caller's scope:
//! - admins record for the company: one namespace, so a source system that feeds several
//!   regions (the ERP) is deduplicated company-wide, whichever region a line is for;
//! - a manager records in the namespace of their region: they can neither learn whether
//!   a key exists elsewhere (no `conflicting_duplicate` for another region's or the
//!   company's line) nor squat a key to make another batch fail;
//! - a partner records in the namespace of its organisation.
//!
//! So each source system is recorded from one place: a company-wide feed by an admin's
//! integration, a region's own entries by its manager. A reversal names a line of the
//! same namespace. A reversal line (return, cancellation) names the external id of the line it
//! reverses, in the same source; it carries negative quantity and amount and cannot
//! reverse more than what remains of the original.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, Action, Actor, StateDigest};
use crate::auth::{AuthUser, Scope};
use crate::challenges::definition::is_currency_code;
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::models::participant;
use crate::models::sale::{self, SaleRow, COMPANY_OWNER};
use crate::models::{customer, now, product};

/// Most lines in one batch.
pub const MAX_LINES: usize = 10_000;
/// How far in the future a sale date may be (clock skew between systems).
const FUTURE_TOLERANCE_MINUTES: i64 = 5;

/// How old a sale may be when recorded: `sold_at` must be at most this many days before
/// the time of recording (and at most 5 minutes after it). Configured by
/// `PODIUM_SALE_MAX_AGE_DAYS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleAge {
    pub max_days: u32,
}
/// The largest quantity or amount a line may carry, in absolute value.
const MAX_MAGNITUDE: i64 = 1_000_000_000_000;

/// One sale line as sent by a client.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "participant_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
    "sold_at": "2026-11-20T10:30:00Z",
    "customer_reference": "C-0042",
    "product_sku": "ESP-200",
    "quantity": 3,
    "amount_cents": 89700,
    "currency": "EUR",
    "source": "erp",
    "external_id": "INV-2026-1187-1"
}))]
pub struct SaleInput {
    /// The participant credited with the sale.
    pub participant_id: Uuid,
    /// When the sale was made (RFC 3339). It decides which periods it counts in.
    pub sold_at: DateTime<Utc>,
    /// The customer's reference, as in `/customers` (needed for new-customer and
    /// key-account objectives).
    #[serde(default)]
    pub customer_reference: Option<String>,
    /// The product's SKU, as in `/products` (needed for placement objectives).
    #[serde(default)]
    pub product_sku: Option<String>,
    /// Units; negative on a reversal line.
    pub quantity: i64,
    /// Amount in minor units (cents); negative on a reversal line.
    pub amount_cents: i64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// The system the line comes from (default `api`); with `external_id`, its identity.
    #[serde(default)]
    pub source: Option<String>,
    /// The line's id in its source system. Sending the same line again is harmless.
    pub external_id: String,
    /// For a return or cancellation: the `external_id` of the line it reverses, in the same
    /// source.
    #[serde(default)]
    pub reverses_external_id: Option<String>,
}

/// A JSON batch of sale lines.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleBatch {
    /// 1 to 10,000 lines, recorded together or not at all.
    pub sales: Vec<SaleInput>,
}

/// What happened to a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"received": 3, "recorded": 2, "duplicates": [1]}))]
pub struct SalesReceipt {
    /// Lines in the request.
    pub received: usize,
    /// Lines written now.
    pub recorded: usize,
    /// Positions (from 0) of lines already recorded with the same content, skipped.
    pub duplicates: Vec<usize>,
}

/// Reads a CSV body: a header row naming the same fields as the JSON lines, in any order.
pub fn parse_csv(body: &[u8]) -> Result<Vec<SaleInput>, AppError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| {
            AppError::bad_request(
                "invalid_body",
                format!("the CSV header row cannot be read: {e}"),
            )
        })?
        .clone();
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.and_then(|record| {
            if let Some(column) = record
                .iter()
                .position(|field| !crate::api::json::printable(field))
            {
                let name = headers.get(column).unwrap_or("?");
                errors.push(FieldError::new(
                    format!("sales[{index}].{name}"),
                    "control_character",
                    crate::api::json::CONTROL_CHARACTER_MESSAGE,
                ));
                return Ok(None);
            }
            record.deserialize::<SaleInput>(Some(&headers)).map(Some)
        });
        match record {
            Ok(None) => {}
            Ok(Some(line)) => lines.push(line),
            Err(e) => errors.push(FieldError::new(
                format!("sales[{index}]"),
                "invalid",
                format!("CSV row {}: {e}", index + 2),
            )),
        }
        if errors.len() >= 1_000 {
            break;
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The namespace of the keys a caller records (see the module's decisions).
fn owner_of(caller: &AuthUser) -> Result<String, AppError> {
    match caller.scope {
        Scope::Everything => Ok(COMPANY_OWNER.to_owned()),
        Scope::Region(region) => Ok(sale::region_owner(region)),
        Scope::Organisation(org) => Ok(org.to_string()),
        Scope::Participant(_) => Err(AppError::Forbidden(
            "participants cannot record sales".into(),
        )),
    }
}

fn valid_source(source: &str) -> bool {
    (1..=100).contains(&source.len())
        && source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/'))
}

/// The content that makes two lines with the same key the same line.
fn same_content(a: &SaleRow, b: &SaleRow) -> bool {
    (
        &a.participant_id,
        &a.customer_id,
        &a.product_id,
        a.sold_at,
        a.quantity,
        a.amount_cents,
        &a.currency,
        &a.reverses_id,
    ) == (
        &b.participant_id,
        &b.customer_id,
        &b.product_id,
        b.sold_at,
        b.quantity,
        b.amount_cents,
        &b.currency,
        &b.reverses_id,
    )
}

/// Makes the checks and the insert of a batch one step: two batches checked at the same
/// time could otherwise both reverse the rest of one line, or both insert the same new
/// line. A mutex does it within the process; on PostgreSQL a transaction-scoped advisory
/// lock does it across instances too.
#[derive(Default)]
pub struct IngestionLock(Mutex<()>);

/// The advisory lock key of sales ingestion on PostgreSQL ("PODIUM" in ASCII).
const ADVISORY_LOCK_KEY: i64 = 0x504f_4449_554d;

/// Checks every line and records them all, or none with every error listed.
pub fn record_batch(
    conn: &mut DbConnection,
    lock: &IngestionLock,
    caller: &AuthUser,
    lines: Vec<SaleInput>,
    age: SaleAge,
) -> Result<SalesReceipt, AppError> {
    let _one_at_a_time = lock.0.lock().unwrap_or_else(PoisonError::into_inner);
    match conn {
        DbConnection::Postgresql(_) => conn.write_transaction(|conn| {
            conn.advisory_xact_lock(ADVISORY_LOCK_KEY)?;
            check_and_record(conn, caller, lines, age)
        }),
        DbConnection::Sqlite(_) => check_and_record(conn, caller, lines, age),
    }
}

fn check_and_record(
    conn: &mut DbConnection,
    caller: &AuthUser,
    lines: Vec<SaleInput>,
    age: SaleAge,
) -> Result<SalesReceipt, AppError> {
    let owner = owner_of(caller)?;
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(AppError::invalid_field(
            "sales",
            "length",
            &format!("must hold 1 to {MAX_LINES} lines"),
        ));
    }
    let received = lines.len();
    let recorded_at = now();
    let latest_allowed = recorded_at + chrono::Duration::minutes(FUTURE_TOLERANCE_MINUTES);
    let earliest_allowed = recorded_at - chrono::Duration::days(i64::from(age.max_days));
    let mut errors: Vec<FieldError> = Vec::new();
    let err = |errors: &mut Vec<FieldError>, i: usize, field: &str, code: &str, message: String| {
        errors.push(FieldError::new(
            format!("sales[{i}].{field}"),
            code,
            message,
        ));
    };

    // Look-ups, one query per kind for the whole batch.
    let participant_ids: Vec<String> = lines
        .iter()
        .map(|l| l.participant_id.to_string())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let started = std::time::Instant::now();
    let participants: HashMap<String, participant::ParticipantRow> =
        participant::find_many(conn, &participant_ids)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
    let skus: Vec<String> = lines
        .iter()
        .filter_map(|l| l.product_sku.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let products: HashMap<String, String> = product::ids_by_sku(conn, &skus)?.into_iter().collect();
    let references: Vec<String> = lines
        .iter()
        .filter_map(|l| l.customer_reference.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let customers: HashMap<String, String> = customer::ids_by_reference(conn, &references)?
        .into_iter()
        .collect();
    let source_of = |line: &SaleInput| line.source.clone().unwrap_or_else(|| "api".to_owned());
    let mut keys_by_source: HashMap<String, Vec<String>> = HashMap::new();
    for line in &lines {
        let entry = keys_by_source.entry(source_of(line)).or_default();
        entry.push(line.external_id.clone());
        if let Some(original) = &line.reverses_external_id {
            entry.push(original.clone());
        }
    }
    let mut recorded: HashMap<(String, String), SaleRow> = HashMap::new();
    for (source, ids) in &keys_by_source {
        if valid_source(source) {
            for row in sale::find_by_external_ids(conn, &owner, source, ids)? {
                recorded.insert((row.source.clone(), row.external_id.clone()), row);
            }
        }
    }
    let recorded_ids: Vec<String> = recorded.values().map(|r| r.id.clone()).collect();
    let mut reversed = sale::reversed_so_far(conn, &recorded_ids)?;
    let looked_up = started.elapsed();

    let mut rows: Vec<SaleRow> = Vec::with_capacity(lines.len());
    let mut in_batch: HashMap<(String, String), usize> = HashMap::new();
    let mut duplicates = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        let errors_before = errors.len();
        let source = source_of(&line);
        if !valid_source(&source) {
            err(
                &mut errors,
                i,
                "source",
                "format",
                "must be 1 to 100 letters, digits or . _ - : /".into(),
            );
        }
        if line.external_id.is_empty() || line.external_id.len() > 200 {
            err(
                &mut errors,
                i,
                "external_id",
                "length",
                "must be 1 to 200 characters".into(),
            );
        }
        if !is_currency_code(&line.currency) {
            err(
                &mut errors,
                i,
                "currency",
                "currency",
                "must be an ISO 4217 code such as EUR".into(),
            );
        }
        // Stored to the microsecond, as both backends keep it, so a resent line compares
        // equal to the recorded one.
        let sold_at: NaiveDateTime = crate::models::to_micros(line.sold_at.naive_utc());
        if sold_at > latest_allowed {
            err(
                &mut errors,
                i,
                "sold_at",
                "future",
                "must not be in the future".into(),
            );
        } else if sold_at < earliest_allowed {
            err(
                &mut errors,
                i,
                "sold_at",
                "too_old",
                format!(
                    "must be at most {} days before now (PODIUM_SALE_MAX_AGE_DAYS), not before {}",
                    age.max_days,
                    earliest_allowed.and_utc().format("%Y-%m-%dT%H:%M:%SZ")
                ),
            );
        }
        for (field, value) in [
            ("quantity", line.quantity),
            ("amount_cents", line.amount_cents),
        ] {
            if value.unsigned_abs() > MAX_MAGNITUDE.unsigned_abs() {
                err(
                    &mut errors,
                    i,
                    field,
                    "range",
                    format!("must be within ±{MAX_MAGNITUDE}"),
                );
            }
        }
        let participant_id = line.participant_id.to_string();
        match participants.get(&participant_id) {
            Some(p) if in_scope(caller, p) => {}
            _ => err(
                &mut errors,
                i,
                "participant_id",
                "unknown_participant",
                "no participant with this id in your scope".into(),
            ),
        }
        let product_id = match &line.product_sku {
            Some(sku) => match products.get(sku) {
                Some(id) => Some(id.clone()),
                None => {
                    err(
                        &mut errors,
                        i,
                        "product_sku",
                        "unknown_product",
                        format!("no product with SKU {sku:?}"),
                    );
                    None
                }
            },
            None => None,
        };
        let customer_id = match &line.customer_reference {
            Some(reference) => match customers.get(reference) {
                Some(id) => Some(id.clone()),
                None => {
                    err(
                        &mut errors,
                        i,
                        "customer_reference",
                        "unknown_customer",
                        format!("no customer with reference {reference:?}"),
                    );
                    None
                }
            },
            None => None,
        };
        let reverses_id = match &line.reverses_external_id {
            None => {
                for (field, value) in [
                    ("quantity", line.quantity),
                    ("amount_cents", line.amount_cents),
                ] {
                    if value < 0 {
                        err(
                            &mut errors,
                            i,
                            field,
                            "sign",
                            "must not be negative; a return names reverses_external_id".into(),
                        );
                    }
                }
                None
            }
            Some(original_key) => {
                for (field, value) in [
                    ("quantity", line.quantity),
                    ("amount_cents", line.amount_cents),
                ] {
                    if value > 0 {
                        err(
                            &mut errors,
                            i,
                            field,
                            "sign",
                            "a reversal carries a negative (or zero) quantity and amount".into(),
                        );
                    }
                }
                let key = (source.clone(), original_key.clone());
                let original = recorded
                    .get(&key)
                    .or_else(|| in_batch.get(&key).map(|&index| &rows[index]));
                match original {
                    None => {
                        err(
                            &mut errors,
                            i,
                            "reverses_external_id",
                            "unknown_sale",
                            format!("no recorded line {original_key:?} in source {source:?}"),
                        );
                        None
                    }
                    Some(original) if original.reverses_id.is_some() => {
                        err(
                            &mut errors,
                            i,
                            "reverses_external_id",
                            "not_reversible",
                            "a reversal cannot itself be reversed".into(),
                        );
                        None
                    }
                    Some(original) if original.participant_id != participant_id => {
                        err(
                            &mut errors,
                            i,
                            "reverses_external_id",
                            "participant_mismatch",
                            "must reverse a line of the same participant".into(),
                        );
                        None
                    }
                    Some(original) => {
                        let so_far = reversed.get(&original.id).copied().unwrap_or_default();
                        let resent =
                            recorded.contains_key(&(source.clone(), line.external_id.clone()));
                        let exceeds = original.quantity + so_far.0 + line.quantity < 0
                            || original.amount_cents + so_far.1 + line.amount_cents < 0;
                        // A resent reversal is already in `so_far`; it is a duplicate, not
                        // a second return.
                        if !resent && exceeds {
                            err(
                                &mut errors,
                                i,
                                "reverses_external_id",
                                "exceeds_original",
                                "reverses more than what remains of the original line".into(),
                            );
                        }
                        Some(original.id.clone())
                    }
                }
            }
        };
        let row = SaleRow {
            // Time-ordered ids keep inserts at the end of the primary-key index.
            id: Uuid::now_v7().to_string(),
            participant_id,
            customer_id,
            product_id,
            sold_at,
            quantity: line.quantity,
            amount_cents: line.amount_cents,
            currency: line.currency,
            owner: owner.clone(),
            source: source.clone(),
            external_id: line.external_id.clone(),
            reverses_id,
            recorded_by: caller.id.to_string(),
            recorded_at,
        };
        if errors.len() > errors_before {
            continue;
        }
        let key = (source, line.external_id);
        if let Some(existing) = recorded.get(&key) {
            if same_content(existing, &row) {
                duplicates.push(i);
            } else {
                err(
                    &mut errors,
                    i,
                    "external_id",
                    "conflicting_duplicate",
                    "a different line was already recorded with this source and external_id".into(),
                );
            }
            continue;
        }
        if in_batch.contains_key(&key) {
            err(
                &mut errors,
                i,
                "external_id",
                "duplicate_in_batch",
                "another line of this batch has the same source and external_id".into(),
            );
            continue;
        }
        if let Some(original) = &row.reverses_id {
            let entry = reversed.entry(original.clone()).or_default();
            entry.0 += row.quantity;
            entry.1 += row.amount_cents;
        }
        in_batch.insert(key, rows.len());
        rows.push(row);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if !rows.is_empty() {
        let checked = started.elapsed();
        // One entry per batch that wrote lines, on the key namespace the lines went to;
        // the digest of up to 10,000 lines is computed before the write lock is taken.
        let digest = StateDigest::of(&rows)?;
        audit::write(
            conn,
            &Actor::of(caller),
            Action::SalesRecorded,
            |conn, entry| {
                sale::record(conn, &rows)?;
                entry.object(&owner).after_digest(digest);
                Ok(())
            },
        )?;
        tracing::debug!(
            lines = rows.len(),
            lookups_ms = looked_up.as_millis(),
            checks_ms = (checked - looked_up).as_millis(),
            insert_ms = (started.elapsed() - checked).as_millis(),
            "recorded a batch of sales"
        );
    }
    Ok(SalesReceipt {
        received,
        recorded: rows.len(),
        duplicates,
    })
}

/// Whether a caller may record or read sales of a participant.
pub fn in_scope(caller: &AuthUser, p: &participant::ParticipantRow) -> bool {
    match caller.scope {
        Scope::Everything => true,
        Scope::Region(region) => p.region_id.as_deref() == Some(region.to_string().as_str()),
        Scope::Organisation(org) => p.organisation_id == org.to_string(),
        Scope::Participant(id) => p.id == id.to_string(),
    }
}
