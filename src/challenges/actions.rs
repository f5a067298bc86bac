//! Moving a challenge through its life, in one transaction with what each move implies:
//! closing freezes the standings as they are at that moment and gives the awards of the
//! reward plan; announcing publishes them.

use uuid::Uuid;

use super::awarding;
use super::lifecycle::{self, Action};
use super::standings::{self, Challenge};
use crate::audit::{self, Actor};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::challenge::{self, ChallengeRow};
use crate::models::standing::{self, StandingRow};
use crate::models::{award, now};
use crate::news::{self, Draft, Kind};
use crate::rules::RuleRunner;

/// Applies an action to a challenge; closing also freezes the standings, in the same
/// transaction, which also records the action in the audit log as `by`'s.
pub fn apply(
    conn: &mut DbConnection,
    id: Uuid,
    action: Action,
    runner: &RuleRunner,
    by: &Actor,
) -> Result<ChallengeRow, AppError> {
    audit::write(conn, by, audited(action), |conn, entry| {
        let row = challenge::find(conn, id)?.ok_or(AppError::NotFound("challenge"))?;
        entry.object(id).before(&row)?;
        let by = by.id.ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("a challenge is moved by an account"))
        })?;
        let current = Challenge::try_from(&row)?;
        let now = now();
        let next = lifecycle::apply(current.status, action, now, row.starts_at, row.ends_at)
            .map_err(|refusal| AppError::conflict(refusal.code, refusal.detail))?;
        let moved = challenge::move_status(conn, id, current.status.as_str(), next.as_str(), now)?
            .ok_or_else(|| {
                AppError::conflict(
                    "invalid_transition",
                    "the challenge changed meanwhile; read it again",
                )
            })?;
        let recorded = Challenge::try_from(&moved)?;
        match action {
            Action::Start => {
                news::record(conn, news_of_start(&recorded), now)?;
            }
            Action::Close => {
                // The row as the close left it (`recorded`): a rule-version change
                // committed just before is frozen with its new version, never the one
                // read above.
                let closing = &recorded;
                let table = freeze(conn, closing, runner)?;
                awarding::give(conn, runner, closing, &table, now, by)?;
                let draft = Draft::new(
                    Kind::ChallengeClosed,
                    id,
                    format!("“{}” is closed; its standings are final.", closing.name),
                );
                news::record(conn, draft, now)?;
            }
            Action::Announce => {
                award::announce_all(conn, id, now, by)?;
                let draft = Draft::new(
                    Kind::ResultsAnnounced,
                    id,
                    format!("The results of “{}” are announced.", recorded.name),
                );
                news::record(conn, draft, now)?;
            }
            _ => {}
        }
        entry.after(&moved)?;
        Ok(moved)
    })
}

/// The audit action of a lifecycle action.
fn audited(action: Action) -> audit::Action {
    match action {
        Action::Schedule => audit::Action::ChallengeScheduled,
        Action::Start => audit::Action::ChallengeStarted,
        Action::Close => audit::Action::ChallengeClosed,
        Action::Announce => audit::Action::ChallengeAnnounced,
    }
}

/// Stores the standings as they are now; they no longer change afterwards.
fn freeze(
    conn: &mut DbConnection,
    challenge: &Challenge,
    runner: &RuleRunner,
) -> Result<standings::Table, AppError> {
    let table = standings::compute(conn, challenge, runner)?;
    let rows = table
        .lines
        .iter()
        .enumerate()
        .map(|(position, line)| {
            Ok(StandingRow {
                challenge_id: challenge.id.to_string(),
                entrant_id: line.entrant_id().to_string(),
                position: i32::try_from(position).map_err(AppError::internal)?,
                rank: line.line.rank.map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
                region_id: line.region_id.map(|id| id.to_string()),
                organisation_id: line.organisation_id.map(|id| id.to_string()),
                line: serde_json::to_string(line).map_err(AppError::internal)?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    standing::insert_all(conn, &rows)?;
    Ok(table)
}

/// "The challenge started", with its end.
fn news_of_start(challenge: &Challenge) -> Draft {
    let mut draft = Draft::new(
        Kind::ChallengeStarted,
        challenge.id,
        format!(
            "“{}” has started; it ends on {} UTC.",
            challenge.name,
            challenge.period.ends_at.format("%Y-%m-%d %H:%M")
        ),
    );
    draft.details = serde_json::json!({
        "starts_at": crate::models::utc(challenge.period.starts_at),
        "ends_at": crate::models::utc(challenge.period.ends_at),
    });
    draft
}
