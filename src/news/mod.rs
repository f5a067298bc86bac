//! News: what happens in a challenge, recorded as it happens, and how it reaches people.
//!
//! Every news item is written by [`record`], in the transaction of what caused it (a
//! challenge started, closed or announced; an award fulfilled; a new leader or a crossed
//! threshold found by the [`watch`]er), together with one webhook delivery per matching
//! subscription, so none is lost and none exists without its cause. Each item also
//! records a change in the log (`models::change`), which every instance's standings
//! engine follows: it wakes that instance's live streams through the [`bus`]. Who may read an item follows the standings: an item
//! about an entrant is for those who may see that entrant's line
//! ([`crate::models::news::Audience`]).

pub mod bus;
pub mod digest;
pub mod watch;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{AuthUser, Scope};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::news::{self as rows, Audience, NewNews, NewsRow};
use crate::models::participant;
use crate::scoring::objective::ValueUnit;
use crate::scoring::Exact;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ChallengeStarted,
    LeaderChanged,
    ThresholdPassed,
    TargetReached,
    EndingSoon,
    ChallengeClosed,
    ResultsAnnounced,
    AwardFulfilled,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::ChallengeStarted,
        Kind::LeaderChanged,
        Kind::ThresholdPassed,
        Kind::TargetReached,
        Kind::EndingSoon,
        Kind::ChallengeClosed,
        Kind::ResultsAnnounced,
        Kind::AwardFulfilled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ChallengeStarted => "challenge_started",
            Kind::LeaderChanged => "leader_changed",
            Kind::ThresholdPassed => "threshold_passed",
            Kind::TargetReached => "target_reached",
            Kind::EndingSoon => "ending_soon",
            Kind::ChallengeClosed => "challenge_closed",
            Kind::ResultsAnnounced => "results_announced",
            Kind::AwardFulfilled => "award_fulfilled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// The entrant a news item is about, with what decides who may see it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub entrant_id: Uuid,
    pub name: String,
    pub region_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
}

/// A news item to record.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: Kind,
    pub challenge_id: Uuid,
    pub subject: Option<Subject>,
    pub award_id: Option<Uuid>,
    pub message: String,
    pub details: serde_json::Value,
    /// Set for news that must be recorded once whoever notices it (ending soon).
    pub dedupe_key: Option<String>,
}

impl Draft {
    pub fn new(kind: Kind, challenge_id: Uuid, message: String) -> Self {
        Self {
            kind,
            challenge_id,
            subject: None,
            award_id: None,
            message,
            details: serde_json::json!({}),
            dedupe_key: None,
        }
    }
}

/// Arbitrary, fixed: the advisory lock that orders news inserts on PostgreSQL.
const NEWS_LOCK_KEY: i64 = 0x6e65_7773;

/// Records a news item and its webhook deliveries; `None` when a deduplicated item already
/// exists. Runs in the caller's transaction (or its own).
///
/// On PostgreSQL the inserts are serialised by a transaction-scoped advisory lock, so
/// news ids become visible in increasing order and a stream's cursor never skips an item
/// committed late; SQLite serialises writers anyway.
pub fn record(
    conn: &mut DbConnection,
    draft: Draft,
    now: NaiveDateTime,
) -> Result<Option<NewsRow>, AppError> {
    conn.write_transaction(|conn| {
        // The change log's lock first, as every writer takes it: two locks always in the
        // same order cannot deadlock. The change wakes streams on every instance (a
        // `NOTIFY`, and the log itself when a notification is lost).
        crate::models::change::record(
            conn,
            &crate::models::change::Change::News {
                challenge: draft.challenge_id,
            },
        )?;
        conn.advisory_xact_lock(NEWS_LOCK_KEY)?;
        let subject = draft.subject.as_ref();
        let new = NewNews {
            kind: draft.kind.as_str().to_owned(),
            challenge_id: draft.challenge_id.to_string(),
            entrant_id: subject.map(|s| s.entrant_id.to_string()),
            entrant_name: subject.map(|s| s.name.clone()),
            region_id: subject.and_then(|s| s.region_id).map(|id| id.to_string()),
            organisation_id: subject
                .and_then(|s| s.organisation_id)
                .map(|id| id.to_string()),
            award_id: draft.award_id.map(|id| id.to_string()),
            message: draft.message,
            details: draft.details.to_string(),
            occurred_at: now,
            dedupe_key: draft.dedupe_key,
        };
        // A write first (no read-then-write on SQLite); a deduplicated item already
        // recorded is a unique violation, undone by the savepoint.
        let row = match conn.write_transaction(|conn| rows::insert(conn, &new)) {
            Ok(row) => row,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) if new.dedupe_key.is_some() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        crate::webhooks::enqueue(conn, &row, now)?;
        Ok(Some(row))
    })
}

