//! Reading a challenge's standings for a caller: the one place every reader (pages, one
//! line, streams, digests, share pages, exports) gets lines from.
//!
//! Frozen tables are read from `standing_lines`, one page at a time. Live ones are the
//! engine's current snapshot, without waiting for changes in flight, or once a change the
//! caller names is applied (see [`super::engine`]): the database connection is given back
//! before any wait, and a page is a slice of the snapshot.

use std::sync::Arc;

use chrono::NaiveDateTime;
use uuid::Uuid;

use super::engine::Engine;
use super::standings::{self, Challenge, EntrantLine, Table, View};
use crate::auth::AuthUser;
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::models::change;
use crate::models::standing::{self, StandingFilter};

/// One page of the lines a caller may see, the total over all pages, and, for live lines,
/// when they were computed and the last change they reflect (`None` for frozen ones).
#[derive(Debug, Clone, Default)]
pub struct LinesPage {
    pub lines: Vec<EntrantLine>,
    pub total: i64,
    pub computed_at: Option<NaiveDateTime>,
    pub change: Option<i64>,
}

/// Which lines: `limit` from `offset`, in rank order.
#[derive(Debug, Clone, Copy)]
pub struct Slice {
    pub limit: i64,
    pub offset: i64,
}

impl Slice {
    /// Every line (exports, digests).
    pub const ALL: Slice = Slice {
        limit: i64::MAX,
        offset: 0,
    };
}

/// The lines of a standing table frozen for `view`, or `None` for no line at all.
fn frozen_filter(view: View) -> Option<StandingFilter> {
    let filter = StandingFilter::default();
    match view {
        View::All => Some(filter),
        View::Region(id) => Some(StandingFilter {
            region_id: Some(id),
            ..filter
        }),
        View::Organisation(id) => Some(StandingFilter {
            organisation_id: Some(id),
            ..filter
        }),
        View::Entrant(id) => Some(StandingFilter {
            entrant_id: Some(id),
            ..filter
        }),
        View::Nothing => None,
    }
}

pub fn parse_line(json: &str) -> Result<EntrantLine, AppError> {
    serde_json::from_str(json).map_err(|e| {
        AppError::internal(anyhow::anyhow!(
            "a frozen standings line is unreadable: {e}"
        ))
    })
}

/// Waits, holding no connection, until the engine has applied every change committed
/// before this call: what a reader that then works on one connection ([`live_table_on`])
/// does first.
pub async fn caught_up(pool: &Pool, engine: &Engine) -> Result<(), AppError> {
    let seq = pool.run(|conn| Ok(change::latest(conn)?)).await?;
    engine.caught_up(seq).await
}

/// The live table for a thread that already holds a connection (a share page; the
/// current side of a simulation, after [`caught_up`]): the engine's current table, or a
/// whole computation on this connection when the engine has none for this revision of
/// the challenge (a table being built). Never waits, so a connection is not held while
/// the engine works.
pub fn live_table_on(
    conn: &mut DbConnection,
    engine: &Engine,
    challenge: &Challenge,
) -> Result<Arc<Table>, AppError> {
    match engine.snapshot(challenge.id) {
        Some(live) if live.revision == challenge.revision => {
            live.outcome.clone().map_err(AppError::rule_failed)
        }
        _ => standings::compute(conn, challenge, engine.runner()).map(Arc::new),
    }
}

/// Where a read's lines come from: the engine's table (with the log's last change when the
/// challenge was read), or what was read of the frozen table.
enum Source<T> {
    Live(i64),
    Frozen(T),
}

/// The challenge (`load` finds it and checks that the caller may see it: the access
/// rules' part), the caller's view, and the source of its lines, in one database round
/// trip: for a frozen challenge `frozen` reads what is wanted of its stored lines.
async fn open<L, F, T>(
    pool: &Pool,
    caller: &AuthUser,
    load: L,
    frozen: F,
) -> Result<(Challenge, View, Source<T>), AppError>
where
    L: FnOnce(&mut DbConnection) -> Result<Challenge, AppError> + Send + 'static,
    F: FnOnce(&mut DbConnection, &Challenge, View) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let caller = caller.clone();
    pool.run(move |conn| {
        let challenge = load(conn)?;
        let view = standings::view_for(conn, &caller, &challenge)?;
        let source = if challenge.status.is_frozen() {
            Source::Frozen(frozen(conn, &challenge, view)?)
        } else {
            Source::Live(change::latest(conn)?)
        };
        Ok((challenge, view, source))
    })
    .await
}

