//! What the standings engine keeps per entrant of a running challenge: starts an engine on
//! the database of `DATABASE_URL` (as the server would, without the HTTP server), waits
//! until it has built every live table, and divides the Rust heap it still holds by the
//! lines of those tables. The heap is jemalloc's count of allocated bytes (the server's
//! allocator too); SQLite's page cache (the system allocator) is not in the figure.
//!
//! `DATABASE_URL=… cargo run --release --example bench_state`

use std::sync::Arc;
use std::time::{Duration, Instant};

use tikv_jemalloc_ctl::{epoch, stats};

/// The bytes the program's Rust heap holds now (jemalloc's `stats.allocated`).
fn allocated() -> Result<usize, Box<dyn std::error::Error>> {
    epoch::advance().map_err(|e| format!("jemalloc epoch: {e}"))?;
    Ok(stats::allocated::read().map_err(|e| format!("jemalloc stats: {e}"))?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = podium::settings::Settings::load()?;
    let url = podium::db::DatabaseUrl::parse(&settings.database_url);
    let pool = podium::db::Pool::connect(&url, 2, Duration::from_secs(30))?;
    let mut conn = pool.get()?;
    let mut live = Vec::new();
    for status in ["draft", "scheduled", "running"] {
        live.extend(podium::models::challenge::with_status(&mut conn, status)?);
    }
    drop(conn);
    let runner = Arc::new(podium::rules::RuleRunner::new(settings.rule_limits(), 1));
    let before = allocated()?;
    let started = Instant::now();
    let engine = podium::challenges::engine::Engine::start(
        pool,
        runner,
        podium::news::bus::shared(),
        Duration::from_secs(3600),
    )?;
    while engine.applied() < 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let built = started.elapsed();
    // Let the build's temporaries go (the engine thread frees them before it idles).
    std::thread::sleep(Duration::from_millis(200));
    let held = allocated()?.saturating_sub(before);
    let mut lines = 0usize;
    for row in &live {
        let id: uuid::Uuid = row.id.parse()?;
        if let Some(table) = engine.snapshot(id).and_then(|l| l.outcome.clone().ok()) {
            lines += table.lines.len();
        }
    }
    println!(
        "{} live challenges, {lines} lines, built in {:.0} ms; the engine holds {:.1} MB of heap: {} bytes per line",
        live.len(),
        built.as_secs_f64() * 1000.0,
        held as f64 / 1e6,
        held.checked_div(lines).unwrap_or(0)
    );
    Ok(())
}
