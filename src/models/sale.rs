//! Sale lines: recording batches, finding what was already recorded, listing, and the
//! `GROUP BY` sums that scoring needs.
//!
//! Bulk insert and the sums' SQL differ between backends (diesel's derived connection has
//! no batch insert, and placeholders differ); both are matched on the backend here, and
//! nowhere else.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use uuid::Uuid;

use crate::db::{bulk_insert, DbConnection, MultiBackend};
use crate::schema::{customers, participants, sales};
use crate::scoring::totals::{count_new_customers, SaleFact, SaleFilter, Totals, Window};

use super::IN_LIST_CHUNK;

/// The owner of the keys of lines recorded by admins (and the company's integrations):
/// one namespace for the whole company.
pub const COMPANY_OWNER: &str = "company";

/// The owner of the keys of lines a region's manager records: that region's namespace.
pub fn region_owner(region: Uuid) -> String {
    format!("region:{region}")
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = sales)]
pub struct SaleRow {
    pub id: String,
    pub participant_id: String,
    pub customer_id: Option<String>,
    pub product_id: Option<String>,
    pub sold_at: NaiveDateTime,
    pub quantity: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub owner: String,
    pub source: String,
    pub external_id: String,
    pub reverses_id: Option<String>,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

/// Rows per INSERT statement: 14 values each stays under every backend's bind limit.
const INSERT_CHUNK: usize = 1_000;

/// Records lines in one transaction: all or none.
pub fn record(conn: &mut DbConnection, rows: &[SaleRow]) -> QueryResult<()> {
    conn.write_transaction(|conn| {
        bulk_insert!(&mut *conn, sales::table, rows, INSERT_CHUNK)?;
        let Some(first_sold_at) = rows.iter().map(|r| r.sold_at).min() else {
            return Ok(());
        };
        let participants: std::collections::BTreeSet<Uuid> = rows
            .iter()
            .filter_map(|r| Uuid::parse_str(&r.participant_id).ok())
            .collect();
        let change = super::change::Change::Sales {
            participants: participants.into_iter().collect(),
            first_sold_at,
        };
        super::change::record(conn, &change).map(|_| ())
    })
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<SaleRow>> {
    sales::table.find(id.to_string()).first(conn).optional()
}

/// The lines of `owner` and `source` whose external ids are among `external_ids`.
pub fn find_by_external_ids(
    conn: &mut DbConnection,
    owner: &str,
    source: &str,
    external_ids: &[String],
) -> QueryResult<Vec<SaleRow>> {
    let mut found = Vec::new();
    for chunk in external_ids.chunks(IN_LIST_CHUNK) {
        found.extend(
            sales::table
                .filter(sales::owner.eq(owner))
                .filter(sales::source.eq(source))
                .filter(sales::external_id.eq_any(chunk))
                .load::<SaleRow>(conn)?,
        );
    }
    Ok(found)
}

/// For each of `original_ids`, the quantity and amount already reversed (negative sums).
pub fn reversed_so_far(
    conn: &mut DbConnection,
    original_ids: &[String],
) -> QueryResult<HashMap<String, (i64, i64)>> {
    let mut sums: HashMap<String, (i64, i64)> = HashMap::new();
    for chunk in original_ids.chunks(IN_LIST_CHUNK) {
        let rows: Vec<(Option<String>, i64, i64)> = sales::table
            .filter(sales::reverses_id.eq_any(chunk))
            .select((sales::reverses_id, sales::quantity, sales::amount_cents))
            .load(conn)?;
        for (original, quantity, amount) in rows {
            if let Some(original) = original {
                let entry = sums.entry(original).or_default();
                entry.0 += quantity;
                entry.1 += amount;
            }
        }
    }
    Ok(sums)
}

/// Which sales a list may show and should return.
#[derive(Debug, Clone, Default)]
pub struct SaleListFilter {
    /// Only sales of participants of this organisation (partners).
    pub organisation_id: Option<Uuid>,
    /// Only sales of participants of this region (managers).
    pub region_id: Option<Uuid>,
    pub participant_id: Option<Uuid>,
    pub source: Option<String>,
    pub sold_from: Option<NaiveDateTime>,
    pub sold_before: Option<NaiveDateTime>,
    pub newest_first: bool,
}

fn filtered(filter: &SaleListFilter) -> sales::BoxedQuery<'static, MultiBackend> {
    let mut query = sales::table.into_boxed();
    if let Some(org) = filter.organisation_id {
        query = query.filter(
            sales::participant_id.eq_any(
                participants::table
                    .filter(participants::organisation_id.eq(org.to_string()))
                    .select(participants::id),
            ),
        );
    }
    if let Some(region) = filter.region_id {
        query = query.filter(
            sales::participant_id.eq_any(
                participants::table
                    .filter(participants::region_id.eq(region.to_string()))
                    .select(participants::id),
            ),
        );
    }
    if let Some(id) = filter.participant_id {
        query = query.filter(sales::participant_id.eq(id.to_string()));
    }
    if let Some(source) = &filter.source {
        query = query.filter(sales::source.eq(source.clone()));
    }
    if let Some(from) = filter.sold_from {
        query = query.filter(sales::sold_at.ge(from));
    }
    if let Some(before) = filter.sold_before {
        query = query.filter(sales::sold_at.lt(before));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    filter: &SaleListFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<SaleRow>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    let query = if filter.newest_first {
        filtered(filter).order((sales::sold_at.desc(), sales::id.desc()))
    } else {
        filtered(filter).order((sales::sold_at.asc(), sales::id.asc()))
    };
    let rows = query.limit(limit).offset(offset).load(conn)?;
    Ok((rows, total))
}

/// participant, customer, product, key account, currency, sold at, quantity, amount.
type FactColumns = (
    String,
    Option<String>,
    Option<String>,
    Option<bool>,
    String,
    NaiveDateTime,
    i64,
    i64,
);

/// Every line as scoring sees it (for checks and small data sets; scoring itself uses
/// [`totals`]).
pub fn facts(conn: &mut DbConnection) -> QueryResult<Vec<SaleFact>> {
    let rows: Vec<FactColumns> = sales::table
        .left_join(customers::table)
        .select((
            sales::participant_id,
            sales::customer_id,
            sales::product_id,
            customers::key_account.nullable(),
            sales::currency,
            sales::sold_at,
            sales::quantity,
            sales::amount_cents,
        ))
        .load(conn)?;
    rows.into_iter().map(fact).collect()
}

/// A sale line with what a script sees of its product and customer.
#[derive(Debug, Clone)]
pub struct ScriptLine {
    pub fact: SaleFact,
    /// The product's SKU and category, empty when the line names no product.
    pub sku: String,
    pub category: String,
    /// The customer's reference, empty when the line names none.
    pub customer_reference: String,
}

type ScriptColumns = (FactColumns, Option<String>, Option<String>, Option<String>);

/// Every line in `currency` sold before `until`, for script objectives (whole history
/// before the period too: it says which customers are new), handed to `visit` one at a
/// time as the rows stream in, so the caller keeps only its own compact form. With
/// `participants`, only theirs (read by the per-participant index).
pub fn each_script_line(
    conn: &mut DbConnection,
    currency: &str,
    until: NaiveDateTime,
    participants: Option<&std::collections::BTreeSet<Uuid>>,
    mut visit: impl FnMut(ScriptLine),
) -> QueryResult<()> {
    use crate::schema::products;
    let mut query = sales::table
        .left_join(customers::table)
        .left_join(products::table)
        .filter(sales::currency.eq(currency.to_owned()))
        .filter(sales::sold_at.lt(until))
        .into_boxed::<MultiBackend>();
    if let Some(only) = participants {
        let ids: Vec<String> = only.iter().map(Uuid::to_string).collect();
        query = query.filter(sales::participant_id.eq_any(ids));
    }
    let rows = query
        .select((
            (
                sales::participant_id,
                sales::customer_id,
                sales::product_id,
                customers::key_account.nullable(),
                sales::currency,
                sales::sold_at,
                sales::quantity,
                sales::amount_cents,
            ),
            products::sku.nullable(),
            products::category.nullable(),
            customers::reference.nullable(),
        ))
        .load_iter::<ScriptColumns, diesel::connection::DefaultLoadingMode>(conn)?;
    for row in rows {
        let (columns, sku, category, reference) = row?;
        visit(ScriptLine {
            fact: fact(columns)?,
            sku: sku.unwrap_or_default(),
            category: category.unwrap_or_default(),
            customer_reference: reference.unwrap_or_default(),
        });
    }
    Ok(())
}

fn fact(columns: FactColumns) -> QueryResult<SaleFact> {
    let (participant, customer, product, key_account, currency, sold_at, quantity, amount) =
        columns;
    let parse = |s: &str| {
        Uuid::parse_str(s).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
    };
    Ok(SaleFact {
        participant_id: parse(&participant)?,
        customer_id: customer.as_deref().map(parse).transpose()?,
        product_id: product.as_deref().map(parse).transpose()?,
        key_account: key_account.unwrap_or(false),
        currency,
        sold_at,
        quantity,
        amount_cents: amount,
    })
}

#[derive(QueryableByName)]
struct TotalsRow {
    #[diesel(sql_type = Text)]
    participant_id: String,
    #[diesel(sql_type = BigInt)]
    revenue_cents: i64,
    #[diesel(sql_type = BigInt)]
    units: i64,
    #[diesel(sql_type = BigInt)]
    baseline_revenue_cents: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_sale_at: Option<NaiveDateTime>,
}

#[derive(QueryableByName)]
struct CustomerLedgerRow {
    #[diesel(sql_type = Text)]
    participant_id: String,
    #[diesel(sql_type = BigInt)]
    before_cents: i64,
    #[diesel(sql_type = BigInt)]
    during_cents: i64,
}

/// Numbers placeholders in the style of the connection's backend (`$n` or `?n`); a
/// numbered placeholder can appear several times and is bound once.
struct SqlText {
    postgres: bool,
    count: usize,
}

impl SqlText {
    fn placeholder(&mut self) -> String {
        self.count += 1;
        if self.postgres {
            format!("${}", self.count)
        } else {
            format!("?{}", self.count)
        }
    }
}

/// The restrictions of a [`SaleFilter`], as SQL over `sales s` (and `customers c` when
/// key accounts matter); the values to bind, in order, are the currency, the products,
/// then the participants ([`bind_filter`]).
fn filter_sql(sql: &mut SqlText, filter: &SaleFilter) -> (String, String) {
    let join = if filter.key_accounts_only {
        " JOIN customers c ON c.id = s.customer_id AND c.key_account".to_owned()
    } else {
        String::new()
    };
    let mut condition = format!("s.currency = {}", sql.placeholder());
    match &filter.products {
        // No product counts (an audience and an objective without products in common);
        // `IN ()` is an error on PostgreSQL.
        Some(products) if products.is_empty() => condition.push_str(" AND 1 = 0"),
        Some(products) => {
            let list: Vec<String> = products.iter().map(|_| sql.placeholder()).collect();
            condition.push_str(&format!(" AND s.product_id IN ({})", list.join(", ")));
        }
        None => {}
    }
    match &filter.participants {
        Some(only) if only.is_empty() => condition.push_str(" AND 1 = 0"),
        Some(only) => {
            let list: Vec<String> = only.iter().map(|_| sql.placeholder()).collect();
            condition.push_str(&format!(" AND s.participant_id IN ({})", list.join(", ")));
        }
        None => {}
    }
    (join, condition)
}

/// Binds the values of [`filter_sql`], in its order.
fn bind_filter<'a>(
    mut query: diesel::query_builder::BoxedSqlQuery<
        'a,
        MultiBackend,
        diesel::query_builder::SqlQuery,
    >,
    filter: &SaleFilter,
) -> diesel::query_builder::BoxedSqlQuery<'a, MultiBackend, diesel::query_builder::SqlQuery> {
    query = query.bind::<Text, _>(filter.currency.clone());
    for product in filter.products.iter().flatten() {
        query = query.bind::<Text, _>(product.to_string());
    }
    for participant in filter.participants.iter().flatten() {
        query = query.bind::<Text, _>(participant.to_string());
    }
    query
}

