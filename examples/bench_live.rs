//! Benchmark client for live standings: opens STREAMS Server-Sent Event streams on one
//! challenge, then, ROUNDS times, records one sale and measures how long each stream takes
//! to receive the changed lines: the sale is large enough to move the participant into the
//! top lines every stream follows (the watcher's interval plus one recomputation of the
//! table, then one read per stream). Prints the latency distribution per round.
//!
//! `cargo run --release --example bench_live -- URL EMAIL PASSWORD CHALLENGE_ID PARTICIPANT_ID STREAMS ROUNDS`

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, email, password, challenge, participant, streams, rounds] = args.as_slice() else {
        eprintln!(
            "usage: bench_live URL EMAIL PASSWORD CHALLENGE_ID PARTICIPANT_ID STREAMS ROUNDS"
        );
        std::process::exit(2);
    };
    let streams: usize = streams.parse()?;
    let rounds: usize = rounds.parse()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let token: Value = http
        .post(format!("{url}/api/v1/auth/token"))
        .json(&json!({"grant_type": "password", "email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or("sign-in failed")?
        .to_owned();

    // Each stream reports (its index, when it received a `standings` event).
    let (seen, mut arrivals) = mpsc::unbounded_channel::<(usize, Instant)>();
    let opened = Instant::now();
    for index in 0..streams {
        let mut response = http
            .get(format!(
                "{url}/api/v1/challenges/{challenge}/standings/stream"
            ))
            .bearer_auth(&token)
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("stream {index}: {}", response.status()).into());
        }
        let seen = seen.clone();
        actix_web::rt::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    if event.contains("event: standings")
                        && seen.send((index, Instant::now())).is_err()
                    {
                        return;
                    }
                }
            }
        });
    }
    // The first (full) event of every stream.
    for _ in 0..streams {
        arrivals.recv().await.ok_or("a stream ended")?;
    }
    println!(
        "{streams} streams open and served their first table in {:?}",
        opened.elapsed()
    );

    for round in 1..=rounds {
        let sold_at =
            (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
        let line = json!({
            "participant_id": participant, "sold_at": sold_at.to_string(), "quantity": 1,
            "amount_cents": 200_000_000, "currency": "EUR", "source": "bench-live",
            "external_id": uuid::Uuid::new_v4().to_string(),
        });
        let response = http
            .post(format!("{url}/api/v1/sales"))
            .bearer_auth(&token)
            .json(&json!({"sales": [line]}))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("sale refused: {}", response.text().await?).into());
        }
        let recorded = Instant::now();
        let mut latencies = Vec::with_capacity(streams);
        while latencies.len() < streams {
            let (_, at) = tokio::time::timeout(Duration::from_secs(60), arrivals.recv())
                .await?
                .ok_or("a stream ended")?;
            latencies.push(at.saturating_duration_since(recorded));
        }
        latencies.sort();
        let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        println!(
            "round {round}: first {:?}, p50 {:?}, p99 {:?}, last {:?}",
            latencies[0],
            pick(0.5),
            pick(0.99),
            latencies[latencies.len() - 1]
        );
        // Let the next round start from quiet streams.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        while arrivals.try_recv().is_ok() {}
    }
    Ok(())
}
