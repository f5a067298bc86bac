//! The life of a challenge: draft → scheduled → running → closed → announced, moved only
//! by explicit actions whose preconditions are checked here.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ChallengeStatus)]
pub enum Status {
    /// Being prepared; only admins see it; every field may change.
    Draft,
    /// Published and waiting for its start.
    Scheduled,
    /// Started: sales in the period count, standings are live.
    Running,
    /// Over: standings are frozen.
    Closed,
    /// Results officially announced.
    Announced,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Running => "running",
            Status::Closed => "closed",
            Status::Announced => "announced",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Status::Draft,
            Status::Scheduled,
            Status::Running,
            Status::Closed,
            Status::Announced,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// Whether the standings are frozen.
    pub fn is_frozen(self) -> bool {
        matches!(self, Status::Closed | Status::Announced)
    }
}

/// An explicit move of a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Schedule,
    Start,
    Close,
    Announce,
}

/// Why an action is refused, as a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub detail: String,
}

/// The status an action leads to, or why it cannot happen now.
pub fn apply(
    current: Status,
    action: Action,
    now: NaiveDateTime,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
) -> Result<Status, Refusal> {
    let (from, to) = match action {
        Action::Schedule => (Status::Draft, Status::Scheduled),
        Action::Start => (Status::Scheduled, Status::Running),
        Action::Close => (Status::Running, Status::Closed),
        Action::Announce => (Status::Closed, Status::Announced),
    };
    if current != from {
        return Err(Refusal {
            code: "invalid_transition",
            detail: format!(
                "a {} challenge cannot become {}; only a {} one can",
                current.as_str(),
                to.as_str(),
                from.as_str()
            ),
        });
    }
    match action {
        Action::Start if now < starts_at => Err(Refusal {
            code: "not_started_yet",
            detail: format!("the challenge starts at {starts_at} UTC; it cannot be started before"),
        }),
        Action::Close if now < ends_at => Err(Refusal {
            code: "not_over_yet",
            detail: format!("the challenge ends at {ends_at} UTC; it cannot be closed before"),
        }),
        _ => Ok(to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 6, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date")
    }

    #[test]
    fn the_happy_path() {
        let (start, end) = (day(10), day(20));
        let mut status = Status::Draft;
        for (action, now) in [
            (Action::Schedule, day(1)),
            (Action::Start, day(10)),
            (Action::Close, day(20)),
            (Action::Announce, day(21)),
        ] {
            status = apply(status, action, now, start, end).expect("allowed");
        }
        assert_eq!(status, Status::Announced);
    }

    #[test]
    fn preconditions_are_checked() {
        let (start, end) = (day(10), day(20));
        let refusal =
            apply(Status::Scheduled, Action::Start, day(9), start, end).expect_err("too early");
        assert_eq!(refusal.code, "not_started_yet");
        let refusal =
            apply(Status::Running, Action::Close, day(19), start, end).expect_err("not over");
        assert_eq!(refusal.code, "not_over_yet");
        let refusal =
            apply(Status::Draft, Action::Close, day(25), start, end).expect_err("skips steps");
        assert_eq!(refusal.code, "invalid_transition");
        let refusal = apply(Status::Closed, Action::Close, day(25), start, end).expect_err("twice");
        assert_eq!(refusal.code, "invalid_transition");
    }

    #[test]
    fn statuses_round_trip_as_text() {
        for status in [
            Status::Draft,
            Status::Scheduled,
            Status::Running,
            Status::Closed,
            Status::Announced,
        ] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("cancelled"), None);
    }
}