/// Per participant, the sums scoring needs: the same as [`Totals::from_sales`] over each
/// participant's lines, computed by the database.
pub fn totals(
    conn: &mut DbConnection,
    filter: &SaleFilter,
    period: Window,
    baseline: Option<Window>,
    with_new_customers: bool,
) -> QueryResult<HashMap<String, Totals>> {
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    let mut sql = SqlText { postgres, count: 0 };
    let (p_start, p_end) = (sql.placeholder(), sql.placeholder());
    let (b_start, b_end) = (sql.placeholder(), sql.placeholder());
    let (join, condition) = filter_sql(&mut sql, filter);
    let in_period = format!("s.sold_at >= {p_start} AND s.sold_at < {p_end}");
    let in_baseline = format!("s.sold_at >= {b_start} AND s.sold_at < {b_end}");
    let text = format!(
        "SELECT s.participant_id AS participant_id, \
           CAST(COALESCE(SUM(CASE WHEN {in_period} THEN s.amount_cents ELSE 0 END), 0) AS BIGINT) AS revenue_cents, \
           CAST(COALESCE(SUM(CASE WHEN {in_period} THEN s.quantity ELSE 0 END), 0) AS BIGINT) AS units, \
           CAST(COALESCE(SUM(CASE WHEN {in_baseline} THEN s.amount_cents ELSE 0 END), 0) AS BIGINT) AS baseline_revenue_cents, \
           MAX(CASE WHEN {in_period} THEN s.sold_at END) AS last_sale_at \
         FROM sales s{join} \
         WHERE {condition} AND (({in_period}) OR ({in_baseline})) \
         GROUP BY s.participant_id"
    );
    // Without a baseline, an empty window.
    let baseline = baseline.unwrap_or(Window {
        starts_at: period.starts_at,
        ends_at: period.starts_at,
    });
    let query = diesel::sql_query(text)
        .into_boxed::<MultiBackend>()
        .bind::<Timestamp, _>(period.starts_at)
        .bind::<Timestamp, _>(period.ends_at)
        .bind::<Timestamp, _>(baseline.starts_at)
        .bind::<Timestamp, _>(baseline.ends_at);
    let rows: Vec<TotalsRow> = bind_filter(query, filter).load(conn)?;
    let mut totals: HashMap<String, Totals> = rows
        .into_iter()
        .map(|row| {
            (
                row.participant_id,
                Totals {
                    revenue_cents: row.revenue_cents,
                    units: row.units,
                    baseline_revenue_cents: row.baseline_revenue_cents,
                    new_customers: with_new_customers.then_some(0),
                    last_sale_at: row.last_sale_at,
                },
            )
        })
        .collect();
    if with_new_customers {
        for (participant, count) in new_customers(conn, filter, period)? {
            totals.entry(participant).or_default().new_customers = Some(count);
        }
    }
    Ok(totals)
}

