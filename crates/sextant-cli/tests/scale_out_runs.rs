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

/// The view's record (without the wall-clock `materialized_at`) and its panel for every
/// symbol of the bundled sample.
async fn materialised(c: &reqwest::Client, base: &str, key: &str, job: &Value) -> (Value, Value) {
    let mut mv = job["result"].clone();
    if let Some(o) = mv.as_object_mut() {
        o.remove("materialized_at");
        o.remove("computed_on");
    }
    let (status, panel) = get(
        c,
        base,
        key,
        "/api/v1/features/technical?symbols=AAPL,FB,GOOG,IBM,MSFT",
    )
    .await;
    assert_eq!(status, 200, "{panel}");
    (mv, panel)
}

#[test]
fn a_feature_view_materialised_in_shards_on_workers_equals_the_local_one() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let ref_dir = tempfile::tempdir().expect("tmp");
        let (reference, ref_key) = serve(None, ref_dir.path(), free_port());
        let ref_key = ref_key.expect("admin key");
        let params = json!({"view": "technical"});
        let one = submit(
            &c,
            &reference.base,
            &ref_key,
            "materialize_features",
            params.clone(),
        )
        .await;
        let one = settle(
            &c,
            &reference.base,
            &ref_key,
            &one,
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(one["status"], "succeeded", "{one}");
        assert_eq!(one["result"]["computed_on"], "server", "{one}");
        let want = materialised(&c, &reference.base, &ref_key, &one).await;
        assert!(want.0["rows"].as_u64().unwrap_or(0) > 10_000, "{}", want.0);
        assert!(want.1["rows"].as_array().map_or(0, Vec::len) > 10_000);
        drop(reference);

        let dir = tempfile::tempdir().expect("tmp");
        let caches = tempfile::tempdir().expect("tmp");
        let cluster = Cluster::new(&url, dir.path(), "fv");
        let (server, key) = serve(Some(&cluster), dir.path(), free_port());
        let key = key.expect("admin key");
        let _w1 = worker(&cluster, "f1", caches.path());
        let _w2 = worker(&cluster, "f2", caches.path());
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(&c, &server.base, &key, "/ready").await.1["jobs"]["workers"]
            .as_array()
            .map_or(0, Vec::len)
            < 2
        {
            assert!(Instant::now() < deadline, "workers never registered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let t0 = Instant::now();
        let job = submit(&c, &server.base, &key, "materialize_features", params).await;
        let job = settle(&c, &server.base, &key, &job, Duration::from_secs(120)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        eprintln!("technical view in shards on 2 workers: {:?}", t0.elapsed());
        assert_eq!(job["result"]["computed_on"], "workers", "{job}");
        let got = materialised(&c, &server.base, &key, &job).await;
        assert_eq!(got.0, want.0, "view record differs");
        assert_eq!(
            got.1, want.1,
            "feature values differ from the local materialisation"
        );

        let (_, shards) = get(
            &c,
            &server.base,
            &key,
            "/api/v1/jobs?kind=feature_shard&limit=50",
        )
        .await;
        let shards = shards["items"].as_array().expect("items").clone();
        assert!(shards.len() >= 2, "{shards:?}");
        let workers: std::collections::BTreeSet<&str> = shards
            .iter()
            .filter_map(|j| j["worker"].as_str().and_then(|w| w.split('/').next()))
            .collect();
        assert!(
            shards.iter().all(|j| j["status"] == "succeeded"),
            "{shards:?}"
        );
        assert_eq!(
            workers.len(),
            2,
            "shards ran on one worker only: {workers:?}"
        );
    });
}

/// A registered policy as the API shows it, without its wall-clock fields.
async fn policy(c: &reqwest::Client, base: &str, key: &str, id: &str) -> Value {
    let (status, mut p) = get(c, base, key, &format!("/api/v1/rl/policies/{id}")).await;
    assert_eq!(status, 200, "{p}");
    if let Some(o) = p.as_object_mut() {
        o.remove("created_at");
        o.remove("train_secs");
    }
    p
}

#[test]
fn an_rl_policy_trained_on_a_worker_is_the_one_process_policy() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let req = json!({"symbol": "MSFT", "train_to": "2008-12-31", "test_to": "2010-12-31",
                         "steps": 4096, "seed": 5});
        let ref_dir = tempfile::tempdir().expect("tmp");
        let (reference, ref_key) = serve(None, ref_dir.path(), free_port());
        let ref_key = ref_key.expect("admin key");
        let one = submit(&c, &reference.base, &ref_key, "train_rl", req.clone()).await;
        let one = settle(
            &c,
            &reference.base,
            &ref_key,
            &one,
            Duration::from_secs(300),
        )
        .await;
        assert_eq!(one["status"], "succeeded", "{one}");
        let id = one["result"]["policy_id"]
            .as_str()
            .expect("policy")
            .to_string();
        let want = policy(&c, &reference.base, &ref_key, &id).await;
        drop(reference);

        let dir = tempfile::tempdir().expect("tmp");
        let caches = tempfile::tempdir().expect("tmp");
        let cluster = Cluster::new(&url, dir.path(), "rl");
        let (server, key) = serve(Some(&cluster), dir.path(), free_port());
        let key = key.expect("admin key");
        let _w = worker(&cluster, "r1", caches.path());
        let job = submit(&c, &server.base, &key, "train_rl", req).await;
        let job = settle(&c, &server.base, &key, &job, Duration::from_secs(300)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(
            job["result"], one["result"],
            "same checkpoint, same policy, same figures"
        );
        assert_eq!(policy(&c, &server.base, &key, &id).await, want);
        let (_, children) = get(
            &c,
            &server.base,
            &key,
            "/api/v1/jobs?kind=rl_training&limit=10",
        )
        .await;
        let children = children["items"].as_array().expect("items").clone();
        assert_eq!(children.len(), 1, "{children:?}");
        assert!(
            children[0]["worker"]
                .as_str()
                .is_some_and(|w| w.starts_with("r1/")),
            "{children:?}"
        );
        assert_eq!(children[0]["status"], "succeeded", "{children:?}");
    });
}