/// One page of what `caller` may see of a challenge's standings, with the challenge
/// (`load` as for [`open`]), once change `min` is applied if given. A live page costs one
/// trip to the database and a slice of the engine's table.
pub async fn page<L>(
    pool: &Pool,
    engine: &Engine,
    caller: &AuthUser,
    load: L,
    slice: Slice,
    min: Option<i64>,
) -> Result<(Challenge, LinesPage), AppError>
where
    L: FnOnce(&mut DbConnection) -> Result<Challenge, AppError> + Send + 'static,
{
    let frozen = move |conn: &mut DbConnection, challenge: &Challenge, view: View| {
        let Some(filter) = frozen_filter(view) else {
            return Ok(LinesPage::default());
        };
        let (rows, total) = standing::page(conn, challenge.id, &filter, slice.limit, slice.offset)?;
        let lines = rows
            .iter()
            .map(|r| parse_line(&r.line))
            .collect::<Result<_, _>>()?;
        Ok(LinesPage {
            lines,
            total,
            ..LinesPage::default()
        })
    };
    match open(pool, caller, load, frozen).await? {
        (challenge, _, Source::Frozen(page)) => Ok((challenge, page)),
        (challenge, view, Source::Live(latest)) => {
            let (table, change) = engine.live(&challenge, min, latest).await?;
            let page = LinesPage {
                change: Some(change),
                ..slice_of(&table, view, slice)
            };
            Ok((challenge, page))
        }
    }
}

/// The lines of `table` that `view` shows, sliced.
pub fn slice_of(table: &Table, view: View, slice: Slice) -> LinesPage {
    let offset = usize::try_from(slice.offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(slice.limit).unwrap_or(usize::MAX);
    let (lines, total) = if view == View::All {
        (
            table
                .lines
                .iter()
                .skip(offset)
                .take(limit)
                .map(|line| EntrantLine::clone(line))
                .collect(),
            table.lines.len(),
        )
    } else {
        let mut total = 0;
        let mut lines = Vec::new();
        for line in table.lines.iter().filter(|l| view.shows(l)) {
            if total >= offset && lines.len() < limit {
                lines.push(EntrantLine::clone(line));
            }
            total += 1;
        }
        (lines, total)
    };
    LinesPage {
        lines,
        total: i64::try_from(total).unwrap_or(i64::MAX),
        computed_at: table.computed_at,
        change: None,
    }
}

/// One entrant's line, if `caller` may see it, with the challenge (`load` as for
/// [`open`]) and, for a live line, the last change it reflects; once change `min` is
/// applied if given.
pub async fn line<L>(
    pool: &Pool,
    engine: &Engine,
    caller: &AuthUser,
    load: L,
    entrant_id: Uuid,
    min: Option<i64>,
) -> Result<(Challenge, Option<EntrantLine>, Option<i64>), AppError>
where
    L: FnOnce(&mut DbConnection) -> Result<Challenge, AppError> + Send + 'static,
{
    let frozen = move |conn: &mut DbConnection, challenge: &Challenge, _: View| {
        let filter = StandingFilter {
            entrant_id: Some(entrant_id),
            ..StandingFilter::default()
        };
        let (rows, _) = standing::page(conn, challenge.id, &filter, 1, 0)?;
        rows.first().map(|r| parse_line(&r.line)).transpose()
    };
    let (challenge, view, line, change) = match open(pool, caller, load, frozen).await? {
        (challenge, view, Source::Frozen(line)) => (challenge, view, line, None),
        (challenge, view, Source::Live(latest)) => {
            let (table, change) = engine.live(&challenge, min, latest).await?;
            let line = table
                .lines
                .iter()
                .find(|l| l.entrant_id() == entrant_id)
                .map(|line| EntrantLine::clone(line));
            (challenge, view, line, Some(change))
        }
    };
    Ok((challenge, line.filter(|l| view.shows(l)), change))
}
