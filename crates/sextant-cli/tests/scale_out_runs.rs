//! Backtest jobs on remote workers (real processes on loopback, see `cluster`): the worker
//! executes on a snapshot, the server stores; the stored run, its trades and its equity curve
//! are those of a one-process server, bit for bit.

mod cluster;

use cluster::{free_port, get, nats_url, serve, settle, submit, worker, Cluster};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The stored run `id` as the API shows it: summary (without the wall-clock `created_at`),
/// trades and equity curve.
async fn stored(c: &reqwest::Client, base: &str, key: &str, id: &str) -> (Value, Value, Value) {
    let (status, mut run) = get(c, base, key, &format!("/api/v1/backtests/{id}")).await;
    assert_eq!(status, 200, "{run}");
    if let Some(o) = run.as_object_mut() {
        o.remove("created_at");
    }
    let (status, trades) = get(c, base, key, &format!("/api/v1/backtests/{id}/trades")).await;
    assert_eq!(status, 200, "{trades}");
    let (status, equity) = get(c, base, key, &format!("/api/v1/backtests/{id}/equity")).await;
    assert_eq!(status, 200, "{equity}");
    (run, trades, equity)
}

fn requests() -> Vec<Value> {
    vec![
        json!({"strategy": "sma_cross", "symbols": ["MSFT"], "params": {"fast": 12, "slow": 40}}),
        json!({"strategy": "rsi_reversion", "symbols": ["AAPL", "IBM", "MSFT"],
               "sim": {"costs": {"commission_pct": 0.001, "commission_fixed": 0.0, "slippage_bps": 5.0}}}),
        json!({"strategy": "buy_and_hold", "symbols": ["IBM"], "prices": "raw",
               "from": "2010-01-01", "to": "2015-12-31"}),
    ]
}

#[test]
fn a_backtest_run_on_a_worker_is_stored_as_the_one_process_run() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let ref_dir = tempfile::tempdir().expect("tmp");
        let (reference, ref_key) = serve(None, ref_dir.path(), free_port());
        let ref_key = ref_key.expect("admin key");

        let dir = tempfile::tempdir().expect("tmp");
        let caches = tempfile::tempdir().expect("tmp");
        let cluster = Cluster::new(&url, dir.path(), "bt");
        let (server, key) = serve(Some(&cluster), dir.path(), free_port());
        let key = key.expect("admin key");
        let _w = worker(&cluster, "b1", caches.path());

        for req in requests() {
            let one = submit(&c, &reference.base, &ref_key, "backtest", req.clone()).await;
            let one = settle(&c, &reference.base, &ref_key, &one, Duration::from_secs(60)).await;
            assert_eq!(one["status"], "succeeded", "{one}");
            let id = one["result"]["run_id"]
                .as_str()
                .expect("run id")
                .to_string();

            let t0 = Instant::now();
            let job = submit(&c, &server.base, &key, "backtest", req.clone()).await;
            let job = settle(&c, &server.base, &key, &job, Duration::from_secs(60)).await;
            assert_eq!(job["status"], "succeeded", "{job}");
            eprintln!("{req}: remote run in {:?}", t0.elapsed());
            assert_eq!(job["result"], one["result"], "job results differ");
            assert_eq!(
                stored(&c, &server.base, &key, &id).await,
                stored(&c, &reference.base, &ref_key, &id).await,
                "the run stored from a worker differs from the one-process run"
            );
        }
        // Every run was executed by the worker, not by the server.
        let (_, children) = get(
            &c,
            &server.base,
            &key,
            "/api/v1/jobs?kind=backtest_run&limit=50",
        )
        .await;
        let children = children["items"].as_array().expect("items").clone();
        assert_eq!(children.len(), requests().len(), "{children:?}");
        for ch in &children {
            assert_eq!(ch["status"], "succeeded", "{ch}");
            assert!(
                ch["worker"].as_str().is_some_and(|w| w.starts_with("b1/")),
                "{ch}"
            );
        }

        // Bad input is a clear failure of the job, not of the worker.
        let bad = submit(
            &c,
            &server.base,
            &key,
            "backtest",
            json!({"strategy": "sma_cross", "symbols": ["NOSUCH"]}),
        )
        .await;
        let bad = settle(&c, &server.base, &key, &bad, Duration::from_secs(60)).await;
        assert_eq!(bad["status"], "failed", "{bad}");
        let (_, ready) = get(&c, &server.base, &key, "/ready").await;
        assert_eq!(
            ready["jobs"]["workers"].as_array().map(Vec::len),
            Some(1),
            "{ready}"
        );
    });
}
