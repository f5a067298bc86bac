//! Benchmark client: sends the batch files made by `podium generate` to a running server
//! through `POST /api/v1/sales`, then reads the generated challenge's standings once cold
//! (computed) and once warm (cached). Prints lines per second and the timings.
//!
//! `cargo run --release --example bench_ingest -- URL DIR EMAIL PASSWORD CHALLENGE_ID [CONCURRENCY]`

use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, dir, email, password, challenge, rest @ ..] = args.as_slice() else {
        eprintln!("usage: bench_ingest URL DIR EMAIL PASSWORD CHALLENGE_ID [CONCURRENCY]");
        std::process::exit(2);
    };
    let concurrency: usize = rest.first().map(|c| c.parse()).transpose()?.unwrap_or(2);
    let http = reqwest::Client::new();
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

    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let bodies: Vec<Vec<u8>> = files.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let started = Instant::now();
    let results: Vec<Result<usize, String>> = stream::iter(bodies)
        .map(|body| {
            let (http, token, url) = (http.clone(), token.clone(), url.clone());
            async move {
                let response = http
                    .post(format!("{url}/api/v1/sales"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let receipt: Value = response.json().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!("{status}: {receipt}"));
                }
                Ok(receipt["recorded"].as_u64().unwrap_or(0) as usize)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut recorded = 0;
    for result in results {
        recorded += result?;
    }
    println!(
        "ingested {recorded} lines in {:.2} s: {:.0} lines/s ({} files, concurrency {concurrency})",
        elapsed.as_secs_f64(),
        recorded as f64 / elapsed.as_secs_f64(),
        files.len()
    );

    for label in ["cold (computed)", "warm (cached)"] {
        let started = Instant::now();
        let page: Value = http
            .get(format!(
                "{url}/api/v1/challenges/{challenge}/standings?limit=50"
            ))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        println!(
            "standings {label}: {:.1} ms, {} lines, leader score {}",
            started.elapsed().as_secs_f64() * 1000.0,
            page["total"],
            page["items"][0]["score"]
        );
    }
    Ok(())
}
