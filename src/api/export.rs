//! The whole standings table in the caller's view as CSV or NDJSON, for spreadsheets and
//! BI tools: `GET /challenges/{id}/standings` with `Accept: text/csv` or
//! `Accept: application/x-ndjson`. Same lines, same order and same values as the JSON
//! pages; every line unless `limit`/`offset` are given.
//!
//! CSV: one header row, one row per line, decimals as written in JSON (`"1234.5"`),
//! timestamps in RFC 3339 UTC. A text cell that a spreadsheet would read as a formula
//! (starting, after any spaces, with `=`, `+`, `-`, `@`, their full-width forms, a tab or
//! a line break) is prefixed with `'`: entrant names come from users. The value itself is
//! stored as sent; only the CSV the API writes is defused. NDJSON: one `StandingLine` JSON object per line.

use actix_web::http::header;
use actix_web::HttpRequest;

use super::standings::StandingLineDto;
use crate::error::AppError;

/// What the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Ndjson,
}

pub const CSV: &str = "text/csv";
pub const NDJSON: &str = "application/x-ndjson";

/// The first media range of `Accept` (q=0 ranges skipped) that names one of the formats;
/// JSON when there is none or it comes first (`*/*`, `application/json`).
pub fn format_of(req: &HttpRequest) -> Format {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match media.as_str() {
            CSV => return Format::Csv,
            NDJSON => return Format::Ndjson,
            "application/json" | "application/*" | "*/*" => return Format::Json,
            _ => {}
        }
    }
    Format::Json
}

const COLUMNS: &[&str] = &[
    "rank",
    "entrant_id",
    "entrant_name",
    "unit",
    "raw_value",
    "value_unit",
    "score",
    "passed_threshold",
    "qualified",
    "target",
    "progress_percent",
    "reached",
    "tied",
    "tie_break",
    "revenue_cents",
    "units",
    "baseline_revenue_cents",
    "new_customers",
    "last_sale_at",
];

/// A text cell a spreadsheet will not evaluate. Spreadsheets skip leading spaces before a
/// formula and some read the full-width signs as their ASCII twins, so both count.
fn text(value: &str) -> String {
    let first = value.trim_start_matches(' ').chars().next();
    match first {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | '＝' | '＋' | '－' | '＠') => {
            format!("'{value}")
        }
        _ => value.to_owned(),
    }
}

fn plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) | Err(_) => String::new(),
        Ok(other) => other.to_string(),
    }
}

/// The lines as CSV.
pub fn csv(lines: &[StandingLineDto]) -> Result<Vec<u8>, AppError> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(64 + lines.len() * 160));
    out.write_record(COLUMNS).map_err(AppError::internal)?;
    for line in lines {
        let t = &line.totals;
        out.write_record([
            plain(&line.rank),
            line.entrant.id.to_string(),
            text(&line.entrant.name),
            plain(&line.entrant.unit),
            plain(&line.raw_value),
            plain(&line.value_unit),
            plain(&line.score),
            line.passed_threshold.to_string(),
            line.qualified.to_string(),
            plain(&line.target),
            plain(&line.progress_percent),
            plain(&line.reached),
            line.tied.to_string(),
            plain(&line.tie_break),
            t.revenue_cents.to_string(),
            t.units.to_string(),
            t.baseline_revenue_cents.to_string(),
            plain(&t.new_customers),
            t.last_sale_at
                .map(|at| {
                    at.and_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                })
                .unwrap_or_default(),
        ])
        .map_err(AppError::internal)?;
    }
    out.into_inner()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

/// The lines as NDJSON.
pub fn ndjson(lines: &[StandingLineDto]) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::with_capacity(lines.len() * 400);
    for line in lines {
        serde_json::to_writer(&mut out, line).map_err(AppError::internal)?;
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_names_kept() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("-1"), "'-1");
        assert_eq!(text("Dupont & Fils"), "Dupont & Fils");
        assert_eq!(text("  =1+1"), "'  =1+1");
        assert_eq!(text("＝HYPERLINK(\"x\")"), "'＝HYPERLINK(\"x\")");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn accept_picks_the_first_named_format() {
        let format = |accept: &str| {
            let req = actix_web::test::TestRequest::default()
                .insert_header((header::ACCEPT, accept))
                .to_http_request();
            format_of(&req)
        };
        assert_eq!(format("text/csv"), Format::Csv);
        assert_eq!(format("application/x-ndjson"), Format::Ndjson);
        assert_eq!(format("application/json, text/csv"), Format::Json);
        assert_eq!(format("text/csv;q=0, application/x-ndjson"), Format::Ndjson);
        assert_eq!(format("*/*"), Format::Json);
        assert_eq!(format("text/html"), Format::Json);
    }
}
