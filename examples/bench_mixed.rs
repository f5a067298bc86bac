//! Benchmark client for standings under writes: WRITERS tasks record one-line sale
//! batches back to back while READERS tasks read 200-line standings pages (a different
//! page each time), for SECONDS; then, with the writers still running, the whole table as
//! CSV five times, and 100 rounds of "record a sale, read its line": half reading it back
//! by its change (`Podium-Min-Change`), half reading as anyone else would until it shows.
//! Prints throughputs and latency percentiles.
//!
//! `cargo run --release --example bench_mixed -- URL EMAIL PASSWORD CHALLENGE_ID WRITERS READERS SECONDS`
//!
//! The participants written for are read from the challenge's own standings, so every
//! line counts for it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn line(participant: &str, id: u64, amount: u64) -> Value {
    json!({"sales": [{
        "participant_id": participant,
        "sold_at": (chrono::Utc::now() - chrono::Duration::seconds(60)).to_rfc3339(), "quantity": 1,
        "amount_cents": amount, "currency": "EUR", "source": "bench",
        "external_id": format!("mixed-{}-{id}", std::process::id()),
    }]})
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, email, password, challenge, writers, readers, seconds] = args.as_slice() else {
        eprintln!("usage: bench_mixed URL EMAIL PASSWORD CHALLENGE_ID WRITERS READERS SECONDS");
        std::process::exit(2);
    };
    let (writers, readers): (usize, usize) = (writers.parse()?, readers.parse()?);
    let duration = Duration::from_secs(seconds.parse()?);
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{url}/api/v1/auth/token"))
        .json(&json!({"grant_type": "password", "email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = Arc::new(
        token["access_token"]
            .as_str()
            .ok_or("sign-in failed")?
            .to_owned(),
    );
    let standings = format!("{url}/api/v1/challenges/{challenge}/standings");
    let first: Value = http
        .get(format!("{standings}?limit=200"))
        .bearer_auth(token.as_str())
        .send()
        .await?
        .json()
        .await?;
    let total = first["total"].as_u64().unwrap_or(0);
    let participants: Arc<Vec<String>> = Arc::new(
        first["items"]
            .as_array()
            .ok_or("no standings")?
            .iter()
            .filter_map(|l| l["entrant"]["id"].as_str().map(str::to_owned))
            .collect(),
    );
    println!(
        "{total} lines; writing for {} participants",
        participants.len()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let reads_done = Arc::new(AtomicU64::new(0));
    let mut writing = Vec::new();
    for w in 0..writers {
        let (http, token, url, stop, counter, participants) = (
            http.clone(),
            Arc::clone(&token),
            url.clone(),
            Arc::clone(&stop),
            Arc::clone(&counter),
            Arc::clone(&participants),
        );
        writing.push(actix_web::rt::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let who = &participants[(n as usize * 7 + w) % participants.len()];
                let started = Instant::now();
                let ok = http
                    .post(format!("{url}/api/v1/sales"))
                    .bearer_auth(token.as_str())
                    .json(&line(who, n, 100 + n % 1000))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if ok {
                    latencies.push(started.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut reading = Vec::new();
    for r in 0..readers {
        let (http, token, standings, stop, reads_done) = (
            http.clone(),
            Arc::clone(&token),
            standings.clone(),
            Arc::clone(&stop),
            Arc::clone(&reads_done),
        );
        let pages = (total / 200).max(1);
        reading.push(actix_web::rt::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n = r as u64;
            while !stop.load(Ordering::Relaxed) {
                let offset = (n % pages) * 200;
                n += 1;
                let started = Instant::now();
                let ok = http
                    .get(format!("{standings}?limit=200&offset={offset}"))
                    .bearer_auth(token.as_str())
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if ok {
                    reads_done.fetch_add(1, Ordering::Relaxed);
                    latencies.push(started.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    actix_web::rt::time::sleep(duration).await;
    let (writes_in_window, reads_in_window) = (
        counter.load(Ordering::Relaxed),
        reads_done.load(Ordering::Relaxed),
    );

    // With the writers still running: the whole board as CSV, and sale → visible.
    let mut exports = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let body = http
            .get(&standings)
            .bearer_auth(token.as_str())
            .header("accept", "text/csv")
            .send()
            .await?
            .bytes()
            .await?;
        exports.push((started.elapsed(), body.len()));
    }
    // Even rounds: the next read names the sale's change (`Podium-Min-Change`), as a
    // client reading its own write back does. Odd rounds: reads name nothing, as anyone
    // else's do, and are repeated until the sale shows (how far the tables trail).
    let mut named = Vec::new();
    let mut unnamed = Vec::new();
    for round in 0..100u64 {
        let who = &participants[(round as usize * 13) % participants.len()];
        let read = |min: Option<String>| {
            let mut request = http
                .get(format!("{standings}/{who}"))
                .bearer_auth(token.as_str());
            if let Some(min) = min {
                request = request.header("Podium-Min-Change", min);
            }
            async move {
                let line: Value = request.send().await?.json().await?;
                Ok::<i64, reqwest::Error>(line["totals"]["units"].as_i64().unwrap_or(0))
            }
        };
        let units = read(None).await?;
        let started = Instant::now();
        let written = http
            .post(format!("{url}/api/v1/sales"))
            .bearer_auth(token.as_str())
            .json(&line(who, 1_000_000_000 + round, 1))
            .send()
            .await?;
        let change = written
            .headers()
            .get("Podium-Change")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if round % 2 == 0 {
            if read(change).await? > units {
                named.push(started.elapsed());
            } else {
                println!("round {round}: the sale did not show in the read naming it");
            }
        } else {
            let answered = Instant::now();
            while read(None).await? <= units {
                if answered.elapsed() > Duration::from_secs(5) {
                    println!("round {round}: the sale did not show within 5 s");
                    break;
                }
            }
            unnamed.push(answered.elapsed());
        }
    }
    stop.store(true, Ordering::Relaxed);

    let mut write_latencies = Vec::new();
    let mut write_errors = 0;
    for task in writing {
        let (latencies, errors) = task.await?;
        write_latencies.extend(latencies);
        write_errors += errors;
    }
    let mut read_latencies = Vec::new();
    let mut read_errors = 0;
    for task in reading {
        let (latencies, errors) = task.await?;
        read_latencies.extend(latencies);
        read_errors += errors;
    }
    // Rates over the measured window; latencies over the whole run (writers stayed on
    // during the export and visibility phases).
    let elapsed = duration.as_secs_f64();
    write_latencies.sort();
    read_latencies.sort();
    named.sort();
    unnamed.sort();
    println!(
        "writes: {:.0}/s (p50 {:.1} ms, p99 {:.1} ms, {write_errors} errors)",
        writes_in_window as f64 / elapsed,
        percentile(&write_latencies, 0.5),
        percentile(&write_latencies, 0.99)
    );
    println!(
        "reads of 200 lines: {:.0}/s (p50 {:.1} ms, p99 {:.1} ms, {read_errors} errors)",
        reads_in_window as f64 / elapsed,
        percentile(&read_latencies, 0.5),
        percentile(&read_latencies, 0.99)
    );
    for (took, bytes) in &exports {
        println!(
            "whole table as CSV: {:.1} ms, {bytes} bytes",
            took.as_secs_f64() * 1000.0
        );
    }
    println!(
        "a sale → the next read naming its change shows it: {}/50, p50 {:.1} ms, p99 {:.1} ms (from sending the sale)",
        named.len(),
        percentile(&named, 0.5),
        percentile(&named, 0.99)
    );
    println!(
        "a sale → reads naming nothing show it: p50 {:.1} ms, p99 {:.1} ms after its answer (50 rounds)",
        percentile(&unnamed, 0.5),
        percentile(&unnamed, 0.99)
    );
    Ok(())
}
