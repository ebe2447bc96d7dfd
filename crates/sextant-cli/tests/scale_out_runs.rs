//! Backtest jobs on remote workers (real processes on loopback, see `cluster`): the worker
//! executes on a snapshot, the server stores; the stored run, its trades and its equity curve
//! are those of a one-process server, bit for bit.

mod cluster;

use cluster::{free_port, get, nats_url, serve, settle, submit, worker, Cluster, Proc, Server};
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

/// A server: its base URL, admin key and the directory it lives in (removed on drop).
struct Node {
    server: Server,
    key: String,
    _dirs: Vec<tempfile::TempDir>,
    _workers: Vec<Proc>,
}

impl Node {
    fn base(&self) -> &str {
        &self.server.base
    }
}

/// A one-process server (the in-process pool): the reference.
fn one_process() -> Node {
    let dir = tempfile::tempdir().expect("tmp");
    let (server, key) = serve(None, dir.path(), free_port());
    Node {
        server,
        key: key.expect("admin key"),
        _dirs: vec![dir],
        _workers: Vec::new(),
    }
}

/// A server with NATS and one worker per name in `nodes`, all registered.
async fn cluster(c: &reqwest::Client, url: &str, tag: &str, nodes: &[&str]) -> Node {
    let dir = tempfile::tempdir().expect("tmp");
    let caches = tempfile::tempdir().expect("tmp");
    let cluster = Cluster::new(url, dir.path(), tag);
    let (server, key) = serve(Some(&cluster), dir.path(), free_port());
    let key = key.expect("admin key");
    let workers: Vec<Proc> = nodes
        .iter()
        .map(|n| worker(&cluster, n, caches.path()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(c, &server.base, &key, "/ready").await.1["jobs"]["workers"]
        .as_array()
        .map_or(0, Vec::len)
        < nodes.len()
    {
        assert!(Instant::now() < deadline, "workers never registered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Node {
        server,
        key,
        _dirs: vec![dir, caches],
        _workers: workers,
    }
}

/// Submits a job of `kind` to `node` and waits for it to succeed; returns its record.
async fn run(c: &reqwest::Client, node: &Node, kind: &str, params: Value, secs: u64) -> Value {
    let id = submit(c, node.base(), &node.key, kind, params).await;
    let job = settle(c, node.base(), &node.key, &id, Duration::from_secs(secs)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    job
}

/// The child jobs of `kind` on `node`: each succeeded, on a worker whose name starts with one
/// of `workers`; returns how many there were.
async fn children_on(c: &reqwest::Client, node: &Node, kind: &str, workers: &[&str]) -> usize {
    let (_, page) = get(
        c,
        node.base(),
        &node.key,
        &format!("/api/v1/jobs?kind={kind}&limit=200"),
    )
    .await;
    let items = page["items"].as_array().expect("items").clone();
    for ch in &items {
        assert_eq!(ch["status"], "succeeded", "{ch}");
        let w = ch["worker"]
            .as_str()
            .and_then(|w| w.split('/').next())
            .unwrap_or("");
        assert!(
            workers.contains(&w),
            "{kind} ran on {w:?}, not a worker: {ch}"
        );
    }
    items.len()
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
        let reference = one_process();
        let node = cluster(&c, &url, "bt", &["b1"]).await;
        for req in requests() {
            let one = run(&c, &reference, "backtest", req.clone(), 60).await;
            let id = one["result"]["run_id"]
                .as_str()
                .expect("run id")
                .to_string();
            let t0 = Instant::now();
            let job = run(&c, &node, "backtest", req.clone(), 60).await;
            eprintln!("{req}: remote run in {:?}", t0.elapsed());
            assert_eq!(job["result"], one["result"], "job results differ");
            assert_eq!(
                stored(&c, node.base(), &node.key, &id).await,
                stored(&c, reference.base(), &reference.key, &id).await,
                "the run stored from a worker differs from the one-process run"
            );
        }
        // Every run was executed by the worker, not by the server.
        assert_eq!(
            children_on(&c, &node, "backtest_run", &["b1"]).await,
            requests().len()
        );

        // Bad input is a clear failure of the job, not of the worker.
        let bad = json!({"strategy": "sma_cross", "symbols": ["NOSUCH"]});
        let bad = submit(&c, node.base(), &node.key, "backtest", bad).await;
        let bad = settle(&c, node.base(), &node.key, &bad, Duration::from_secs(60)).await;
        assert_eq!(bad["status"], "failed", "{bad}");
        let (_, ready) = get(&c, node.base(), &node.key, "/ready").await;
        assert_eq!(
            ready["jobs"]["workers"].as_array().map(Vec::len),
            Some(1),
            "{ready}"
        );

        // A child kind is queued by its coordinator only: its parameters (a feature view's
        // whole SQL, a snapshot) never come from a caller.
        for kind in [
            "backtest_run",
            "feature_shard",
            "trial_batch",
            "rl_training",
        ] {
            let (status, problem) = cluster::call(
                &c,
                reqwest::Method::POST,
                format!("{}/api/v1/jobs", node.base()),
                &node.key,
                Some(json!({"kind": kind, "params": {}})),
            )
            .await;
            assert_eq!(status, 422, "{kind}: {problem}");
            assert!(
                problem.to_string().contains("not submitted"),
                "{kind}: {problem}"
            );
        }
    });
}

#[test]
fn without_a_live_worker_the_server_runs_the_work_itself() {
    let Some(url) = nats_url() else { return };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let node = cluster(&c, &url, "nw", &[]).await;
        let job = run(&c, &node, "backtest", requests()[0].clone(), 60).await;
        assert!(job["result"]["run_id"].is_string(), "{job}");
        let job = run(
            &c,
            &node,
            "materialize_features",
            json!({"view": "technical"}),
            120,
        )
        .await;
        assert_eq!(job["result"]["computed_on"], "server", "{job}");
        assert_eq!(children_on(&c, &node, "backtest_run", &[]).await, 0);
        assert_eq!(children_on(&c, &node, "feature_shard", &[]).await, 0);
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
        let params = json!({"view": "technical"});
        let reference = one_process();
        let one = run(&c, &reference, "materialize_features", params.clone(), 120).await;
        assert_eq!(one["result"]["computed_on"], "server", "{one}");
        let want = materialised(&c, reference.base(), &reference.key, &one).await;
        assert!(want.0["rows"].as_u64().unwrap_or(0) > 10_000, "{}", want.0);
        assert!(want.1["rows"].as_array().map_or(0, Vec::len) > 10_000);
        drop(reference);

        let node = cluster(&c, &url, "fv", &["f1", "f2"]).await;
        let t0 = Instant::now();
        let job = run(&c, &node, "materialize_features", params, 120).await;
        eprintln!("technical view in shards on 2 workers: {:?}", t0.elapsed());
        assert_eq!(job["result"]["computed_on"], "workers", "{job}");
        let got = materialised(&c, node.base(), &node.key, &job).await;
        assert_eq!(got.0, want.0, "view record differs");
        assert_eq!(
            got.1, want.1,
            "feature values differ from the local materialisation"
        );
        let shards = children_on(&c, &node, "feature_shard", &["f1", "f2"]).await;
        assert!(shards >= 2, "{shards} shards");
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
        let reference = one_process();
        let one = run(&c, &reference, "train_rl", req.clone(), 300).await;
        let id = one["result"]["policy_id"]
            .as_str()
            .expect("policy")
            .to_string();
        let want = policy(&c, reference.base(), &reference.key, &id).await;
        drop(reference);

        let node = cluster(&c, &url, "rl", &["r1"]).await;
        let job = run(&c, &node, "train_rl", req, 300).await;
        assert_eq!(
            job["result"], one["result"],
            "same checkpoint, same policy, same figures"
        );
        assert_eq!(policy(&c, node.base(), &node.key, &id).await, want);
        assert_eq!(children_on(&c, &node, "rl_training", &["r1"]).await, 1);
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
        // A retrain of it on data up to the end of 2012: its candidate trains on a worker too.
        let retrain = |id: &str| json!({"model": id, "as_of": "2012-12-31"});
        let signal = |id: &str| format!("/api/v1/signals/MSFT?model={id}");
        let reference = one_process();
        let one = run(&c, &reference, "train_signal", req.clone(), 300).await;
        let id = one["result"]["model_id"]
            .as_str()
            .expect("model")
            .to_string();
        let want = model(&c, reference.base(), &reference.key, &id).await;
        let (_, want_signal) = get(&c, reference.base(), &reference.key, &signal(&id)).await;
        let one_retrain = run(&c, &reference, "retrain_model", retrain(&id), 300).await;
        let candidate = one_retrain["result"]["candidate"]
            .as_str()
            .expect("a candidate")
            .to_string();
        assert_ne!(candidate, id, "{one_retrain}");
        let want_candidate = model(&c, reference.base(), &reference.key, &candidate).await;
        drop(reference);

        let node = cluster(&c, &url, "sg", &["m1"]).await;
        let job = run(&c, &node, "train_signal", req, 300).await;
        assert_eq!(job["result"], one["result"], "same inputs, same model");
        assert_eq!(model(&c, node.base(), &node.key, &id).await, want);
        // The server scores with the artifact the worker made.
        let (status, got_signal) = get(&c, node.base(), &node.key, &signal(&id)).await;
        assert_eq!(status, 200, "{got_signal}");
        assert_eq!(got_signal, want_signal);
        assert_eq!(children_on(&c, &node, "signal_training", &["m1"]).await, 1);

        let job = run(&c, &node, "retrain_model", retrain(&id), 300).await;
        assert_eq!(
            job["result"], one_retrain["result"],
            "same candidate, same decision"
        );
        assert_eq!(
            model(&c, node.base(), &node.key, &candidate).await,
            want_candidate
        );
        assert_eq!(children_on(&c, &node, "signal_training", &["m1"]).await, 2);
    });
}
