//! News items: one row per thing that happened in a challenge, numbered in the order they
//! were committed (see `news::record`), with the subject entrant's region and
//! organisation so that a list can be narrowed to what a reader may see.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::schema::{challenges, news};

/// The kind of news about an award: seen as awards are, not as standings lines.
const AWARD_FULFILLED: &str = "award_fulfilled";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = news)]
pub struct NewsRow {
    pub id: i64,
    pub kind: String,
    pub challenge_id: String,
    pub entrant_id: Option<String>,
    pub entrant_name: Option<String>,
    pub region_id: Option<String>,
    pub organisation_id: Option<String>,
    pub award_id: Option<String>,
    pub message: String,
    pub details: String,
    pub occurred_at: NaiveDateTime,
    pub dedupe_key: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = news)]
pub struct NewNews {
    pub kind: String,
    pub challenge_id: String,
    pub entrant_id: Option<String>,
    pub entrant_name: Option<String>,
    pub region_id: Option<String>,
    pub organisation_id: Option<String>,
    pub award_id: Option<String>,
    pub message: String,
    pub details: String,
    pub occurred_at: NaiveDateTime,
    pub dedupe_key: Option<String>,
}

/// Whose news a list shows: news without a subject entrant are for everyone who may see the
/// challenge; news about an entrant only for those who may see that entrant's line.
#[derive(Debug, Clone, Default)]
pub enum Audience {
    #[default]
    Everything,
    Region(Uuid),
    Organisation(Uuid),
    /// A participant: news about its own entrants (itself, its team, region and
    /// organisation), and the standings news of challenges whose standings are visible to
    /// all (never another entrant's award, which only its owner sees).
    Participant {
        entrants: Vec<Uuid>,
    },
}

impl Audience {
    /// Whether a news item is for this audience; `standings_visible` is the challenge's.
    pub fn sees(&self, row: &NewsRow, standings_visible: bool) -> bool {
        let Some(entrant) = row.entrant_id.as_deref() else {
            return true;
        };
        let is = |value: &Option<String>, id: &Uuid| value.as_deref() == Some(&*id.to_string());
        match self {
            Audience::Everything => true,
            Audience::Region(id) => is(&row.region_id, id),
            Audience::Organisation(id) => is(&row.organisation_id, id),
            Audience::Participant { entrants } => {
                (standings_visible && row.kind != AWARD_FULFILLED)
                    || entrants.iter().any(|e| e.to_string() == entrant)
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewsFilter {
    pub audience: Audience,
    pub challenge_id: Option<Uuid>,
    pub kinds: Vec<String>,
    /// Only news after this one (a stream's cursor).
    pub after_id: Option<i64>,
    pub since: Option<NaiveDateTime>,
}

fn filtered(filter: &NewsFilter) -> news::BoxedQuery<'static, MultiBackend> {
    let mut query = news::table.into_boxed();
    if let Some(id) = filter.challenge_id {
        query = query.filter(news::challenge_id.eq(id.to_string()));
    }
    if !filter.kinds.is_empty() {
        query = query.filter(news::kind.eq_any(filter.kinds.clone()));
    }
    if let Some(id) = filter.after_id {
        query = query.filter(news::id.gt(id));
    }
    if let Some(since) = filter.since {
        query = query.filter(news::occurred_at.ge(since));
    }
    match &filter.audience {
        Audience::Everything => query,
        Audience::Region(id) => query.filter(
            news::entrant_id
                .is_null()
                .or(news::region_id.eq(id.to_string())),
        ),
        Audience::Organisation(id) => query.filter(
            news::entrant_id
                .is_null()
                .or(news::organisation_id.eq(id.to_string())),
        ),
        Audience::Participant { entrants } => {
            let own: Vec<String> = entrants.iter().map(Uuid::to_string).collect();
            let open = challenges::table
                .filter(challenges::standings_visible.eq(true))
                .select(challenges::id);
            query.filter(
                news::entrant_id
                    .is_null()
                    .or(news::entrant_id.eq_any(own))
                    .or(news::challenge_id
                        .eq_any(open)
                        .and(news::kind.ne(AWARD_FULFILLED))),
            )
        }
    }
}

/// Newest first, one page, and the total.
pub fn page(
    conn: &mut DbConnection,
    filter: &NewsFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<NewsRow>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    let rows = filtered(filter)
        .order(news::id.desc())
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Oldest first, at most `limit`: what a stream or a digest sends in order.
pub fn in_order(
    conn: &mut DbConnection,
    filter: &NewsFilter,
    limit: i64,
) -> QueryResult<Vec<NewsRow>> {
    filtered(filter)
        .order(news::id.asc())
        .limit(limit)
        .load(conn)
}

/// The id of the latest news item, 0 when there is none.
pub fn latest_id(conn: &mut DbConnection) -> QueryResult<i64> {
    news::table
        .select(diesel::dsl::max(news::id))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<NewsRow>> {
    news::table.find(id).first(conn).optional()
}

pub fn exists_with_key(conn: &mut DbConnection, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        news::table.filter(news::dedupe_key.eq(key)),
    ))
    .get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &NewNews) -> QueryResult<NewsRow> {
    diesel::insert_into(news::table)
        .values(row)
        .returning(news::all_columns)
        .get_result(conn)
}
