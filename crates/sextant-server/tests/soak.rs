//! A bounded soak on loopback: three keys of different roles send a mix of expensive and cheap
//! requests for `SEXTANT_SOAK_SECS` seconds (default 15; the test command runs 120) while a
//! prober measures `/health`. Passes when no response is a 5xx, `/health` p99 stays under
//! 100 ms, and the process's resident memory levels off: it may grow while the allocator and
//! DuckDB's buffers warm up, but not steadily (the last third of the run adds little) and not
//! without bound.

use reqwest::StatusCode;
use serde_json::json;
use sextant_server::auth::Role;
use sextant_server::Limits;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::start;

/// Resident memory of this process (the server runs in it), in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_load_keeps_health_fast_and_memory_bounded() {
    let secs: u64 = std::env::var("SEXTANT_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let s = Arc::new(start(Limits::default()).await);
    let (viewer, analyst, admin) = (
        s.key(Role::Viewer).to_string(),
        s.key(Role::Analyst).to_string(),
        s.key(Role::Admin).to_string(),
    );
    // Warm up every path once, then take the baseline.
    let bt =
        json!({"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbols": ["MSFT"]});
    let (status, run) = s.post("/api/v1/backtests", Role::Analyst, bt.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let run_id = run["id"].as_str().expect("id").to_string();
    let (status, _) = s
        .get(&format!("/api/v1/backtests/{run_id}/report"), Role::Analyst)
        .await;
    assert_eq!(status, StatusCode::OK);
    let baseline = rss_mib();

    let stop = Instant::now() + Duration::from_secs(secs);
    let server_errors = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    // (key, [(method is POST, path, body)])
    type Call = (bool, String, Option<serde_json::Value>);
    let mixes: Vec<(String, Vec<Call>)> = vec![
        (
            analyst.clone(),
            vec![
                (true, "/api/v1/backtests".into(), Some(bt.clone())),
                (
                    true,
                    "/api/v1/backtests".into(),
                    Some(json!({"strategy": "rsi_reversion", "symbols": ["IBM", "AAPL"]})),
                ),
                (
                    true,
                    "/api/v1/backtests/walk-forward".into(),
                    Some(
                        json!({"request": {"strategy": "sma_cross", "symbols": ["MSFT"], "from": "2011-01-01"},
                        "spec": {"train_bars": 250, "test_bars": 125}}),
                    ),
                ),
                (false, "/api/v1/backtests?limit=20".into(), None),
                (false, format!("/api/v1/backtests/{run_id}/report"), None),
            ],
        ),
        (
            viewer.clone(),
            vec![
                (
                    false,
                    "/api/v1/market-data/bars/MSFT?from=2005-01-01&to=2012-12-31".into(),
                    None,
                ),
                (false, "/api/v1/market-data/symbols".into(), None),
                (false, "/api/v1/quality/summary".into(), None),
                (false, "/api/v1/dashboard".into(), None),
            ],
        ),
        (
            admin.clone(),
            vec![
                (false, "/api/v1/quality/summary".into(), None),
                (false, "/metrics".into(), None),
                (false, "/api/v1/market-data/status".into(), None),
                (false, "/api/v1/strategies".into(), None),
            ],
        ),
    ];
    for (key, calls) in mixes {
        let (client, base) = (s.client.clone(), s.base.clone());
        let (errors, count) = (server_errors.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while Instant::now() < stop {
                let (post, path, body) = &calls[i % calls.len()];
                i += 1;
                let url = format!("{base}{path}");
                let req = if *post {
                    client.post(url).json(body.as_ref().unwrap_or(&json!({})))
                } else {
                    client.get(url)
                };
                let resp = req.bearer_auth(&key).send().await.expect("send");
                count.fetch_add(1, Ordering::Relaxed);
                if resp.status().is_server_error() {
                    errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "{path}: {} {}",
                        resp.status(),
                        resp.text().await.unwrap_or_default()
                    );
                } else {
                    let _ = resp.bytes().await;
                }
            }
        }));
    }
    let sampler = tokio::spawn(async move {
        let mut rss = Vec::new();
        while Instant::now() < stop {
            rss.push(rss_mib());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        rss
    });
    let prober = {
        let (client, base) = (s.client.clone(), s.base.clone());
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < stop {
                let t = Instant::now();
                let r = client
                    .get(format!("{base}/health"))
                    .send()
                    .await
                    .expect("health");
                assert_eq!(r.status(), StatusCode::OK);
                lat.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            lat
        })
    };
    for t in tasks {
        t.await.expect("load task");
    }
    let mut lat = prober.await.expect("prober");
    lat.sort();
    let p = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
    let (p50, p99) = (p(0.5), p(0.99));
    let rss = sampler.await.expect("sampler");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_mib();
    let two_thirds = rss[rss.len() * 2 / 3];
    let n = requests.load(Ordering::Relaxed);
    eprintln!(
        "soak {secs} s: {n} requests, {} 5xx; /health p50 {p50:?}, p99 {p99:?} over {} probes; \
         RSS {baseline:.0} MiB warmed up, {two_thirds:.0} MiB at two thirds, {after:.0} MiB after",
        server_errors.load(Ordering::Relaxed),
        lat.len()
    );
    assert_eq!(server_errors.load(Ordering::Relaxed), 0, "5xx under load");
    assert!(p99 < Duration::from_millis(100), "/health p99 {p99:?}");
    assert!(
        after < baseline + 256.0,
        "memory grew from {baseline:.0} MiB to {after:.0} MiB"
    );
    assert!(
        after - two_thirds < 48.0,
        "memory still growing in the last third: {two_thirds:.0} MiB to {after:.0} MiB"
    );
}