/// A registered model as the API shows it, without its wall-clock and owner fields (the
/// owner is the submitting key, another one on each server).
async fn model(c: &reqwest::Client, base: &str, key: &str, id: &str) -> Value {
    let (status, mut m) = get(c, base, key, &format!("/api/v1/models/{id}")).await;
    assert_eq!(status, 200, "{m}");
    if let Some(o) = m.as_object_mut() {
        o.remove("created_at");
        o.remove("owner");
    }
    m
}

#[test]
fn a_signal_model_trained_on_a_worker_is_the_one_process_model() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let req = json!({"name": "sig", "symbols": ["AAPL", "MSFT"],
                         "label": {"kind": "next_return"},
                         "train_to": "2010-12-31", "test_from": "2011-01-01",
                         "params": {"n_trees": 40}, "seed": 3});
        let ref_dir = tempfile::tempdir().expect("tmp");
        let (reference, ref_key) = serve(None, ref_dir.path(), free_port());
        let ref_key = ref_key.expect("admin key");
        let one = submit(&c, &reference.base, &ref_key, "train_signal", req.clone()).await;
        let one = settle(
            &c,
            &reference.base,
            &ref_key,
            &one,
            Duration::from_secs(300),
        )
        .await;
        assert_eq!(one["status"], "succeeded", "{one}");
        let id = one["result"]["model_id"]
            .as_str()
            .expect("model")
            .to_string();
        let want = model(&c, &reference.base, &ref_key, &id).await;
        let (_, want_signal) = get(
            &c,
            &reference.base,
            &ref_key,
            &format!("/api/v1/signals/MSFT?model={id}"),
        )
        .await;
        drop(reference);

        let dir = tempfile::tempdir().expect("tmp");
        let caches = tempfile::tempdir().expect("tmp");
        let cluster = Cluster::new(&url, dir.path(), "sg");
        let (server, key) = serve(Some(&cluster), dir.path(), free_port());
        let key = key.expect("admin key");
        let _w = worker(&cluster, "m1", caches.path());
        let job = submit(&c, &server.base, &key, "train_signal", req).await;
        let job = settle(&c, &server.base, &key, &job, Duration::from_secs(300)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["result"], one["result"], "same inputs, same model");
        assert_eq!(model(&c, &server.base, &key, &id).await, want);
        // The server scores with the artifact the worker made.
        let (status, signal) = get(
            &c,
            &server.base,
            &key,
            &format!("/api/v1/signals/MSFT?model={id}"),
        )
        .await;
        assert_eq!(status, 200, "{signal}");
        assert_eq!(signal, want_signal);
        let (_, children) = get(
            &c,
            &server.base,
            &key,
            "/api/v1/jobs?kind=signal_training&limit=10",
        )
        .await;
        let children = children["items"].as_array().expect("items").clone();
        assert_eq!(children.len(), 1, "{children:?}");
        assert_eq!(children[0]["status"], "succeeded", "{children:?}");
        assert!(
            children[0]["worker"]
                .as_str()
                .is_some_and(|w| w.starts_with("m1/")),
            "{children:?}"
        );
    });
}
