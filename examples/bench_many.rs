//! Benchmark client for many running challenges read at once while sales arrive: creates
//! and starts CHALLENGES revenue competitions over the last 120 days, then for SECONDS
//! READERS tasks per challenge read 50-line pages back to back, one writer records a
//! BATCH-line sale batch every INTERVAL_MS (random participants of the challenge
//! PARTICIPANTS_FROM), and a prober reads `/readyz` every 100 ms. Prints how long the new
//! tables took to build (read once each before the window), page latency percentiles and
//! errors by status, batch latencies, and `/readyz`'s slowest answer.
//!
//! `cargo run --release --example bench_many -- URL EMAIL PASSWORD PARTICIPANTS_FROM CHALLENGES READERS SECONDS BATCH INTERVAL_MS`

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// What one task saw: latencies of the answers that succeeded, statuses of the others
/// (0: no answer).
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    failures: BTreeMap<u16, u64>,
}

impl Seen {
    fn record(&mut self, started: Instant, status: Option<reqwest::StatusCode>) {
        match status {
            Some(s) if s.is_success() => self.latencies.push(started.elapsed()),
            Some(s) => *self.failures.entry(s.as_u16()).or_default() += 1,
            None => *self.failures.entry(0).or_default() += 1,
        }
    }

    fn merge(&mut self, other: Seen) {
        self.latencies.extend(other.latencies);
        for (status, n) in other.failures {
            *self.failures.entry(status).or_default() += n;
        }
    }

    fn report(&mut self, what: &str, seconds: f64) {
        self.latencies.sort();
        println!(
            "{what}: {} ok ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; failures by status {:?}",
            self.latencies.len(),
            self.latencies.len() as f64 / seconds,
            percentile(&self.latencies, 0.5),
            percentile(&self.latencies, 0.99),
            percentile(&self.latencies, 1.0),
            self.failures
        );
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<Value, Box<dyn std::error::Error>> {
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{status}: {body}").into());
    }
    Ok(body)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, email, password, from, challenges, readers, seconds, batch, interval] =
        args.as_slice()
    else {
        eprintln!("usage: bench_many URL EMAIL PASSWORD PARTICIPANTS_FROM CHALLENGES READERS SECONDS BATCH INTERVAL_MS");
        std::process::exit(2);
    };
    let (challenges, readers): (usize, usize) = (challenges.parse()?, readers.parse()?);
    let (batch, interval): (usize, u64) = (batch.parse()?, interval.parse()?);
    let duration = Duration::from_secs(seconds.parse()?);
    let http = reqwest::Client::new();
    let token = send(
        http.post(format!("{url}/api/v1/auth/token"))
            .json(&json!({"grant_type": "password", "email": email, "password": password})),
    )
    .await?["access_token"]
        .as_str()
        .ok_or("sign-in failed")?
        .to_owned();
    let token = Arc::new(token);

    let mut participants = Vec::new();
    for offset in (0..1_000).step_by(200) {
        let page = send(
            http.get(format!(
                "{url}/api/v1/challenges/{from}/standings?limit=200&offset={offset}"
            ))
            .bearer_auth(token.as_str()),
        )
        .await?;
        participants.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l["entrant"]["id"].as_str().map(str::to_owned)),
        );
    }
    let participants = Arc::new(participants);

    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    let started = Instant::now();
    for n in 0..challenges {
        let created = send(
            http.post(format!("{url}/api/v1/challenges"))
                .bearer_auth(token.as_str())
                .json(&json!({
                    "name": format!("bench many {} #{n}", std::process::id()),
                    "kind": "competition", "rules_text": "A benchmark.",
                    "starts_at": (now - chrono::Duration::days(120)).to_rfc3339(),
                    "ends_at": (now + chrono::Duration::days(30)).to_rfc3339(),
                    "objective": {"type": "revenue"},
                })),
        )
        .await?;
        let id = created["id"].as_str().ok_or("no id")?.to_owned();
        for action in ["schedule", "start"] {
            send(
                http.post(format!("{url}/api/v1/challenges/{id}/{action}"))
                    .bearer_auth(token.as_str()),
            )
            .await?;
        }
        ids.push(id);
    }
    let created = started.elapsed();
    // The first read of each new challenge waits for its table to be built: done once,
    // before the measured window, and timed on its own.
    for id in &ids {
        send(
            http.get(format!("{url}/api/v1/challenges/{id}/standings?limit=1"))
                .bearer_auth(token.as_str()),
        )
        .await?;
    }
    println!(
        "{challenges} challenges created and started in {:.1} s, all their tables built {:.1} s later; {} participants to sell for",
        created.as_secs_f64(),
        (started.elapsed() - created).as_secs_f64(),
        participants.len()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let mut reading = Vec::new();
    for (c, id) in ids.iter().enumerate() {
        for r in 0..readers {
            let (http, token, stop) = (http.clone(), Arc::clone(&token), Arc::clone(&stop));
            let standings = format!("{url}/api/v1/challenges/{id}/standings");
            reading.push(actix_web::rt::spawn(async move {
                let mut seen = Seen::default();
                let mut n = (c * 31 + r * 7) as u64;
                while !stop.load(Ordering::Relaxed) {
                    let offset = (n % 100) * 50;
                    n += 1;
                    let started = Instant::now();
                    let status = http
                        .get(format!("{standings}?limit=50&offset={offset}"))
                        .bearer_auth(token.as_str())
                        .send()
                        .await
                        .ok()
                        .map(|r| r.status());
                    seen.record(started, status);
                }
                seen
            }));
        }
    }
    let writing = {
        let (http, token, stop, url, participants) = (
            http.clone(),
            Arc::clone(&token),
            Arc::clone(&stop),
            url.clone(),
            Arc::clone(&participants),
        );
        actix_web::rt::spawn(async move {
            let mut seen = Seen::default();
            let mut round = 0usize;
            let mut tick = actix_web::rt::time::interval(Duration::from_millis(interval));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let sales: Vec<Value> = (0..batch)
                    .map(|i| {
                        let who = &participants[(round * 7919 + i * 104_729) % participants.len()];
                        json!({
                            "participant_id": who,
                            "sold_at": (chrono::Utc::now() - chrono::Duration::seconds(60)).to_rfc3339(),
                            "quantity": 1, "amount_cents": 100 + (round + i) % 900,
                            "currency": "EUR", "source": "bench",
                            "external_id": format!("many-{}-{round}-{i}", std::process::id()),
                        })
                    })
                    .collect();
                round += 1;
                let started = Instant::now();
                let status = http
                    .post(format!("{url}/api/v1/sales"))
                    .bearer_auth(token.as_str())
                    .json(&json!({ "sales": sales }))
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status());
                seen.record(started, status);
            }
            seen
        })
    };
    let probing = {
        let (http, stop, url) = (http.clone(), Arc::clone(&stop), url.clone());
        actix_web::rt::spawn(async move {
            let mut seen = Seen::default();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let status = http
                    .get(format!("{url}/readyz"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status());
                seen.record(started, status);
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            }
            seen
        })
    };
    actix_web::rt::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);

    let seconds = duration.as_secs_f64();
    let mut pages = Seen::default();
    for task in reading {
        pages.merge(task.await?);
    }
    pages.report(
        &format!("50-line pages, {} readers", challenges * readers),
        seconds,
    );
    writing
        .await?
        .report(&format!("{batch}-line batches"), seconds);
    probing.await?.report("/readyz", seconds);
    Ok(())
}