/// Whose news `caller` may read.
pub fn audience_for(conn: &mut DbConnection, caller: &AuthUser) -> Result<Audience, AppError> {
    Ok(match caller.scope {
        Scope::Everything => Audience::Everything,
        Scope::Region(id) => Audience::Region(id),
        Scope::Organisation(id) => Audience::Organisation(id),
        Scope::Participant(id) => Audience::Participant {
            entrants: own_entrants(conn, id)?,
        },
    })
}

/// The entrants a participant is part of: itself, its team, region and organisation.
pub fn own_entrants(conn: &mut DbConnection, participant_id: Uuid) -> Result<Vec<Uuid>, AppError> {
    let mut ids = vec![participant_id];
    if let Some(p) = participant::find(conn, participant_id)? {
        for id in [p.team_id, p.region_id, Some(p.organisation_id)]
            .into_iter()
            .flatten()
        {
            ids.push(crate::models::parse_id(&id)?);
        }
    }
    Ok(ids)
}

/// A score as people read it, in the objective's unit: "34,116.75 EUR", "131.76 units",
/// "12.5 %"; at most two decimals, thousands grouped.
pub fn score_text(score: Exact, unit: ValueUnit, currency: &str) -> String {
    let value = score.decimal();
    match unit {
        ValueUnit::Cents => format!(
            "{} {currency}",
            grouped(value / rust_decimal::Decimal::ONE_HUNDRED, 2)
        ),
        ValueUnit::Units => format!("{} units", grouped(value, 2)),
        ValueUnit::Customers => format!("{} customers", grouped(value, 2)),
        ValueUnit::Percent => format!("{} %", grouped(value, 2)),
        ValueUnit::Points => grouped(value, 2),
    }
}

/// A number with thousands grouped by commas and at most `decimals` decimals (none when
/// it is whole), rounded half away from zero like every derived value.
fn grouped(value: rust_decimal::Decimal, decimals: u32) -> String {
    let rounded = value.abs().round_dp_with_strategy(
        decimals,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    );
    let text = rounded.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits: Vec<char> = whole.chars().collect();
    let mut out = String::new();
    for (i, digit) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*digit);
    }
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    if value.is_sign_negative() && out.chars().any(|c| c != '0' && c != ',' && c != '.') {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Exact {
        Exact::parse(text).expect("a decimal")
    }

    #[test]
    fn scores_read_in_their_unit() {
        assert_eq!(
            score_text(d("3411675.24"), ValueUnit::Cents, "EUR"),
            "34,116.75 EUR"
        );
        assert_eq!(
            score_text(d("131.756"), ValueUnit::Units, "EUR"),
            "131.76 units"
        );
        assert_eq!(
            score_text(d("3.0"), ValueUnit::Customers, "EUR"),
            "3 customers"
        );
        assert_eq!(score_text(d("12.5"), ValueUnit::Percent, "EUR"), "12.5 %");
        assert_eq!(
            score_text(d("1234567.0"), ValueUnit::Points, "EUR"),
            "1,234,567"
        );
        assert_eq!(score_text(d("-1500.0"), ValueUnit::Points, "EUR"), "-1,500");
        assert_eq!(score_text(d("999.999"), ValueUnit::Points, "EUR"), "1,000");
        assert_eq!(score_text(d("0.0"), ValueUnit::Points, "EUR"), "0");
    }
}