/// Per participant, the customers won in the period (see [`count_new_customers`]).
fn new_customers(
    conn: &mut DbConnection,
    filter: &SaleFilter,
    period: Window,
) -> QueryResult<HashMap<String, i64>> {
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    let mut sql = SqlText { postgres, count: 0 };
    let (p_start, p_end) = (sql.placeholder(), sql.placeholder());
    let (join, condition) = filter_sql(&mut sql, filter);
    let text = format!(
        "SELECT s.participant_id AS participant_id, \
           CAST(COALESCE(SUM(CASE WHEN s.sold_at < {p_start} THEN s.amount_cents ELSE 0 END), 0) AS BIGINT) AS before_cents, \
           CAST(COALESCE(SUM(CASE WHEN s.sold_at >= {p_start} THEN s.amount_cents ELSE 0 END), 0) AS BIGINT) AS during_cents \
         FROM sales s{join} \
         WHERE {condition} AND s.customer_id IS NOT NULL AND s.sold_at < {p_end} \
         GROUP BY s.participant_id, s.customer_id"
    );
    let query = diesel::sql_query(text)
        .into_boxed::<MultiBackend>()
        .bind::<Timestamp, _>(period.starts_at)
        .bind::<Timestamp, _>(period.ends_at);
    let rows: Vec<CustomerLedgerRow> = bind_filter(query, filter).load(conn)?;
    let mut ledgers: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for row in rows {
        ledgers
            .entry(row.participant_id)
            .or_default()
            .push((row.before_cents, row.during_cents));
    }
    Ok(ledgers
        .into_iter()
        .map(|(participant, ledger)| (participant, count_new_customers(ledger)))
        .collect())
}
